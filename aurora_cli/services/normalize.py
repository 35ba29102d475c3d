"""Normalization (SPEC §5): the staging layer into one canonical truth per key, with lineage.

For each (validator, data type) of a period it takes the latest payload of the highest-priority
active provider that has one, reads it with that provider's adapter, and writes canonical rows that
point back at the payload. Fees, MEV and meta upsert on (chain, period, validator); a validator's
stake-reward set is replaced whole. Everything for the period commits in one transaction, so a crash
leaves the previous canonical state intact. Reads only the staging layer.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from aurora_cli.errors import PermissionDenied
from aurora_cli.providers.base import FeesRow, MetaRow, MevRow, PayloadInvalid, RewardRow, adapter_for
from aurora_cli.providers.file import NAME as FILE_PROVIDER
from aurora_cli.providers.file_format import fast_amount, fast_key
from aurora_cli.services.periods import get_chain, get_period
from aurora_cli.services.progress import Progress

_SELECT_PAYLOADS = text(
    """
    SELECT DISTINCT ON (sp.validator_key, sp.data_type)
           sp.payload_id, sp.validator_key, sp.data_type::text AS data_type, sp.provider_id,
           p.provider_name
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
    # The partition swap's step seconds and row counts when it wrote the reward rows (None: the
    # DELETE + INSERT through the parent did).
    reward_swap: dict[str, Any] | None = None
    # Rows of the file payloads the SQL accepted (named in norm_fast), written from staging directly.
    fast_reward_rows: int = 0

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
    # The selection runs once; its payload ids drive both paths below.
    session.execute(
        text(f"CREATE TEMP TABLE norm_payloads ON COMMIT DROP AS {_SELECT_PAYLOADS.text}"), params
    )
    total = session.execute(text("SELECT count(*) FROM norm_payloads")).scalar() or 0
    _create_work_tables(session)
    fast = _normalize_file_rewards(session, result)
    if on_progress is not None and fast:
        on_progress(fast, total)

    # The other payloads stream from a server-side cursor and their rows go to the work tables in
    # batches over COPY, so memory holds one batch, not the period.
    batch: dict[str, list[dict[str, Any]]] = {kind: [] for kind in _KINDS}
    pending = 0
    stream = session.execute(_SLOW_PAYLOADS.execution_options(stream_results=True, yield_per=4)).mappings()
    for done, payload in enumerate(stream, start=fast + 1):
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
            batch[data_type].append({**lineage, **_columns(row)})
        pending += len(parsed)
        result.written[data_type] += len(parsed)
        result.sources[payload["provider_name"]] = result.sources.get(payload["provider_name"], 0) + 1
        if pending >= _BATCH_ROWS:
            _copy_batch(session, batch)
            pending = 0
        if on_progress is not None and (done % 200 == 0 or done == total):
            on_progress(done, total)
    _copy_batch(session, batch)
    result.reward_swap = _apply(session, params)
    session.execute(_DERIVE_MEV_ENABLED, {**params, "mev_providers": list(MEV_ENABLING_PROVIDERS)})
    return result


_SLOW_PAYLOADS = text(
    """
    SELECT np.payload_id, np.validator_key, np.data_type, np.provider_id, np.provider_name, sp.raw_payload
    FROM norm_payloads np JOIN staging_payloads sp ON sp.payload_id = np.payload_id
    WHERE np.payload_id NOT IN (SELECT payload_id FROM norm_fast)
    ORDER BY np.validator_key, np.data_type::data_type
    """
)

