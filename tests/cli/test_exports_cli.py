"""`aurora export statement` and `aurora export pnl` end to end.

Given Ethereum days registered with `aurora periods add`, a partner's commission lines with an
18-decimal base and 20-digit amounts, and statements generated and moved through the workflow by the
CLI, when the statement is exported as CSV, PDF and JSON, then every amount is exact and plain,
the PDF shows what a partner needs, the JSON round-trips, and partners see only their own released
statements.
"""

from __future__ import annotations

import csv
import hashlib
import json
import json as _json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from aurora_cli.render.statement import LINE_COLUMNS as CSV_COLUMNS
from aurora_cli.services.pnl import PNL_COLUMNS
from tests.statement_fixtures import ETH, V2, Book, sql
from tests.validator_keys import ethereum_key

DAY1, DAY2 = "2025-09-01", "2025-09-02"
TINY_BASE = "0.123456789012345678"  # 18 decimals
BIG_BASE = "123456789012.123456789012345678"  # 30 significant digits
BIG_AMOUNT = "12345678901234567890"  # 20 digits of wei


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def shop(admin_cli):
    cli = admin_cli
    for day in (DAY1, DAY2, "2025-10-01"):  # the October day makes September final
        assert cli("periods", "add", "--chain", ETH, "--period", day).exit_code == 0
    assert cli("periods", "finalize", "--chain", ETH).exit_code == 0
    book = Book(cli.db_url)
    helios = book.partner("Helios Capital", legal="Helios Capital Ltd", email="ops@helios.example", chain=ETH)
    orion = book.partner("Orion Partners", chain=ETH)
    d1, d2 = book.period_id(ETH, DAY1), book.period_id(ETH, DAY2)
    lines = {
        "big": book.line(helios, d1, BIG_AMOUNT, chain=ETH, base=BIG_BASE, bps=1500),
        "tiny": book.line(helios, d1, "1", chain=ETH, validator=V2, base=TINY_BASE, bps=250),
        "d2": book.line(helios, d2, "2000000000000000000", chain=ETH),
        "orion": book.line(orion, d1, "5", chain=ETH),
    }
    tokens = {}
    for name, role, *extra in (
        ("alice", "FINANCE"),
        ("bob", "FINANCE"),
        ("opsy", "OPS"),
        ("helios-user", "PARTNER", "--partner", "Helios Capital"),
    ):
        cli.add_user(name, role, "password-123", *extra)
        tokens[name] = cli.token_for(name)
    r = cli("statements", "generate", "--chain", ETH, "--month", "2025-09", token=tokens["alice"])
    assert r.exit_code == 0, r
    return {"cli": cli, "book": book, "lines": lines, "tokens": tokens, "helios": helios}


def run(shop, *args: str, user: str | None = None):
    return shop["cli"](*args, token=shop["tokens"][user] if user else None)


def export(shop, fmt: str, out: Path | str, *scope: str, user: str | None = None):
    scope = scope or ("--month", "2025-09")
    return run(
        shop,
        "export",
        "statement",
        "--partner",
        "Helios Capital",
        "--chain",
        ETH,
        *scope,
        "--format",
        fmt,
        "--out",
        str(out),
        user=user,
    )


def move(shop, *steps: tuple[str, str]) -> None:
    month = ("--partner", "Helios Capital", "--chain", ETH, "--month", "2025-09")
    for command, user in steps:
        args = {
            "submit": ("statements", "submit"),
            "approve": ("approve",),
            "release": ("statements", "release"),
        }
        r = run(shop, *args[command], *month, user=user)
        assert r.exit_code == 0, r


