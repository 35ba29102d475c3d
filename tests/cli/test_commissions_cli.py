"""`aurora compute-commissions` and `aurora commissions show` (SPEC §8, §13) through the CLI.

The data goes in the way finance loads it: `aurora periods add`, `aurora run --file`, `aurora agreements
apply`. The arithmetic itself is worked by hand in tests/services/test_commissions_engine.py; here the
concern is the command surface: output formats, dry run, locks, audit, permissions, and the committed
sample agreements on the committed sample data.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from aurora_cli.db.engine import make_engine
from aurora_cli.services.commissions import LINE_COLUMNS
from aurora_cli.services.locks import period_lock
from tests.validator_keys import solana_key

SOL = "solana-mainnet"
ETH = "ethereum-mainnet"
V1 = solana_key("V1")
V2 = solana_key("V2")


def q(db_url: str, query: str, *params):
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


# V1 earns fees 1000000 (or `v1_fees`), V2 fees 2000000; both have delegators so the file is complete.
def epoch_file(tmp_path: Path, v1_fees: str = "1000000") -> Path:
    records = [
        {"data_type": "FEES", "validator_key": V1, "total_fees_native": v1_fees, "fee_count": 1},
        {"data_type": "FEES", "validator_key": V2, "total_fees_native": "2000000", "fee_count": 1},
        {
            "data_type": "REWARDS",
            "validator_key": V1,
            "staker_address": "S1",
            "rewards_native": "100",
            "commission_native": "10",
        },
        {
            "data_type": "REWARDS",
            "validator_key": V2,
            "staker_address": "S2",
            "rewards_native": "100",
            "commission_native": "10",
        },
    ]
    path = tmp_path / f"epoch-{uuid.uuid4().hex[:8]}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def agreement_file(tmp_path: Path, partner: str, rate_bps: int = 1000) -> Path:
    path = tmp_path / f"{partner.lower()}.toml"
    path.write_text(
        f"""
[partner]
name = "{partner}"
contact_email = "ops@{partner.lower()}.example"

[agreement]
name = "{partner} referral"
status = "ACTIVE"
effective_from = "2025-01-01T00:00:00Z"

