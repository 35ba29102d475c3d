"""Partner statement rendering: PDF content, CSV and JSON exports (pure; no database)."""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from aurora_cli.render.statement import (
    CSV_COLUMNS,
    PeriodStatus,
    StatementDocument,
    StatementLine,
    read_statement_json,
    render_statement_pdf,
    statement_data,
    statement_sha256,
    write_statement_csv,
    write_statement_json,
)

V1 = "Vote111111111111111111111111111111111111111"
V2 = "CertusDeBmqN8ZawdkxK5kFGMhBXEZpw8Dp3pExWEqtg"
T0 = datetime(2025, 9, 1, tzinfo=UTC)
T1 = datetime(2025, 9, 3, 12, tzinfo=UTC)
BERLIN = timezone(timedelta(hours=2))


def _period(identifier: str, status: str, total: str, count: int, statement_id: str) -> PeriodStatus:
    approved = status in {"APPROVED", "RELEASED", "PAID"}
    return PeriodStatus(
        period_identifier=identifier,
        statement_id=statement_id,
        status=status,
        submitted_by="alice",
        submitted_at=datetime(2025, 9, 10, 9, 30, tzinfo=UTC),
        approved_by="bob" if approved else None,
        approved_at=datetime(2025, 9, 11, 14, 5, tzinfo=BERLIN) if approved else None,
        released_by="bob" if status in {"RELEASED", "PAID"} else None,
        released_at=datetime(2025, 9, 12, 8, 0, tzinfo=UTC) if status in {"RELEASED", "PAID"} else None,
        paid_at=datetime(2025, 9, 15, 16, 45, tzinfo=UTC) if status == "PAID" else None,
        paid_reference=(
            "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW"
            if status == "PAID"
            else None
        ),
        total_native=Decimal(total),
        line_count=count,
    )


def _line(
    n: int,
    period: str,
    start: datetime,
    validator: str | None,
    component: str,
    attribution: str,
    base: str,
    bps: int,
    pre: str,
    final: str | None = None,
    reason: str | None = None,
) -> StatementLine:
    return StatementLine(
        period_identifier=period,
        period_start=start,
        validator_key=validator,
        revenue_component=component,
        attribution_method=attribution,
        base_amount_native=Decimal(base),
        commission_rate_bps=bps,
        pre_override_amount_native=Decimal(pre),
        final_amount_native=Decimal(final if final is not None else pre),
        override_reason=reason,
        line_id=f"00000000-0000-4000-8000-{n:012d}",
    )


REASON = "Agreed goodwill adjustment for 48h validator downtime (ticket FIN-2201)"


def make_doc(**changes: object) -> StatementDocument:
    lines = (
        _line(1, "850", T0, V1, "COMMISSION", "CLIENT_REVENUE", "12345678900", 1000, "1234567890"),
        _line(
            2,
            "850",
            T0,
            V2,
            "VOTE_REWARDS",
            "STAKE_WEIGHT",
            "987654321.123456789012345678",
            1500,
            "148148148",
        ),
        _line(3, "850", T0, None, "MEV_TIPS", "FIXED_SHARE", "0", 500, "1000"),
        _line(
            4,
            "851",
            T1,
            V1,
            "COMMISSION",
            "CLIENT_REVENUE",
            "20000000000",
            1000,
            "2000000000",
            "1900000000",
            REASON,
        ),
        _line(5, "851", T1, V2, "EXEC_FEES", "FIXED_SHARE", "1E+3", 250, "25"),
    )
    doc = StatementDocument(
        issuer_name="Aurora Staking Operations",
        partner_name="Helios Capital",
        partner_legal_entity="Helios Capital Ltd",
        partner_contact_email="ops@helios.example",
        chain_id="solana-mainnet",
        chain_name="Solana",
        native_unit="lamports",
        display_unit="SOL",
        native_decimals=9,
        scope="Month 2025-09",
        periods=(
            _period("851", "APPROVED", "1900000025", 2, "s-851"),
            _period("850", "PAID", "1382717038", 3, "s-850"),
        ),
        lines=lines,
        generated_at=datetime(2025, 10, 1, 8, 0, tzinfo=UTC),
    )
    return dataclasses.replace(doc, **changes) if changes else doc


def with_final(doc: StatementDocument, line_suffix: str, amount: Decimal) -> StatementDocument:
    lines = tuple(
        dataclasses.replace(line, final_amount_native=amount) if line.line_id.endswith(line_suffix) else line
        for line in doc.lines
    )
    return dataclasses.replace(doc, lines=lines)


