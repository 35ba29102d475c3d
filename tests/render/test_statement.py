"""Given a statement document / when rendered / then the PDF, JSON and CSVs show the same facts."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import rfc8785
from pypdf import PdfReader

from aurora_cli.render.statement import (
    LINE_COLUMNS,
    SUMMARY_COLUMNS,
    ChainSection,
    Party,
    PeriodInfo,
    RuleLine,
    RuleSection,
    StatementDocument,
    TierSlice,
    WorkflowStep,
    facts_sha256,
    render_statement_pdf,
    statement_json_bytes,
    statement_sha256,
    write_lines_csv,
    write_statement_json,
    write_summary_csv,
)

T0 = datetime(2025, 9, 1, tzinfo=UTC)
T1 = datetime(2025, 9, 3, tzinfo=UTC)


def document(
    partner: str = "Helios Capital", legal: str = "Helios Capital Ltd", status: str = "RELEASED"
) -> StatementDocument:
    rule = RuleSection(
        period_identifier="850",
        agreement_name="Helios referral",
        agreement_version=1,
        rule_order=2,
        component="MEV_TIPS",
        attribution="STAKE_WEIGHT",
        rate_bps=None,
        tier_mode="marginal",
        tier_steps=((Decimal(0), 1000), (Decimal(1000000000), 2000)),
        total_base=Decimal("1500000000"),
        slices=(
            TierSlice(Decimal(0), Decimal(1000000000), 1000, Decimal(1000000000), Decimal(100000000)),
            TierSlice(Decimal(1000000000), None, 2000, Decimal(500000000), Decimal(100000000)),
        ),
        reached_rate_bps=None,
        before_limits=Decimal(200000000),
        floor_native=None,
        cap_native=None,
        floor_applied=False,
        cap_applied=False,
        after_limits=Decimal(200000000),
        rule_total=Decimal(200000000),
        lines=(
            RuleLine(
                "l1", "V1", Decimal(1500000000), Decimal(1), Decimal(200000000), Decimal(200000000), None
            ),
        ),
    )
    period = PeriodInfo(
        "850",
        T0,
        T1,
        "s1",
        status,
        True,
        (WorkflowStep("generated", T0, "Administrator"), WorkflowStep("approved", T1, "Finance")),
        None,
        Decimal(200000000),
        1,
    )
    chain = ChainSection("solana-mainnet", "Solana Mainnet", "lamports", "SOL", 9, "Pay1", (period,), (rule,))
    return StatementDocument(
        statement_number="AUR-SOL-2025-09-HELIOS-01",
        revision=1,
        issuer=Party(
            "Aurora", "Aurora Staking Operations Ltd", "1 Example Quay", None, "partners@aurora.example"
        ),
        partner=Party(partner, legal, None, "Mara Quinn", "ops@helios.example"),
        window="2025-09",
        window_start=T0,
        window_end=datetime(2025, 10, 1, tzinfo=UTC),
        statement_date=T1,
        payment_terms_days=30,
        due_date=date(2025, 10, 3),
        chains=(chain,),
    )


def test_the_json_is_rfc8785_canonical_and_its_hash_is_the_file_hash(tmp_path):
    doc = document()
    write_statement_json(doc, tmp_path / "statement.json")
    content = (tmp_path / "statement.json").read_bytes()
    assert rfc8785.dumps(json.loads(content)) == content == statement_json_bytes(doc)
    assert hashlib.sha256(content).hexdigest() == statement_sha256(doc)
    data = json.loads(content)
    assert (
        data["provisional"] is True and data["payment_terms_days"] == 30 and data["due_date"] == "2025-10-03"
    )
    rule = data["chains"][0]["rules"][0]
    assert [s["commission_native"] for s in rule["tier_slices"]] == ["100000000", "100000000"]
    assert rule["lines"][0]["amount"] == {"native": "200000000", "display": "0.2"}


def test_workflow_changes_keep_the_facts_hash_and_figures_change_it():
    doc = document()
    assert facts_sha256(doc) == facts_sha256(document(status="PAID"))
    assert facts_sha256(doc) != facts_sha256(replace(doc, payment_terms_days=45))


def test_the_csvs_are_tidy_with_number_rule_and_display_columns(tmp_path):
    doc = document()
    write_lines_csv(doc, tmp_path / "lines.csv")
    write_summary_csv(doc, tmp_path / "summary.csv")
    lines = list(csv.DictReader(open(tmp_path / "lines.csv", encoding="utf-8")))
    assert tuple(lines[0]) == LINE_COLUMNS and len(lines) == 1
    assert lines[0]["statement_number"] == "AUR-SOL-2025-09-HELIOS-01"
    assert (lines[0]["rule_order"], lines[0]["final_amount_display"]) == ("2", "0.2")
    summary = list(csv.DictReader(open(tmp_path / "summary.csv", encoding="utf-8")))
    assert tuple(summary[0]) == SUMMARY_COLUMNS
    assert [r["level"] for r in summary] == ["rule", "statement"]
    assert summary[-1]["final_total_native"] == "200000000"


@pytest.mark.parametrize(
    "partner, legal",
    [
        ("Łódź Kapitał", "Spółka Łódź Kapitał sp. z o.o."),
        ("東京ステーキング", "東京ステーキング株式会社"),
        ("شركة الصقر", "شركة الصقر المحدودة"),
    ],
)
def test_names_in_polish_japanese_and_arabic_are_in_the_pdf_text(tmp_path, partner, legal):
    doc = document(partner, legal)
    render_statement_pdf(doc, tmp_path / "statement.pdf")
    text = "".join(page.extract_text() for page in PdfReader(tmp_path / "statement.pdf").pages)
    compact = text.replace(" ", "").replace("\n", "")
    for word in legal.split():
        assert word in text or word in compact or word[::-1] in compact, word
    assert "PROVISIONAL" in text and "AUR-SOL-2025-09-HELIOS-01" in text
    assert statement_sha256(doc) in compact
