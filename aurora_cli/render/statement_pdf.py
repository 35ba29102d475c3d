"""The partner statement as a PDF (fpdf2, built-in fonts): layout only, from a StatementDocument.

Kept apart from `statement.py` so that every CLI invocation does not pay for importing fpdf2.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF, FontFace
from fpdf.enums import TableBordersLayout, TableCellFillMode, WrapMode, XPos, YPos

from aurora_cli.domain.money import to_plain_string
from aurora_cli.render.output import display_amount, short_key
from aurora_cli.render.statement import StatementDocument, statement_sha256

# Page geometry in millimetres (fpdf2's unit). Layout only: no amount is ever a float.
Mm = float


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
                    to_plain_string(p.total_native),
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
                        to_plain_string(line.base_amount_native),
                        _percent(line.commission_rate_bps),
                        to_plain_string(line.final_amount_native),
                        markers.get(line.line_id, ""),
                    ]
                )

    # -- totals -------------------------------------------------------------------------------------
    shown = display_amount(doc.total_native, doc.native_decimals, doc.display_unit, unit)
    total_text = f"{to_plain_string(doc.total_native)} {unit} = {shown}"
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
                    f"{where}: adjusted from {to_plain_string(line.pre_override_amount_native)} to "
                    f"{to_plain_string(line.final_amount_native)} {unit}. Reason: {line.override_reason}"
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
