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
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fpdf import FPDF, FontFace
from fpdf.enums import TableBordersLayout, TableCellFillMode, WrapMode, XPos, YPos

from aurora_cli.domain.money import as_amount, money_context, parse_amount, to_display, to_plain_string
from aurora_cli.render.output import short_key

# Page geometry in millimetres (fpdf2's unit). Layout only: no amount is ever a float.
Mm = float

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


def _canonical_json(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def statement_sha256(doc: StatementDocument) -> str:
    """SHA-256 (hex) of the canonical JSON of :func:`statement_data` without ``generated_at``."""
    data = statement_data(doc)
    del data["generated_at"]
    return hashlib.sha256(_canonical_json(data)).hexdigest()


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


# --------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------

_LATIN1_REPLACEMENTS = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": ",",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u2022": "-",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
    "\u20ac": "EUR",
    "\u2192": "->",
}

_COMPONENT_LABELS = {
    "EXEC_FEES": "Execution fees",
    "MEV_TIPS": "MEV tips",
    "VOTE_REWARDS": "Vote rewards",
    "COMMISSION": "Commission",
}
_ATTRIBUTION_LABELS = {
    "CLIENT_REVENUE": "Client revenue",
    "STAKE_WEIGHT": "Stake weight",
    "FIXED_SHARE": "Fixed share",
}
_PROVISIONAL_STATUSES = {"DRAFT", "PENDING_APPROVAL"}

_NAVY = (28, 52, 94)
_GREY_TEXT = (95, 99, 104)
_RULE = (180, 186, 194)
_ZEBRA = (242, 244, 247)
_AMBER = (150, 90, 0)


def _latin1(text: object) -> str:
    """Make text printable with the PDF core fonts (Latin-1 only); other characters become '?'."""
    s = "" if text is None else str(text)
    s = "".join(_LATIN1_REPLACEMENTS.get(ch, ch) for ch in s)
    s = unicodedata.normalize("NFKC", s)
    s = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") and ch != "\n" else ch for ch in s)
    return s.encode("latin-1", errors="replace").decode("latin-1")


def _label(value: str, labels: Mapping[str, str]) -> str:
    return labels.get(value) or value.replace("_", " ").capitalize()


def _status_label(status: str) -> str:
    return status.replace("_", " ").capitalize()


def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _who_when(who: str | None, when: datetime | None) -> str:
    parts = [p for p in (who, _when(when)) if p]
    return "\n".join(parts) if parts else "-"


def _percent(bps: int) -> str:
    return f"{bps // 100}.{bps % 100:02d}%"


