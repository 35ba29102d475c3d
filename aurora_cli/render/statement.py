"""The partner statement document: plain data in; canonical JSON, lines CSV and summary CSV out.

The export service builds a :class:`StatementDocument` (issuer, partner, one section per chain with
its periods and, per period and rule, the checkable arithmetic and the rule's lines) and hands it to
the writers here; the PDF layout is `statement_pdf`. No database access here.

- :func:`statement_data` is everything the document shows, JSON-able (amounts as plain decimal
  strings in native and display units, never floats).
- :func:`statement_json_bytes` is that data in the RFC 8785 canonical form (JCS); its SHA-256 is
  *the* hash of the statement: printed on the PDF, listed in SHA256SUMS, recorded as issued.
- :func:`facts_sha256` hashes the figures only (no workflow status or dates): a change of figures
  is what starts a new revision of the statement number.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import rfc8785

from aurora_cli.domain.money import as_amount, money_context, to_display, to_plain_string

__all__ = [
    "DOCUMENT_KIND",
    "LINE_COLUMNS",
    "SCHEMA_VERSION",
    "SUMMARY_COLUMNS",
    "ChainSection",
    "Party",
    "PeriodInfo",
    "RuleLine",
    "RuleSection",
    "StatementDocument",
    "TierSlice",
    "WorkflowStep",
    "facts_sha256",
    "render_statement_pdf",
    "statement_data",
    "statement_json_bytes",
    "statement_sha256",
    "write_lines_csv",
    "write_statement_json",
    "write_summary_csv",
]

DOCUMENT_KIND = "aurora.partner_statement"
SCHEMA_VERSION = 2

_plain = to_plain_string


def _exact_sum(values: Iterable[Decimal]) -> Decimal:
    """Sum exactly: the default context (28 digits) would round NUMERIC(38,18)-sized totals."""
    with money_context():
        return sum(values, Decimal(0))


def _iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with an explicit offset, so equal instants always serialize equally."""
    return None if value is None else value.astimezone(UTC).isoformat()


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else _plain(value)


# --------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """Issuer or partner as printed: legal name first, then address and contact."""

    name: str
    legal_name: str | None = None
    address: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None

    @property
    def printed_name(self) -> str:
        return self.legal_name or self.name


@dataclass(frozen=True)
class WorkflowStep:
    """One workflow step as the partner sees it: a role ("Finance"), never a username."""

    step: str  # "generated" | "submitted" | "approved" | "released" | "paid" | "reopened"
    at: datetime
    by_role: str | None


@dataclass(frozen=True)
class PeriodInfo:
    period_identifier: str
    period_start: datetime
    period_end: datetime
    statement_id: str
    status: str
    provisional: bool  # the period was not final when its statement was generated
    steps: tuple[WorkflowStep, ...]
    paid_reference: str | None
    total_native: Decimal
    line_count: int

    def step(self, name: str) -> WorkflowStep | None:
        return next((s for s in self.steps if s.step == name), None)


@dataclass(frozen=True)
class TierSlice:
    """One slice of a marginal tier table: the part of Σ base in [from, to) at `rate_bps`."""

    from_native: Decimal
    to_native: Decimal | None
    rate_bps: int
    base_native: Decimal
    commission_native: Decimal  # exact, before limits


@dataclass(frozen=True)
class RuleLine:
    line_id: str
    validator_key: str | None
    base_native: Decimal
    share: Decimal  # base / Σ base of the rule, exact to 18 places (the allocation key)
    pre_override_native: Decimal
    final_native: Decimal
    override_reason: str | None

    @property
    def is_override(self) -> bool:
        return self.override_reason is not None


@dataclass(frozen=True)
class RuleSection:
    """One rule in one period: the arithmetic from Σ base to the rule total, then its lines."""

    period_identifier: str
    agreement_name: str
    agreement_version: int
    rule_order: int
    component: str
    attribution: str
    rate_bps: int | None  # None when tiers replace it
    tier_mode: str | None
    tier_steps: tuple[tuple[Decimal, int], ...]
    total_base: Decimal
    slices: tuple[TierSlice, ...]  # marginal tiers only
    reached_rate_bps: int | None  # retroactive tiers: the step reached
    before_limits: Decimal
    floor_native: Decimal | None
    cap_native: Decimal | None
    floor_applied: bool
    cap_applied: bool
    after_limits: Decimal  # exact, before rounding down
    rule_total: Decimal  # after rounding down to a whole native unit = Σ lines before overrides
    lines: tuple[RuleLine, ...]

    @property
    def rounding(self) -> Decimal:
        with money_context():
            return self.rule_total - self.after_limits

    @property
    def final_total(self) -> Decimal:
        return _exact_sum(line.final_native for line in self.lines)

    def schedule_text(self, unit: str) -> str:
        if self.tier_mode is None:
            return f"{percent(self.rate_bps or 0)} of the base"
        steps = ", ".join(f"{percent(rate)} from {_plain(start)} {unit}" for start, rate in self.tier_steps)
        return f"{self.tier_mode} tiers: {steps}"