def pdf_text(path: Path) -> tuple[int, str]:
    reader = PdfReader(str(path))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


# -- model ------------------------------------------------------------------------------------


def test_totals_are_exact_decimals() -> None:
    doc = make_doc()
    assert doc.total_native == Decimal("3282717063")
    assert doc.total_display == Decimal("3.282717063")
    big = make_doc(
        lines=(
            _line(
                9,
                "850",
                T0,
                V1,
                "COMMISSION",
                "FIXED_SHARE",
                "0",
                0,
                "12345678901234567890123456789012345678",
            ),
        ),
        native_decimals=18,
    )
    assert str(big.total_display) == "12345678901234567890.123456789012345678"


def test_lines_and_periods_in_stable_order() -> None:
    doc = make_doc()
    # period start, then validator key with None first ("Certus..." < "Vote..."), component, line id
    assert [line.line_id[-1] for line in doc.lines] == ["3", "2", "1", "5", "4"]
    assert [p.period_identifier for p in doc.periods] == ["850", "851"]
    shuffled = dataclasses.replace(
        doc, lines=tuple(reversed(doc.lines)), periods=tuple(reversed(doc.periods))
    )
    assert shuffled == doc
    assert statement_sha256(shuffled) == statement_sha256(doc)


def test_refuses_floats_and_naive_datetimes() -> None:
    with pytest.raises(TypeError):
        StatementLine(**{**dataclasses.asdict(make_doc().lines[0]), "final_amount_native": 1.5})
    with pytest.raises(ValueError):
        _line(1, "850", datetime(2025, 9, 1), V1, "COMMISSION", "FIXED_SHARE", "1", 0, "1")
    with pytest.raises(ValueError):
        stray = _line(7, "999", T1, V1, "COMMISSION", "FIXED_SHARE", "1", 0, "1")
        make_doc(lines=make_doc().lines + (stray,))


# -- PDF --------------------------------------------------------------------------------------


def test_pdf_shows_partner_status_totals_override_and_hash(tmp_path: Path) -> None:
    doc = make_doc()
    out = tmp_path / "statement.pdf"
    render_statement_pdf(doc, out)
    pages, text = pdf_text(out)
    flat = squash(text)
    assert pages == 1
    assert "Aurora Staking Operations" in flat
    assert "Helios Capital Ltd" in flat
    assert "ops@helios.example" in flat
    assert "Solana (solana-mainnet)" in flat
    assert "Month 2025-09" in flat
    assert "Paid" in flat and "Approved" in flat
    assert "alice" in flat and "bob" in flat
    assert "2025-09-11 12:05" in flat  # approval time converted to UTC
    assert "3282717063 lamports = 3.282717063 SOL" in flat
    assert REASON in flat
    assert "adjusted from 2000000000 to 1900000000 lamports" in flat
    assert "*1" in flat
    assert f"Data SHA-256: {statement_sha256(doc)}" in flat
    assert "Vote11111111...1111" in flat  # long keys truncated in the middle
    assert "10.00%" in flat and "15.00%" in flat and "2.50%" in flat
    assert "987654321.123456789012345678" in text.replace("\n", "")
    assert "Page 1 of 1" in flat
    assert "PROVISIONAL" not in flat


def test_pdf_is_deterministic_and_flags_provisional(tmp_path: Path) -> None:
    doc = make_doc()
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    render_statement_pdf(doc, a)
    render_statement_pdf(doc, b)
    assert a.read_bytes() == b.read_bytes()
    draft = make_doc(
        periods=(
            _period("851", "PENDING_APPROVAL", "1900000025", 2, "s-851"),
            _period("850", "PAID", "1382717038", 3, "s-850"),
        )
    )
    render_statement_pdf(draft, a)
    flat = squash(pdf_text(a)[1])
    assert "PROVISIONAL" in flat
    assert "Pending approval" in flat


def test_pdf_sanitizes_non_latin1_text(tmp_path: Path) -> None:
    doc = make_doc(partner_legal_entity="Helios Capital GmbH \u2014 \u6771\u4eac", partner_name="H\u00e9lios")
    out = tmp_path / "s.pdf"
    render_statement_pdf(doc, out)
    flat = squash(pdf_text(out)[1])
    assert "Helios Capital GmbH - ??" in flat
    assert "H\u00e9lios" in flat


