"""Reconciling computed commission lines with the stored ones (SPEC §8 step 9); never touches statements.

A line's identity is (agreement, version, rule, validator): a line whose identity survives a
recompute is updated in place, so its `line_id` and any override stay; an identity that no longer
arises is deleted, and if it carried an override that override is reported as dropped (it priced a
line that no longer exists). Partners whose statement for the period is past DRAFT are locked: their
stored lines are left exactly as they are, none are written for them, and they are reported.
Statement rows themselves are never touched here (`statements generate` owns them).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from aurora_cli.db.models import PartnerCommissionLine
from aurora_cli.domain.commission import AttributionMethod, RevenueComponent
from aurora_cli.domain.money import money_context
from aurora_cli.services.commissions.lines import LINES_QUERY
from aurora_cli.services.commissions.results import (
    ADDED,
    CHANGED,
    REMOVED,
    CommissionResult,
    ComputedLine,
    LineChange,
    LineIdentity,
    LockedPartner,
)

_SELECT_STORED_LINES = text(
    LINES_QUERY
    + """
    WHERE l.chain_id = :chain_id AND l.period_id = :period_id
    ORDER BY l.line_id
    -- An override committed after this read would otherwise be overwritten with a stale final amount.
    FOR UPDATE OF l
    """
)

_SELECT_STATEMENTS = text(
    """
    SELECT s.partner_id, p.partner_name, s.status::text AS status
    FROM partner_commission_statements s
    JOIN partners p ON p.partner_id = s.partner_id
    WHERE s.chain_id = :chain_id AND s.period_id = :period_id
    ORDER BY s.statement_id
    -- Hold the statuses until commit: a submit waiting on these rows cannot lock a statement
    -- between our reading it as DRAFT and our writing its lines. Ordered like the other lockers.
    FOR SHARE OF s
    """
)

_UPDATE_LINE = text(
    """
    UPDATE partner_commission_lines
    SET revenue_component = CAST(:revenue_component AS revenue_component),
        attribution_method = CAST(:attribution_method AS attribution_method),
        base_amount_native = :base_amount_native,
        commission_rate_bps = :commission_rate_bps,
        pre_override_amount_native = :pre_override_amount_native,
        -- The override, when one is set, stays the final amount (SPEC §8 step 8).
        final_amount_native = COALESCE(override_amount_native, :final_amount_native),
        computed_at = now(), updated_at = now()
    WHERE line_id = :line_id
    """
)

_DELETE_LINES = text("DELETE FROM partner_commission_lines WHERE line_id = ANY(:line_ids)")

# The application role does not own the summary; revision 011's definer function refreshes it.
_REFRESH_SUMMARY = text("SELECT aurora_refresh_summary('mv_partner_commissions_summary')")


def reconcile(
    session: Session, result: CommissionResult, computed: list[ComputedLine], params: dict[str, Any]
) -> None:
    """Step 9: diff `computed` against the stored lines into `result`; write the diff unless a dry run."""
    statements = session.execute(_SELECT_STATEMENTS, params).all()
    stored_rows = session.execute(_SELECT_STORED_LINES, params).all()
    locked_status = {row.partner_id: row for row in statements if row.status != "DRAFT"}

    stored: dict[LineIdentity, Any] = {}
    duplicates: list[Any] = []  # a second stored line for one identity (hand-written rows only)
    for row in stored_rows:
        identity = LineIdentity(row.agreement_id, row.agreement_version, row.rule_id, row.validator_key)
        if identity in stored:
            duplicates.append(row)
        else:
            stored[identity] = row
    fresh = {line.identity: line for line in computed}

    with money_context():  # 38-digit sums exceed the default 28-digit context
        totals_before: dict[str, Decimal] = defaultdict(Decimal)
        for row in stored_rows:
            totals_before[row.partner_name] += row.final_amount_native
        result.totals_before = dict(totals_before)

        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        deletes: list[uuid.UUID] = []
        locked_differs: set[uuid.UUID] = set()
        totals_after: dict[str, Decimal] = defaultdict(Decimal)

        for identity in _ordered(stored, fresh):
            old, new = stored.get(identity), fresh.get(identity)
            partner_id = new.partner_id if new is not None else old.partner_id
            if partner_id in locked_status:
                if old is None or new is None or _differs(old, new):
                    locked_differs.add(partner_id)
                if old is not None:
                    totals_after[old.partner_name] += old.final_amount_native
                continue
            if new is None:
                deletes.append(old.line_id)
                result.changes.append(_change(REMOVED, old.line_id, old=old))
            elif old is None:
                line_id = uuid.uuid4()
                inserts.append(_insert_row(line_id, new, params))
                result.changes.append(_change(ADDED, line_id, new=new))
                totals_after[new.partner_name] += new.pre_override_amount_native
            else:
                final = _final(old, new)
                totals_after[new.partner_name] += final
                if _differs(old, new):
                    updates.append(_update_row(old.line_id, new, final))
                    result.changes.append(_change(CHANGED, old.line_id, old=old, new=new))
                else:
                    result.unchanged += 1
        for row in duplicates:
            if row.partner_id in locked_status:
                totals_after[row.partner_name] += row.final_amount_native
                continue
            deletes.append(row.line_id)
            result.changes.append(_change(REMOVED, row.line_id, old=row))
        result.totals_after = dict(totals_after)

    stored_count: dict[uuid.UUID, int] = defaultdict(int)
    for row in stored_rows:
        stored_count[row.partner_id] += 1
    result.locked_partners = [
        LockedPartner(
            partner_id=partner_id,
            partner_name=row.partner_name,
            statement_status=row.status,
            stored_lines=stored_count[partner_id],
            recompute_differs=partner_id in locked_differs,
        )
        for partner_id, row in sorted(locked_status.items(), key=lambda item: item[1].partner_name)
    ]

    if result.dry_run:
        return
    if deletes:
        session.execute(_DELETE_LINES, {"line_ids": deletes})
    if updates:
        session.execute(_UPDATE_LINE, updates)
    if inserts:
        session.execute(insert(PartnerCommissionLine.__table__), inserts)
    session.execute(_REFRESH_SUMMARY)


def _ordered(stored: dict[LineIdentity, Any], fresh: dict[LineIdentity, ComputedLine]) -> list[LineIdentity]:
    """Identities in the order a reader expects: partner, agreement, rule, validator (floor line first)."""

    def key(identity: LineIdentity) -> tuple[Any, ...]:
        line = fresh.get(identity) or stored[identity]
        return (
            line.partner_name,
            line.agreement_name,
            str(identity.agreement_id),
            identity.agreement_version,
            line.rule_order,
            identity.validator_key is not None,
            identity.validator_key or "",
        )

    return sorted(set(stored) | set(fresh), key=key)


def _final(old: Any, new: ComputedLine) -> Decimal:
    """SPEC §8 step 8/9: the carried override wins over the recomputed amount."""
    if old is not None and old.override_amount_native is not None:
        return old.override_amount_native
    return new.pre_override_amount_native


def _differs(old: Any, new: ComputedLine) -> bool:
    return (
        old.partner_id,
        old.revenue_component,
        old.attribution_method,
        old.base_amount_native,
        old.commission_rate_bps,
        old.pre_override_amount_native,
        old.final_amount_native,
    ) != (
        new.partner_id,
        new.revenue_component,
        new.attribution_method,
        new.base_amount_native,
        new.commission_rate_bps,
        new.pre_override_amount_native,
        _final(old, new),
    )


def _change(
    change: str, line_id: uuid.UUID, *, old: Any = None, new: ComputedLine | None = None
) -> LineChange:
    line = new if new is not None else old
    identity_version = new.identity.agreement_version if new is not None else old.agreement_version
    validator_key = new.identity.validator_key if new is not None else old.validator_key
    return LineChange(
        change=change,
        line_id=line_id,
        partner_name=line.partner_name,
        agreement_name=line.agreement_name,
        agreement_version=identity_version,
        rule_order=line.rule_order,
        validator_key=validator_key,
        revenue_component=line.revenue_component,
        old_base=old.base_amount_native if old is not None else None,
        new_base=new.base_amount_native if new is not None else None,
        old_amount=old.final_amount_native if old is not None else None,
        new_amount=_final(old, new) if new is not None else None,
        override_amount=old.override_amount_native if old is not None else None,
    )


def _insert_row(line_id: uuid.UUID, line: ComputedLine, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "line_id": line_id,
        "agreement_id": line.identity.agreement_id,
        "agreement_version": line.identity.agreement_version,
        "rule_id": line.identity.rule_id,
        "partner_id": line.partner_id,
        "chain_id": params["chain_id"],
        "period_id": params["period_id"],
        "validator_key": line.identity.validator_key,
        "revenue_component": RevenueComponent(line.revenue_component),
        "attribution_method": AttributionMethod(line.attribution_method),
        "base_amount_native": line.base_amount_native,
        "commission_rate_bps": line.commission_rate_bps,
        "pre_override_amount_native": line.pre_override_amount_native,
        "final_amount_native": line.pre_override_amount_native,
    }


def _update_row(line_id: uuid.UUID, line: ComputedLine, final: Decimal) -> dict[str, Any]:
    return {
        "line_id": line_id,
        "revenue_component": line.revenue_component,
        "attribution_method": line.attribution_method,
        "base_amount_native": line.base_amount_native,
        "commission_rate_bps": line.commission_rate_bps,
        "pre_override_amount_native": line.pre_override_amount_native,
        "final_amount_native": final,
    }
