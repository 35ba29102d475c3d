"""Longer windows: `--quarter 2025Q3`, `--from 2025-07 --to 2025-09`, and one pack over two chains.

Given Helios Capital with commission lines on one Ethereum day and one Solana epoch in each of July,
August and September 2025 (20-digit wei amounts), and the monthly statements generated, when the
statement is exported for the quarter, for a from/to range and for both chains at once, then each
window's totals are exactly the sum of the monthly statements' lines per chain, the quarter and the
from/to range of the same months carry the same figures under their own numbers, and the two-chain
pack has one section per chain with its own total in its own unit: no figure adds wei to lamports.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from dataclasses import replace
from decimal import Decimal

import pytest
from pypdf import PdfReader

from tests.statement_fixtures import ETH, SOL, V1, V2, Book, sql

ETH_DAYS = {"2025-07": "2025-07-15", "2025-08": "2025-08-15", "2025-09": "2025-09-15"}
SOL_EPOCHS = {
    "2025-07": ("900", "2025-07-10T00:00:00Z", "2025-07-12T01:12:00Z"),
    "2025-08": ("901", "2025-08-10T00:00:00Z", "2025-08-12T01:12:00Z"),
    "2025-09": ("902", "2025-09-10T00:00:00Z", "2025-09-12T01:12:00Z"),
}
# Per month: (wei on V1, wei on V2, lamports).
AMOUNTS = {
    "2025-07": ("12345678901234567890", "1", "1500000000"),
    "2025-08": ("78765432109876543210", "250000000000000000", "2500000001"),
    "2025-09": ("10000000000000000007", "33333333333333333333", "7"),
}


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def quarter(admin_cli):
    cli = admin_cli
    for day in [*ETH_DAYS.values(), "2025-10-01", "2025-10-02"]:
        assert cli("periods", "add", "--chain", ETH, "--period", day).exit_code == 0
    for epoch, start, end in [*SOL_EPOCHS.values(), ("903", "2025-10-10T00:00:00Z", "2025-10-12T01:12:00Z")]:
        r = cli("periods", "add", "--chain", SOL, "--period", epoch, "--start", start, "--end", end)
        assert r.exit_code == 0, r
    for chain in (ETH, SOL):
        assert cli("periods", "finalize", "--chain", chain).exit_code == 0
    book = Book(cli.db_url)
    helios = book.partner("Helios Capital", legal="Helios Capital Ltd", chain=ETH)
    sol_rule = sql(
        cli.db_url,
        "INSERT INTO agreement_rules (agreement_id, version_number, rule_order, chain_id, revenue_component,"
        " attribution_method, commission_rate_bps) VALUES (%s, 1, 2, %s, 'COMMISSION', 'CLIENT_REVENUE', 1000)"
        " RETURNING rule_id",
        helios.agreement_id,
        SOL,
    )[0][0]
    helios_sol = replace(helios, rule_id=sol_rule)
    for month, (wei1, wei2, lamports) in AMOUNTS.items():
        day = book.period_id(ETH, ETH_DAYS[month])
        # NUMERIC(38,18) holds 20 integer digits: the base is the amount itself here.
        book.line(helios, day, wei1, chain=ETH, base=wei1)
        book.line(helios, day, wei2, chain=ETH, validator=V2, base=wei2)
        book.line(helios_sol, book.period_id(SOL, SOL_EPOCHS[month][0]), lamports, chain=SOL, base=lamports)
    for chain in (ETH, SOL):
        for month in AMOUNTS:
            r = cli("statements", "generate", "--chain", chain, "--month", month)
            assert r.exit_code == 0, r
    return cli


def export(cli, out, *window, chains=(ETH,), fmt="pack"):
    chain_args = [a for c in chains for a in ("--chain", c)]
    r = cli("export", "statement", "--partner", "Helios Capital", *chain_args, *window, "--format", fmt,
            "--out", str(out))
    assert r.exit_code == 0, r
    return r


def monthly(cli, chain: str) -> dict[str, dict]:
    """Each month's own statement, as its JSON says."""
    found = {}
    for month in AMOUNTS:
        r = export(cli, "-", "--month", month, chains=(chain,), fmt="json")
        found[month] = json.loads(r.stdout)
    return found