# The file adapter's REWARDS rules (providers.file, file_format.RewardsRecord, base.check_reward_set)
# restated set-based for the payloads ingest stages: every record exactly the five fields with plain
# values for this validator, no staker twice, commission per delegator or in aggregate. A payload the
# SQL does not accept goes through the adapter, which says what is wrong in its own words.
_RECORD_OK = f"""
    jsonb_typeof(e) = 'object'
    AND e ?& '{{data_type,validator_key,staker_address,rewards_native,commission_native}}'
    AND e - '{{data_type,validator_key,staker_address,rewards_native,commission_native}}'::text[] = '{{}}'
    AND jsonb_typeof(e->'data_type') = 'string' AND e->>'data_type' = 'REWARDS'
    AND jsonb_typeof(e->'validator_key') = 'string' AND e->>'validator_key' = np.validator_key
    AND (jsonb_typeof(e->'staker_address') = 'null'
         OR (jsonb_typeof(e->'staker_address') = 'string' AND {fast_key("e->>'staker_address'")}))
    AND jsonb_typeof(e->'rewards_native') = 'string' AND {fast_amount("e->>'rewards_native'")}
    AND jsonb_typeof(e->'commission_native') = 'string' AND {fast_amount("e->>'commission_native'")}
"""
_SELECT_FAST_FILE_REWARDS = text(
    f"""
    CREATE TEMP TABLE norm_fast ON COMMIT DROP AS
    SELECT np.payload_id
    FROM norm_payloads np JOIN staging_payloads sp ON sp.payload_id = np.payload_id
    WHERE np.provider_name = '{FILE_PROVIDER}' AND np.data_type = 'REWARDS'
      AND jsonb_typeof(sp.raw_payload) = 'object' AND jsonb_typeof(sp.raw_payload->'records') = 'array'
      AND (
        SELECT count(*) > 0 AND bool_and(ok)
               AND count(*) = count(DISTINCT coalesce(e->>'staker_address', ''))
               AND NOT (coalesce(bool_or(ok AND e->>'staker_address' IS NOT NULL AND commissioned), false)
                        AND coalesce(bool_or(ok AND e->>'staker_address' IS NULL AND commissioned), false))
        FROM (
            SELECT e, ok,
                   CASE WHEN ok THEN (e->>'commission_native')::numeric > 0 END AS commissioned
            FROM (SELECT e, coalesce(({_RECORD_OK}), false) AS ok
                  FROM jsonb_array_elements(sp.raw_payload->'records') e
                  OFFSET 0) checked  -- a fence: pulled up, the rules would run once per use of ok
        ) records
      )
    """
)
# The accepted payloads' rows, typed (the columns of _columns_of("REWARDS")). They are read from
# staging once, when the reward sets are written: straight into the period's fresh partition when it
# is swapped, else through the parent.
_FAST_FILE_REWARD_ROWS = """
    SELECT np.validator_key, r.staker_address, r.rewards_native, r.commission_native, 0 AS penalties_native,
           np.provider_id AS source_provider_id, np.payload_id AS source_payload_id
    FROM norm_fast f
    JOIN norm_payloads np ON np.payload_id = f.payload_id
    JOIN staging_payloads sp ON sp.payload_id = f.payload_id,
    jsonb_to_recordset(sp.raw_payload->'records') AS r(staker_address text, rewards_native numeric,
                                                       commission_native numeric)
"""
_COUNT_FAST_FILE_REWARDS = text(
    "SELECT coalesce(sum(jsonb_array_length(sp.raw_payload->'records')), 0)"
    " FROM norm_fast f JOIN staging_payloads sp ON sp.payload_id = f.payload_id"
)


def _normalize_file_rewards(session: Session, result: NormalizeResult) -> int:
    """File REWARDS payloads that pass the SQL rules: their rows are written from staging by
    ``_replace_reward_sets`` (``norm_fast`` names them); counted here."""
    session.execute(_SELECT_FAST_FILE_REWARDS)
    payloads = session.execute(text("SELECT count(*) FROM norm_fast")).scalar() or 0
    if not payloads:
        return 0
    result.fast_reward_rows = session.execute(_COUNT_FAST_FILE_REWARDS).scalar() or 0
    result.payloads += payloads
    result.written["REWARDS"] += result.fast_reward_rows
    result.sources[FILE_PROVIDER] = result.sources.get(FILE_PROVIDER, 0) + payloads
    return payloads


