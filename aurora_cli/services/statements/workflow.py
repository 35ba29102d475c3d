"""The statement workflow (SPEC §9): the one transition table and applying a step, all-or-nothing.

Owns which status may move to which, by which command, under which audit action (`TRANSITIONS`),
the refusals (four eyes, FINANCE not releasing its own submission, a stale DRAFT), and moving the
selected statements with their rows locked ``FOR UPDATE`` so two concurrent approvals cannot both
succeed. It writes one audit row per moved statement through the `audit` it is given; it never
prints and never changes a statement except by a transition (revision 006's triggers refuse any
other change past DRAFT).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aurora_cli.db.models import PartnerCommissionStatement, StatementStatus
from aurora_cli.domain.permissions import Role
from aurora_cli.errors import Conflict
from aurora_cli.services.audit import Recorder
from aurora_cli.services.finance_errors import InvalidField
from aurora_cli.services.statements.changes import StatementChange, snapshot
from aurora_cli.services.statements.generation import line_totals, stale_reason
from aurora_cli.services.statements.selection import StatementSelector, find_statements
from aurora_cli.services.statements.views import statement_label, statement_rows

DRAFT = StatementStatus.DRAFT
PENDING_APPROVAL = StatementStatus.PENDING_APPROVAL
APPROVED = StatementStatus.APPROVED
RELEASED = StatementStatus.RELEASED
PAID = StatementStatus.PAID
PAID_REFERENCE_MAX = 200


# -- the workflow: the one transition table ---------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """One workflow step: from which statuses, to which, by which command, audited how."""

    name: str  # the key in TRANSITIONS
    verb: str  # "approve" in "cannot approve statement …"
    past: str  # "approved" in "Approved 1 statement"
    sources: frozenset[StatementStatus]
    target: StatementStatus
    audit_action: str
    offer: str  # how a refusal offers this step, in the business's words (the CLI names its command)


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition(
            "submit",
            "submit",
            "submitted",
            frozenset({DRAFT}),
            PENDING_APPROVAL,
            "SUBMIT_STATEMENT",
            "submitted for approval",
        ),
        Transition(
            "approve",
            "approve",
            "approved",
            frozenset({PENDING_APPROVAL}),
            APPROVED,
            "APPROVE_STATEMENT",
            "approved by a user other than its submitter",
        ),
        Transition(
            "release",
            "release",
            "released",
            frozenset({APPROVED}),
            RELEASED,
            "RELEASE_STATEMENT",
            "released",
        ),
        Transition(
            "mark-paid",
            "mark paid",
            "marked paid",
            frozenset({RELEASED}),
            PAID,
            "MARK_PAID",
            "marked paid with the payment's reference",
        ),
        Transition(
            "reopen",
            "reopen",
            "reopened",
            frozenset({PENDING_APPROVAL, APPROVED, RELEASED, PAID}),
            DRAFT,
            "REOPEN_STATEMENT",
            "reopened by an ADMIN, with a reason",
        ),
    )
}


def allowed_from(status: StatementStatus) -> list[Transition]:
    return [t for t in TRANSITIONS.values() if status in t.sources]


Offer = Callable[[Transition], str]


def status_refusal(status: StatementStatus, offer: Offer = lambda t: t.offer) -> str:
    """Why a step does not apply to a statement in `status`, and which ones do (each said by `offer`)."""
    return f"it is {status.value}; it can be " + " or ".join(offer(t) for t in allowed_from(status))


@dataclass(frozen=True)
class Refusal:
    """Why one statement cannot take the step: its status, or a reason in its own words."""

    label: str
    status: StatementStatus | None = None
    why: str = ""

    def sentence(self, offer: Offer) -> str:
        return status_refusal(self.status, offer) if self.status is not None else self.why


class TransitionRefused(Conflict):
    """A step refused for some of the selected statements; nothing was changed."""

    def __init__(self, transition: Transition, described: str, total: int, refusals: list[Refusal]) -> None:
        self.transition = transition
        self.described = described
        self.total = total
        self.refusals = refusals
        message, details = self.wording(lambda t: t.offer)
        super().__init__(message, details=details)

    def wording(self, offer: Offer) -> tuple[str, list[tuple[str, str]]]:
        """The sentence and its details, with the allowed steps said by `offer`."""
        verb = self.transition.verb
        if self.total == 1:
            first = self.refusals[0]
            return f"cannot {verb} statement {first.label}: {first.sentence(offer)}.", []
        return (
            f"cannot {verb} {len(self.refusals)} of the {self.total} statements of {self.described}; "
            "nothing was changed:",
            [(r.label, r.sentence(offer)) for r in self.refusals],
        )


@dataclass(frozen=True)
class TransitionResult:
    transition: Transition
    changes: list[StatementChange]

    @property
    def statement_ids(self) -> list[uuid.UUID]:
        return [c.statement_id for c in self.changes]


def apply_transition(
    session: Session,
    selector: StatementSelector,
    name: str,
    *,
    actor_user_id: uuid.UUID,
    actor_role: str = Role.ADMIN,
    reference: str | None = None,
    reason: str | None = None,
    audit: Recorder | None = None,
) -> TransitionResult:
    """Move every selected statement one step, or none of them (one transaction, rows locked).

    `audit`, when given, records one row per moved statement under the transition's audit action.
    """
    transition = TRANSITIONS[name]
    if name == "mark-paid":
        reference = _required_text(reference, "reference", "the payment's reference (transaction id)")
        if len(reference) > PAID_REFERENCE_MAX:
            raise InvalidField("reference", f"is longer than {PAID_REFERENCE_MAX} characters.")
    if name == "reopen":
        reason = _required_text(reason, "reason", "why the statement goes back to DRAFT")

    statements = find_statements(session, selector, for_update=True)
    rows = {
        r["statement_id"]: r
        for r in statement_rows(session, statement_ids=[s.statement_id for s in statements])
    }
    refusals: list[Refusal] = []
    for statement in statements:
        label = statement_label(rows[statement.statement_id])
        if statement.status not in transition.sources:
            refusals.append(Refusal(label, status=statement.status))
            continue
        why = _refusal(session, transition, statement, actor_user_id, actor_role)
        if why is not None:
            refusals.append(Refusal(label, why=why))
    if refusals:
        raise TransitionRefused(transition, selector.describe(), len(statements), refusals)

    now = session.scalar(select(func.now()))
    changes: list[StatementChange] = []
    for statement in statements:
        before = snapshot(statement)
        _step(statement, transition, actor_user_id, now, reference=reference, reason=reason)
        session.flush()
        changes.append(StatementChange(statement.statement_id, before, snapshot(statement)))
    if audit is not None:
        for change in changes:
            change.record(session, audit, transition.audit_action, reason)
    return TransitionResult(transition, changes)


def _refusal(
    session: Session,
    transition: Transition,
    statement: PartnerCommissionStatement,
    actor_user_id: uuid.UUID,
    actor_role: str,
) -> str | None:
    """Why `transition` cannot apply to this statement in its status (a sentence's tail), or None."""
    if transition.name == "approve" and statement.submitted_by == actor_user_id:
        return (
            "you submitted it, and a statement must be approved by a different user than its submitter "
            "(four eyes); ask another FINANCE or ADMIN user to approve it"
        )
    # SPEC §11: FINANCE may release and mark paid, but not what it submitted itself.
    if (
        transition.name in ("release", "mark-paid")
        and actor_role == Role.FINANCE
        and statement.submitted_by == actor_user_id
    ):
        return (
            f"you submitted it, and a FINANCE user may not {transition.verb} its own submission; "
            "ask another FINANCE user or an ADMIN"
        )
    if transition.name == "submit":
        total, count = line_totals(session, statement.partner_id, statement.chain_id, statement.period_id)
        return stale_reason(statement, total, count)
    return None


def _step(
    statement: PartnerCommissionStatement,
    transition: Transition,
    actor: uuid.UUID,
    now: datetime,
    *,
    reference: str | None,
    reason: str | None,
) -> None:
    statement.status = transition.target
    if transition.name == "submit":
        statement.submitted_by, statement.submitted_at = actor, now
    elif transition.name == "approve":
        statement.approved_by, statement.approved_at = actor, now
    elif transition.name == "release":
        statement.released_by, statement.released_at = actor, now
    elif transition.name == "mark-paid":
        statement.paid_by, statement.paid_at, statement.paid_reference = actor, now, reference
    elif transition.name == "reopen":
        # Back to DRAFT means none of the later steps happened for the statement as it now stands;
        # who did them, and when, stays in the audit log (the before snapshot of REOPEN_STATEMENT).
        for column in ("submitted", "approved", "released", "paid"):
            setattr(statement, f"{column}_by", None)
            setattr(statement, f"{column}_at", None)
        statement.paid_reference = None
        statement.reopened_by, statement.reopened_at, statement.reopen_reason = actor, now, reason


def _required_text(value: str | None, field: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidField(field, f"is required: give {what}.")
    return value
