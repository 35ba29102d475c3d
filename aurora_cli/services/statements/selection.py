"""Which statements a user means (partner, periods or UTC month, selector); never parses options or writes.

Owns finding partners, periods and statements from what a user named; it never parses command-line
options (the CLI builds a `StatementSelector`), never prints and never changes a row.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from aurora_cli.db.models import CanonicalPeriod, Partner, PartnerCommissionStatement
from aurora_cli.errors import NotFound
from aurora_cli.services.finance_errors import AmbiguousPartner, InvalidField
from aurora_cli.services.periods import get_chain, get_period


def get_partner(session: Session, name: str) -> Partner:
    matches = session.scalars(select(Partner).where(Partner.partner_name == name)).all()
    if not matches:
        raise NotFound(f"no partner named {name!r}: partners are created by `aurora agreements apply FILE`.")
    if len(matches) > 1:
        raise AmbiguousPartner(name, len(matches))
    return matches[0]


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a UTC calendar month written YYYY-MM."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", month)
    if not match or not 1 <= int(match[2]) <= 12:
        raise InvalidField("month", f"{month!r} is not a month: write it as YYYY-MM, e.g. 2025-09.")
    year, mon = int(match[1]), int(match[2])
    start = datetime(year, mon, 1, tzinfo=UTC)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=UTC)
    return start, end


def select_periods(
    session: Session, chain_id: str, *, period: str | None = None, month: str | None = None
) -> list[CanonicalPeriod]:
    """The one period named, or every period of the chain that starts in the UTC month."""
    if (period is None) == (month is None):
        raise ValueError("select_periods takes exactly one of period or month")
    get_chain(session, chain_id)
    if period is not None:
        return [get_period(session, chain_id, period)]
    start, end = month_bounds(month or "")
    periods = list(
        session.scalars(
            select(CanonicalPeriod)
            .where(
                CanonicalPeriod.chain_id == chain_id,
                CanonicalPeriod.period_start >= start,
                CanonicalPeriod.period_start < end,
            )
            .order_by(CanonicalPeriod.period_start)
        )
    )
    if not periods:
        raise NotFound(
            f"no period of {chain_id} starts in {month}: register periods with `aurora periods add`."
        )
    return periods


def scope_label(*, period: str | None = None, month: str | None = None) -> str:
    """How a selection is named on statements and in messages: "Period 850" / "Month 2025-09"."""
    return f"Period {period}" if period is not None else f"Month {month}"


@dataclass(frozen=True)
class StatementSelector:
    """One statement by id, or a partner's statements of a chain for one period or one UTC month."""

    statement_id: uuid.UUID | None = None
    partner: str | None = None
    chain_id: str | None = None
    period: str | None = None
    month: str | None = None

    @property
    def is_many(self) -> bool:
        return self.month is not None

    def describe(self) -> str:
        if self.statement_id is not None:
            return f"statement {self.statement_id}"
        where = f"period {self.period}" if self.period is not None else f"month {self.month}"
        return f"{self.partner} on {self.chain_id} for {where}"


def find_statements(
    session: Session, selector: StatementSelector, *, for_update: bool = False
) -> list[PartnerCommissionStatement]:
    """The selected statements, ordered by id (the lock order); NotFound when there are none."""
    query = select(PartnerCommissionStatement).order_by(PartnerCommissionStatement.statement_id)
    if selector.statement_id is not None:
        query = query.where(PartnerCommissionStatement.statement_id == selector.statement_id)
    else:
        partner = get_partner(session, selector.partner or "")
        periods = select_periods(
            session, selector.chain_id or "", period=selector.period, month=selector.month
        )
        query = query.where(
            PartnerCommissionStatement.partner_id == partner.partner_id,
            PartnerCommissionStatement.chain_id == selector.chain_id,
            PartnerCommissionStatement.period_id.in_([p.period_id for p in periods]),
        )
    if for_update:
        query = query.with_for_update()
    statements = list(session.scalars(query))
    if not statements:
        raise no_statement(selector)
    return statements


class NoStatement(NotFound):
    """A partner's selection (partner, chain, period or month) matches no statement: none was generated."""

    def __init__(self, selector: StatementSelector) -> None:
        super().__init__(f"there is no statement of {selector.describe()}: generate it first.")
        self.selector = selector


def no_statement(selector: StatementSelector) -> NotFound:
    """The NotFound for a selection that matches no statement."""
    if selector.statement_id is not None:
        return NotFound(f"no statement {selector.statement_id}: list them with `aurora statements list`.")
    return NoStatement(selector)