# is_mev_enabled is not fetched by HTTP META providers (issue 9): it is true when the period's
# canonical MEV row of the validator comes from an MEV client's provider (Jito; on Ethereum a
# MEV-Boost relay), so an outage of that provider never forces a META refetch. File imports keep
# the value their records carry.
MEV_ENABLING_PROVIDERS = ("jito", "mevboost-relay")
_DERIVE_MEV_ENABLED = text(
    """
    UPDATE canonical_validator_meta m
    SET is_mev_enabled = d.enabled, updated_at = now()
    FROM (
        SELECT m2.meta_id,
               EXISTS (
                   SELECT 1 FROM canonical_validator_mev v JOIN providers vp ON vp.provider_id = v.source_provider_id
                   WHERE v.chain_id = m2.chain_id AND v.period_id = m2.period_id
                     AND v.validator_key = m2.validator_key AND vp.provider_name = ANY(:mev_providers)
               ) AS enabled
        FROM canonical_validator_meta m2 JOIN providers mp ON mp.provider_id = m2.source_provider_id
        WHERE m2.chain_id = :chain_id AND m2.period_id = :period_id AND mp.provider_name <> 'file'
    ) d
    WHERE m.meta_id = d.meta_id AND m.is_mev_enabled IS DISTINCT FROM d.enabled
    """
)


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
            "penalties_native": row.penalties_native,
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


