"""Reading statements with readable names (SPEC §13 keys), scoped to who is reading; never writes.

Owns the one statement read query (`statement_rows`), its columns, the label a statement is named
by in messages, and viewer scoping: PARTNER users see only their own partner's RELEASED/PAID
statements (`PARTNER_VISIBLE`, also the rule for their commission lines and exports).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from aurora_cli.db.models import StatementStatus
from aurora_cli.domain.permissions import Role
from aurora_cli.services.finance_errors import InvalidField
from aurora_cli.services.periods import get_chain, get_period
from aurora_cli.services.statements.selection import get_partner, month_bounds

# What a PARTNER user may see of their own partner's statements and lines (SPEC §11).
PARTNER_VISIBLE = (StatementStatus.RELEASED, StatementStatus.PAID)

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


@dataclass(frozen=True)
class Viewer:
    """Who is reading: PARTNER users see only their own partner's RELEASED/PAID statements."""

    role: str
    partner_id: str | None = None
    allowed_chain_ids: tuple[str, ...] | None = None

    @classmethod
    def of(cls, user: Any) -> Viewer:
        return cls(
            role=str(user.role),
            partner_id=str(user.partner_id) if user.partner_id else None,
            allowed_chain_ids=tuple(user.allowed_chain_ids) if user.allowed_chain_ids else None,
        )

    @property
    def is_partner(self) -> bool:
        return self.role == Role.PARTNER


def statement_rows(
    session: Session,
    *,
    statement_ids: Sequence[uuid.UUID] | None = None,
    chain_id: str | None = None,
    period: str | None = None,
    month: str | None = None,
    partner: str | None = None,
    status: str | None = None,
    viewer: Viewer | None = None,
) -> list[dict[str, Any]]:
    """Statements with readable names (SPEC §13 keys), ordered by period start, chain, partner."""
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
        params["partner_id"] = get_partner(session, partner).partner_id
    if status is not None:
        wanted = status.upper()
        if wanted not in StatementStatus.__members__:
            raise InvalidField(
                "status", f"{status!r} is not a statement status: use one of {', '.join(StatementStatus)}."
            )
        where.append("s.status = CAST(:status AS statement_status)")
        params["status"] = wanted
    if viewer is not None:
        where += _visibility(viewer, params)
    query = _STATEMENT_ROWS + (f" WHERE {' AND '.join(where)}" if where else "")
    query += " ORDER BY cp.period_start, s.chain_id, pa.partner_name, s.statement_id"
    return [dict(r) for r in session.execute(text(query), params).mappings()]


def _visibility(viewer: Viewer, params: dict[str, Any]) -> list[str]:
    where = []
    if viewer.is_partner:
        # A PARTNER user without a partner sees nothing rather than everything.
        where.append("s.partner_id = CAST(:viewer_partner AS uuid)")
        where.append("s.status::text = ANY(:viewer_statuses)")
        params["viewer_statuses"] = [status.value for status in PARTNER_VISIBLE]
        params["viewer_partner"] = viewer.partner_id or "00000000-0000-0000-0000-000000000000"
    if viewer.allowed_chain_ids is not None:
        where.append("s.chain_id = ANY(:viewer_chains)")
        params["viewer_chains"] = list(viewer.allowed_chain_ids)
    return where


def statement_label(row: dict[str, Any]) -> str:
    return f"{row['statement_id']} ({row['partner_name']}, {row['chain_id']} {row['period_identifier']})"
