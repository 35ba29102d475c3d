"""Periods per chain (SPEC §3): registering, deriving Ethereum days, finalizing by finality lag.

Writes its own audit rows through the caller's trail; never prints or names a flag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text

from aurora_cli.errors import Conflict, InvalidInput, MissingInput, NotFound, param
from aurora_cli.services.audit import Recorder

if TYPE_CHECKING:  # the ORM models load in the functions that need them: `periods list` does not
    from sqlalchemy.orm import Session

    from aurora_cli.db.models import CanonicalPeriod, Chain

PERIOD_COLUMNS = [
    "period_id",
    "chain_id",
    "period_identifier",
    "period_start",
    "period_end",
    "is_finalized",
    "finalized_at",
]


def get_chain(session: Session, chain_id: str) -> Chain:
    from aurora_cli.db.models import Chain
    chain = session.get(Chain, chain_id)
    if chain is None:
        raise _unknown_chain(session, chain_id)
    return chain


def require_chain(session: Session, chain_id: str) -> None:
    """`get_chain`'s check in Core SQL, for reads that must not load the ORM models."""
    if session.execute(text("SELECT 1 FROM chains WHERE chain_id = :c"), {"c": chain_id}).first() is None:
        raise _unknown_chain(session, chain_id)


def _unknown_chain(session: Session, chain_id: str) -> NotFound:
    known = ", ".join(session.scalars(text("SELECT chain_id FROM chains ORDER BY chain_id"))) or "none"
    return NotFound(f"unknown chain {chain_id!r} (known: {known}): run `aurora config apply` or fix {param('chain')}.")


def _period_type(chain: Chain) -> str:
    return str(getattr(chain.period_type, "value", chain.period_type))


