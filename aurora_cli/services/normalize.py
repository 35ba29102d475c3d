"""Normalization (SPEC §5): the staging layer into one canonical truth per key, with lineage.

For each (validator, data type) of a period it takes the latest payload of the highest-priority
active provider that has one, reads it with that provider's adapter, and writes canonical rows that
point back at the payload. Fees, MEV and meta upsert on (chain, period, validator); a validator's
stake-reward set is replaced whole. Everything for the period commits in one transaction, so a crash
leaves the previous canonical state intact. Reads only the staging layer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from aurora_cli.providers.base import FeesRow, MetaRow, MevRow, PayloadInvalid, RewardRow, adapter_for
from aurora_cli.services.periods import get_chain, get_period

Progress = Callable[[int, int | None], None]

_SELECT_PAYLOADS = text(
    """
    SELECT DISTINCT ON (sp.validator_key, sp.data_type)
           sp.payload_id, sp.validator_key, sp.data_type::text AS data_type, sp.provider_id,
           p.provider_name, sp.raw_payload
    FROM staging_payloads sp
    JOIN providers p ON p.provider_id = sp.provider_id AND p.is_enabled
    JOIN chain_provider_mappings m
      ON m.chain_id = sp.chain_id AND m.provider_id = sp.provider_id
     AND m.provider_role = sp.data_type::text AND m.is_active
    WHERE sp.chain_id = :chain_id AND sp.period_id = :period_id
    ORDER BY sp.validator_key, sp.data_type, m.priority, sp.fetch_timestamp DESC, sp.created_at DESC
    """
)


@dataclass
class NormalizeResult:
    chain_id: str
    period: str
    payloads: int = 0
    written: dict[str, int] = field(default_factory=lambda: {"FEES": 0, "MEV": 0, "REWARDS": 0, "META": 0})
    invalid: list[tuple[uuid.UUID, str, str, str]] = field(
        default_factory=list
    )  # payload, validator, type, reason
    sources: dict[str, int] = field(default_factory=dict)  # provider name -> payloads used

    @property
    def partial(self) -> bool:
        return bool(self.invalid)

    def summary(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "period_identifier": self.period,
            "payloads": self.payloads,
            "fees_rows": self.written["FEES"],
            "mev_rows": self.written["MEV"],
            "reward_rows": self.written["REWARDS"],
            "meta_rows": self.written["META"],
            "invalid_payloads": [
                {"payload_id": p, "validator_key": v, "data_type": t, "reason": r}
                for p, v, t, r in self.invalid
            ],
            "sources": self.sources,
        }


def normalize(
    session: Session, chain_id: str, period: str, on_progress: Progress | None = None
) -> NormalizeResult:
    get_chain(session, chain_id)
    period_row = get_period(session, chain_id, period)
    params = {"chain_id": chain_id, "period_id": period_row.period_id}
    result = NormalizeResult(chain_id, period)
    rows: dict[str, list[dict[str, Any]]] = {"FEES": [], "MEV": [], "REWARDS": [], "META": []}
    replaced_reward_sets: list[str] = []

    selected = session.execute(_SELECT_PAYLOADS, params).mappings().all()
    total = len(selected)
    for done, payload in enumerate(selected, start=1):
        result.payloads += 1
        adapter = adapter_for(payload["provider_name"])
        data_type, validator = payload["data_type"], payload["validator_key"]
        try:
            if adapter is None:
                raise PayloadInvalid(f"no adapter for provider {payload['provider_name']!r}")
            parsed = adapter.to_canonical(data_type, validator, payload["raw_payload"])
        except PayloadInvalid as exc:
            result.invalid.append((payload["payload_id"], validator, data_type, str(exc)))
            continue
        lineage = {
            "validator_key": validator,
            "source_provider_id": payload["provider_id"],
            "source_payload_id": payload["payload_id"],
        }
        for row in parsed:
            rows[data_type].append({**lineage, **_columns(row)})
        if data_type == "REWARDS":
            replaced_reward_sets.append(validator)
        result.sources[payload["provider_name"]] = result.sources.get(payload["provider_name"], 0) + 1
        if on_progress is not None and (done % 200 == 0 or done == total):
            on_progress(done, total)

    _write(session, params, rows, replaced_reward_sets)
    for data_type, items in rows.items():
        result.written[data_type] = len(items)
    return result


def _columns(row: Any) -> dict[str, Any]:
    if isinstance(row, FeesRow):
        return {"total_fees_native": row.total_fees_native, "fee_count": row.fee_count}
    if isinstance(row, MevRow):
        return {"total_mev_native": row.total_mev_native, "tip_count": row.tip_count}
    if isinstance(row, RewardRow):
        return {
            "staker_address": row.staker_address,
            "rewards_native": row.rewards_native,
            "commission_native": row.commission_native,
        }
    if isinstance(row, MetaRow):
        return {
            "commission_rate_bps": row.commission_rate_bps,
            "is_mev_enabled": row.is_mev_enabled,
            "total_stake_native": row.total_stake_native,
            "active_stake_native": row.active_stake_native,
            "delegator_count": row.delegator_count,
            "uptime_percentage": row.uptime_percentage,
        }
    raise TypeError(type(row))


_UPSERTS = {
    "FEES": ("canonical_validator_fees", ["total_fees_native", "fee_count"]),
    "MEV": ("canonical_validator_mev", ["total_mev_native", "tip_count"]),
    "META": (
        "canonical_validator_meta",
        [
            "commission_rate_bps",
            "is_mev_enabled",
            "total_stake_native",
            "active_stake_native",
            "delegator_count",
            "uptime_percentage",
        ],
    ),
}
LINEAGE = ["source_provider_id", "source_payload_id"]


def _write(session: Session, params: dict, rows: dict[str, list[dict]], reward_validators: list[str]) -> None:
    """Bulk writes: one COPY into a temp table per kind, then one set-based statement each."""
    for data_type, (table, value_columns) in _UPSERTS.items():
        if not rows[data_type]:
            continue
        columns = ["validator_key", *value_columns, *LINEAGE]
        _copy_temp(session, f"norm_{data_type.lower()}", table, columns, rows[data_type])
        changed = " OR ".join(f"t.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in [*value_columns, *LINEAGE])
        session.execute(
            text(
                f"""
                INSERT INTO {table} AS t (chain_id, period_id, {", ".join(columns)})
                SELECT :chain_id, :period_id, {", ".join(columns)} FROM norm_{data_type.lower()}
                ON CONFLICT (chain_id, period_id, validator_key) DO UPDATE SET
                    {", ".join(f"{c} = EXCLUDED.{c}" for c in [*value_columns, *LINEAGE])},
                    normalized_at = now(), updated_at = now()
                WHERE {changed}
                """
            ),
            params,
        )
    if reward_validators:
        session.execute(
            text(
                "DELETE FROM canonical_stake_rewards WHERE chain_id = :chain_id AND period_id = :period_id"
                " AND validator_key = ANY(:validators)"
            ),
            {**params, "validators": reward_validators},
        )
        columns = ["validator_key", "staker_address", "rewards_native", "commission_native", *LINEAGE]
        _copy_temp(session, "norm_rewards", "canonical_stake_rewards", columns, rows["REWARDS"])
        session.execute(
            text(
                f"INSERT INTO canonical_stake_rewards (chain_id, period_id, {', '.join(columns)})"
                f" SELECT :chain_id, :period_id, {', '.join(columns)} FROM norm_rewards"
            ),
            params,
        )


def _copy_temp(session: Session, temp: str, like: str, columns: list[str], rows: list[dict]) -> None:
    session.execute(
        text(
            f"CREATE TEMP TABLE {temp} ON COMMIT DROP AS SELECT {', '.join(columns)} FROM {like} WITH NO DATA"
        )
    )
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cur, cur.copy(f"COPY {temp} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])
