"""Partner commission statement: plain data in, JSON / CSV / PDF out.

The statement is rendered from plain frozen dataclasses (no database access here). The export
service builds a :class:`StatementDocument` from the statement rows and their commission lines
and hands it to one of the writers below.

- :func:`statement_data` is the canonical, JSON-able form of everything the statement shows.
- :func:`statement_sha256` is the SHA-256 of that data's canonical JSON *excluding*
  ``generated_at``, so re-exporting unchanged data yields the same hash; the PDF prints it and the
  JSON export carries it.
- Amounts are :class:`~decimal.Decimal` in native base units end to end; display units are derived
  exactly (a shift of the decimal exponent, never a division in a limited-precision context).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aurora_cli.domain.canonical_json import canonical_json
from aurora_cli.domain.money import as_amount, money_context, parse_amount, to_display, to_plain_string

__all__ = [
    "CSV_COLUMNS",
    "DOCUMENT_KIND",
    "SCHEMA_VERSION",
    "PeriodStatus",
    "StatementDocument",
    "StatementLine",
    "read_statement_json",
    "render_statement_pdf",
    "statement_data",
    "statement_sha256",
    "write_statement_csv",
    "write_statement_json",
]

DOCUMENT_KIND = "aurora.partner_statement"
SCHEMA_VERSION = 1

CSV_COLUMNS: tuple[str, ...] = (
    "period_identifier",
    "validator_key",
    "revenue_component",
    "attribution_method",
    "base_amount_native",
    "commission_rate_bps",
    "pre_override_amount_native",
    "final_amount_native",
    "is_override",
    "override_reason",
    "line_id",
    "status",
)


# --------------------------------------------------------------------------------------------
# Money helpers: the one money module (exact; plain strings never carry an exponent)
# --------------------------------------------------------------------------------------------

_plain = to_plain_string


def _exact_sum(values: Iterable[Decimal]) -> Decimal:
    """Sum exactly: the default context (28 digits) would round NUMERIC(38,18)-sized totals."""
    with money_context():
        return sum(values, Decimal(0))


def _check_dt(value: Any, what: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (TIMESTAMPTZ), got naive {value.isoformat()}")


def _iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with an explicit offset, so equal instants always serialize equally."""
    return None if value is None else value.astimezone(UTC).isoformat()


def _parse_dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


# --------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    """One partner commission line as shown on the statement."""

    period_identifier: str
    period_start: datetime
    validator_key: str | None
    revenue_component: str
    attribution_method: str
    base_amount_native: Decimal
    commission_rate_bps: int
    pre_override_amount_native: Decimal
    final_amount_native: Decimal
    override_reason: str | None
    line_id: str

    def __post_init__(self) -> None:
        _check_dt(self.period_start, "period_start")
        for name in ("base_amount_native", "pre_override_amount_native", "final_amount_native"):
            object.__setattr__(self, name, as_amount(getattr(self, name), name))
        bps = self.commission_rate_bps
        if isinstance(bps, bool) or not isinstance(bps, int):
            raise TypeError(f"commission_rate_bps must be an int, not {type(bps).__name__}")
        if not 0 <= bps <= 10000:
            raise ValueError(f"commission_rate_bps must be within 0..10000, got {bps}")

    @property
    def is_override(self) -> bool:
        return self.override_reason is not None

    def sort_key(self) -> tuple[Any, ...]:
        """Stable order: period start, validator (None first), component, line id."""
        return (
            self.period_start,
            self.validator_key is not None,
            self.validator_key or "",
            self.revenue_component,
            self.line_id,
        )


@dataclass(frozen=True)
class PeriodStatus:
    """The workflow state of one per-period statement covered by the document."""

    period_identifier: str
    statement_id: str
    status: str
    submitted_by: str | None
    submitted_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None
    released_by: str | None
    released_at: datetime | None
    paid_at: datetime | None
    paid_reference: str | None
    total_native: Decimal
    line_count: int

    def __post_init__(self) -> None:
        for name in ("submitted_at", "approved_at", "released_at", "paid_at"):
            _check_dt(getattr(self, name), name, optional=True)
        object.__setattr__(self, "total_native", as_amount(self.total_native, "total_native"))
        if isinstance(self.line_count, bool) or not isinstance(self.line_count, int):
            raise TypeError("line_count must be an int")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _natural_key(identifier: str) -> tuple[int, int, str]:
    return (0, int(identifier), identifier) if identifier.isdigit() else (1, 0, identifier)


