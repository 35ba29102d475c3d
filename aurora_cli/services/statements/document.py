"""The statement document of one partner, chain and window, read from the database; never prints.

Owns: which periods a window covers (a period, a UTC month, a quarter, a range of months); the
checkable arithmetic of each rule in each period, reproduced with the domain's own functions from
the stored lines and their rule (Σ base, tier slices, floor/cap, rounding); the workflow shown as
roles, never usernames; payout address and payment terms from the agreement version's terms; and
the statement number with its revisions (`statement_documents`, revision 013): a number is never
reused, a change of figures gets the next revision, and every issued file is recorded by hash.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from aurora_cli.db.models import (
    Agreement,
    AgreementRule,
    AgreementVersion,
    CanonicalPeriod,
    Partner,
    PartnerCommissionLine,
    PartnerCommissionStatement,
    StatementDocumentFile,
)
from aurora_cli.db.models import (
    StatementDocument as DocumentRow,
)
from aurora_cli.domain.money import money_context, pro_rata_quantize_18
from aurora_cli.domain.permissions import Scope
from aurora_cli.domain.tiers import (
    TierMode,
    TierTable,
    apply_limits,
    commission_before_limits,
    rate_reached_bps,
)
from aurora_cli.errors import NotFound, PermissionDenied
from aurora_cli.render.statement import (
    ChainSection,
    Party,
    PeriodInfo,
    RuleLine,
    RuleSection,
    StatementDocument,
    TierSlice,
    WorkflowStep,
    facts_sha256,
)
from aurora_cli.services.finance_errors import InvalidField
from aurora_cli.services.periods import get_chain
from aurora_cli.services.statements.selection import month_bounds

ROLE_TITLES = {"ADMIN": "Administrator", "FINANCE": "Finance", "OPS": "Operations", "AUDITOR": "Audit"}
_STEPS = ("generated", "submitted", "approved", "released", "paid", "reopened")


# -- windows ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """What a statement covers: `key` is stored with the number, `label` printed, `code` in the number."""

    key: str
    label: str
    code: str
    period: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def statement_window(
    *,
    period: str | None = None,
    month: str | None = None,
    quarter: str | None = None,
    from_month: str | None = None,
    to_month: str | None = None,
) -> Window:
    """The window named by exactly one of: a period, a month, a quarter, or a from/to month range."""
    if period is not None:
        code = re.sub(r"[^A-Za-z0-9]+", "", period).upper()
        return Window(key=f"period:{period}", label=f"Period {period}", code=f"P{code}", period=period)
    if month is not None:
        start, end = month_bounds(month)
        return Window(key=f"month:{month}", label=month, code=month, start=start, end=end)
    if quarter is not None:
        match = re.fullmatch(r"(\d{4})Q([1-4])", quarter.upper())
        if not match:
            raise InvalidField("quarter", f"{quarter!r} is not a quarter: write it as YYYYQn, e.g. 2025Q3.")
        year, q = int(match[1]), int(match[2])
        start, _ = month_bounds(f"{year}-{3 * q - 2:02d}")
        _, end = month_bounds(f"{year}-{3 * q:02d}")
        code = f"{year}Q{q}"
        return Window(key=f"quarter:{code}", label=code, code=code, start=start, end=end)
    if from_month is not None and to_month is not None:
        start, _ = month_bounds(from_month)
        _, end = month_bounds(to_month)
        if end <= start:
            raise InvalidField("to", f"{to_month} is before {from_month}.")
        if from_month == to_month:
            return statement_window(month=from_month)
        return Window(
            key=f"months:{from_month}..{to_month}",
            label=f"{from_month} to {to_month}",
            code=f"{from_month}-{to_month}",
            start=start,
            end=end,
        )
    raise InvalidField("period", "name a period, a month, a quarter, or a from/to month range.")


def _window_periods(session: Session, chain_id: str, window: Window) -> list[CanonicalPeriod]:
    query = select(CanonicalPeriod).where(CanonicalPeriod.chain_id == chain_id)
    if window.period is not None:
        query = query.where(CanonicalPeriod.period_identifier == window.period)
    else:
        query = query.where(
            CanonicalPeriod.period_start >= window.start, CanonicalPeriod.period_start < window.end
        )
    periods = list(session.scalars(query.order_by(CanonicalPeriod.period_start)))
    if not periods:
        what = f"period {window.period}" if window.period else f"no period starting in {window.label}"
        raise NotFound(f"{chain_id} has {what}" if window.period is None else f"{chain_id} has no {what}.")
    return periods


# -- the document ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltDocument:
    document: StatementDocument
    facts_sha256: str
    statement_ids: list[str]
    partner_id: uuid.UUID
    window: Window


def build_document(
    session: Session,
    *,
    partner: Partner,
    chain_ids: list[str],
    window: Window,
    issuer: Party,
    statuses: frozenset[str] | None = None,
    number_prefix: str = "AUR",
) -> BuiltDocument:
    """The statement of `partner` on each chain for `window`, unnumbered (see `number_document`).

    `statuses`, when given, keeps only statements in those states (PARTNER users: RELEASED, PAID).
    """
    sections: list[ChainSection] = []
    statement_ids: list[str] = []
    terms_days: int | None = None
    starts: list[datetime] = []
    ends: list[datetime] = []
    for chain_id in chain_ids:
        chain = get_chain(session, chain_id)
        periods = _window_periods(session, chain_id, window)
        query = select(PartnerCommissionStatement).where(
            PartnerCommissionStatement.partner_id == partner.partner_id,
            PartnerCommissionStatement.chain_id == chain_id,
            PartnerCommissionStatement.period_id.in_([p.period_id for p in periods]),
        )
        statements = [s for s in session.scalars(query) if statuses is None or s.status.value in statuses]
        if not statements:
            continue
        by_period = {p.period_id: p for p in periods}
        roles = _roles(session, statements)
        infos = [_period_info(s, by_period[s.period_id], roles) for s in statements]
        infos.sort(key=lambda p: p.period_start)
        rules, versions = _rule_sections(
            session, partner.partner_id, chain_id, [s.period_id for s in statements], by_period
        )
        _refuse_stale(statements, rules, by_period)
        payout, days = _payout_and_terms(session, versions, chain_id)
        terms_days = terms_days if days is None else days
        sections.append(
            ChainSection(
                chain_id=chain.chain_id,
                chain_name=chain.name,
                native_unit=chain.native_unit,
                display_unit=chain.display_unit or chain.native_unit,
                native_decimals=chain.native_decimals,
                payout_address=payout,
                periods=tuple(infos),
                rules=tuple(rules),
            )
        )
        statement_ids += [str(s.statement_id) for s in statements]
        starts += [p.period_start for p in infos]
        ends += [p.period_end for p in infos]
    if not sections:
        raise NotFound(
            f"there is no statement of {partner.partner_name} for {window.label}: generate it first."
        )
    periods_all = [p for s in sections for p in s.periods]
    moments = [step.at for p in periods_all for step in p.steps]
    released = [p.step("released") for p in periods_all]
    due = None
    if terms_days is not None and all(released):
        due = (max(r.at for r in released if r) + timedelta(days=terms_days)).astimezone(UTC).date()
    document = StatementDocument(
        statement_number="",
        revision=0,
        issuer=issuer,
        partner=Party(
            name=partner.partner_name,
            legal_name=partner.legal_entity_name,
            contact_name=partner.contact_name,
            contact_email=partner.contact_email,
        ),
        window=window.label,
        window_start=window.start or min(starts),
        window_end=window.end or max(ends),
        statement_date=max(moments) if moments else min(starts),
        payment_terms_days=terms_days,
        due_date=due,
        chains=tuple(sections),
    )
    return BuiltDocument(document, facts_sha256(document), statement_ids, partner.partner_id, window)


def _refuse_stale(
    statements: list[PartnerCommissionStatement],
    rules: list[RuleSection],
    periods: dict[uuid.UUID, CanonicalPeriod],
) -> None:
    """Refuse to show a statement whose lines were recomputed after it was generated."""
    from aurora_cli.errors import Conflict
    from aurora_cli.services.statements.generation import stale_reason

    for statement in statements:
        identifier = periods[statement.period_id].period_identifier
        mine = [line for rule in rules if rule.period_identifier == identifier for line in rule.lines]
        with money_context():
            total = sum((line.final_native for line in mine), Decimal(0))
        why = stale_reason(statement, total, len(mine))
        if why is not None:
            raise Conflict(f"cannot export the statement of period {identifier}: {why}.")


def _roles(session: Session, statements: list[PartnerCommissionStatement]) -> dict[uuid.UUID, str]:
    ids = {getattr(s, f"{step}_by") for s in statements for step in _STEPS} - {None}
    if not ids:
        return {}
    # Through revision 014's definer helper: the users row itself is visible to its own user only.
    rows = session.execute(text("SELECT user_id, role FROM aurora_user_roles(:ids)"), {"ids": list(ids)})
    return {user_id: ROLE_TITLES.get(role, role.title()) for user_id, role in rows}


def _period_info(
    statement: PartnerCommissionStatement, period: CanonicalPeriod, roles: dict[uuid.UUID, str]
) -> PeriodInfo:
    steps = []
    for step in _STEPS:
        at = getattr(statement, f"{step}_at")
        if at is not None:
            by = getattr(statement, f"{step}_by")
            steps.append(WorkflowStep(step=step, at=at, by_role=roles.get(by) if by else None))
    metadata = statement.metadata_ or {}
    return PeriodInfo(
        period_identifier=period.period_identifier,
        period_start=period.period_start,
        period_end=period.period_end,
        statement_id=str(statement.statement_id),
        status=statement.status.value,
        provisional=bool(metadata.get("allow_unfinalized")) or not period.is_finalized,
        steps=tuple(sorted(steps, key=lambda s: s.at)),
        paid_reference=statement.paid_reference,
        total_native=statement.total_commission_native,
        line_count=statement.line_count,
    )


def _rule_sections(
    session: Session,
    partner_id: uuid.UUID,
    chain_id: str,
    period_ids: list[uuid.UUID],
    periods: dict[uuid.UUID, CanonicalPeriod],
) -> tuple[list[RuleSection], set[tuple[uuid.UUID, int]]]:
    rows = session.execute(
        select(PartnerCommissionLine, AgreementRule, Agreement.agreement_name)
        .join(AgreementRule, AgreementRule.rule_id == PartnerCommissionLine.rule_id)
        .join(Agreement, Agreement.agreement_id == PartnerCommissionLine.agreement_id)
        .where(
            PartnerCommissionLine.partner_id == partner_id,
            PartnerCommissionLine.chain_id == chain_id,
            PartnerCommissionLine.period_id.in_(period_ids),
        )
    ).all()
    groups: dict[tuple[uuid.UUID, uuid.UUID], list[Any]] = defaultdict(list)
    rules: dict[uuid.UUID, tuple[AgreementRule, str]] = {}
    versions: set[tuple[uuid.UUID, int]] = set()
    for line, rule, agreement_name in rows:
        groups[(line.period_id, rule.rule_id)].append(line)
        rules[rule.rule_id] = (rule, agreement_name)
        versions.add((line.agreement_id, line.agreement_version))
    sections = [
        rule_section(periods[period_id].period_identifier, *rules[rule_id], lines)
        for (period_id, rule_id), lines in groups.items()
    ]
    sections.sort(
        key=lambda r: (
            periods_start(periods, r.period_identifier),
            r.agreement_name,
            r.agreement_version,
            r.rule_order,
        )
    )
    return sections, versions


def periods_start(periods: dict[uuid.UUID, CanonicalPeriod], identifier: str) -> datetime:
    return next(p.period_start for p in periods.values() if p.period_identifier == identifier)


def rule_section(
    period_identifier: str, rule: AgreementRule, agreement_name: str, lines: list[Any]
) -> RuleSection:
    """One rule's arithmetic for one period, reproduced with the engine's domain functions (SPEC §8 6-7)."""
    tiers = TierTable.from_config(rule.tier_config) if rule.tier_config is not None else None
    rate = None if tiers is not None else rule.commission_rate_bps
    with money_context():
        total_base = sum((line.base_amount_native for line in lines), Decimal(0))
    before = commission_before_limits(total_base, rate, tiers)
    slices: list[TierSlice] = []
    if tiers is not None and tiers.mode == TierMode.MARGINAL:
        uppers = [step.from_native for step in tiers.steps[1:]] + [None]
        for step, upper in zip(tiers.steps, uppers, strict=True):
            top = total_base if upper is None else min(total_base, upper)
            if top > step.from_native:
                with money_context():
                    part = top - step.from_native
                slices.append(
                    TierSlice(
                        step.from_native,
                        upper,
                        step.rate_bps,
                        part,
                        commission_before_limits(part, step.rate_bps, None),
                    )
                )
    floor, cap = rule.floor_amount_native, rule.cap_amount_native
    after = before
    floor_applied = floor is not None and after < floor
    if floor_applied:
        after = floor
    cap_applied = cap is not None and after > cap
    if cap_applied:
        after = cap
    with money_context():
        shares = {
            line.line_id: (
                pro_rata_quantize_18(Decimal(1), line.base_amount_native, total_base)
                if total_base
                else Decimal(0)
            )
            for line in lines
        }
    ordered = sorted(
        lines, key=lambda line: (line.validator_key is not None, line.validator_key or "", str(line.line_id))
    )
    return RuleSection(
        period_identifier=period_identifier,
        agreement_name=agreement_name,
        agreement_version=rule.version_number,
        rule_order=rule.rule_order,
        component=rule.revenue_component.value,
        attribution=rule.attribution_method.value,
        rate_bps=rate,
        tier_mode=None if tiers is None else tiers.mode,
        tier_steps=() if tiers is None else tuple((s.from_native, s.rate_bps) for s in tiers.steps),
        total_base=total_base,
        slices=tuple(slices),
        reached_rate_bps=rate_reached_bps(total_base, tiers)
        if tiers is not None and tiers.mode == TierMode.RETROACTIVE
        else None,
        before_limits=before,
        floor_native=floor,
        cap_native=cap,
        floor_applied=floor_applied,
        cap_applied=cap_applied,
        after_limits=after,
        rule_total=apply_limits(before, floor, cap),
        lines=tuple(
            RuleLine(
                line_id=str(line.line_id),
                validator_key=line.validator_key,
                base_native=line.base_amount_native,
                share=shares[line.line_id],
                pre_override_native=line.pre_override_amount_native,
                final_native=line.final_amount_native,
                override_reason=line.override_reason if line.override_amount_native is not None else None,
            )
            for line in ordered
        ),
    )


def _payout_and_terms(
    session: Session, versions: set[tuple[uuid.UUID, int]], chain_id: str
) -> tuple[str | None, int | None]:
    payout: str | None = None
    days: int | None = None
    for agreement_id, number in sorted(versions, key=lambda v: (str(v[0]), -v[1])):
        terms = (
            session.scalar(
                select(AgreementVersion.terms_snapshot).where(
                    AgreementVersion.agreement_id == agreement_id, AgreementVersion.version_number == number
                )
            )
            or {}
        )
        for item in terms.get("payouts") or []:
            if item.get("chain") == chain_id and payout is None:
                payout = item.get("address")
        if days is None and terms.get("payment_terms_days") is not None:
            days = int(terms["payment_terms_days"])
    return payout, days


# -- numbers and revisions ---------------------------------------------------------------------------


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", ascii_name)
    return words[0].upper()[:12] if words else "PARTNER"


def _chain_code(section: ChainSection) -> str:
    return (
        re.sub(r"[^A-Z0-9]", "", section.display_unit.upper())[:6] or section.chain_id.split("-")[0].upper()
    )


def _chain_key(built: BuiltDocument) -> str:
    return "+".join(s.chain_id for s in built.document.chains)


@dataclass(frozen=True)
class RevisionRef:
    document_id: uuid.UUID
    statement_number: str
    revision: int
    facts_sha256: str


def latest_revision(session: Session, built: BuiltDocument) -> RevisionRef | None:
    """The latest revision of this partner, chain and window, whoever issued it (revision 014's
    definer helper: a PARTNER's scope alone would not see a revision never released to it)."""
    row = session.execute(
        text("SELECT * FROM aurora_statement_latest_revision(:partner, :chain, :window)"),
        {"partner": built.partner_id, "chain": built.document.chains[0].chain_id, "window": _window_key(built)},
    ).first()
    return None if row is None else RevisionRef(row[0], row[1], row[2], row[3])


def _window_key(built: BuiltDocument) -> str:
    chains = _chain_key(built)
    return built.window.key if "+" not in chains else f"{built.window.key}|{chains}"[:60]


def number_document(
    session: Session, built: BuiltDocument, *, prefix: str = "AUR", persist: bool = True
) -> StatementDocument:
    """Give the document its number and revision: the latest revision when the figures are unchanged,
    else the next one (recorded when `persist`). A number, once given, is never given to another."""
    latest = latest_revision(session, built)
    if latest is not None and latest.facts_sha256 == built.facts_sha256:
        return _numbered(built.document, latest.statement_number, latest.revision)
    if latest is not None:
        number, revision = latest.statement_number, latest.revision + 1
    else:
        first = built.document.chains[0]
        code = "MULTI" if len(built.document.chains) > 1 else _chain_code(first)
        stem = f"{prefix}-{code}-{built.window.code}-{_slug(built.document.partner.name)}"
        taken = session.scalar(text("SELECT aurora_statement_numbers_taken(:stem)"), {"stem": stem})
        number, revision = f"{stem}-{(taken or 0) + 1:02d}", 1
    if persist:
        # A plain INSERT with the id chosen here: no RETURNING, which row-level security would check
        # against the read policy (a PARTNER reads a document only once it was issued RELEASED).
        session.execute(
            insert(DocumentRow).values(
                document_id=uuid.uuid4(),
                statement_number=number,
                revision=revision,
                partner_id=built.partner_id,
                chain_id=built.document.chains[0].chain_id,
                window_key=_window_key(built),
                facts_sha256=built.facts_sha256,
            )
        )
    return _numbered(built.document, number, revision)


def _numbered(document: StatementDocument, number: str, revision: int) -> StatementDocument:
    shown = number if revision == 1 else f"{number}-R{revision}"
    return replace(document, statement_number=shown, revision=revision)


def base_number(shown: str) -> tuple[str, int | None]:
    """"AUR-…-01-R2" -> ("AUR-…-01", 2); a number without a revision suffix -> (number, None)."""
    match = re.fullmatch(r"(.+)-R(\d+)", shown)
    return (match[1], int(match[2])) if match else (shown, None)


def record_issued_files(
    session: Session,
    document: StatementDocument,
    json_sha256: str,
    files: dict[str, tuple[str, bytes | None]],
) -> None:
    """Remember every issued file (name -> (sha256, bytes)) for `statements verify` and for
    `statements get`, which writes an old revision again byte for byte. statement.json goes first:
    the other files are admitted (row-level security, revision 014) by the status it was issued in."""
    base = base_number(document.statement_number)[0] if document.revision > 1 else document.statement_number
    document_id = session.scalar(
        text("SELECT aurora_statement_document_id(:number, :revision)"),
        {"number": base, "revision": document.revision},
    )
    known = set(
        session.scalars(
            text("SELECT aurora_issued_files_known(:shas)"), {"shas": [sha for sha, _ in files.values()]}
        )
    )
    ordered = sorted(
        ((name, item) for name, item in files.items() if item[0] not in known),
        key=lambda pair: pair[0] != "statement.json",
    )
    for chunk in (ordered[:1], ordered[1:]):  # two statements: the second must see the first's row
        if not chunk:
            continue
        session.execute(
            insert(StatementDocumentFile),
            [
                {
                    "file_sha256": sha,
                    "document_id": document_id,
                    "file_name": name,
                    "json_sha256": json_sha256,
                    "content": content,
                }
                for name, (sha, content) in chunk
            ],
        )


def issued_file(session: Session, file_sha256: str) -> tuple[StatementDocumentFile, DocumentRow] | None:
    row = session.execute(
        select(StatementDocumentFile, DocumentRow)
        .join(DocumentRow, DocumentRow.document_id == StatementDocumentFile.document_id)
        .where(StatementDocumentFile.file_sha256 == file_sha256)
    ).first()
    return None if row is None else (row[0], row[1])


def issued_json(session: Session, json_sha256: str) -> bytes | None:
    return session.scalar(
        select(StatementDocumentFile.content).where(
            StatementDocumentFile.file_sha256 == json_sha256,
            StatementDocumentFile.file_name == "statement.json",
        )
    )


# -- issued revisions: listing and retrieval ---------------------------------------------------------


@dataclass(frozen=True)
class IssuedRevision:
    """One revision of a statement number as issued; status and dates are those of its latest issue."""

    statement_number: str  # as printed: with the -R<n> suffix from revision 2 on
    revision: int
    chain_id: str
    facts_sha256: str
    created_at: datetime
    status: str | None  # the status the latest issued statement.json carries
    statement_date: str | None
    provisional: bool | None
    issues: int  # how many different statement.json files were issued for it
    first_issued_at: datetime | None
    last_issued_at: datetime | None
    statement_json_sha256: str | None
    superseded_by: int | None  # the newest revision, when this one is not it
    document_id: uuid.UUID

    def as_row(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in REVISION_COLUMNS}


REVISION_COLUMNS = [
    "statement_number",
    "revision",
    "status",
    "provisional",
    "chain_id",
    "facts_sha256",
    "statement_json_sha256",
    "created_at",
    "statement_date",
    "first_issued_at",
    "last_issued_at",
    "issues",
    "superseded_by",
]

_REVISIONS = """
SELECT d.document_id, d.statement_number, d.revision, d.chain_id, d.facts_sha256, d.created_at,
       j.file_sha256 AS json_sha256, j.data ->> 'status' AS status, j.data ->> 'statement_date' AS statement_date,
       (j.data ->> 'provisional')::boolean AS provisional, a.issues, a.first_at, a.last_at
FROM statement_documents d
LEFT JOIN LATERAL (
    SELECT f.file_sha256, convert_from(f.content, 'UTF8')::jsonb AS data FROM statement_document_files f
    WHERE f.document_id = d.document_id AND f.file_name = 'statement.json' AND f.content IS NOT NULL
    ORDER BY f.created_at DESC, f.file_sha256 LIMIT 1
) j ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS issues, min(f.created_at) AS first_at, max(f.created_at) AS last_at
    FROM statement_document_files f WHERE f.document_id = d.document_id AND f.file_name = 'statement.json'
) a ON true
WHERE d.statement_number = :number
  AND (CAST(:partner AS uuid) IS NULL OR d.partner_id = CAST(:partner AS uuid))
  AND (CAST(:chains AS text[]) IS NULL OR d.chain_id = ANY (CAST(:chains AS text[])))
ORDER BY d.revision
"""


def _no_revision(number: str, revision: int | None, *, partner: bool) -> Exception:
    # A PARTNER learns nothing about numbers it may not see: another partner's, a revision never
    # released to it and a number that does not exist get the same sentence (and exit code).
    which = number if revision is None else f"{number} revision {revision}"
    sentence = (
        f"there is no issued statement {which} that you may see: the number is printed on the statement, "
        "e.g. AUR-SOL-2025-09-HELIOS-01."
    )
    return PermissionDenied(sentence) if partner else NotFound(sentence)


def statement_revisions(session: Session, number: str, scope: Scope) -> list[IssuedRevision]:
    """Every revision of `number` the scope may see (row-level security, revision 014), oldest first.

    `number` may carry a revision suffix (`…-01-R2`); the listing is of the whole number either way.
    """
    base, _ = base_number(number.strip())
    rows = session.execute(
        text(_REVISIONS),
        {
            "number": base,
            "partner": scope.partner_filter,
            "chains": list(scope.allowed_chain_ids) if scope.allowed_chain_ids is not None else None,
        },
    ).mappings()
    found = list(rows)
    if not found:
        raise _no_revision(base, None, partner=scope.is_partner)
    newest = max(r["revision"] for r in found)
    return [
        IssuedRevision(
            statement_number=base if r["revision"] == 1 else f"{base}-R{r['revision']}",
            revision=r["revision"],
            chain_id=r["chain_id"],
            facts_sha256=r["facts_sha256"],
            created_at=r["created_at"],
            status=r["status"],
            statement_date=r["statement_date"],
            provisional=r["provisional"],
            issues=r["issues"] or 0,
            first_issued_at=r["first_at"],
            last_issued_at=r["last_at"],
            statement_json_sha256=r["json_sha256"],
            superseded_by=newest if r["revision"] < newest else None,
            document_id=r["document_id"],
        )
        for r in found
    ]


def issued_revision_files(
    session: Session, number: str, revision: int | None, scope: Scope
) -> tuple[IssuedRevision, dict[str, bytes]]:
    """The files of one revision exactly as last issued: its latest statement.json and, of each other
    file, the one issued with that statement.json (summary.csv has no status, so any issue's is the
    same bytes). `revision` None: the suffix of `number`, else the newest revision."""
    base, suffix = base_number(number.strip())
    wanted = revision if revision is not None else suffix
    try:
        revisions = statement_revisions(session, base, scope)
    except (NotFound, PermissionDenied):
        raise _no_revision(base, wanted, partner=scope.is_partner) from None
    chosen = revisions[-1] if wanted is None else next((r for r in revisions if r.revision == wanted), None)
    if chosen is None or chosen.statement_json_sha256 is None:
        raise _no_revision(base, wanted, partner=scope.is_partner)
    rows = session.execute(
        select(StatementDocumentFile.file_name, StatementDocumentFile.json_sha256, StatementDocumentFile.content)
        .where(
            StatementDocumentFile.document_id == chosen.document_id,
            StatementDocumentFile.content.is_not(None),
        )
        .order_by(StatementDocumentFile.created_at.desc(), StatementDocumentFile.file_sha256)
    ).all()
    files: dict[str, bytes] = {}
    for name, json_sha, content in rows:  # newest first: the first match per name wins
        if name in files:
            continue
        if json_sha == chosen.statement_json_sha256 or (name == "summary.csv"):
            files[name] = content
    return chosen, files