[[rules]]
order = 1
chain = "{SOL}"
component = "EXEC_FEES"
attribution = "FIXED_SHARE"
rate_bps = {rate_bps}
"""
    )
    return path


@pytest.fixture
def epoch_850(admin_cli, tmp_path):
    """Epoch 850 loaded through `aurora run`, and two partners at 10% (Acme) and 5% (Beta) of fees."""
    admin_cli.add_epoch_850()
    r = admin_cli("run", "--chain", SOL, "--period", "850", "--file", str(epoch_file(tmp_path)))
    assert r.exit_code == 0, r
    for partner, rate in (("Acme", 1000), ("Beta", 500)):
        assert admin_cli("agreements", "apply", str(agreement_file(tmp_path, partner, rate))).exit_code == 0
    return admin_cli


def compute(cli, *extra: str, period: str = "850", chain: str = SOL, token: str | None = None):
    # Global options (--format, --correlation-id) are accepted after the subcommand too.
    return cli("compute-commissions", "--chain", chain, "--period", period, *extra, token=token)


def show_json(cli, *extra: str, period: str = "850", chain: str = SOL, token: str | None = None):
    r = cli(
        "--format", "json", "commissions", "show", "--chain", chain, "--period", period, *extra, token=token
    )
    assert r.exit_code == 0, r
    return r.json()


def test_compute_then_show_in_every_format(epoch_850):
    cid = str(uuid.uuid4())
    r = compute(epoch_850, "--correlation-id", cid)
    assert r.exit_code == 0, r
    assert "2 agreement(s), 2 rule(s); lines 4 added, 0 updated, 0 deleted, 0 unchanged." in r.stderr

    lines = show_json(epoch_850)
    assert list(lines[0]) == LINE_COLUMNS
    # Acme 10% and Beta 5% of fees 1000000 (V1) and 2000000 (V2).
    assert [
        (x["partner_name"], x["validator_key"], x["base_amount_native"], x["final_amount_native"])
        for x in lines
    ] == [
        ("Acme", V1, "1000000", "100000"),
        ("Acme", V2, "2000000", "200000"),
        ("Beta", V1, "1000000", "50000"),
        ("Beta", V2, "2000000", "100000"),
    ]
    assert {(x["agreement_name"], x["rule_order"], x["period_identifier"]) for x in lines} == {
        ("Acme referral", 1, "850"),
        ("Beta referral", 1, "850"),
    }
    assert [x["partner_name"] for x in show_json(epoch_850, "--partner", "Beta")] == ["Beta", "Beta"]

    csv_out = epoch_850("--format", "csv", "commissions", "show", "--chain", SOL, "--period", "850")
    assert csv_out.stdout.splitlines()[0] == ",".join(LINE_COLUMNS)
    assert len(csv_out.stdout.splitlines()) == 5

    table = epoch_850("commissions", "show", "--chain", SOL, "--period", "850")
    assert table.exit_code == 0
    assert "TOTAL Acme" in table.stderr and "300000" in table.stderr and "0.0003 SOL" in table.stderr
    assert "TOTAL Beta" in table.stderr and "150000" in table.stderr

    [(after,)] = q(
        epoch_850.db_url,
        "SELECT after_snapshot FROM audit_log WHERE correlation_id = %s AND action = 'RECOMPUTE'",
        cid,
    )
    assert (after["lines_added"], after["rules"]) == (4, 2)
    assert {p["partner_name"]: p["after_native"] for p in after["partner_totals"]} == {
        "Acme": "300000",
        "Beta": "150000",
    }
    # The summary view is refreshed with the lines.
    assert q(
        epoch_850.db_url,
        "SELECT p.partner_name, m.total_commission_native, m.line_count FROM mv_partner_commissions_summary m"
        " JOIN partners p USING (partner_id) ORDER BY 1",
    ) == [("Acme", Decimal(300000), 2), ("Beta", Decimal(150000), 2)]


def test_rerun_keeps_line_ids_and_amounts(epoch_850):
    assert compute(epoch_850).exit_code == 0
    before = q(
        epoch_850.db_url,
        "SELECT line_id, final_amount_native, computed_at FROM partner_commission_lines ORDER BY 1",
    )
    again = compute(epoch_850)
    assert again.exit_code == 0 and "0 added, 0 updated, 0 deleted, 4 unchanged" in again.stderr
    assert (
        q(
            epoch_850.db_url,
            "SELECT line_id, final_amount_native, computed_at FROM partner_commission_lines ORDER BY 1",
        )
        == before
    )


def test_dry_run_shows_the_difference_and_writes_nothing(epoch_850, tmp_path):
    assert compute(epoch_850).exit_code == 0
    # New P&L for the period, without `aurora run` (which would recompute the commissions too).
    for step in (
        ("ingest", "--file", str(epoch_file(tmp_path, "3000000"))),
        ("normalize",),
        ("compute-pnl",),
    ):
        assert epoch_850(step[0], "--chain", SOL, "--period", "850", *step[1:]).exit_code == 0
    before = q(epoch_850.db_url, "SELECT * FROM partner_commission_lines ORDER BY line_id")
    audit_before = q(epoch_850.db_url, "SELECT count(*) FROM audit_log WHERE action = 'RECOMPUTE'")

    table = compute(epoch_850, "--dry-run")
    assert table.exit_code == 0, table
    assert (
        "dry run, nothing written: lines would be 0 added, 2 updated, 0 deleted, 2 unchanged." in table.stderr
    )
    assert "100000 → 300000" in table.stderr and "50000 → 150000" in table.stderr

    doc = compute(epoch_850, "--format", "json", "--dry-run").json()
    assert doc["dry_run"] is True
    assert [
        (c["change"], c["partner_name"], c["old_amount_native"], c["new_amount_native"])
        for c in doc["changes"]
    ] == [
        ("changed", "Acme", "100000", "300000"),
        ("changed", "Beta", "50000", "150000"),
    ]
    assert q(epoch_850.db_url, "SELECT * FROM partner_commission_lines ORDER BY line_id") == before
    assert q(epoch_850.db_url, "SELECT count(*) FROM audit_log WHERE action = 'RECOMPUTE'") == audit_before


def test_a_locked_partner_is_reported_and_the_run_still_succeeds(epoch_850, tmp_path):
    assert compute(epoch_850).exit_code == 0
    q(
        epoch_850.db_url,
        "INSERT INTO partner_commission_statements (partner_id, chain_id, period_id, total_commission_native,"
        " line_count, status) SELECT p.partner_id, %s, cp.period_id, 300000, 2, 'PENDING_APPROVAL'"
        " FROM partners p, canonical_periods cp WHERE p.partner_name = 'Acme' AND cp.period_identifier = '850'",
        SOL,
    )
    locked_before = q(
        epoch_850.db_url,
        "SELECT * FROM partner_commission_lines l JOIN partners p USING (partner_id)"
        " WHERE p.partner_name = 'Acme' ORDER BY line_id",
    )
    assert (
        epoch_850(
            "run", "--chain", SOL, "--period", "850", "--file", str(epoch_file(tmp_path, "3000000"))
        ).exit_code
        == 0
    )

    r = compute(epoch_850)
    assert r.exit_code == 0, r
    assert "locked Acme: statement PENDING_APPROVAL, 2 stored line(s) left untouched" in r.stderr
    assert "reopen the statement to apply it" in r.stderr
    assert (
        q(
            epoch_850.db_url,
            "SELECT * FROM partner_commission_lines l JOIN partners p USING (partner_id)"
            " WHERE p.partner_name = 'Acme' ORDER BY line_id",
        )
        == locked_before
    )
    beta = {x["validator_key"]: x["final_amount_native"] for x in show_json(epoch_850, "--partner", "Beta")}
    assert beta == {V1: "150000", V2: "100000"}


def test_partner_users_see_only_their_released_lines(epoch_850):
    assert compute(epoch_850).exit_code == 0
    epoch_850.add_user("acme-user", "PARTNER", "password-123", "--partner", "Acme")
    token = epoch_850.token_for("acme-user")
    assert show_json(epoch_850, token=token) == []  # no released statement yet
    q(
        epoch_850.db_url,
        "INSERT INTO partner_commission_statements (partner_id, chain_id, period_id, total_commission_native,"
        " line_count, status) SELECT p.partner_id, %s, cp.period_id, 0, 0, 'RELEASED'"
        " FROM partners p, canonical_periods cp WHERE cp.period_identifier = '850'",
        SOL,
    )
    assert {x["partner_name"] for x in show_json(epoch_850, token=token)} == {"Acme"}
    other = epoch_850(
        "commissions", "show", "--chain", SOL, "--period", "850", "--partner", "Beta", token=token
    )
    assert other.exit_code == 4
    refused = compute(epoch_850, token=token)
    assert refused.exit_code == 4


def test_no_wait_exits_5_while_another_run_holds_the_period(epoch_850):
    engine = make_engine(epoch_850.db_url)
    try:
        with period_lock(engine, SOL, "850", wait=False, timeout_seconds=1):
            r = compute(epoch_850, "--no-wait")
    finally:
        engine.dispose()
    assert r.exit_code == 5 and "in progress" in r.stderr
    assert q(epoch_850.db_url, "SELECT count(*) FROM partner_commission_lines") == [(0,)]


def test_unknown_period_and_missing_pnl_are_clear_errors(epoch_850):
    r = compute(epoch_850, period="999")
    assert r.exit_code == 1 and "unknown period 999" in r.stderr
    assert (
        epoch_850(
            "periods",
            "add",
            "--chain",
            SOL,
            "--period",
            "851",
            "--start",
            "2025-09-03T01:12:00Z",
            "--end",
            "2025-09-05T02:24:00Z",
        ).exit_code
        == 0
    )
    r = compute(epoch_850, period="851")
    assert r.exit_code == 1 and "no validator P&L for solana-mainnet 851" in r.stderr


# --- the committed samples ---------------------------------------------------------------------------


def test_sample_agreements_on_the_sample_data(admin_cli, repo):
    samples = repo / "config" / "samples"
    admin_cli.add_epoch_850()
    assert (
        admin_cli(
            "run", "--chain", SOL, "--period", "850", "--file", str(samples / SOL / "epoch-850.jsonl")
        ).exit_code
        == 0
    )
    assert (
        admin_cli(
            "run", "--chain", ETH, "--period", "2025-06-01", "--file", str(samples / ETH / "2025-06-01.jsonl")
        ).exit_code
        == 0
    )
    files = sorted((samples / "agreements").glob("*.toml"))
    assert len(files) >= 3
    for path in files:
        r = admin_cli("agreements", "apply", str(path))
        assert r.exit_code == 0, r
        assert "warning" not in r.stderr  # every client and rule names a sample validator

    for chain, period in ((SOL, "850"), (ETH, "2025-06-01")):
        r = admin_cli("--format", "json", "compute-commissions", "--chain", chain, "--period", period)
        assert r.exit_code == 0, r
        lines = show_json(admin_cli, chain=chain, period=period)
        for rule in r.json()["rule_totals"]:  # lines always sum to the rule total
            mine = [
                Decimal(x["final_amount_native"])
                for x in lines
                if (x["partner_name"], x["rule_order"]) == (rule["partner_name"], rule["rule_order"])
            ]
            assert sum(mine, Decimal(0)) == Decimal(rule["total_native"])

    sol = {(x["partner_name"], x["rule_order"], x["validator_key"]): x for x in show_json(admin_cli)}
    # Helios rule 1: 15% of its clients' commission (10762742305) = 1614411345.75, capped at 1 SOL.
    assert sum(
        Decimal(x["final_amount_native"]) for k, x in sol.items() if k[:2] == ("Helios Capital", 1)
    ) == Decimal(1000000000)
    # Boreal rule 1: AuroraVote4's fees 282264639064 are under the 300 SOL step: 1% → 2822646390.
    [boreal] = [x for k, x in sol.items() if k[:2] == ("Boreal Partners", 1)]
    assert boreal["final_amount_native"] == "2822646390"
    eth = show_json(admin_cli, chain=ETH, period="2025-06-01")
    # Cobalt rule 3: no execution fees on the sample days, so the floor is one line without a validator.
    [floor] = [x for x in eth if x["rule_order"] == 3]
    assert (floor["validator_key"], floor["base_amount_native"], floor["final_amount_native"]) == (
        None,
        "0",
        "1000000000000000",
    )
    # Cobalt rule 2: the 25% stake-weighted share (≈ 13.6e12 wei) is capped at 12e12.
    assert sum(Decimal(x["final_amount_native"]) for x in eth if x["rule_order"] == 2) == Decimal(
        12000000000000
    )