def test_csv_has_one_header_row_and_plain_decimal_amounts(shop, tmp_path):
    out = tmp_path / "helios.csv"
    r = export(shop, "csv", out)
    assert r.exit_code == 0, r
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert len(body) == 3
    amounts = [
        row[c]
        for row in body
        for c in ("base_amount_native", "pre_override_amount_native", "final_amount_native")
    ]
    assert all(re.fullmatch(r"[0-9]+(\.[0-9]+)?", a) for a in amounts), amounts
    assert {row["base_amount_native"] for row in body} >= {BIG_BASE, TINY_BASE}
    assert BIG_AMOUNT in {row["final_amount_native"] for row in body}
    assert str(out) in squash(r.stderr) and "SHA-256:" in r.stderr

    [(resource_id, _, after, _, _)] = shop["book"].audit("EXPORT_STATEMENT")
    assert after["path"] == str(out) and after["format"] == "csv" and len(after["statement_ids"]) == 2
    assert after["sha256"] in r.stderr and resource_id.startswith("AUR-ETH-2025-09-HELIOS-01")


def test_csv_and_json_can_go_to_stdout_but_a_pdf_needs_a_file(shop):
    r = export(shop, "csv", "-", "--period", DAY2)
    assert r.exit_code == 0, r
    assert r.stdout.splitlines()[0] == ",".join(CSV_COLUMNS) and len(r.stdout.splitlines()) == 2
    pdf = export(shop, "pdf", "-")
    assert pdf.exit_code == 1 and "give a path for a PDF" in pdf.stderr


def test_pdf_shows_partner_status_approver_override_and_totals_in_both_units(shop, tmp_path):
    r = run(
        shop,
        "override",
        str(shop["lines"]["d2"]),
        "--amount",
        "1900000000000000000",
        "--reason",
        "validator offline for two hours",
        user="alice",
    )
    assert r.exit_code == 0, r
    move(shop, ("submit", "alice"), ("approve", "bob"))
    out = tmp_path / "helios.pdf"
    r = export(shop, "pdf", out)
    assert r.exit_code == 0, r
    text = squash(" ".join(page.extract_text() for page in PdfReader(str(out)).pages))
    total = Decimal(BIG_AMOUNT) + 1 + Decimal("1900000000000000000")
    # Issue 12: totals per chain in display and native units; roles, never usernames.
    assert f"{total.scaleb(-18):f} ETH ({total} wei" in text
    assert "Helios Capital Ltd" in text and "ops@helios.example" in text
    assert "Ethereum Mainnet (ethereum-mainnet)" in text and "2025-09" in text
    assert "approved" in text and "alice" not in text and "bob" not in text
    assert "validator offline for two hours" in text
    assert "PROVISIONAL" not in text
    sha = re.search(r"SHA-256: ([0-9a-f]{64})", squash(r.stderr))[1]
    assert f"statement.json SHA-256: {sha}" in text


def test_json_round_trips_and_carries_the_hash_printed(shop, tmp_path):
    move(shop, ("submit", "alice"), ("approve", "bob"), ("release", "bob"))
    out = tmp_path / "helios.json"
    r = export(shop, "json", out)
    assert r.exit_code == 0, r
    assert hashlib.sha256(out.read_bytes()).hexdigest() in r.stderr.replace("\n", "")
    raw = json.loads(out.read_text())
    chain = raw["chains"][0]
    assert raw["partner"]["legal_name"] == "Helios Capital Ltd" and chain["native_decimals"] == 18
    assert [(p["period_identifier"], p["status"]) for p in chain["periods"]] == [
        (DAY1, "RELEASED"),
        (DAY2, "RELEASED"),
    ]
    bases = {line["base_native"] for rule in chain["rules"] for line in rule["lines"]}
    assert bases >= {BIG_BASE, TINY_BASE}
    assert chain["total"]["native"] == "14345678901234567891"  # plain, no exponent