def lines_total(doc: dict, chain: str) -> Decimal:
    [section] = [c for c in doc["chains"] if c["chain_id"] == chain]
    return sum((Decimal(line["amount"]["native"]) for rule in section["rules"] for line in rule["lines"]), Decimal(0))


def csv_rows(path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_a_quarter_is_the_three_months_statements_added_up_per_chain(quarter, tmp_path):
    months = monthly(quarter, ETH)
    expected = sum((lines_total(doc, ETH) for doc in months.values()), Decimal(0))
    assert expected == sum((Decimal(a) + Decimal(b) for a, b, _ in AMOUNTS.values()), Decimal(0))
    # Each monthly statement's own total is the sum of its lines, to the wei.
    for doc in months.values():
        assert Decimal(doc["chains"][0]["total"]["native"]) == lines_total(doc, ETH)

    out = tmp_path / "q3"
    r = export(quarter, out, "--quarter", "2025Q3")
    assert "Statement AUR-ETH-2025Q3-HELIOS-01" in squash(r.stderr)
    doc = json.loads((out / "statement.json").read_bytes())
    [chain] = doc["chains"]
    assert (doc["window"], doc["window_start"], doc["window_end"]) == (
        "2025Q3", "2025-07-01T00:00:00+00:00", "2025-10-01T00:00:00+00:00"
    )
    assert [p["period_identifier"] for p in chain["periods"]] == list(ETH_DAYS.values())
    assert Decimal(chain["total"]["native"]) == expected == lines_total(doc, ETH)
    assert chain["total"]["native"] == str(expected)  # plain digits, no exponent
    assert chain["total"]["display"] == f"{expected.scaleb(-18):f}"

    lines = csv_rows(out / "lines.csv")
    assert len(lines) == 6 == sum(len(d["chains"][0]["rules"][0]["lines"]) for d in months.values())
    assert sum((Decimal(row["final_amount_native"]) for row in lines), Decimal(0)) == expected
    summary = csv_rows(out / "summary.csv")
    [total_row] = [row for row in summary if row["level"] == "statement"]
    assert Decimal(total_row["final_total_native"]) == expected
    assert [row["period_identifier"] for row in summary if row["level"] == "rule"] == list(ETH_DAYS.values())
    assert subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True).returncode == 0
    verdict = quarter("statements", "verify", str(out))
    assert verdict.exit_code == 0 and "authentic and current" in verdict.stderr


def test_from_to_months_build_one_statement_with_the_quarters_figures(quarter, tmp_path):
    export(quarter, tmp_path / "q3", "--quarter", "2025Q3")
    r = export(quarter, tmp_path / "range", "--from", "2025-07", "--to", "2025-09")
    assert "Statement AUR-ETH-2025-07-2025-09-HELIOS-01" in squash(r.stderr)
    q3 = json.loads((tmp_path / "q3" / "statement.json").read_bytes())
    rng = json.loads((tmp_path / "range" / "statement.json").read_bytes())
    assert rng["window"] == "2025-07 to 2025-09"
    assert rng["chains"][0]["rules"] == q3["chains"][0]["rules"]
    assert rng["chains"][0]["total"] == q3["chains"][0]["total"]

    months = monthly(quarter, ETH)
    export(quarter, tmp_path / "aug-sep", "--from", "2025-08", "--to", "2025-09")
    two = json.loads((tmp_path / "aug-sep" / "statement.json").read_bytes())
    assert [p["period_identifier"] for p in two["chains"][0]["periods"]] == ["2025-08-15", "2025-09-15"]
    assert Decimal(two["chains"][0]["total"]["native"]) == lines_total(months["2025-08"], ETH) + lines_total(
        months["2025-09"], ETH
    )

    backwards = quarter("export", "statement", "--partner", "Helios Capital", "--chain", ETH, "--from", "2025-09",
                        "--to", "2025-07", "--format", "json", "--out", "-")
    assert backwards.exit_code == 2 and "--to 2025-07 is before --from 2025-09" in squash(backwards.stderr)
    for bad in (("--quarter", "2025Q5"), ("--from", "2025-7", "--to", "2025-09")):
        r = quarter("export", "statement", "--partner", "Helios Capital", "--chain", ETH, *bad, "--format", "json",
                    "--out", "-")
        assert r.exit_code == 2 and "e.g. 2025" in squash(r.stderr), r