class _StatementPDF(FPDF):
    """FPDF with the statement's running header (pages 2+) and footer (every page)."""

    def __init__(self, doc: StatementDocument) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self._doc = doc
        self._running_left = _latin1(f"{doc.issuer_name} - Partner commission statement")
        partner = doc.partner_legal_entity or doc.partner_name
        self._running_right = _latin1(f"{partner} | {doc.chain_name} | {doc.scope}")

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font("Helvetica", "", 7.5)
        self.set_text_color(*_GREY_TEXT)
        self.set_y(8)
        self.cell(self.epw / 2, 4, self._running_left, align="L")
        self.cell(self.epw / 2, 4, self._running_right, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)
        self.line(self.l_margin, 13, self.w - self.r_margin, 13)
        self.set_text_color(0)
        self.set_y(16)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1.5)
        self.set_font("Helvetica", "", 7.5)
        self.set_text_color(*_GREY_TEXT)
        self.cell(self.epw * 0.75, 4, self._running_right, align="L")
        self.cell(self.epw * 0.25, 4, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0)

    # -- small layout helpers -------------------------------------------------------------

    def section_title(self, text: str, *, keep_with: Mm = 25) -> None:
        if self.get_y() + 8 + keep_with > self.page_break_trigger:
            self.add_page()
        self.ln(3)
        self.set_font("Helvetica", "B", 10.5)
        self.set_text_color(*_NAVY)
        self.cell(0, 6, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*_NAVY)
        self.set_line_width(0.35)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_text_color(0)
        self.ln(2)

    def para(
        self,
        text: str,
        *,
        size: Mm = 8,
        style: str = "",
        color: Iterable[int] = (0, 0, 0),
        family: str = "Helvetica",
        height: Mm = 4,
    ) -> None:
        self.set_font(family, style, size)
        self.set_text_color(*color)
        self.multi_cell(0, height, _latin1(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0)

    def key_values(self, x: Mm, width: Mm, rows: list[tuple[str, str]], label_w: Mm) -> Mm:
        """Label/value rows in a column starting at (x, current y); returns the y below them."""
        y = self.get_y()
        for label, value in rows:
            self.set_xy(x, y)
            self.set_font("Helvetica", "", 8)
            self.set_text_color(*_GREY_TEXT)
            self.cell(label_w, 4.5, _latin1(label))
            self.set_text_color(0)
            self.set_font("Helvetica", "", 8.5)
            self.multi_cell(width - label_w, 4.5, _latin1(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            y = self.get_y()
        return y


def render_statement_pdf(doc: StatementDocument, path: str | Path) -> None:
    """Render the partner statement as an A4 PDF (core Helvetica fonts, deterministic output)."""
    sha = statement_sha256(doc)
    unit = doc.native_unit
    pdf = _StatementPDF(doc)
    pdf.set_margins(left=12, top=12, right=12)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.alias_nb_pages()
    pdf.set_creation_date(doc.generated_at)
    title = f"Partner commission statement - {doc.partner_name} - {doc.chain_name} - {doc.scope}"
    pdf.set_title(_latin1(title))
    pdf.set_author(_latin1(doc.issuer_name))
    pdf.set_subject(_latin1(f"Data SHA-256: {sha}"))
    pdf.set_creator("Aurora")
    pdf.add_page()

    # -- letterhead -------------------------------------------------------------------------
    top = pdf.get_y()
    pdf.set_font("Helvetica", "B", 16)
    pdf.set_text_color(*_NAVY)
    pdf.cell(pdf.epw * 0.55, 8, _latin1(doc.issuer_name))
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(
        pdf.epw * 0.45, 8, "PARTNER COMMISSION STATEMENT", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_font("Helvetica", "", 8)
    pdf.set_text_color(*_GREY_TEXT)
    pdf.set_x(pdf.l_margin + pdf.epw * 0.55)
    pdf.cell(
        pdf.epw * 0.45,
        4.5,
        f"Generated {_when(doc.generated_at)} UTC",
        align="R",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(0)
    pdf.ln(2)
    pdf.set_draw_color(*_NAVY)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(4)
    assert pdf.get_y() > top

    # -- addressee and statement details (two columns) ----------------------------------------
    col_w = pdf.epw / 2 - 4
    left_x, right_x = pdf.l_margin, pdf.l_margin + pdf.epw / 2 + 4
    y0 = pdf.get_y()
    pdf.set_font("Helvetica", "B", 8)
    pdf.set_text_color(*_NAVY)
    pdf.set_xy(left_x, y0)
    pdf.cell(col_w, 5, "STATEMENT TO")
    pdf.set_xy(right_x, y0)
    pdf.cell(col_w, 5, "STATEMENT DETAILS")
    pdf.set_text_color(0)
    y1 = y0 + 6

    pdf.set_xy(left_x, y1)
    pdf.set_font("Helvetica", "B", 11)
    pdf.multi_cell(
        col_w, 5.5, _latin1(doc.partner_legal_entity or doc.partner_name), new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    addressee: list[tuple[str, str]] = []
    if doc.partner_legal_entity and doc.partner_legal_entity != doc.partner_name:
        addressee.append(("Partner", doc.partner_name))
    addressee.append(("Contact", doc.partner_contact_email or "-"))
    left_end = pdf.key_values(left_x, col_w, addressee, 18)

    pdf.set_xy(right_x, y1)
    details = [
        ("Chain", f"{doc.chain_name} ({doc.chain_id})"),
        ("Scope", doc.scope),
        ("Periods", str(len(doc.periods))),
        ("Lines", str(len(doc.lines))),
        ("Units", f"amounts in {unit}; 1 {doc.display_unit} = 10^{doc.native_decimals} {unit}"),
    ]
    right_end = pdf.key_values(right_x, col_w, details, 18)
    pdf.set_y(max(left_end, right_end) + 2)

    statuses = {p.status for p in doc.periods}
    if statuses & _PROVISIONAL_STATUSES:
        pdf.ln(1)
        pdf.para(
            "PROVISIONAL: one or more periods are not yet approved. Amounts may change before release.",
            size=8.5,
            style="B",
            color=_AMBER,
        )

    # -- periods covered ------------------------------------------------------------------------
    pdf.section_title("Periods covered")
    pdf.para("Workflow dates and times are in UTC.", size=7.5, color=_GREY_TEXT)
    pdf.ln(1)
    heading = FontFace(emphasis="BOLD", color=255, fill_color=_NAVY, size_pt=7.5)
    pdf.set_font("Helvetica", "", 7.5)
    pdf.set_draw_color(*_RULE)
    pdf.set_line_width(0.2)
    with pdf.table(
        col_widths=(15, 22, 26, 26, 26, 36, 11, 24),
        width=pdf.epw,
        text_align=("LEFT", "LEFT", "LEFT", "LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT"),
        headings_style=heading,
        line_height=3.6,
        padding=(1.2, 1.5, 1.2, 1.5),
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        cell_fill_mode=TableCellFillMode.EVEN_ROWS,
        cell_fill_color=_ZEBRA,
        v_align="TOP",
    ) as table:
        table.row(
            [
                "Period",
                "Status",
                "Submitted",
                "Approved",
                "Released",
                "Paid",
                "Lines",
                f"Total ({_latin1(unit)})",
            ]
        )
        for p in doc.periods:
            paid = _when(p.paid_at)
            if p.paid_reference:
                ref = short_key(p.paid_reference, head=8, tail=6, ellipsis="...")
                paid = f"{paid}\nRef {ref}" if paid else f"Ref {ref}"
            table.row(
                [
                    _latin1(p.period_identifier),
                    _latin1(_status_label(p.status)),
                    _latin1(_who_when(p.submitted_by, p.submitted_at)),
                    _latin1(_who_when(p.approved_by, p.approved_at)),
                    _latin1(_who_when(p.released_by, p.released_at)),
                    _latin1(paid or "-"),
                    str(p.line_count),
                    _plain(p.total_native),
                ]
            )
    pdf.ln(1.5)
    for p in doc.periods:
        ref = f"; payment reference {p.paid_reference}" if p.paid_reference else ""
        pdf.para(
            f"Period {p.period_identifier}: statement {p.statement_id}{ref}",
            size=7,
            color=_GREY_TEXT,
            height=3.5,
        )

    # -- commission lines -------------------------------------------------------------------------
    pdf.section_title("Commission lines", keep_with=30)
    markers: dict[str, str] = {}
    overrides = [line for line in doc.lines if line.is_override]
    for n, line in enumerate(overrides, start=1):
        markers[line.line_id] = f"*{n}"
    if not doc.lines:
        pdf.para("No commission lines in this statement.", size=8.5, color=_GREY_TEXT)
    else:
        pdf.set_font("Helvetica", "", 7.5)
        pdf.set_draw_color(*_RULE)
        pdf.set_line_width(0.2)
        with pdf.table(
            col_widths=(13, 31, 22, 21, 45, 12, 32, 10),
            width=pdf.epw,
            text_align=("LEFT", "LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "CENTER"),
            headings_style=heading,
            line_height=3.6,
            padding=(1.2, 1.5, 1.2, 1.5),
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            cell_fill_mode=TableCellFillMode.EVEN_ROWS,
            cell_fill_color=_ZEBRA,
            wrapmode=WrapMode.CHAR,
        ) as table:
            table.row(
                [
                    "Period",
                    "Validator",
                    "Component",
                    "Attribution",
                    f"Base ({_latin1(unit)})",
                    "Rate",
                    f"Amount ({_latin1(unit)})",
                    "Note",
                ]
            )
            for line in doc.lines:
                table.row(
                    [
                        _latin1(line.period_identifier),
                        _latin1(short_key(line.validator_key, ellipsis="..."))
                        if line.validator_key
                        else "(none)",
                        _latin1(_label(line.revenue_component, _COMPONENT_LABELS)),
                        _latin1(_label(line.attribution_method, _ATTRIBUTION_LABELS)),
                        _plain(line.base_amount_native),
                        _percent(line.commission_rate_bps),
                        _plain(line.final_amount_native),
                        markers.get(line.line_id, ""),
                    ]
                )

    # -- totals -------------------------------------------------------------------------------------
    total_text = f"{_plain(doc.total_native)} {unit} = {_plain(doc.total_display)} {doc.display_unit}"
    if pdf.get_y() + 18 > pdf.page_break_trigger:
        pdf.add_page()
    pdf.ln(3)
    pdf.set_draw_color(*_NAVY)
    pdf.set_line_width(0.4)
    box_w = pdf.epw * 0.62
    box_x = pdf.w - pdf.r_margin - box_w
    pdf.line(box_x, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(1.5)
    pdf.set_x(box_x)
    pdf.set_font("Helvetica", "", 8)
    pdf.set_text_color(*_GREY_TEXT)
    pdf.cell(
        box_w,
        4.5,
        _latin1(f"Total commission ({len(doc.lines)} lines, {len(doc.periods)} periods)"),
        align="R",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(0)
    pdf.set_x(pdf.l_margin)
    pdf.set_font("Helvetica", "B", 10)
    pdf.multi_cell(0, 5.5, _latin1(total_text), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_line_width(0.4)
    pdf.line(box_x, pdf.get_y() + 0.8, pdf.w - pdf.r_margin, pdf.get_y() + 0.8)
    pdf.ln(2)

    # -- notes: overrides -----------------------------------------------------------------------
    if overrides:
        pdf.section_title("Notes: adjusted lines", keep_with=12)
        for line in overrides:
            where = (
                f"Period {line.period_identifier}, validator {line.validator_key or '(none)'}, "
                f"{_label(line.revenue_component, _COMPONENT_LABELS).lower()}"
            )
            pdf.set_font("Helvetica", "B", 8)
            start_y = pdf.get_y()
            pdf.cell(9, 4, markers[line.line_id])
            pdf.set_xy(pdf.l_margin + 9, start_y)
            pdf.set_font("Helvetica", "", 8)
            pdf.multi_cell(
                pdf.epw - 9,
                4,
                _latin1(
                    f"{where}: adjusted from {_plain(line.pre_override_amount_native)} to "
                    f"{_plain(line.final_amount_native)} {unit}. Reason: {line.override_reason}"
                ),
                align="L",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
            pdf.ln(1)

    # -- data integrity ---------------------------------------------------------------------------
    pdf.section_title("Data integrity", keep_with=14)
    pdf.para(
        "The SHA-256 below is computed over the canonical JSON of the data shown in this statement "
        "(all fields except the generation time). The JSON export of this statement carries the same "
        "value. Validator keys are shortened in the table; full keys are in the CSV and JSON exports.",
        size=7.5,
        color=_GREY_TEXT,
    )
    pdf.ln(1)
    pdf.set_font("Courier", "B", 8.5)
    pdf.multi_cell(0, 4.5, f"Data SHA-256: {sha}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.output(str(path))