def derived_bounds(chain: Chain, identifier: str) -> tuple[datetime, datetime] | None:
    """Bounds that follow from the identifier alone: an Ethereum UTC day."""
    if _period_type(chain) != "BLOCK_WINDOW":
        return None
    day = _parse_day(identifier)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _parse_day(identifier: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", identifier):
        raise InvalidInput(f"period {identifier!r} is not a UTC day: use YYYY-MM-DD for block-window chains.")
    try:
        return date.fromisoformat(identifier)
    except ValueError as exc:
        raise InvalidInput(f"period {identifier!r} is not a valid date.") from exc


def check_identifier(chain: Chain, identifier: str) -> None:
    kind = _period_type(chain)
    if kind == "EPOCH" and not re.fullmatch(r"0|[1-9]\d{0,9}", identifier):
        raise InvalidInput(f"period {identifier!r} is not an epoch number (e.g. 850).")
    if kind == "BLOCK_WINDOW":
        _parse_day(identifier)


def find_period(session: Session, chain_id: str, identifier: str) -> CanonicalPeriod | None:
    from aurora_cli.db.models import CanonicalPeriod
    return session.scalar(
        select(CanonicalPeriod).where(
            CanonicalPeriod.chain_id == chain_id, CanonicalPeriod.period_identifier == identifier
        )
    )


def get_period(session: Session, chain_id: str, identifier: str) -> CanonicalPeriod:
    period = find_period(session, chain_id, identifier)
    if period is None:
        raise NotFound(f"unknown period {identifier} of {chain_id}: add it with `aurora periods add`.")
    return period


def resolve_period(session: Session, chain_id: str, identifier: str) -> tuple[CanonicalPeriod, bool]:
    """The period, created when its bounds are derivable; returns (period, created)."""
    chain = get_chain(session, chain_id)
    check_identifier(chain, identifier)
    period = find_period(session, chain_id, identifier)
    if period is not None:
        return period, False
    bounds = derived_bounds(chain, identifier)
    if bounds is None:
        raise NotFound(f"unknown period {identifier} of {chain_id}: add it with `aurora periods add`.")
    return _insert(session, chain, identifier, *bounds), True


def _insert(
    session: Session, chain: Chain, identifier: str, start: datetime, end: datetime
) -> CanonicalPeriod:
    from aurora_cli.db.models import CanonicalPeriod
    period = CanonicalPeriod(
        chain_id=chain.chain_id, period_identifier=identifier, period_start=start, period_end=end
    )
    session.add(period)
    session.flush()
    return period


def period_row(period: CanonicalPeriod) -> dict:
    return {c: getattr(period, c) for c in PERIOD_COLUMNS}


def add_period(
    session: Session,
    trail: Recorder,
    chain_id: str,
    identifier: str,
    start: datetime | None,
    end: datetime | None,
) -> tuple[CanonicalPeriod, bool]:
    """Register a period (audited); idempotent when the same bounds are given again."""
    period, created = _register(session, chain_id, identifier, start, end)
    if created:
        trail(
            session,
            action="CREATE_PERIOD",
            resource_type="period",
            resource_id=str(period.period_id),
            after=period_row(period),
        )
    return period, created


def _register(
    session: Session, chain_id: str, identifier: str, start: datetime | None, end: datetime | None
) -> tuple[CanonicalPeriod, bool]:
    from aurora_cli.db.models import CanonicalPeriod
    chain = get_chain(session, chain_id)
    check_identifier(chain, identifier)
    derived = derived_bounds(chain, identifier)
    if start is None or end is None:
        if derived is None:
            raise MissingInput(f"{param('start')} and {param('end')} are required for this chain's periods.")
        start, end = derived
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise InvalidInput(
                f"{param(name)} has no time zone: write it as ISO 8601 with an offset, e.g. 2025-06-01T00:00:00Z."
            )
    if start >= end:
        raise InvalidInput(f"{param('start')} must be before {param('end')}.")
    if derived is not None and (start, end) != derived:
        raise InvalidInput(
            f"{identifier} is a UTC day: it runs from {derived[0].isoformat()} to {derived[1].isoformat()}."
        )
    existing = find_period(session, chain_id, identifier)
    if existing is not None:
        if (existing.period_start, existing.period_end) != (start, end):
            raise Conflict(
                f"period {identifier} of {chain_id} already exists with other bounds "
                f"({existing.period_start.isoformat()} to {existing.period_end.isoformat()})."
            )
        return existing, False
    overlap = session.scalar(
        select(CanonicalPeriod.period_identifier).where(
            CanonicalPeriod.chain_id == chain_id,
            CanonicalPeriod.period_start < end,
            CanonicalPeriod.period_end > start,
        )
    )
    if overlap is not None:
        raise Conflict(f"period {identifier} would overlap period {overlap} of {chain_id}.")
    return _insert(session, chain, identifier, start, end), True


def list_periods(session: Session, chain_id: str | None = None) -> list[Any]:
    """The periods (rows with the `PERIOD_COLUMNS` as attributes), by chain and start; Core SQL, so a
    simple read does not load the ORM models."""
    if chain_id:
        require_chain(session, chain_id)
    query = f"SELECT {', '.join(PERIOD_COLUMNS)} FROM canonical_periods"
    query += " WHERE chain_id = :chain_id" if chain_id else ""
    return list(session.execute(text(query + " ORDER BY chain_id, period_start"), {"chain_id": chain_id}))


@dataclass(frozen=True)
class FinalizeResult:
    finalized: list[str]
    already_final: int
    waiting: list[str]


def finalize(session: Session, trail: Recorder, chain_id: str) -> FinalizeResult:
    """Mark final (audited) every period with at least `finality_lag` newer periods of its chain."""
    from aurora_cli.db.models import CanonicalPeriod

    chain = get_chain(session, chain_id)
    periods = list(
        session.scalars(
            select(CanonicalPeriod)
            .where(CanonicalPeriod.chain_id == chain_id)
            .order_by(CanonicalPeriod.chain_id, CanonicalPeriod.period_start)
        )
    )
    finalized: list[str] = []
    waiting: list[str] = []
    already = 0
    now = session.scalar(select(func.now()))
    for index, period in enumerate(periods):
        newer = len(periods) - index - 1
        if period.is_finalized:
            already += 1
        elif newer >= chain.finality_lag:
            period.is_finalized = True
            period.finalized_at = now
            period.updated_at = now
            finalized.append(period.period_identifier)
        else:
            waiting.append(period.period_identifier)
    session.flush()
    if finalized:
        trail(
            session,
            action="FINALIZE_PERIOD",
            resource_type="chain",
            resource_id=chain_id,
            after={"finalized": finalized},
        )
    return FinalizeResult(finalized, already, waiting)