_KINDS = {
    "FEES": ("canonical_validator_fees", ["total_fees_native", "fee_count"]),
    "MEV": ("canonical_validator_mev", ["total_mev_native", "tip_count"]),
    "REWARDS": (
        "canonical_stake_rewards",
        ["staker_address", "rewards_native", "commission_native", "penalties_native"],
    ),
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
_BATCH_ROWS = 20_000


def _work_table(kind: str) -> str:
    return f"norm_{kind.lower()}"


def _columns_of(kind: str) -> list[str]:
    return ["validator_key", *_KINDS[kind][1], *LINEAGE]


def _create_work_tables(session: Session) -> None:
    for kind, (table, _) in _KINDS.items():
        columns = ", ".join(_columns_of(kind))
        session.execute(
            text(
                f"CREATE TEMP TABLE {_work_table(kind)} ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA"
            )
        )


def _copy_batch(session: Session, batch: dict[str, list[dict[str, Any]]]) -> None:
    driver = session.connection().connection.driver_connection
    for kind, rows in batch.items():
        if not rows:
            continue
        columns = _columns_of(kind)
        with (
            driver.cursor() as cur,
            cur.copy(f"COPY {_work_table(kind)} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row([row[c] for c in columns])
        rows.clear()


def _apply(session: Session, params: dict) -> dict[str, Any] | None:
    """Set-based writes from the work tables: upsert single-row kinds, replace reward sets whole."""
    for kind in ("FEES", "MEV", "META"):
        table, value_columns = _KINDS[kind]
        columns = _columns_of(kind)
        changed = " OR ".join(f"t.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in [*value_columns, *LINEAGE])
        session.execute(
            text(
                f"""
                INSERT INTO {table} AS t (chain_id, period_id, {", ".join(columns)})
                SELECT :chain_id, :period_id, {", ".join(columns)} FROM {_work_table(kind)}
                ON CONFLICT (chain_id, period_id, validator_key) DO UPDATE SET
                    {", ".join(f"{c} = EXCLUDED.{c}" for c in [*value_columns, *LINEAGE])},
                    normalized_at = now(), updated_at = now()
                WHERE {changed}
                """
            ),
            params,
        )
    return _replace_reward_sets(session, params)


def _reward_rows(fast: bool) -> str:
    """The period's new reward rows: the work table's, and with ``fast`` the accepted file payloads'."""
    columns = ", ".join(_columns_of("REWARDS"))
    rows = f"SELECT {columns} FROM norm_rewards"
    return f"{rows} UNION ALL {_FAST_FILE_REWARD_ROWS}" if fast else rows


def _replace_reward_sets(session: Session, params: dict) -> dict[str, Any] | None:
    """Replace the reward set of every validator in ``norm_rewards`` and of the file payloads the SQL
    accepted (``norm_fast``, when normalize made it); the rest of the period stays.

    Returns the partition swap's step timings when it ran, None when the parent path ran.
    """
    rows = session.execute(text("SELECT count(*) FROM norm_rewards")).scalar() or 0
    fast = bool(session.execute(text("SELECT to_regclass('pg_temp.norm_fast') IS NOT NULL")).scalar())
    fast_rows = session.execute(_COUNT_FAST_FILE_REWARDS).scalar() if fast else 0
    fast = bool(fast_rows)
    rows += fast_rows or 0
    if rows >= SWAP_PARTITION_ROWS:
        swapped = _swap_period_partition(session, params, fast=fast)
        if swapped is not None:
            return swapped
    replaced = "SELECT validator_key FROM norm_rewards"
    if fast:
        replaced += " UNION SELECT np.validator_key FROM norm_fast f JOIN norm_payloads np USING (payload_id)"
    session.execute(
        text(
            "DELETE FROM canonical_stake_rewards WHERE chain_id = :chain_id AND period_id = :period_id"
            f" AND validator_key IN ({replaced})"
        ),
        params,
    )
    columns = ", ".join(_columns_of("REWARDS"))
    session.execute(
        text(
            f"INSERT INTO canonical_stake_rewards (chain_id, period_id, {columns})"
            f" SELECT :chain_id, :period_id, {columns} FROM ({_reward_rows(fast)}) new_rows"
        ),
        params,
    )
    return None


# Below this many rows, DELETE + INSERT through the parent costs less than building a partition.
SWAP_PARTITION_ROWS = 50_000


def _swap_period_partition(session: Session, params: dict, *, fast: bool = False) -> dict[str, Any] | None:
    """Build the period's reward rows in a fresh table, index it, and attach it in place of the old one.

    Migration 015's SECURITY DEFINER helpers do the DDL as the tables' owner (the application owns
    nothing) and check what the parent's row-level-security policies would have checked on these
    rows: the scope may write the chain and every validator whose set is replaced, else they refuse
    (PermissionDenied). PostgreSQL validates the foreign keys and the partition bound in one
    set-based pass each instead of four per-row trigger calls and five index insertions per row;
    every constraint of the parent still holds (ATTACH refuses a row that breaks one). The
    transaction holds the parent locked until it commits, like the DELETE it replaces holds the
    period's rows. None when the helpers say the parent path must be used (a user trigger or an
    unknown policy on the parent, or no partition for the period).
    """
    arguments = {"chain_id": params["chain_id"], "period_id": str(params["period_id"])}
    try:
        fresh = session.execute(
            text("SELECT aurora_reward_swap_begin(:chain_id, CAST(:period_id AS uuid))"), arguments
        ).scalar()
        if fresh is None:
            return None
        columns = ", ".join(_columns_of("REWARDS"))
        started = time.perf_counter()
        session.execute(
            text(
                f'INSERT INTO "{fresh}" (chain_id, period_id, {columns})'
                f" SELECT :chain_id, CAST(:period_id AS uuid), {columns} FROM ({_reward_rows(fast)}) new_rows"
            ),
            arguments,
        )
        inserted = time.perf_counter() - started
        steps = session.execute(
            text("SELECT aurora_reward_swap_finish(:chain_id, CAST(:period_id AS uuid))"), arguments
        ).scalar()
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == "42501":  # the helpers' refusal: the scope
            reason = str(exc.orig).strip().splitlines()[0].removeprefix("permission denied: ")
            raise PermissionDenied(reason[:1].upper() + reason[1:] + ".") from None
        raise
    return {"insert_seconds": inserted, **steps}
