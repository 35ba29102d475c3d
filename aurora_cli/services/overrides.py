"""Manual overrides of commission lines (SPEC §9); never prints, never touches a statement past DRAFT.

This module owns setting and clearing a line's override: the amount (whole native units), who,
when and why, and `final_amount_native` (the override if set, else the pre-override amount). An
override is accepted only while the partner's statement for the line's (chain, period) is DRAFT or
absent; a DRAFT statement's total and line count are re-summed in the same transaction, so a
statement never disagrees with its lines.

It writes its own audit rows (the line's override action, and GENERATE_STATEMENT for a re-summed
DRAFT) through the `audit` it is given; it never prints and never touches a statement past DRAFT.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import ObjectDeletedError

from aurora_cli.db.models import PartnerCommissionLine, PartnerCommissionStatement, StatementStatus
from aurora_cli.domain.money import is_whole_units, parse_amount
from aurora_cli.errors import Conflict, InvalidInput, NotFound
from aurora_cli.services.audit import Recorder
from aurora_cli.services.finance_errors import InvalidField
from aurora_cli.services.statements import (
    StatementChange,
    refresh_draft_totals,
    snapshot,
    statement_label,
    statement_rows,
    statement_scope_lock,
)


class NoLine(NotFound):
    def __init__(self, line_id: str) -> None:
        super().__init__(f"no commission line {line_id}: list the period's lines to find it.")
        self.line_id = line_id


class LineLocked(Conflict):
    """The line is on a statement past DRAFT, whose lines are locked until an ADMIN reopens it."""

    def __init__(
        self, doing: str, line_id: str, statement_label: str, status: StatementStatus, statement_id: uuid.UUID
    ) -> None:
        self.doing, self.line_id, self.statement_label = doing, line_id, statement_label
        self.status, self.statement_id = status, statement_id
        super().__init__(self.sentence("an ADMIN can reopen it"))

    def sentence(self, how_to_reopen: str) -> str:
        return (
            f"cannot {self.doing} line {self.line_id}: it is on statement {self.statement_label}, which is "
            f"{self.status.value}, and the lines of a statement past DRAFT are locked; {how_to_reopen}, "
            "then override the line and submit it again."
        )


@dataclass(frozen=True)
class OverrideResult:
    """What an override command did to one line, and to its DRAFT statement's totals if any."""

    line_id: uuid.UUID
    action: str  # CREATE_OVERRIDE | UPDATE_OVERRIDE | CLEAR_OVERRIDE, or "" when nothing changed
    before: dict[str, Any]
    after: dict[str, Any]
    statement: StatementChange | None

    @property
    def changed(self) -> bool:
        return bool(self.action)


def parse_override_amount(text: str) -> Decimal:
    """A non-negative whole number of native units, written out as a plain decimal string."""
    try:
        amount = parse_amount(text)
    except ValueError as exc:
        raise InvalidField("amount", f"{exc}.") from exc
    if not is_whole_units(amount):
        # Commissions are paid in whole native units (SPEC §8 rounds every line down to one).
        raise InvalidField(
            "amount",
            f"{text!r} has a fraction of a native unit: commissions are whole native units (lamports, wei).",
        )
    return amount


def set_override(
    session: Session,
    line_id: str,
    amount: Decimal,
    *,
    reason: str,
    actor_user_id: uuid.UUID | None,
    audit: Recorder | None = None,
) -> OverrideResult:
    """Override a line's amount; refused (Conflict) once its statement is past DRAFT."""
    reason = _reason(reason)
    line, statement = _lock_line(session, line_id, doing="override")
    before = snapshot(line)
    if line.override_amount_native == amount and line.override_reason == reason:
        return OverrideResult(line.line_id, "", before, before, None)
    action = "CREATE_OVERRIDE" if line.override_amount_native is None else "UPDATE_OVERRIDE"
    line.override_amount_native = amount
    line.override_reason = reason
    line.override_user_id = actor_user_id
    line.override_timestamp = session.scalar(select(func.now()))
    line.final_amount_native = amount
    return _finish(session, line, statement, action, before, reason, audit)


def clear_override(
    session: Session,
    line_id: str,
    *,
    reason: str,
    actor_user_id: uuid.UUID | None,
    audit: Recorder | None = None,
) -> OverrideResult:
    """Remove a line's override: its final amount goes back to the computed (pre-override) amount."""
    _reason(reason)
    line, statement = _lock_line(session, line_id, doing="clear the override of")
    before = snapshot(line)
    if line.override_amount_native is None:
        return OverrideResult(line.line_id, "", before, before, None)
    # Who cleared it, when and why is the CLEAR_OVERRIDE audit row; the line keeps no trace, so that
    # statements mark only lines that are overridden now.
    line.override_amount_native = None
    line.override_reason = None
    line.override_user_id = None
    line.override_timestamp = None
    line.final_amount_native = line.pre_override_amount_native
    return _finish(session, line, statement, "CLEAR_OVERRIDE", before, reason, audit)


def _finish(
    session: Session,
    line: PartnerCommissionLine,
    statement: PartnerCommissionStatement | None,
    action: str,
    before: dict[str, Any],
    reason: str,
    audit: Recorder | None,
) -> OverrideResult:
    session.flush()
    change = refresh_draft_totals(session, statement) if statement is not None else None
    # The summary view sums final amounts, which the override just changed.
    session.execute(text("SELECT aurora_refresh_summary('mv_partner_commissions_summary')"))
    result = OverrideResult(line.line_id, action, before, snapshot(line), change)
    if audit is not None:
        audit(
            session,
            action=action,
            resource_type="commission_line",
            resource_id=str(line.line_id),
            before=result.before,
            after=result.after,
            reason=reason,
        )
        if change is not None:
            change.record(
                session,
                audit,
                "GENERATE_STATEMENT",
                f"totals refreshed after {action} on line {line.line_id}",
            )
    return result


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidField(
            "reason", "is required: say why the amount is overridden (it is shown to the partner)."
        )
    return reason


def _lock_line(
    session: Session, line_id: str, *, doing: str
) -> tuple[PartnerCommissionLine, PartnerCommissionStatement | None]:
    """The line and its DRAFT statement (or None), both locked; Conflict when the statement is locked."""
    try:
        key = uuid.UUID(line_id)
    except ValueError as exc:
        raise InvalidInput(f"{line_id!r} is not a commission line id (a UUID).") from exc
    line = session.get(PartnerCommissionLine, key)
    if line is None:
        raise NoLine(line_id)
    # Lock order: the (chain, period) scope, then the statement, then the line -- the same order as
    # generating statements, so an override and a generate never deadlock.
    statement_scope_lock(session, line.chain_id, line.period_id)
    statement = session.scalar(
        select(PartnerCommissionStatement)
        .where(
            PartnerCommissionStatement.partner_id == line.partner_id,
            PartnerCommissionStatement.chain_id == line.chain_id,
            PartnerCommissionStatement.period_id == line.period_id,
        )
        .with_for_update()
    )
    if statement is not None and statement.status != StatementStatus.DRAFT:
        row = statement_rows(session, statement_ids=[statement.statement_id])[0]
        raise LineLocked(doing, line_id, statement_label(row), statement.status, statement.statement_id)
    try:
        session.refresh(line, with_for_update=True)
    except ObjectDeletedError:
        # A recompute that held the lock before us found the line no longer arises.
        raise NotFound(
            f"commission line {line_id} no longer exists: a recompute removed it; "
            "list the current lines with `aurora commissions show`."
        ) from None
    return line, statement
