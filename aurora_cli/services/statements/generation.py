"""Generating statements from their lines (SPEC §9): one DRAFT per (partner, chain, period); never past DRAFT.

Owns the set-based upsert (Σ ``final_amount_native`` and the count of a partner's lines per period),
removing DRAFTs whose lines vanished, re-summing a DRAFT after an override, telling when a statement
disagrees with its lines, and `statement_scope_lock`, the transaction lock that serializes work on
one (chain, period)'s statements (generate, override, compute-commissions). It writes its own
GENERATE_STATEMENT audit rows through the `audit` it is given; it never prints.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from aurora_cli.db.models import PartnerCommissionLine, PartnerCommissionStatement, StatementStatus
from aurora_cli.domain.money import to_plain_string
from aurora_cli.services.audit import Recorder
from aurora_cli.services.finance_errors import UnfinalizedPeriods
from aurora_cli.services.statements.changes import StatementChange, snapshot
from aurora_cli.services.statements.selection import select_periods
from aurora_cli.services.statements.views import statement_rows


def statement_scope_lock(session: Session, chain_id: str, period_id: uuid.UUID) -> None:
    """Serialize, until the transaction ends, the work on one (chain, period)'s statements.

    Generating statements and overriding a line both read lines and write statement totals; without
    this lock an override committed while a generate is summing could leave a statement that
    disagrees with its lines (and a statement created meanwhile would miss the override's refresh).
    """
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('aurora.statements'), hashtext(:key))"),
        {"key": f"{chain_id}/{period_id}"},
    )


@dataclass
class GenerateResult:
    chain_id: str
    periods: list[str]
    allow_unfinalized: bool
    unfinalized_periods: list[str]
    created: list[StatementChange] = field(default_factory=list)
    updated: list[StatementChange] = field(default_factory=list)
    removed: list[StatementChange] = field(default_factory=list)
    unchanged: list[uuid.UUID] = field(default_factory=list)
    # Past DRAFT: never rewritten; reported so nobody thinks they were refreshed.
    locked: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changes(self) -> list[tuple[StatementChange, str | None]]:
        removed = "removed: no commission lines remain for this partner and period"
        return [(c, None) for c in self.created + self.updated] + [(c, removed) for c in self.removed]

    def summary(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "periods": self.periods,
            "allow_unfinalized": self.allow_unfinalized,
            "unfinalized_periods": self.unfinalized_periods,
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "removed": len(self.removed),
            "locked": self.locked,
            "statement_ids": [str(c.statement_id) for c in self.created + self.updated]
            + [str(i) for i in self.unchanged],
        }


_UPSERT_STATEMENTS = text(
    """
    WITH line_totals AS (
        SELECT l.partner_id, l.period_id, SUM(l.final_amount_native) AS total, COUNT(*)::int AS line_count
        FROM partner_commission_lines l
        WHERE l.chain_id = :chain_id AND l.period_id = ANY(:period_ids)
        GROUP BY l.partner_id, l.period_id
    ), fresh AS (
        SELECT t.partner_id, t.period_id, t.total, t.line_count,
               CASE WHEN cp.is_finalized THEN NULL
                    ELSE jsonb_build_object('allow_unfinalized', true,
                                            'unfinalized_periods', jsonb_build_array(cp.period_identifier))
               END AS unfinalized
        FROM line_totals t JOIN canonical_periods cp ON cp.period_id = t.period_id
    )
    INSERT INTO partner_commission_statements AS s
        (partner_id, chain_id, period_id, total_commission_native, line_count, metadata,
         generated_by, generated_at)
    SELECT f.partner_id, :chain_id, f.period_id, f.total, f.line_count, f.unfinalized,
           CAST(:actor AS uuid), now()
    FROM fresh f
    ON CONFLICT (partner_id, chain_id, period_id) DO UPDATE SET
        total_commission_native = EXCLUDED.total_commission_native,
        line_count = EXCLUDED.line_count,
        -- Only the keys this module owns are replaced; anything else in metadata is kept.
        metadata = NULLIF(
            (COALESCE(s.metadata, '{}'::jsonb) - 'allow_unfinalized' - 'unfinalized_periods')
            || COALESCE(EXCLUDED.metadata, '{}'::jsonb), '{}'::jsonb),
        generated_by = EXCLUDED.generated_by,
        generated_at = EXCLUDED.generated_at,
        updated_at = now()
    WHERE s.status = 'DRAFT'
      AND (s.total_commission_native, s.line_count, s.metadata) IS DISTINCT FROM (
          EXCLUDED.total_commission_native, EXCLUDED.line_count,
          NULLIF((COALESCE(s.metadata, '{}'::jsonb) - 'allow_unfinalized' - 'unfinalized_periods')
                 || COALESCE(EXCLUDED.metadata, '{}'::jsonb), '{}'::jsonb))
    RETURNING s.statement_id
    """
)

# A DRAFT statement whose lines all vanished (the agreement no longer yields commission for that
# partner and period) would claim "we owe you 0" on the strength of nothing: it is removed. Statements
# past DRAFT are never removed (their lines are locked, so this cannot select them anyway).
_DELETE_EMPTY_DRAFTS = text(
    """
    DELETE FROM partner_commission_statements s
    WHERE s.chain_id = :chain_id AND s.period_id = ANY(:period_ids) AND s.status = 'DRAFT'
      AND NOT EXISTS (SELECT 1 FROM partner_commission_lines l
                      WHERE l.partner_id = s.partner_id AND l.chain_id = s.chain_id
                        AND l.period_id = s.period_id)
    RETURNING s.statement_id
    """
)


def generate_statements(
    session: Session,
    chain_id: str,
    *,
    period: str | None = None,
    month: str | None = None,
    allow_unfinalized: bool = False,
    actor_user_id: uuid.UUID | None = None,
    audit: Recorder | None = None,
) -> GenerateResult:
    """Write one DRAFT statement per (partner, chain, period) with lines; see the module docstring.

    Periods must be finalized unless `allow_unfinalized` (then each statement of an unfinalized
    period records it in its metadata). `audit`, when given (the CLI's `rt.trail`), records one
    GENERATE_STATEMENT row per created, updated or removed statement with before/after snapshots.
    """
    periods = select_periods(session, chain_id, period=period, month=month)
    unfinalized = [p.period_identifier for p in periods if not p.is_finalized]
    if unfinalized and not allow_unfinalized:
        raise UnfinalizedPeriods(chain_id, unfinalized)
    period_ids = [p.period_id for p in periods]
    for period_id in sorted(period_ids):
        statement_scope_lock(session, chain_id, period_id)

    existing = {
        s.statement_id: s
        for s in session.scalars(
            select(PartnerCommissionStatement)
            .where(
                PartnerCommissionStatement.chain_id == chain_id,
                PartnerCommissionStatement.period_id.in_(period_ids),
            )
            .order_by(PartnerCommissionStatement.statement_id)
            .with_for_update()
        )
    }
    before = {sid: snapshot(s) for sid, s in existing.items()}
    params = {"chain_id": chain_id, "period_ids": period_ids}
    written = set(session.scalars(_UPSERT_STATEMENTS, {**params, "actor": actor_user_id}))
    removed = set(session.scalars(_DELETE_EMPTY_DRAFTS, params))
    for statement in existing.values():  # rewritten by SQL behind the ORM's back
        session.expire(statement)

    result = GenerateResult(
        chain_id=chain_id,
        periods=[p.period_identifier for p in periods],
        allow_unfinalized=allow_unfinalized,
        unfinalized_periods=unfinalized,
    )
    after = {
        s.statement_id: snapshot(s)
        for s in session.scalars(
            select(PartnerCommissionStatement).where(PartnerCommissionStatement.statement_id.in_(written))
        )
    }
    for sid in sorted(written):
        change = StatementChange(sid, before.get(sid), after[sid])
        (result.updated if sid in before else result.created).append(change)
    result.removed = [StatementChange(sid, before[sid], None) for sid in sorted(removed)]
    for sid, snap in sorted(before.items()):
        if sid in written or sid in removed:
            continue
        if snap["status"] == StatementStatus.DRAFT:
            result.unchanged.append(sid)
        else:
            result.locked.append({"statement_id": str(sid), "status": str(snap["status"])})
    if result.locked:
        labels = {
            str(r["statement_id"]): r
            for r in statement_rows(
                session, statement_ids=[uuid.UUID(x["statement_id"]) for x in result.locked]
            )
        }
        for item in result.locked:
            row = labels[item["statement_id"]]
            item.update(partner_name=row["partner_name"], period_identifier=row["period_identifier"])
    if audit is not None:
        for change, reason in result.changes:
            change.record(session, audit, "GENERATE_STATEMENT", reason)
    return result


def refresh_draft_totals(session: Session, statement: PartnerCommissionStatement) -> StatementChange | None:
    """Re-sum a DRAFT statement from its lines (after an override); None when nothing changed."""
    before = snapshot(statement)
    total, count = line_totals(session, statement.partner_id, statement.chain_id, statement.period_id)
    if (total, count) == (statement.total_commission_native, statement.line_count):
        return None
    statement.total_commission_native = total
    statement.line_count = count
    session.flush()
    return StatementChange(statement.statement_id, before, snapshot(statement))


def line_totals(
    session: Session, partner_id: uuid.UUID, chain_id: str, period_id: uuid.UUID
) -> tuple[Decimal, int]:
    """Σ final_amount_native (exact: NUMERIC in SQL) and the number of a statement's lines."""
    total, count = session.execute(
        select(
            func.coalesce(func.sum(PartnerCommissionLine.final_amount_native), 0),
            func.count(),
        ).where(
            PartnerCommissionLine.partner_id == partner_id,
            PartnerCommissionLine.chain_id == chain_id,
            PartnerCommissionLine.period_id == period_id,
        )
    ).one()
    return Decimal(total), int(count)


def stale_reason(statement: PartnerCommissionStatement, total: Decimal, count: int) -> str | None:
    """Why a statement disagrees with its lines (they were recomputed since it was generated)."""
    if (total, count) == (statement.total_commission_native, statement.line_count):
        return None
    return (
        f"it no longer matches its commission lines ({statement.line_count} lines, "
        f"total {to_plain_string(statement.total_commission_native)} on the statement; {count} lines, "
        f"total {to_plain_string(total)} in the lines): regenerate it with `aurora statements generate` first"
    )
