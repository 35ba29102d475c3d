"""Validator P&L (SPEC §6): set-based SQL from the canonical layer into `validator_pnl`.

Reads only canonical tables. One statement writes every validator of the period; rows whose
amounts did not change keep their `computed_at`, so a rerun on the same inputs changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from aurora_cli.domain.money import money_context
from aurora_cli.domain.permissions import Scope
from aurora_cli.errors import NotFound
from aurora_cli.services.periods import get_chain, get_period
from aurora_cli.services.scoping import limit_conditions

_UPSERT_PNL = text(
    """
    WITH rewards AS (
        SELECT validator_key,
               COALESCE(SUM(rewards_native) FILTER (WHERE staker_address IS NULL), 0) AS vote_rewards_native,
               SUM(commission_native) AS commission_native,
               SUM(penalties_native) AS penalties_native
        FROM canonical_stake_rewards
        WHERE chain_id = :chain_id AND period_id = :period_id
        GROUP BY validator_key
    ), validators AS (
        -- The reward rows' validators from their grouping: one pass over the period's rewards.
        SELECT validator_key FROM canonical_validator_fees WHERE chain_id = :chain_id AND period_id = :period_id
        UNION SELECT validator_key FROM canonical_validator_mev WHERE chain_id = :chain_id AND period_id = :period_id
        UNION SELECT validator_key FROM rewards
    ), figures AS (
        SELECT v.validator_key,
               COALESCE(f.total_fees_native, 0) AS exec_fees_native,
               COALESCE(m.total_mev_native, 0) AS mev_tips_native,
               COALESCE(r.vote_rewards_native, 0) AS vote_rewards_native,
               COALESCE(r.commission_native, 0) AS commission_native,
               COALESCE(r.penalties_native, 0) AS penalties_native
        FROM validators v
        LEFT JOIN canonical_validator_fees f
               ON f.chain_id = :chain_id AND f.period_id = :period_id AND f.validator_key = v.validator_key
        LEFT JOIN canonical_validator_mev m
               ON m.chain_id = :chain_id AND m.period_id = :period_id AND m.validator_key = v.validator_key
        LEFT JOIN rewards r ON r.validator_key = v.validator_key
    ), upserted AS (
        INSERT INTO validator_pnl AS t (chain_id, period_id, validator_key, exec_fees_native, mev_tips_native,
                                        vote_rewards_native, commission_native, total_revenue_native,
                                        penalties_native)
        SELECT :chain_id, :period_id, validator_key, exec_fees_native, mev_tips_native, vote_rewards_native,
               commission_native, exec_fees_native + mev_tips_native + vote_rewards_native + commission_native,
               penalties_native
        FROM figures
        ON CONFLICT (chain_id, period_id, validator_key) DO UPDATE SET
            exec_fees_native = EXCLUDED.exec_fees_native,
            mev_tips_native = EXCLUDED.mev_tips_native,
            vote_rewards_native = EXCLUDED.vote_rewards_native,
            commission_native = EXCLUDED.commission_native,
            total_revenue_native = EXCLUDED.total_revenue_native,
            penalties_native = EXCLUDED.penalties_native,
            computed_at = now(), updated_at = now()
        WHERE (t.exec_fees_native, t.mev_tips_native, t.vote_rewards_native, t.commission_native,
               t.penalties_native)
              IS DISTINCT FROM (EXCLUDED.exec_fees_native, EXCLUDED.mev_tips_native,
                                EXCLUDED.vote_rewards_native, EXCLUDED.commission_native,
                                EXCLUDED.penalties_native)
        RETURNING 1
    ), removed AS (
        DELETE FROM validator_pnl p
        WHERE p.chain_id = :chain_id AND p.period_id = :period_id
          AND p.validator_key NOT IN (SELECT validator_key FROM validators)
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM validators), (SELECT count(*) FROM upserted), (SELECT count(*) FROM removed)
    """
)


@dataclass(frozen=True)
class PnlResult:
    chain_id: str
    period: str
    validators: int
    changed: int
    removed: int

    def summary(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "period_identifier": self.period,
            "validators": self.validators,
            "changed": self.changed,
            "removed": self.removed,
        }


def compute_pnl(session: Session, chain_id: str, period: str) -> PnlResult:
    get_chain(session, chain_id)
    period_row = get_period(session, chain_id, period)
    validators, changed, removed = session.execute(
        _UPSERT_PNL, {"chain_id": chain_id, "period_id": period_row.period_id}
    ).one()
    session.execute(text("SELECT aurora_refresh_summary('mv_validator_revenue_summary')"))
    return PnlResult(chain_id, period, validators, changed, removed)


PNL_COLUMNS = [
    "pnl_id",
    "chain_id",
    "period_id",
    "period_identifier",
    "validator_key",
    "display_name",
    "exec_fees_native",
    "mev_tips_native",
    "vote_rewards_native",
    "commission_native",
    "total_revenue_native",
    "computed_at",
    "penalties_native",
    "net_revenue_native",
]


def pnl_rows(
    session: Session,
    chain_id: str,
    period: str | None = None,
    validator: str | None = None,
    *,
    scope: Scope | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """P&L rows with readable names, and the chain's native decimals for display units.

    `scope` is who is reading (the frame's `rt.scope`, the value row-level security reads too): users
    limited to some chains or validators see those rows only.
    """
    chain = get_chain(session, chain_id)
    params: dict[str, Any] = {"chain_id": chain_id}
    where = ["p.chain_id = :chain_id"]
    if period is not None:
        params["period_id"] = get_period(session, chain_id, period).period_id
        where.append("p.period_id = :period_id")
    if validator is not None:
        params["validator"] = validator
        where.append("p.validator_key = :validator")
    where += limit_conditions(scope, "p", params)
    rows = (
        session.execute(
            text(
                f"""
            SELECT p.pnl_id, p.chain_id, p.period_id, cp.period_identifier, p.validator_key, vi.display_name,
                   p.exec_fees_native, p.mev_tips_native, p.vote_rewards_native, p.commission_native,
                   p.total_revenue_native, p.computed_at, p.penalties_native, p.net_revenue_native
            FROM validator_pnl p
            JOIN canonical_periods cp ON cp.period_id = p.period_id
            LEFT JOIN canonical_validator_identities vi
                   ON vi.chain_id = p.chain_id AND vi.validator_key = p.validator_key
            WHERE {" AND ".join(where)}
            ORDER BY cp.period_start, p.validator_key
            """
            ),
            params,
        )
        .mappings()
        .all()
    )
    if validator is not None and not rows:
        raise NotFound(f"no P&L for validator {validator} on {chain_id}: run `aurora compute-pnl` first.")
    return [dict(r) for r in rows], chain.native_decimals


# The amounts of a validator_pnl row, in the order every view shows them.
AMOUNT_COLUMNS = (
    "exec_fees_native",
    "mev_tips_native",
    "vote_rewards_native",
    "commission_native",
    "total_revenue_native",
    "penalties_native",
    "net_revenue_native",
)


def totals(rows: list[dict[str, Any]]) -> dict[str, Decimal]:
    with money_context():  # 38-digit amounts exceed the default 28-digit context
        return {k: sum((r[k] for r in rows), Decimal(0)) for k in AMOUNT_COLUMNS}
