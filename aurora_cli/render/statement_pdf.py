"""The partner statement as a PDF (fpdf2, shipped Unicode fonts): layout only, from a StatementDocument.

Fonts live in `render/fonts/` (DejaVu Sans for Latin, Greek, Cyrillic, Arabic; a JIS subset of Droid
Sans Fallback for Japanese; licences in LICENSES.txt). Text shaping (uharfbuzz) joins Arabic and
lays it right to left. Kept apart from `statement.py` so that no CLI invocation pays for fpdf2.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF, FontFace
from fpdf.enums import TableBordersLayout, TableCellFillMode, WrapMode, XPos, YPos

from aurora_cli.domain.money import to_plain_string as plain
from aurora_cli.render.statement import (
    ChainSection,
    RuleSection,
    StatementDocument,
    percent,
    statement_sha256,
)

FONTS = Path(__file__).parent / "fonts"
_PERCENT_PLACES = Decimal("0.0001")
_NAVY = (28, 52, 94)
_GREY = (95, 99, 104)
_RULE = (180, 186, 194)
_ZEBRA = (242, 244, 247)
_AMBER = (170, 90, 0)
_LABELS = {
    "EXEC_FEES": "Execution fees",
    "MEV_TIPS": "MEV tips",
    "VOTE_REWARDS": "Vote rewards",
    "COMMISSION": "Validator commission",
    "CLIENT_REVENUE": "client revenue",
    "STAKE_WEIGHT": "stake weight",
    "FIXED_SHARE": "fixed share",
}


def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


class _StatementPDF(FPDF):
    def __init__(self, doc: StatementDocument) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc = doc
        self.add_font("Sans", "", FONTS / "DejaVuSans.ttf")
        self.add_font("Sans", "B", FONTS / "DejaVuSans-Bold.ttf")
        self.add_font("Mono", "", FONTS / "DejaVuSansMono.ttf")
        self.add_font("CJK", "", FONTS / "DroidSansFallback-JIS.ttf")
        self.add_font("CJK", "B", FONTS / "DroidSansFallback-JIS.ttf")
        self.set_fallback_fonts(["CJK"], exact_match=False)
        try:
            self.set_text_shaping(True)
        except Exception:  # uharfbuzz missing: Arabic prints unjoined rather than not at all
            pass
        self.running = f"{doc.statement_number} · {doc.partner.printed_name} · {doc.window}"

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font("Sans", "", 7.5)
        self.set_text_color(*_GREY)
        self.set_y(8)
        self.cell(0, 4, self.running, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0)
        self.set_y(15)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_draw_color(*_RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1.5)
        self.set_font("Sans", "", 7)
        self.set_text_color(*_GREY)
        self.cell(self.epw * 0.8, 4, f"{self.running} · {self.doc.issuer.printed_name}")
        self.cell(self.epw * 0.2, 4, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0)

    def section(self, text: str, keep: float = 25) -> None:
        if self.get_y() + 8 + keep > self.page_break_trigger:
            self.add_page()
        self.ln(2.5)
        self.set_font("Sans", "B", 10)
        self.set_text_color(*_NAVY)
        self.cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*_NAVY)
        self.set_line_width(0.3)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_text_color(0)
        self.ln(1.5)

    def text_block(self, text: str, size: float = 8, style: str = "", color=(0, 0, 0), h: float = 4) -> None:
        self.set_font("Sans", style, size)
        self.set_text_color(*color)
        self.multi_cell(0, h, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0)

    def pairs(self, x: float, width: float, rows: list[tuple[str, str]], label_w: float = 26) -> float:
        y = self.get_y()
        for label, value in rows:
            self.set_xy(x, y)
            self.set_font("Sans", "", 7.5)
            self.set_text_color(*_GREY)
            self.cell(label_w, 4.3, label)
            self.set_text_color(0)
            self.set_font("Sans", "", 8)
            self.multi_cell(
                width - label_w, 4.3, value or "-", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
            y = self.get_y()
        return y


def _heading() -> FontFace:
    return FontFace(emphasis="BOLD", color=255, fill_color=_NAVY, size_pt=7)


def _table(pdf: _StatementPDF, widths: tuple[float, ...], align: tuple[str, ...]):
    pdf.set_font("Sans", "", 7)
    pdf.set_draw_color(*_RULE)
    pdf.set_line_width(0.2)
    return pdf.table(
        col_widths=widths,
        width=pdf.epw,
        text_align=align,
        headings_style=_heading(),
        line_height=3.4,
        padding=(1, 1.3, 1, 1.3),
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        cell_fill_mode=TableCellFillMode.EVEN_ROWS,
        cell_fill_color=_ZEBRA,
        wrapmode=WrapMode.CHAR,
    )


def _amount(chain: ChainSection, native) -> str:
    return f"{plain(native)} {chain.native_unit}\n= {plain(chain.display(native))} {chain.display_unit}"


def _rule_block(pdf: _StatementPDF, chain: ChainSection, rule: RuleSection) -> None:
    unit = chain.native_unit
    pdf.section(
        f"Period {rule.period_identifier} · {rule.agreement_name} v{rule.agreement_version} · rule {rule.rule_order}: "
        f"{_LABELS.get(rule.component, rule.component)} by {_LABELS.get(rule.attribution, rule.attribution)}",
        keep=40,
    )
    steps = [("Schedule", rule.schedule_text(unit)), ("Σ base", f"{plain(rule.total_base)} {unit}")]
    for s in rule.slices:
        upto = "and above" if s.to_native is None else f"to {plain(s.to_native)}"
        steps.append(
            (
                "  tier slice",
                f"{plain(s.from_native)} {upto}: {plain(s.base_native)} × {percent(s.rate_bps)} = "
                f"{plain(s.commission_native)} {unit}",
            )
        )
    if rule.reached_rate_bps is not None:
        steps.append(("  tier reached", f"{percent(rule.reached_rate_bps)} on the whole base"))
    steps.append(("Before limits", f"{plain(rule.before_limits)} {unit}"))
    if rule.floor_native is not None:
        verdict = "applied" if rule.floor_applied else "not applied"
        steps.append(("Floor", f"{plain(rule.floor_native)} {unit}: {verdict}"))
    if rule.cap_native is not None:
        verdict = "applied" if rule.cap_applied else "not applied"
        steps.append(("Cap", f"{plain(rule.cap_native)} {unit} per period: {verdict}"))
    steps.append(("Rounding", f"down to a whole {unit}: {plain(rule.rounding)}"))
    steps.append(
        (
            "Rule total",
            f"{plain(rule.rule_total)} {unit} = {plain(chain.display(rule.rule_total))} {chain.display_unit}",
        )
    )
    pdf.pairs(pdf.l_margin, pdf.epw, steps, label_w=28)
    pdf.ln(1)
    with _table(pdf, (58, 40, 20, 44, 14), ("LEFT", "RIGHT", "RIGHT", "RIGHT", "CENTER")) as table:
        table.row(["Validator", f"Base ({unit})", "Share", "Amount", "Note"])
        for line in rule.lines:
            note = "adjusted" if line.is_override else ""
            table.row(
                [
                    line.validator_key or "(floor, no validator)",
                    plain(line.base_native),
                    f"{(line.share * 100).quantize(_PERCENT_PLACES)}%",
                    _amount(chain, line.final_native),
                    note,
                ]
            )
    for line in rule.lines:
        if line.is_override:
            pdf.text_block(
                f"Adjusted line {line.validator_key or '(none)'}: {plain(line.pre_override_native)} → "
                f"{plain(line.final_native)} {unit}. Reason: {line.override_reason}",
                size=7,
                color=_GREY,
            )


def render_statement_pdf(doc: StatementDocument, path: str | Path) -> None:
    """Render the partner statement as an A4 PDF (deterministic for the same document)."""
    sha = statement_sha256(doc)
    pdf = _StatementPDF(doc)
    pdf.set_margins(left=14, top=12, right=14)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.alias_nb_pages()
    pdf.set_creation_date(doc.statement_date)
    pdf.set_title(f"Partner commission statement {doc.statement_number}")
    pdf.set_author(doc.issuer.printed_name)
    pdf.set_subject(f"statement.json SHA-256 {sha}")
    pdf.set_creator("Aurora")
    pdf.add_page()

    # Letterhead: issuer left, document title and number right.
    pdf.set_font("Sans", "B", 14)
    pdf.set_text_color(*_NAVY)
    y0 = pdf.get_y()
    pdf.multi_cell(pdf.epw * 0.55, 6.5, doc.issuer.printed_name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*_GREY)
    pdf.set_font("Sans", "", 7.5)
    for text in (doc.issuer.address, doc.issuer.contact_email):
        if text:
            pdf.cell(pdf.epw * 0.55, 3.8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left_end = pdf.get_y()
    pdf.set_xy(pdf.l_margin + pdf.epw * 0.55, y0)
    pdf.set_font("Sans", "B", 11)
    pdf.set_text_color(*_NAVY)
    pdf.cell(pdf.epw * 0.45, 6.5, "COMMISSION STATEMENT", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_x(pdf.l_margin + pdf.epw * 0.55)
    pdf.set_font("Sans", "B", 9)
    pdf.cell(pdf.epw * 0.45, 5, doc.statement_number, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0)
    pdf.set_y(max(left_end, pdf.get_y()) + 2)
    pdf.set_draw_color(*_NAVY)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(3)

    if doc.provisional:
        pdf.set_fill_color(255, 240, 214)
        pdf.set_text_color(*_AMBER)
        pdf.set_font("Sans", "B", 10)
        pdf.multi_cell(
            0,
            6,
            "PROVISIONAL — at least one period was not final when this statement was generated; "
            "amounts may still change.",
            fill=True,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.set_text_color(0)
        pdf.ln(2)

    # Addressee and statement details.
    col = pdf.epw / 2 - 3
    pdf.set_font("Sans", "B", 7.5)
    pdf.set_text_color(*_NAVY)
    pdf.cell(col, 4.5, "STATEMENT TO")
    pdf.set_x(pdf.l_margin + col + 6)
    pdf.cell(col, 4.5, "STATEMENT DETAILS", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0)
    top = pdf.get_y()
    pdf.set_font("Sans", "B", 10)
    pdf.multi_cell(col, 5, doc.partner.printed_name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    who = [
        ("Partner", doc.partner.name),
        ("Contact", ", ".join(x for x in (doc.partner.contact_name, doc.partner.contact_email) if x)),
    ]
    for chain in doc.chains:
        who.append((f"Payout ({chain.display_unit})", chain.payout_address or "not on file"))
    left = pdf.pairs(pdf.l_margin, col, who, label_w=24)
    pdf.set_y(top)
    released = [p.step("released") for p in doc.periods]
    details = [
        ("Number", doc.statement_number + (f" (revision {doc.revision})" if doc.revision > 1 else "")),
        ("Statement date", _when(doc.statement_date)),
        ("Window", f"{doc.window}: {_when(doc.window_start)} to {_when(doc.window_end)}"),
        ("Status", doc.status.replace("_", " ").title() + (" · PROVISIONAL" if doc.provisional else "")),
        (
            "Payment terms",
            "-" if doc.payment_terms_days is None else f"{doc.payment_terms_days} days from release",
        ),
        (
            "Due date",
            doc.due_date.isoformat() if doc.due_date else ("on release" if not all(released) else "-"),
        ),
    ]
    if doc.paid_references:
        details.append(("Paid, reference", ", ".join(doc.paid_references)))
    right = pdf.pairs(pdf.l_margin + col + 6, col, details, label_w=26)
    pdf.set_y(max(left, right) + 1)

    # Totals per chain, never added across chains.
    pdf.section("Amount due", keep=12)
    for chain in doc.chains:
        pdf.set_font("Sans", "B", 11)
        pdf.multi_cell(
            0,
            6,
            f"{chain.chain_name}: {plain(chain.display(chain.total_native))} {chain.display_unit}"
            f"   ({plain(chain.total_native)} {chain.native_unit}, {len(chain.lines)} lines)",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    for chain in doc.chains:
        pdf.section(f"{chain.chain_name} ({chain.chain_id}): periods and approvals", keep=20)
        with _table(pdf, (13, 36, 21, 88, 24), ("LEFT", "LEFT", "LEFT", "LEFT", "RIGHT")) as table:
            table.row(
                [
                    "Period",
                    "UTC start – end",
                    "Status",
                    "Workflow (role, UTC)",
                    f"Total ({chain.native_unit})",
                ]
            )
            for p in chain.periods:
                flow = "\n".join(
                    f"{s.step} {_when(s.at)}" + (f" · {s.by_role}" if s.by_role else "") for s in p.steps
                )
                if p.paid_reference:
                    flow += f"\npayment reference {p.paid_reference}"
                status = p.status.replace("_", " ").title() + ("\nPROVISIONAL" if p.provisional else "")
                table.row(
                    [
                        p.period_identifier,
                        f"{_when(p.period_start)}\n{_when(p.period_end)}",
                        status,
                        flow,
                        plain(p.total_native),
                    ]
                )
        pdf.section(f"{chain.chain_name}: how each amount is calculated", keep=30)
        pdf.text_block(
            "Per rule and period: Σ base × rate (or tier schedule) = commission before limits; then the floor and "
            "cap; then rounding down to a whole native unit. The rule total is split over validators in proportion "
            "to their base (largest remainder). Share = base / Σ base.",
            size=7,
            color=_GREY,
        )
        for rule in chain.rules:
            _rule_block(pdf, chain, rule)

    pdf.section("Verification", keep=20)
    pdf.text_block(
        "This statement's data is in statement.json (RFC 8785 canonical JSON). Its SHA-256 is below; "
        "`sha256sum statement.json` shows the same value, and `aurora statements verify` checks a file "
        "against Aurora's records.",
        size=7.5,
        color=_GREY,
    )
    pdf.set_font("Mono", "", 8)
    pdf.multi_cell(0, 4.5, f"statement.json SHA-256: {sha}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.output(str(path))