def test_partners_export_only_their_own_released_statements(shop, tmp_path):
    out = tmp_path / "mine.json"
    draft = export(shop, "json", out, user="helios-user")
    assert draft.exit_code == 4 and "not released yet" in squash(draft.stderr)
    assert not out.exists()
    other = run(
        shop,
        "export",
        "statement",
        "--partner",
        "Orion Partners",
        "--chain",
        ETH,
        "--period",
        DAY1,
        "--format",
        "csv",
        "--out",
        str(out),
        user="helios-user",
    )
    assert other.exit_code == 4 and "only their own partner" in other.stderr
    unknown = run(
        shop,
        "export",
        "statement",
        "--partner",
        "Nobody",
        "--chain",
        ETH,
        "--period",
        DAY1,
        "--format",
        "csv",
        "--out",
        str(out),
        user="helios-user",
    )
    assert unknown.exit_code == 4

    move(shop, ("submit", "alice"), ("approve", "bob"), ("release", "bob"))
    mine = export(shop, "json", out, user="helios-user")
    assert mine.exit_code == 0, mine
    assert [p["status"] for p in _json.loads(out.read_bytes())["chains"][0]["periods"]] == [
        "RELEASED",
        "RELEASED",
    ]


def test_export_refuses_missing_and_stale_statements(shop, tmp_path):
    none = run(
        shop,
        "export",
        "statement",
        "--partner",
        "Orion Partners",
        "--chain",
        ETH,
        "--period",
        DAY2,
        "--format",
        "csv",
        "--out",
        str(tmp_path / "x.csv"),
    )
    assert none.exit_code == 1
    assert "statements generate --chain ethereum-mainnet --period 2025-09-02" in squash(none.stderr)

    shop["book"].line(shop["helios"], shop["book"].period_id(ETH, DAY2), "3", chain=ETH)  # recomputed
    stale = export(shop, "csv", tmp_path / "y.csv")
    assert stale.exit_code == 5 and "no longer matches its commission lines" in squash(stale.stderr)
    assert not (tmp_path / "y.csv").exists()


def test_pnl_exports_as_csv_and_json_with_plain_amounts(shop, tmp_path):
    eth_v1 = ethereum_key(1)  # the importer refuses a Solana key on an Ethereum day
    feed = tmp_path / "day1.jsonl"
    feed.write_text(
        json.dumps(
            {"data_type": "FEES", "validator_key": eth_v1, "total_fees_native": BIG_AMOUNT, "fee_count": 3}
        )
        + "\n"
        + json.dumps(
            {
                "data_type": "MEV",
                "validator_key": eth_v1,
                "total_mev_native": "1000000000000000001",
                "tip_count": 1,
            }
        )
        + "\n"
    )
    r = run(shop, "run", "--chain", ETH, "--period", DAY1, "--file", str(feed))
    assert r.exit_code == 0, r

    out = tmp_path / "pnl.csv"
    r = run(shop, "export", "pnl", "--chain", ETH, "--format", "csv", "--out", str(out), user="opsy")
    assert r.exit_code == 0, r
    rows = list(csv.reader(out.open(newline="")))
    assert rows[0] == PNL_COLUMNS and len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["exec_fees_native"], row["mev_tips_native"]) == (BIG_AMOUNT, "1000000000000000001")
    assert row["total_revenue_native"] == str(Decimal(BIG_AMOUNT) + Decimal("1000000000000000001"))

    out_json = tmp_path / "pnl.json"
    r = run(
        shop, "export", "pnl", "--chain", ETH, "--period", DAY1, "--format", "json", "--out", str(out_json)
    )
    assert r.exit_code == 0, r
    [doc] = json.loads(out_json.read_text())
    assert (
        doc["total_revenue_native"] == str(Decimal(BIG_AMOUNT) + Decimal("1000000000000000001"))
        and doc["period_identifier"] == DAY1
    )
    audited = shop["book"].audit("EXPORT_PNL")
    assert [a[0] for a in audited] == [f"{ETH}/all", f"{ETH}/{DAY1}"]
    assert audited[1][2]["sha256"] in r.stderr

    partner = run(
        shop, "export", "pnl", "--chain", ETH, "--format", "csv", "--out", str(out), user="helios-user"
    )
    assert partner.exit_code == 4
    assert sql(shop["cli"].db_url, "SELECT count(*) FROM audit_log WHERE action = 'EXPORT_PNL'") == [(2,)]