@dataclass(frozen=True)
class ChainSection:
    """Everything of one chain; amounts are never added across chains."""

    chain_id: str
    chain_name: str
    native_unit: str
    display_unit: str
    native_decimals: int
    payout_address: str | None
    periods: tuple[PeriodInfo, ...]
    rules: tuple[RuleSection, ...]

    @property
    def lines(self) -> list[tuple[RuleSection, RuleLine]]:
        return [(rule, line) for rule in self.rules for line in rule.lines]

    @property
    def total_native(self) -> Decimal:
        return _exact_sum(rule.final_total for rule in self.rules)

    def display(self, native: Decimal) -> Decimal:
        return to_display(native, self.native_decimals)

    def period(self, identifier: str) -> PeriodInfo | None:
        return next((p for p in self.periods if p.period_identifier == identifier), None)


@dataclass(frozen=True)
class StatementDocument:
    statement_number: str  # with the revision suffix from revision 2 on
    revision: int
    issuer: Party
    partner: Party
    window: str  # "2025-09", "2025Q3", "Period 850", ...
    window_start: datetime
    window_end: datetime
    statement_date: datetime  # the latest workflow step of the periods covered
    payment_terms_days: int | None
    due_date: date | None  # released + payment terms; None until released
    chains: tuple[ChainSection, ...]

    def __post_init__(self) -> None:
        for name in ("window_start", "window_end", "statement_date"):
            value = getattr(self, name)
            if not isinstance(value, datetime) or value.utcoffset() is None:
                raise ValueError(f"{name} must be a timezone-aware datetime")

    @property
    def periods(self) -> list[PeriodInfo]:
        return [p for chain in self.chains for p in chain.periods]

    @property
    def provisional(self) -> bool:
        return any(p.provisional for p in self.periods)

    @property
    def status(self) -> str:
        """The least advanced status of the periods covered (the document is only as far as that)."""
        order = ["DRAFT", "PENDING_APPROVAL", "APPROVED", "RELEASED", "PAID"]
        statuses = {p.status for p in self.periods}
        return min(statuses, key=lambda s: order.index(s) if s in order else -1) if statuses else "DRAFT"

    @property
    def line_count(self) -> int:
        return sum(len(chain.lines) for chain in self.chains)

    @property
    def paid_references(self) -> list[str]:
        return sorted({p.paid_reference for p in self.periods if p.paid_reference})


def percent(bps: int) -> str:
    return f"{bps // 100}.{bps % 100:02d}%"


# --------------------------------------------------------------------------------------------
# Canonical data and hashes
# --------------------------------------------------------------------------------------------


def _amounts(native: Decimal, chain: ChainSection) -> dict[str, str]:
    return {"native": _plain(native), "display": _plain(chain.display(native))}


def _rule_data(rule: RuleSection, chain: ChainSection) -> dict[str, Any]:
    return {
        "period_identifier": rule.period_identifier,
        "agreement_name": rule.agreement_name,
        "agreement_version": rule.agreement_version,
        "rule_order": rule.rule_order,
        "component": rule.component,
        "attribution": rule.attribution,
        "rate_bps": rule.rate_bps,
        "tiers": None
        if rule.tier_mode is None
        else {
            "mode": rule.tier_mode,
            "steps": [{"from_native": _plain(f), "rate_bps": r} for f, r in rule.tier_steps],
        },
        "total_base": _amounts(rule.total_base, chain),
        "tier_slices": [
            {
                "from_native": _plain(s.from_native),
                "to_native": _opt(s.to_native),
                "rate_bps": s.rate_bps,
                "base_native": _plain(s.base_native),
                "commission_native": _plain(s.commission_native),
            }
            for s in rule.slices
        ],
        "reached_rate_bps": rule.reached_rate_bps,
        "commission_before_limits_native": _plain(rule.before_limits),
        "floor_native": _opt(rule.floor_native),
        "floor_applied": rule.floor_applied,
        "cap_native": _opt(rule.cap_native),
        "cap_applied": rule.cap_applied,
        "after_limits_native": _plain(rule.after_limits),
        "rounding_native": _plain(rule.rounding),
        "rule_total": _amounts(rule.rule_total, chain),
        "final_total": _amounts(rule.final_total, chain),
        "lines": [
            {
                "line_id": line.line_id,
                "validator_key": line.validator_key,
                "base_native": _plain(line.base_native),
                "share": _plain(line.share),
                "pre_override_native": _plain(line.pre_override_native),
                "amount": _amounts(line.final_native, chain),
                "is_override": line.is_override,
                "override_reason": line.override_reason,
            }
            for line in rule.lines
        ],
    }


