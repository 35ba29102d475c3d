"""Partner commission statements (SPEC §9): generating them from their lines, and the workflow.

This module owns:

- the workflow's transition table (``TRANSITIONS``, the one place that says which status may move
  to which, by which command, under which audit action) and applying a transition to selected
  statements, all-or-nothing, with the rows locked ``FOR UPDATE`` so two concurrent approvals
  cannot both succeed;
- generating statements: one per (partner, chain, period) = Σ ``final_amount_native`` and the count
  of that partner's lines, written by one set-based upsert; only DRAFT statements are (re)written;
- selecting statements (by id, or by partner + chain + period or month) and listing them with
  readable names (SPEC §13), scoped for PARTNER users to their own RELEASED/PAID statements;
- ``statement_scope_lock``: the transaction lock that serializes work on one (chain, period)'s
  statements (generate, override).

It never prints and never decides exit codes: it returns results and raises typed errors. A
statement past DRAFT is never changed here except by a transition; revision 006's triggers refuse
any other change to it or to its lines.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from aurora_cli.db.models import (
    CanonicalPeriod,
    Partner,
    PartnerCommissionLine,
    PartnerCommissionStatement,
    StatementStatus,
)
from aurora_cli.domain.money import to_plain_string
from aurora_cli.errors import Conflict, InvalidInput, NotFound, UsageError
from aurora_cli.services.periods import get_chain, get_period

DRAFT = StatementStatus.DRAFT
PENDING_APPROVAL = StatementStatus.PENDING_APPROVAL
APPROVED = StatementStatus.APPROVED
RELEASED = StatementStatus.RELEASED
PAID = StatementStatus.PAID

# What a PARTNER user may see of their own partner's statements (SPEC §11).
PARTNER_VISIBLE = (RELEASED, PAID)
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
    offer: str  # how the refusal message offers this step


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
            "submitted for approval (`aurora statements submit`)",
        ),
        Transition(
            "approve",
            "approve",
            "approved",
            frozenset({PENDING_APPROVAL}),
            APPROVED,
            "APPROVE_STATEMENT",
            "approved by a user other than its submitter (`aurora approve`)",
        ),
        Transition(
            "release",
            "release",
            "released",
            frozenset({APPROVED}),
            RELEASED,
            "RELEASE_STATEMENT",
            "released (`aurora statements release`)",
        ),
        Transition(
            "mark-paid",
            "mark paid",
            "marked paid",
            frozenset({RELEASED}),
            PAID,
            "MARK_PAID",
            "marked paid (`aurora statements mark-paid --reference TXID`)",
        ),
        Transition(
            "reopen",
            "reopen",
            "reopened",
            frozenset({PENDING_APPROVAL, APPROVED, RELEASED, PAID}),
            DRAFT,
            "REOPEN_STATEMENT",
            "reopened by an ADMIN (`aurora statements reopen --reason TEXT`)",
        ),
    )
}


def allowed_from(status: StatementStatus) -> list[Transition]:
    return [t for t in TRANSITIONS.values() if status in t.sources]


def status_refusal(status: StatementStatus) -> str:
    """Why a step does not apply to a statement in `status`, and which ones do."""
    return f"it is {status.value}; it can be " + " or ".join(t.offer for t in allowed_from(status))


# -- selecting partners, periods and statements ---------------------------------------------------


def get_partner(session: Session, name: str) -> Partner:
    matches = session.scalars(select(Partner).where(Partner.partner_name == name)).all()
    if not matches:
        raise NotFound(f"no partner named {name!r}: partners are created by `aurora agreements apply FILE`.")
    if len(matches) > 1:
        raise InvalidInput(
            f"{len(matches)} partners are named {name!r}: select the statement with --statement ID instead."
        )
    return matches[0]


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a UTC calendar month written YYYY-MM."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", month)
    if not match or not 1 <= int(match[2]) <= 12:
        raise InvalidInput(f"--month {month!r} is not a month: write it as YYYY-MM, e.g. 2025-09.")
    year, mon = int(match[1]), int(match[2])
    start = datetime(year, mon, 1, tzinfo=UTC)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=UTC)
    return start, end


def select_periods(
    session: Session, chain_id: str, *, period: str | None = None, month: str | None = None
) -> list[CanonicalPeriod]:
    """The one period named, or every period of the chain that starts in the UTC month."""
    if (period is None) == (month is None):
        raise UsageError("give exactly one of --period or --month.")
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
    """`--statement ID`, or `--partner NAME --chain C (--period P | --month YYYY-MM)`."""

    statement_id: uuid.UUID | None = None
    partner: str | None = None
    chain_id: str | None = None
    period: str | None = None
    month: str | None = None

    @classmethod
    def from_options(
        cls,
        *,
        statement: str | None,
        partner: str | None,
        chain: str | None,
        period: str | None,
        month: str | None,
    ) -> StatementSelector:
        if statement is not None:
            if partner or chain or period or month:
                raise UsageError(
                    "--statement selects one statement: leave out --partner/--chain/--period/--month."
                )
            return cls(statement_id=parse_statement_id(statement))
        if not (partner and chain) or (period is None) == (month is None):
            raise UsageError(
                "select statements with --statement ID, or with --partner NAME --chain C and one of "
                "--period P or --month YYYY-MM."
            )
        return cls(partner=partner, chain_id=chain, period=period, month=month)

    @property
    def is_many(self) -> bool:
        return self.month is not None

    def describe(self) -> str:
        if self.statement_id is not None:
            return f"statement {self.statement_id}"
        where = f"period {self.period}" if self.period is not None else f"month {self.month}"
        return f"{self.partner} on {self.chain_id} for {where}"

    def generate_hint(self) -> str:
        which = f"--period {self.period}" if self.period is not None else f"--month {self.month}"
        return f"`aurora statements generate --chain {self.chain_id} {which}`"


def parse_statement_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise InvalidInput(f"--statement {value!r} is not a statement id (a UUID).") from exc


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
        if selector.statement_id is not None:
            raise NotFound(f"no statement {selector.statement_id}: list them with `aurora statements list`.")
        raise NotFound(
            f"there is no statement of {selector.describe()}: generate it with {selector.generate_hint()}."
        )
    return statements


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


# -- snapshots and readable rows ------------------------------------------------------------------


def snapshot(row: Any) -> dict[str, Any]:
    """Every column of a mapped row, keyed by column name (for audit before/after)."""
    mapper = inspect(row).mapper
    return {attr.columns[0].name: getattr(row, attr.key) for attr in mapper.column_attrs}


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
{" ".join(f"LEFT JOIN users u_{c} ON u_{c}.user_id = s.{c}" for c in _WHO_COLUMNS)}
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
        return self.role == "PARTNER"


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
            raise UsageError("--period needs --chain.")
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
            raise InvalidInput(
                f"--status {status!r} is not a statement status: use one of {', '.join(StatementStatus)}."
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
        where.append("s.status IN ('RELEASED', 'PAID')")
        params["viewer_partner"] = viewer.partner_id or "00000000-0000-0000-0000-000000000000"
    if viewer.allowed_chain_ids is not None:
        where.append("s.chain_id = ANY(:viewer_chains)")
        params["viewer_chains"] = list(viewer.allowed_chain_ids)
    return where


def statement_label(row: dict[str, Any]) -> str:
    return f"{row['statement_id']} ({row['partner_name']}, {row['chain_id']} {row['period_identifier']})"


# -- generating statements -----------------------------------------------------------------------


@dataclass(frozen=True)
class StatementChange:
    """One statement written by a command: its snapshot before (None if new) and after (None if removed)."""

    statement_id: uuid.UUID
    before: dict[str, Any] | None
    after: dict[str, Any] | None


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


AuditFn = Callable[..., None]


def generate_statements(
    session: Session,
    chain_id: str,
    *,
    period: str | None = None,
    month: str | None = None,
    allow_unfinalized: bool = False,
    actor_user_id: uuid.UUID | None = None,
    audit: AuditFn | None = None,
) -> GenerateResult:
    """Write one DRAFT statement per (partner, chain, period) with lines; see the module docstring.

    Periods must be finalized unless `allow_unfinalized` (then each statement of an unfinalized
    period records it in its metadata). `audit`, when given (the CLI's `rt.audit`), records one
    GENERATE_STATEMENT row per created, updated or removed statement with before/after snapshots.
    """
    periods = select_periods(session, chain_id, period=period, month=month)
    unfinalized = [p.period_identifier for p in periods if not p.is_finalized]
    if unfinalized and not allow_unfinalized:
        names = ", ".join(unfinalized)
        raise Conflict(
            f"period(s) {names} of {chain_id} are not finalized, so their commissions may still change: "
            f"run `aurora periods finalize --chain {chain_id}` once they are final, or pass "
            "--allow-unfinalized (recorded on each statement)."
        )
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
        if snap["status"] == DRAFT:
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
            audit(
                session,
                action="GENERATE_STATEMENT",
                resource_type="statement",
                resource_id=str(change.statement_id),
                before=change.before,
                after=change.after,
                reason=reason,
            )
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


# -- applying a transition -------------------------------------------------------------------------


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
    actor_role: str = "ADMIN",
    reference: str | None = None,
    reason: str | None = None,
) -> TransitionResult:
    """Move every selected statement one step, or none of them (one transaction, rows locked)."""
    transition = TRANSITIONS[name]
    if name == "mark-paid":
        reference = _required_text(reference, "--reference", "the payment's reference (transaction id)")
        if len(reference) > PAID_REFERENCE_MAX:
            raise InvalidInput(f"--reference is longer than {PAID_REFERENCE_MAX} characters.")
    if name == "reopen":
        reason = _required_text(reason, "--reason", "why the statement goes back to DRAFT")

    statements = find_statements(session, selector, for_update=True)
    rows = {
        r["statement_id"]: r
        for r in statement_rows(session, statement_ids=[s.statement_id for s in statements])
    }
    refusals: list[tuple[str, str]] = []
    for statement in statements:
        row = rows[statement.statement_id]
        label = statement_label(row)
        why = _refusal(session, transition, statement, actor_user_id, actor_role)
        if why is not None:
            refusals.append((label, why))
    if refusals:
        if len(statements) == 1:
            raise Conflict(f"cannot {transition.verb} statement {refusals[0][0]}: {refusals[0][1]}.")
        raise Conflict(
            f"cannot {transition.verb} {len(refusals)} of the {len(statements)} statements of "
            f"{selector.describe()}; nothing was changed:",
            details=refusals,
        )

    now = session.scalar(select(func.now()))
    changes: list[StatementChange] = []
    for statement in statements:
        before = snapshot(statement)
        _step(statement, transition, actor_user_id, now, reference=reference, reason=reason)
        session.flush()
        changes.append(StatementChange(statement.statement_id, before, snapshot(statement)))
    return TransitionResult(transition, changes)


def _refusal(
    session: Session,
    transition: Transition,
    statement: PartnerCommissionStatement,
    actor_user_id: uuid.UUID,
    actor_role: str,
) -> str | None:
    """Why `transition` cannot apply to this statement (the tail of a sentence), or None."""
    if statement.status not in transition.sources:
        return status_refusal(statement.status)
    if transition.name == "approve" and statement.submitted_by == actor_user_id:
        return (
            "you submitted it, and a statement must be approved by a different user than its submitter "
            "(four eyes); ask another FINANCE or ADMIN user to approve it"
        )
    # SPEC §11: FINANCE may release and mark paid, but not what it submitted itself.
    if (
        transition.name in ("release", "mark-paid")
        and actor_role == "FINANCE"
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


def _required_text(value: str | None, option: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"{option} is required: give {what}.")
    return value