def test_pdf_multi_page_numbers_and_repeated_header(tmp_path: Path) -> None:
    base = make_doc()
    lines = tuple(
        _line(
            100 + i,
            "850" if i < 60 else "851",
            T0 if i < 60 else T1,
            f"{V2[:-4]}{i:04d}",
            "COMMISSION",
            "CLIENT_REVENUE",
            f"{i}123456789.5",
            1000,
            f"{i}12345678",
        )
        for i in range(120)
    )
    doc = dataclasses.replace(base, lines=lines)
    out = tmp_path / "long.pdf"
    render_statement_pdf(doc, out)
    reader = PdfReader(str(out))
    n = len(reader.pages)
    assert n >= 3
    texts = [squash(page.extract_text()) for page in reader.pages]
    assert "Page 1 of " + str(n) in texts[0]
    assert f"Page {n} of {n}" in texts[-1]
    for i, page_text in enumerate(texts, start=1):
        assert f"Page {i} of {n}" in page_text
    # the table heading repeats on every page that carries lines
    pages_with_lines = [t for t in texts if "CertusDeBmqN..." in t]
    assert len(pages_with_lines) >= 2
    assert all("Amount (lamports)" in t for t in pages_with_lines)
    assert f"Data SHA-256: {statement_sha256(doc)}" in texts[-1]
    assert f"{doc.total_native} lamports = " in texts[-1]


# -- CSV --------------------------------------------------------------------------------------


def test_csv_header_plain_amounts_and_total(tmp_path: Path) -> None:
    doc = make_doc()
    out = tmp_path / "s.csv"
    write_statement_csv(doc, out)
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [
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
    ]
    assert tuple(rows[0]) == CSV_COLUMNS
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert len(body) == 5
    by_id = {r["line_id"][-1]: r for r in body}
    assert by_id["5"]["base_amount_native"] == "1000"  # Decimal('1E+3')
    assert by_id["3"]["base_amount_native"] == "0"
    assert by_id["3"]["validator_key"] == ""
    assert by_id["2"]["base_amount_native"] == "987654321.123456789012345678"
    assert by_id["4"]["is_override"] == "true"
    assert by_id["4"]["override_reason"] == REASON
    assert by_id["4"]["pre_override_amount_native"] == "2000000000"
    assert by_id["4"]["status"] == "APPROVED"
    assert by_id["1"]["status"] == "PAID"
    assert by_id["1"]["is_override"] == "false"
    for r in body:
        for col in ("base_amount_native", "pre_override_amount_native", "final_amount_native"):
            assert re.fullmatch(r"-?\d+(\.\d+)?", r[col]), r[col]
    assert sum(Decimal(r["final_amount_native"]) for r in body) == doc.total_native


# -- JSON -------------------------------------------------------------------------------------


def test_json_round_trip_and_hash(tmp_path: Path) -> None:
    doc = make_doc()
    out = tmp_path / "s.json"
    write_statement_json(doc, out)
    raw = json.loads(out.read_text(encoding="utf-8"))
    assert raw["sha256"] == statement_sha256(doc)
    assert raw["total_native"] == "3282717063"
    assert raw["total_display"] == "3.282717063"
    assert raw["generated_at"] == "2025-10-01T08:00:00+00:00"
    assert raw["periods"][0]["approved_at"] == "2025-09-11T12:05:00+00:00"
    again = read_statement_json(out)
    assert again == doc
    assert again.lines[1].base_amount_native == Decimal("987654321.123456789012345678")
    assert statement_data(again) == statement_data(doc)


def test_sha_ignores_generated_at_but_tracks_amounts(tmp_path: Path) -> None:
    doc = make_doc()
    sha = statement_sha256(doc)
    assert re.fullmatch(r"[0-9a-f]{64}", sha)
    assert statement_sha256(make_doc()) == sha
    assert statement_sha256(make_doc(generated_at=datetime(2026, 1, 1, tzinfo=UTC))) == sha
    assert statement_sha256(with_final(doc, "3", Decimal("1001"))) != sha
    assert statement_sha256(with_final(doc, "4", Decimal("1900000001"))) != sha
    # equal values in another notation hash the same
    assert statement_sha256(with_final(doc, "3", Decimal("1.000E+3"))) == sha
    assert statement_sha256(with_final(doc, "3", Decimal("1000.000000000000000000"))) == sha


def test_json_tampering_is_detected(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    write_statement_json(make_doc(), out)
    raw = json.loads(out.read_text(encoding="utf-8"))
    raw["lines"][0]["final_amount_native"] = "999"
    out.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ValueError, match="sha256"):
        read_statement_json(out)
    assert read_statement_json(out, verify=False).lines[0].final_amount_native == Decimal("999")