def _period_data(period: PeriodInfo) -> dict[str, Any]:
    return {
        "period_identifier": period.period_identifier,
        "period_start": _iso(period.period_start),
        "period_end": _iso(period.period_end),
        "statement_id": period.statement_id,
        "status": period.status,
        "provisional": period.provisional,
        "workflow": [{"step": s.step, "at": _iso(s.at), "by_role": s.by_role} for s in period.steps],
        "paid_reference": period.paid_reference,
        "total_native": _plain(period.total_native),
        "line_count": period.line_count,
    }


def _party(party: Party) -> dict[str, Any]:
    return {
        "name": party.name,
        "legal_name": party.legal_name,
        "address": party.address,
        "contact_name": party.contact_name,
        "contact_email": party.contact_email,
    }


def statement_data(doc: StatementDocument) -> dict[str, Any]:
    """Everything the statement shows, JSON-able; the same facts as the PDF and the CSVs."""
    return {
        "document": DOCUMENT_KIND,
        "schema_version": SCHEMA_VERSION,
        "statement_number": doc.statement_number,
        "revision": doc.revision,
        "issuer": _party(doc.issuer),
        "partner": _party(doc.partner),
        "window": doc.window,
        "window_start": _iso(doc.window_start),
        "window_end": _iso(doc.window_end),
        "statement_date": _iso(doc.statement_date),
        "status": doc.status,
        "provisional": doc.provisional,
        "payment_terms_days": doc.payment_terms_days,
        "due_date": None if doc.due_date is None else doc.due_date.isoformat(),
        "paid_references": doc.paid_references,
        "chains": [
            {
                "chain_id": chain.chain_id,
                "chain_name": chain.chain_name,
                "native_unit": chain.native_unit,
                "display_unit": chain.display_unit,
                "native_decimals": chain.native_decimals,
                "payout_address": chain.payout_address,
                "periods": [_period_data(p) for p in chain.periods],
                "rules": [_rule_data(r, chain) for r in chain.rules],
                "line_count": len(chain.lines),
                "total": _amounts(chain.total_native, chain),
            }
            for chain in doc.chains
        ],
    }


_WORKFLOW_KEYS = ("status", "statement_date", "due_date", "paid_references", "statement_number", "revision")


def facts_sha256(doc: StatementDocument) -> str:
    """SHA-256 of the figures alone: what decides whether the statement needs a new revision.

    Workflow (status, who did what when, payment) is left out: approving or paying a statement does
    not make it a different statement; a recomputed figure does.
    """
    data = statement_data(doc)
    for key in _WORKFLOW_KEYS:
        del data[key]
    for chain in data["chains"]:
        for period in chain["periods"]:
            del period["status"], period["workflow"], period["paid_reference"]
    return hashlib.sha256(rfc8785.dumps(data)).hexdigest()


def statement_json_bytes(doc: StatementDocument) -> bytes:
    """statement.json: the RFC 8785 canonical form (sorted keys, no whitespace, UTF-8)."""
    return rfc8785.dumps(statement_data(doc))


def statement_sha256(doc: StatementDocument) -> str:
    """The statement's hash: SHA-256 of statement.json, so `sha256sum statement.json` shows it."""
    return hashlib.sha256(statement_json_bytes(doc)).hexdigest()


def write_statement_json(doc: StatementDocument, path: str | Path) -> None:
    Path(path).write_bytes(statement_json_bytes(doc))


def read_statement_data(content: bytes) -> dict[str, Any]:
    """Parse a statement.json; ValueError when it is not one or is not in canonical form."""
    try:
        raw = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("document") != DOCUMENT_KIND:
        raise ValueError("not an Aurora partner statement")
    if rfc8785.dumps(raw) != content:
        raise ValueError("not in the canonical form Aurora writes (the file was edited)")
    return raw


# --------------------------------------------------------------------------------------------
# CSV: tidy lines, and the per-rule and statement totals
# --------------------------------------------------------------------------------------------