@dataclass(frozen=True)
class StatementDocument:
    """Everything a partner statement shows.

    ``lines`` and ``periods`` are normalized to tuples in a stable order on construction (lines by
    period start, validator key with None first, component, line id; periods by their earliest
    line, then identifier), so two documents holding the same data compare equal and hash equal.
    """

    issuer_name: str
    partner_name: str
    partner_legal_entity: str | None
    partner_contact_email: str | None
    chain_id: str
    chain_name: str
    native_unit: str
    display_unit: str
    native_decimals: int
    scope: str
    periods: tuple[PeriodStatus, ...]
    lines: tuple[StatementLine, ...]
    generated_at: datetime

    def __post_init__(self) -> None:
        _check_dt(self.generated_at, "generated_at")
        if isinstance(self.native_decimals, bool) or not isinstance(self.native_decimals, int):
            raise TypeError("native_decimals must be an int")
        if self.native_decimals < 0:
            raise ValueError("native_decimals must be >= 0")
        lines = tuple(sorted(self.lines, key=StatementLine.sort_key))
        seen_lines: set[str] = set()
        for line in lines:
            if line.line_id in seen_lines:
                raise ValueError(f"duplicate line_id {line.line_id!r} in statement")
            seen_lines.add(line.line_id)
        first_start: dict[str, datetime] = {}
        for line in lines:
            first_start.setdefault(line.period_identifier, line.period_start)
        ids = [p.period_identifier for p in self.periods]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate period_identifier in statement periods")
        unknown = sorted(set(first_start) - set(ids))
        if unknown:
            raise ValueError(f"lines reference periods not covered by the statement: {', '.join(unknown)}")

        def period_key(p: PeriodStatus) -> tuple[Any, ...]:
            start = first_start.get(p.period_identifier)
            return (start is None, start or _EPOCH, _natural_key(p.period_identifier))

        object.__setattr__(self, "lines", lines)
        object.__setattr__(self, "periods", tuple(sorted(self.periods, key=period_key)))

    @property
    def total_native(self) -> Decimal:
        return _exact_sum(line.final_amount_native for line in self.lines)

    @property
    def total_display(self) -> Decimal:
        return to_display(self.total_native, self.native_decimals)

    def period_status(self, period_identifier: str) -> PeriodStatus | None:
        for period in self.periods:
            if period.period_identifier == period_identifier:
                return period
        return None


# --------------------------------------------------------------------------------------------
# Canonical data, hash, JSON and CSV
# --------------------------------------------------------------------------------------------


def _line_data(line: StatementLine) -> dict[str, Any]:
    return {
        "period_identifier": line.period_identifier,
        "period_start": _iso(line.period_start),
        "validator_key": line.validator_key,
        "revenue_component": line.revenue_component,
        "attribution_method": line.attribution_method,
        "base_amount_native": _plain(line.base_amount_native),
        "commission_rate_bps": line.commission_rate_bps,
        "pre_override_amount_native": _plain(line.pre_override_amount_native),
        "final_amount_native": _plain(line.final_amount_native),
        "is_override": line.is_override,
        "override_reason": line.override_reason,
        "line_id": line.line_id,
    }


def _period_data(period: PeriodStatus) -> dict[str, Any]:
    return {
        "period_identifier": period.period_identifier,
        "statement_id": period.statement_id,
        "status": period.status,
        "submitted_by": period.submitted_by,
        "submitted_at": _iso(period.submitted_at),
        "approved_by": period.approved_by,
        "approved_at": _iso(period.approved_at),
        "released_by": period.released_by,
        "released_at": _iso(period.released_at),
        "paid_at": _iso(period.paid_at),
        "paid_reference": period.paid_reference,
        "total_native": _plain(period.total_native),
        "line_count": period.line_count,
    }


def statement_data(doc: StatementDocument) -> dict[str, Any]:
    """The canonical JSON-able dict of everything the statement shows.

    Amounts are plain decimal strings in native units (no exponent); timestamps ISO 8601 in UTC
    with offset; periods and lines in the document's stable order.
    """
    return {
        "document": DOCUMENT_KIND,
        "schema_version": SCHEMA_VERSION,
        "issuer_name": doc.issuer_name,
        "partner_name": doc.partner_name,
        "partner_legal_entity": doc.partner_legal_entity,
        "partner_contact_email": doc.partner_contact_email,
        "chain_id": doc.chain_id,
        "chain_name": doc.chain_name,
        "native_unit": doc.native_unit,
        "display_unit": doc.display_unit,
        "native_decimals": doc.native_decimals,
        "scope": doc.scope,
        "generated_at": _iso(doc.generated_at),
        "periods": [_period_data(p) for p in doc.periods],
        "lines": [_line_data(line) for line in doc.lines],
        "line_count": len(doc.lines),
        "total_native": _plain(doc.total_native),
        "total_display": _plain(doc.total_display),
    }


