"""Reading statements with readable names (SPEC §13 keys), scoped to who is reading; never writes.

Owns the one statement read query (`statement_rows`), its columns, the label a statement is named
by in messages, and the reader's scope (`domain.permissions.Scope`): PARTNER users see only their own partner's RELEASED/PAID
statements (`PARTNER_VISIBLE`, also the rule for their commission lines and exports).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from aurora_cli.db.models import StatementStatus
from aurora_cli.domain.permissions import Scope
from aurora_cli.errors import InvalidInput, NotFound, PermissionDenied
from aurora_cli.services.finance_errors import InvalidField
from aurora_cli.services.periods import get_chain, get_period
from aurora_cli.services.scoping import limit_conditions
from aurora_cli.services.statements.selection import get_partner, month_bounds

# What a PARTNER user may see of their own partner's statements and lines (SPEC §11).
PARTNER_VISIBLE = (StatementStatus.RELEASED, StatementStatus.PAID)

# What a PARTNER is told about any statement it may not see: another partner's, a draft, one that does
# not exist, a partner name that does not exist. One sentence, so a refusal reveals nothing.
PARTNER_REFUSAL = "permission denied: a partner user may see only its own partner's released or paid statements."


def partner_refusal() -> PermissionDenied:
    return PermissionDenied(PARTNER_REFUSAL)

STATEMENT_COLUMNS = [
    "statement_id",
    "partner_id",
    "partner_name",
    "chain_id",
    "period_id",
    "period_identifier",
    "period_start",
    "period_end",
    "total_commission_native",
    "line_count",
    "status",
    "generated_by",
    "generated_by_username",
    "generated_at",
    "submitted_by",
    "submitted_by_username",
    "submitted_at",
    "approved_by",
    "approved_by_username",
    "approved_at",
    "released_by",
    "released_by_username",
    "released_at",
    "paid_by",
    "paid_by_username",
    "paid_at",
    "paid_reference",
    "reopened_by",
    "reopened_by_username",
    "reopened_at",
    "reopen_reason",
    "metadata",
    "created_at",
    "updated_at",
]
_WHO_COLUMNS = ("generated_by", "submitted_by", "approved_by", "released_by", "paid_by", "reopened_by")

_STATEMENT_ROWS = f"""
SELECT s.statement_id, s.partner_id, pa.partner_name, s.chain_id, s.period_id, cp.period_identifier,
       cp.period_start, cp.period_end, s.total_commission_native, s.line_count, s.status::text AS status,
       {", ".join(f"s.{c}, u_{c}.username AS {c}_username" for c in _WHO_COLUMNS)},
       s.generated_at, s.submitted_at, s.approved_at, s.released_at, s.paid_at, s.paid_reference,
       s.reopened_at, s.reopen_reason, s.metadata, s.created_at, s.updated_at,
       ch.native_decimals, ch.display_unit, ch.native_unit
FROM partner_commission_statements s
JOIN partners pa ON pa.partner_id = s.partner_id
JOIN canonical_periods cp ON cp.period_id = s.period_id
JOIN chains ch ON ch.chain_id = s.chain_id
{" ".join(f"LEFT JOIN aurora_user_names() u_{c} ON u_{c}.user_id = s.{c}" for c in _WHO_COLUMNS)}
"""


def statement_rows(
    session: Session,
    *,
    statement_ids: Sequence[uuid.UUID] | None = None,
    chain_id: str | None = None,
    period: str | None = None,
    month: str | None = None,
    partner: str | None = None,
    status: str | None = None,
    scope: Scope | None = None,
) -> list[dict[str, Any]]:
    """Statements with readable names (SPEC §13 keys), ordered by period start, chain, partner.

    `scope` is who is reading (the frame's `rt.scope`, the same value the engine applies as the
    `app.*` settings row-level security reads): its filters are derived from it alone.
    """
    where: list[str] = []
    params: dict[str, Any] = {}
    if statement_ids is not None:
        where.append("s.statement_id = ANY(:ids)")
        params["ids"] = list(statement_ids)
    if chain_id is not None:
        get_chain(session, chain_id)
        where.append("s.chain_id = :chain_id")
        params["chain_id"] = chain_id
    if period is not None:
        if chain_id is None:
            raise InvalidField("period", "needs the chain it belongs to.")
        where.append("s.period_id = :period_id")
        params["period_id"] = get_period(session, chain_id, period).period_id
    if month is not None:
        start, end = month_bounds(month)
        where.append("cp.period_start >= :month_start AND cp.period_start < :month_end")
        params.update(month_start=start, month_end=end)
    if partner is not None:
        where.append("s.partner_id = :partner_id")
        params["partner_id"] = _partner_id(session, partner, scope)
    if status is not None:
        wanted = status.upper()
        if wanted not in StatementStatus.__members__:
            raise InvalidField(
                "status", f"{status!r} is not a statement status: use one of {', '.join(StatementStatus)}."
            )
        where.append("s.status = CAST(:status AS statement_status)")
        params["status"] = wanted
    if scope is not None:
        where += visibility(scope, params)
    query = _STATEMENT_ROWS + (f" WHERE {' AND '.join(where)}" if where else "")
    query += " ORDER BY cp.period_start, s.chain_id, pa.partner_name, s.statement_id"
    return [dict(r) for r in session.execute(text(query), params).mappings()]


def _partner_id(session: Session, name: str, scope: Scope | None) -> uuid.UUID:
    own = scope.partner_filter if scope is not None else None
    if own is None:
        return get_partner(session, name).partner_id
    try:
        partner_id = get_partner(session, name).partner_id
    except (NotFound, InvalidInput):  # row-level security hides every other partner: unknown to it
        raise partner_refusal() from None
    if str(partner_id) != own:
        raise partner_refusal()
    return partner_id


def one_statement(
    session: Session,
    *,
    scope: Scope,
    statement_id: uuid.UUID | None = None,
    chain_id: str | None = None,
    period: str | None = None,
    partner: str | None = None,
) -> dict[str, Any] | None:
    """The one statement selected by id or by (partner, chain, period), as `scope` may see it; None
    when there is none. A PARTNER is refused in the one `PARTNER_REFUSAL` sentence whether the
    statement is another partner's, a draft, or does not exist."""
    if statement_id is not None:
        rows = statement_rows(session, statement_ids=[statement_id], scope=scope)
    else:
        rows = statement_rows(session, chain_id=chain_id, period=period, partner=partner, scope=scope)
    if not rows and scope.is_partner:
        raise partner_refusal()
    return rows[0] if rows else None


def visibility(scope: Scope, params: dict[str, Any], *, alias: str = "s") -> list[str]:
    """The WHERE terms a scope puts on statements (`alias` names the statements table): a PARTNER
    sees its own partner's RELEASED/PAID ones, a chain-limited user its chains only."""
    where = []
    partner = scope.partner_filter
    if partner is not None:
        where.append(f"{alias}.partner_id = CAST(:scope_partner AS uuid)")
        where.append(f"{alias}.status::text = ANY(:scope_statuses)")
        params["scope_statuses"] = [status.value for status in PARTNER_VISIBLE]
        params["scope_partner"] = partner
    return where + limit_conditions(scope, alias, params, validators=False)


def statement_label(row: dict[str, Any]) -> str:
    return f"{row['statement_id']} ({row['partner_name']}, {row['chain_id']} {row['period_identifier']})"
