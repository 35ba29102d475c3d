"""Reading commission lines with readable names, scoped for PARTNER users; never writes.

Owns the one SELECT of lines (`LINES_QUERY`, also read by `reconcile`), the columns of
`aurora commissions show` and Σ final amount per partner.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from aurora_cli.domain.money import money_context
from aurora_cli.domain.permissions import Scope
from aurora_cli.errors import NotFound, PermissionDenied
from aurora_cli.services.periods import get_chain, get_period
from aurora_cli.services.scoping import limit_conditions
from aurora_cli.services.statements import PARTNER_VISIBLE

LINE_COLUMNS = [
    "line_id",
    "agreement_id",
    "agreement_name",
    "agreement_version",
    "rule_id",
    "rule_order",
    "partner_id",
    "partner_name",
    "chain_id",
    "period_id",
    "period_identifier",
    "validator_key",
    "revenue_component",
    "attribution_method",
    "base_amount_native",
    "commission_rate_bps",
    "pre_override_amount_native",
    "override_amount_native",
    "override_reason",
    "override_user_id",
    "override_timestamp",
    "final_amount_native",
    "computed_at",
    "created_at",
    "updated_at",
]

# The one SELECT of commission lines with readable names; callers add WHERE / ORDER BY.
LINES_QUERY = """
    SELECT l.line_id, l.agreement_id, a.agreement_name, l.agreement_version, l.rule_id, r.rule_order,
           l.partner_id, p.partner_name, l.chain_id, l.period_id, cp.period_identifier,
           l.validator_key, l.revenue_component::text AS revenue_component,
           l.attribution_method::text AS attribution_method, l.base_amount_native,
           l.commission_rate_bps, l.pre_override_amount_native, l.override_amount_native,
           l.override_reason, l.override_user_id, l.override_timestamp, l.final_amount_native,
           l.computed_at, l.created_at, l.updated_at
    FROM partner_commission_lines l
    JOIN partners p ON p.partner_id = l.partner_id
    JOIN agreements a ON a.agreement_id = l.agreement_id
    JOIN agreement_rules r ON r.rule_id = l.rule_id
    JOIN canonical_periods cp ON cp.period_id = l.period_id
"""


def commission_lines(
    session: Session,
    chain_id: str,
    period: str,
    *,
    partner_name: str | None = None,
    scope: Scope | None = None,
) -> list[dict[str, Any]]:
    """The stored lines of (chain, period) with readable names, ordered partner/agreement/rule/validator.

    `scope` is who is reading (the frame's `rt.scope`, the value the engine applies for row-level
    security): a PARTNER sees only its partner's lines, only when its statement is RELEASED or PAID; a
    user limited to some chains or validators sees those only (lines without a validator stay
    visible, as the database's `aurora_validator_visible` says). Enforced here in the query; row-level
    security adds the database's own guard on the same value.
    """
    get_chain(session, chain_id)
    period_row = get_period(session, chain_id, period)
    params: dict[str, Any] = {"chain_id": chain_id, "period_id": period_row.period_id}
    where = ["l.chain_id = :chain_id", "l.period_id = :period_id"]
    own_partner_id = scope.partner_filter if scope is not None else None
    if partner_name is not None:
        partner_ids = session.scalars(
            text("SELECT partner_id FROM partners WHERE partner_name = :name"), {"name": partner_name}
        ).all()
        # A partner user learns nothing about other partners, not even whether the name exists (row-level
        # security hides their rows): the same refusal for another partner and for an unknown name.
        if own_partner_id is not None and uuid.UUID(str(own_partner_id)) not in partner_ids:
            raise PermissionDenied("permission denied: a partner user may only see its own partner's lines.")
        if not partner_ids:
            raise NotFound(f"no partner named {partner_name!r}: see `aurora agreements list`.")
        params["partner_name"] = partner_name
        where.append("p.partner_name = :partner_name")
    where += limit_conditions(scope, "l", params, null_validator_visible=True)
    if own_partner_id is not None:
        params["own_partner_id"] = uuid.UUID(str(own_partner_id))
        # SPEC §11: a PARTNER sees its own lines, and only once its statement is released.
        params["visible"] = [status.value for status in PARTNER_VISIBLE]
        where.append("l.partner_id = :own_partner_id")
        where.append(
            """EXISTS (SELECT 1 FROM partner_commission_statements s
                       WHERE s.partner_id = l.partner_id AND s.chain_id = l.chain_id
                         AND s.period_id = l.period_id AND s.status::text = ANY(:visible))"""
        )
    rows = session.execute(
        text(
            LINES_QUERY
            + f"""
            WHERE {" AND ".join(where)}
            ORDER BY p.partner_name, a.agreement_name, l.agreement_version, r.rule_order,
                     l.validator_key NULLS FIRST
            """
        ),
        params,
    ).mappings()
    return [dict(row) for row in rows]


def partner_totals(lines: list[dict[str, Any]]) -> dict[str, Decimal]:
    """Σ final amount per partner name, in the lines' order."""
    totals: dict[str, Decimal] = {}
    with money_context():
        for line in lines:
            totals[line["partner_name"]] = (
                totals.get(line["partner_name"], Decimal(0)) + line["final_amount_native"]
            )
    return totals