def statement_sha256(doc: StatementDocument) -> str:
    """SHA-256 (hex) of the canonical JSON of :func:`statement_data` without ``generated_at``."""
    data = statement_data(doc)
    del data["generated_at"]
    return hashlib.sha256(canonical_json(data)).hexdigest()


def write_statement_json(doc: StatementDocument, path: str | Path) -> None:
    """Write one JSON object: :func:`statement_data` plus ``sha256``."""
    data = statement_data(doc)
    data["sha256"] = statement_sha256(doc)
    text = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False)
    Path(path).write_text(text + "\n", encoding="utf-8")


def read_statement_json(path: str | Path, *, verify: bool = True) -> StatementDocument:
    """Rebuild a :class:`StatementDocument` from :func:`write_statement_json` output.

    With ``verify`` (the default) the embedded ``sha256`` must match the data, otherwise
    ``ValueError`` is raised (the file was edited or corrupted).
    """
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or raw.get("document") != DOCUMENT_KIND:
        raise ValueError(f"{path} is not an Aurora partner statement JSON export")
    if raw.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: unsupported statement schema_version {raw.get('schema_version')!r}")
    doc = StatementDocument(
        issuer_name=raw["issuer_name"],
        partner_name=raw["partner_name"],
        partner_legal_entity=raw["partner_legal_entity"],
        partner_contact_email=raw["partner_contact_email"],
        chain_id=raw["chain_id"],
        chain_name=raw["chain_name"],
        native_unit=raw["native_unit"],
        display_unit=raw["display_unit"],
        native_decimals=raw["native_decimals"],
        scope=raw["scope"],
        generated_at=_parse_dt(raw["generated_at"]),  # type: ignore[arg-type]
        periods=tuple(
            PeriodStatus(
                period_identifier=p["period_identifier"],
                statement_id=p["statement_id"],
                status=p["status"],
                submitted_by=p["submitted_by"],
                submitted_at=_parse_dt(p["submitted_at"]),
                approved_by=p["approved_by"],
                approved_at=_parse_dt(p["approved_at"]),
                released_by=p["released_by"],
                released_at=_parse_dt(p["released_at"]),
                paid_at=_parse_dt(p["paid_at"]),
                paid_reference=p["paid_reference"],
                total_native=parse_amount(p["total_native"]),
                line_count=p["line_count"],
            )
            for p in raw["periods"]
        ),
        lines=tuple(
            StatementLine(
                period_identifier=x["period_identifier"],
                period_start=_parse_dt(x["period_start"]),  # type: ignore[arg-type]
                validator_key=x["validator_key"],
                revenue_component=x["revenue_component"],
                attribution_method=x["attribution_method"],
                base_amount_native=parse_amount(x["base_amount_native"]),
                commission_rate_bps=x["commission_rate_bps"],
                pre_override_amount_native=parse_amount(x["pre_override_amount_native"]),
                final_amount_native=parse_amount(x["final_amount_native"]),
                override_reason=x["override_reason"],
                line_id=x["line_id"],
            )
            for x in raw["lines"]
        ),
    )
    if verify and raw.get("sha256") != statement_sha256(doc):
        raise ValueError(f"{path}: sha256 does not match the statement data (file altered or corrupted)")
    return doc


def write_statement_csv(doc: StatementDocument, path: str | Path) -> None:
    """One header row (:data:`CSV_COLUMNS`), one row per line, amounts as plain decimal strings."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for line in doc.lines:
            period = doc.period_status(line.period_identifier)
            writer.writerow(
                [
                    line.period_identifier,
                    line.validator_key or "",
                    line.revenue_component,
                    line.attribution_method,
                    _plain(line.base_amount_native),
                    str(line.commission_rate_bps),
                    _plain(line.pre_override_amount_native),
                    _plain(line.final_amount_native),
                    "true" if line.is_override else "false",
                    line.override_reason or "",
                    line.line_id,
                    period.status if period else "",
                ]
            )


def render_statement_pdf(doc: StatementDocument, path: str | Path) -> None:
    """The PDF a partner receives; fpdf2 is imported only when a PDF is asked for."""
    from aurora_cli.render.statement_pdf import render_statement_pdf as render

    render(doc, path)