LINE_COLUMNS: tuple[str, ...] = (
    "statement_number",
    "chain_id",
    "period_identifier",
    "period_start",
    "period_end",
    "status",
    "provisional",
    "agreement_name",
    "agreement_version",
    "rule_order",
    "revenue_component",
    "attribution_method",
    "validator_key",
    "base_amount_native",
    "share_of_rule_base",
    "commission_rate_bps",
    "pre_override_amount_native",
    "final_amount_native",
    "final_amount_display",
    "native_unit",
    "display_unit",
    "is_override",
    "override_reason",
    "line_id",
)

SUMMARY_COLUMNS: tuple[str, ...] = (
    "statement_number",
    "level",
    "chain_id",
    "period_identifier",
    "agreement_name",
    "agreement_version",
    "rule_order",
    "revenue_component",
    "attribution_method",
    "schedule",
    "total_base_native",
    "commission_before_limits_native",
    "floor_native",
    "floor_applied",
    "cap_native",
    "cap_applied",
    "after_limits_native",
    "rounding_native",
    "rule_total_native",
    "final_total_native",
    "final_total_display",
    "native_unit",
    "display_unit",
    "line_count",
)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def line_rows(doc: StatementDocument) -> list[list[str | int]]:
    rows = []
    for chain in doc.chains:
        for rule, line in chain.lines:
            period = chain.period(rule.period_identifier)
            rows.append(
                [
                    doc.statement_number,
                    chain.chain_id,
                    rule.period_identifier,
                    _iso(period.period_start) if period else "",
                    _iso(period.period_end) if period else "",
                    period.status if period else "",
                    _bool(period.provisional) if period else "",
                    rule.agreement_name,
                    rule.agreement_version,
                    rule.rule_order,
                    rule.component,
                    rule.attribution,
                    line.validator_key or "",
                    _plain(line.base_native),
                    _plain(line.share),
                    "" if rule.rate_bps is None else rule.rate_bps,
                    _plain(line.pre_override_native),
                    _plain(line.final_native),
                    _plain(chain.display(line.final_native)),
                    chain.native_unit,
                    chain.display_unit,
                    _bool(line.is_override),
                    line.override_reason or "",
                    line.line_id,
                ]
            )
    return rows


def summary_rows(doc: StatementDocument) -> list[list[str | int]]:
    rows = []
    for chain in doc.chains:
        for rule in chain.rules:
            rows.append(
                [
                    doc.statement_number,
                    "rule",
                    chain.chain_id,
                    rule.period_identifier,
                    rule.agreement_name,
                    rule.agreement_version,
                    rule.rule_order,
                    rule.component,
                    rule.attribution,
                    rule.schedule_text(chain.native_unit),
                    _plain(rule.total_base),
                    _plain(rule.before_limits),
                    _opt(rule.floor_native) or "",
                    _bool(rule.floor_applied),
                    _opt(rule.cap_native) or "",
                    _bool(rule.cap_applied),
                    _plain(rule.after_limits),
                    _plain(rule.rounding),
                    _plain(rule.rule_total),
                    _plain(rule.final_total),
                    _plain(chain.display(rule.final_total)),
                    chain.native_unit,
                    chain.display_unit,
                    len(rule.lines),
                ]
            )
        total = chain.total_native
        rows.append(
            [
                doc.statement_number,
                "statement",
                chain.chain_id,
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                _plain(total),
                _plain(chain.display(total)),
                chain.native_unit,
                chain.display_unit,
                len(chain.lines),
            ]
        )
    return rows


def _write_csv(path: str | Path, columns: tuple[str, ...], rows: list[list[str | int]]) -> None:
    """A plain RFC 4180 CSV. Every text field is quoted, amounts included; counts (version, rule
    order, rate in bps, line count) are not. Why: a spreadsheet keeps 15 significant digits of a
    number, and wei amounts have 20, so opened with "format quoted field as text" (LibreOffice) every
    amount stays the exact string Aurora wrote while the counts stay numbers. CSV readers just see
    the values; the header row is unquoted (its names never need it)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerow(columns)
        csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC).writerows(rows)


def write_lines_csv(doc: StatementDocument, path: str | Path) -> None:
    """One header row, one row per commission line, amounts as plain decimal strings (quoted)."""
    _write_csv(path, LINE_COLUMNS, line_rows(doc))


def write_summary_csv(doc: StatementDocument, path: str | Path) -> None:
    """One row per (period, rule) with its arithmetic, then one statement-total row per chain."""
    _write_csv(path, SUMMARY_COLUMNS, summary_rows(doc))


def render_statement_pdf(doc: StatementDocument, path: str | Path) -> None:
    """The PDF a partner receives; fpdf2 is imported only when a PDF is asked for."""
    from aurora_cli.render.statement_pdf import render_statement_pdf as render

    render(doc, path)


def as_amount_or_none(value: object) -> Decimal | None:
    return None if value is None else as_amount(value)