def test_a_partner_on_two_chains_gets_one_pack_with_a_section_per_chain(quarter, tmp_path):
    out = tmp_path / "both"
    r = export(quarter, out, "--quarter", "2025Q3", chains=(ETH, SOL))
    assert V1 in (out / "lines.csv").read_text()
    assert "Statement AUR-MULTI-2025Q3-HELIOS-01" in squash(r.stderr)
    doc = json.loads((out / "statement.json").read_bytes())
    assert [(c["chain_id"], c["native_unit"], c["display_unit"]) for c in doc["chains"]] == [
        (ETH, "wei", "ETH"),
        (SOL, "lamports", "SOL"),
    ]
    eth_total = sum((lines_total(d, ETH) for d in monthly(quarter, ETH).values()), Decimal(0))
    sol_total = sum((lines_total(d, SOL) for d in monthly(quarter, SOL).values()), Decimal(0))
    assert sol_total == Decimal(1500000000 + 2500000001 + 7)
    totals = {c["chain_id"]: Decimal(c["total"]["native"]) for c in doc["chains"]}
    assert totals == {ETH: eth_total, SOL: sol_total}
    assert doc["chains"][1]["total"]["display"] == "4.000000008"
    # Nothing adds across chains: no grand total anywhere, and each CSV row carries its chain's unit.
    assert not {"total", "total_native"} & set(doc)
    summary = csv_rows(out / "summary.csv")
    statement_rows = [(row["chain_id"], row["final_total_native"], row["native_unit"]) for row in summary
                      if row["level"] == "statement"]
    assert statement_rows == [(ETH, str(eth_total), "wei"), (SOL, str(sol_total), "lamports")]
    assert str(eth_total + sol_total) not in (out / "summary.csv").read_text()
    lines = csv_rows(out / "lines.csv")
    assert {(row["chain_id"], row["native_unit"]) for row in lines} == {(ETH, "wei"), (SOL, "lamports")}
    assert sum((Decimal(row["final_amount_native"]) for row in lines if row["chain_id"] == SOL), Decimal(0)) == sol_total

    text = squash(" ".join(page.extract_text() for page in PdfReader(str(out / "statement.pdf")).pages))
    assert "Ethereum Mainnet (ethereum-mainnet)" in text and "Solana Mainnet (solana-mainnet)" in text
    assert f"{sol_total} lamports" in text and f"{eth_total} wei" in text
    verdict = quarter("statements", "verify", str(out))
    assert verdict.exit_code == 0 and "authentic and current" in verdict.stderr


def test_a_user_limited_to_one_chain_gets_no_two_chain_pack(quarter, tmp_path):
    quarter.add_user("fin-sol", "FINANCE", "password-123", "--chains", SOL)
    quarter.login_as("fin-sol", "password-123")
    for chains in ((SOL, ETH), (ETH, SOL)):  # whichever --chain comes first
        out = tmp_path / "-".join(chains)
        chain_args = [a for c in chains for a in ("--chain", c)]
        r = quarter("export", "statement", "--partner", "Helios Capital", *chain_args, "--quarter", "2025Q3",
                    "--format", "pack", "--out", str(out))
        assert r.exit_code == 4, r
        assert ETH in squash(r.stderr) and "Traceback" not in r.stderr
        assert not out.exists()
    alone = tmp_path / "sol"
    r = quarter("export", "statement", "--partner", "Helios Capital", "--chain", SOL, "--quarter", "2025Q3",
                "--format", "pack", "--out", str(alone))
    assert r.exit_code == 0, r
    assert (alone / "SHA256SUMS").exists()
