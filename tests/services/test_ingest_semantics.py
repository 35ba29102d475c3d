"""Semantics the importer refuses (issue 10): a commission above its rewards, a validator key that is
not well-formed for the chain, and a refused file never leaves a new period behind.

Each bad line is one invalid line with its number, exactly like a parse error: strict mode refuses
the file and writes nothing; --skip-invalid drops the lines and the run ends PARTIAL. Both readers
are exercised: plain ASCII REWARDS lines take the set-based SQL path, a line with a JSON escape is
parsed in Python.
"""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from pathlib import Path

import psycopg

from aurora_cli.cli.exit_codes import ExitCode
from tests.validator_keys import ethereum_key, solana_key

SOL = "solana-mainnet"
ETH = "ethereum-mainnet"
V1 = solana_key("V1")
E1 = ethereum_key(1)


def q(db_url: str, query: str, *params):
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def reward(key: str, staker: str | None, amount: str, commission: str) -> dict:
    return {
        "data_type": "REWARDS",
        "validator_key": key,
        "staker_address": staker,
        "rewards_native": amount,
        "commission_native": commission,
    }


def fees(key: str, amount: str = "100") -> dict:
    return {"data_type": "FEES", "validator_key": key, "total_fees_native": amount, "fee_count": 1}


def write(path: Path, records: list[dict]) -> Path:
    # json.dumps escapes non-ASCII ("\u00e9"): such a line is not plain ASCII and is parsed in Python.
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def squash(text: str) -> str:
    return " ".join(text.split())


def ingest(cli, chain: str, period: str, path: Path, *extra: str):
    return cli(
        "--format", "json", "ingest", "--chain", chain, "--period", period, "--file", str(path), *extra
    )


COMMISSION_FILE = [
    fees(V1),  # 1
    reward(V1, "S1", "10", "11"),  # 2: SQL path, commission above rewards
    reward(V1, "S\u00e92", "5", "6.5"),  # 3: Python path, commission above rewards
    reward(V1, "S3", "7", "7"),  # 4: the whole reward as commission is fine
    reward(V1, "S\u00e94", "9", "1"),  # 5: Python path, fine
    reward(V1, None, "300", "0"),  # 6
]
COMMISSION_ERRORS = [
    (2, "commission_native 11 is greater than rewards_native 10"),
    (3, "commission_native 6.5 is greater than rewards_native 5"),
]


def test_a_commission_above_its_rewards_refuses_the_file(ops, tmp_path):
    f = write(tmp_path / "c.jsonl", COMMISSION_FILE)
    r = ops("ingest", "--chain", SOL, "--period", "850", "--file", str(f))
    assert r.exit_code == ExitCode.ERROR, r
    shown = squash(r.stderr)
    assert f"{f} has 2 invalid line(s); nothing was staged (fix them, or use --skip-invalid" in shown
    for line, reason in COMMISSION_ERRORS:
        assert f"- line {line}: {reason}" in shown
    assert "Traceback" not in r.stderr
    assert q(ops.db_url, "SELECT count(*) FROM staging_payloads") == [(0,)]
    [(status, metadata)] = q(ops.db_url, "SELECT status::text, metadata FROM ingestion_runs")
    assert status == "FAILED"
    assert metadata["invalid_lines"] == [{"line": n, "reason": m} for n, m in COMMISSION_ERRORS]


def test_skip_invalid_drops_the_commission_lines_and_normalizes_the_rest(ops, tmp_path):
    f = write(tmp_path / "c.jsonl", COMMISSION_FILE)
    r = ingest(ops, SOL, "850", f, "--skip-invalid")
    assert r.exit_code == ExitCode.PARTIAL, r
    doc = r.json()
    assert (doc["status"], doc["invalid_lines"]) == ("PARTIAL", 2)
    assert doc["invalid"] == [{"line": n, "reason": m} for n, m in COMMISSION_ERRORS]
    assert ops("normalize", "--chain", SOL, "--period", "850").exit_code == 0
    assert q(
        ops.db_url,
        "SELECT staker_address, rewards_native, commission_native FROM canonical_stake_rewards"
        " ORDER BY 1 NULLS FIRST",
    ) == [
        (None, Decimal(300), Decimal(0)),
        ("S3", Decimal(7), Decimal(7)),
        ("S\u00e94", Decimal(9), Decimal(1)),
    ]


BAD_SOLANA_KEY = "V1"
KEY_FILE = [
    fees(V1),  # 1
    fees(BAD_SOLANA_KEY),  # 2
    reward(BAD_SOLANA_KEY, "S1", "10", "1"),  # 3: SQL path
    reward(BAD_SOLANA_KEY, "S\u00e92", "10", "1"),  # 4: Python path
    reward(BAD_SOLANA_KEY, "S3", "10", "99"),  # 5: also a commission above rewards: one reason, the key
    reward(V1, "S1", "10", "1"),  # 6
    reward(E1, "S1", "10", "1"),  # 7: an Ethereum key on Solana
]
SOLANA_KEY_REASON = "validator_key {!r} is not a Solana vote account key (base58, 32 bytes)"


def test_a_malformed_solana_key_is_an_invalid_line_wherever_it_appears(ops, tmp_path):
    f = write(tmp_path / "k.jsonl", KEY_FILE)
    r = ops("ingest", "--chain", SOL, "--period", "850", "--file", str(f))
    assert r.exit_code == ExitCode.ERROR, r
    shown = squash(r.stderr)
    assert "has 5 invalid line(s); nothing was staged" in shown
    for line in (2, 3, 4, 5):
        assert f"- line {line}: {SOLANA_KEY_REASON.format(BAD_SOLANA_KEY)}" in shown
    assert f"- line 7: {SOLANA_KEY_REASON.format(E1)}" in shown
    assert "line 1:" not in shown and "line 6:" not in shown
    assert q(ops.db_url, "SELECT count(*) FROM staging_payloads") == [(0,)]
    assert q(
        ops.db_url, "SELECT count(*) FROM canonical_validator_identities WHERE validator_key = %s", "V1"
    ) == [(0,)]

    r = ingest(ops, SOL, "850", f, "--skip-invalid")
    assert r.exit_code == ExitCode.PARTIAL, r
    doc = r.json()
    assert [i["line"] for i in doc["invalid"]] == [2, 3, 4, 5, 7]
    assert doc["new_validators"] == [V1]  # the malformed keys are not registered
    assert q(ops.db_url, "SELECT DISTINCT validator_key FROM staging_payloads") == [(V1,)]


def test_ethereum_keys_are_0x_and_96_lowercase_hex_digits(ops, tmp_path):
    upper = "0x" + E1[2:].upper()
    short = E1[:-1]
    f = write(tmp_path / "e.jsonl", [fees(E1), fees(upper), fees(short), fees(V1)])
    r = ingest(ops, ETH, "2025-06-01", f, "--skip-invalid")
    assert r.exit_code == ExitCode.PARTIAL, r
    sentence = "is not an Ethereum validator public key (0x + 96 lowercase hex digits)"
    assert r.json()["invalid"] == [
        {"line": 2, "reason": f"validator_key {upper!r} {sentence}"},
        {"line": 3, "reason": f"validator_key {short!r} {sentence}"},
        {"line": 4, "reason": f"validator_key {V1!r} {sentence}"},
    ]
    assert q(ops.db_url, "SELECT validator_key FROM staging_payloads") == [(E1,)]


# -- a refused file leaves no new period behind ---------------------------------------------------


PARTITIONS = (
    "SELECT count(*) FROM pg_inherits WHERE inhparent IN"
    " ('canonical_stake_rewards'::regclass, 'partner_commission_lines'::regclass)"
)


def periods(cli) -> list[tuple[str, str]]:
    r = cli("--format", "json", "periods", "list")
    assert r.exit_code == 0, r
    return sorted((p["chain_id"], p["period_identifier"]) for p in r.json())


def test_a_refused_file_for_a_new_day_leaves_no_period_and_a_traceable_failed_run(ops, tmp_path):
    before = periods(ops)
    count = q(ops.db_url, "SELECT count(*) FROM canonical_periods")
    partitions = q(ops.db_url, PARTITIONS)
    bad = write(tmp_path / "bad.jsonl", [fees(E1), reward(E1, "S1", "1", "2")])

    r = ops("ingest", "--chain", ETH, "--period", "2025-06-09", "--file", str(bad))
    assert r.exit_code == ExitCode.ERROR, r
    assert "has 1 invalid line(s); nothing was staged" in r.stderr
    assert "- line 2: commission_native 2 is greater than rewards_native 1" in squash(r.stderr)
    assert periods(ops) == before and q(ops.db_url, "SELECT count(*) FROM canonical_periods") == count
    # Nor its partitions (created when a period row is inserted): the whole load rolled back.
    assert q(ops.db_url, PARTITIONS) == partitions

    # Skip-invalid with nothing valid left is refused too, with the existing sentence.
    worse = write(tmp_path / "worse.jsonl", [reward(E1, "S1", "1", "2"), fees("0xnot-a-key")])
    r = ops("ingest", "--chain", ETH, "--period", "2025-06-09", "--file", str(worse), "--skip-invalid")
    assert r.exit_code == ExitCode.ERROR, r
    assert f"{worse} has no valid records: nothing to stage." in squash(r.stderr)
    assert periods(ops) == before

    runs = ops("--format", "json", "runs", "list", "--chain", ETH)
    assert runs.exit_code == 0, runs
    listed = runs.json()
    assert [(run["status"], run["period_id"], run["period_identifier"]) for run in listed] == [
        ("FAILED", None, "2025-06-09"),
        ("FAILED", None, "2025-06-09"),
    ]
    assert listed[0]["error_message"].endswith("has no valid records: nothing to stage.")
    assert listed[1]["error_message"].startswith("1 invalid line(s): line 2: commission_native 2")
    audited = q(
        ops.db_url,
        "SELECT after_snapshot->>'exit_code', after_snapshot->>'error' FROM audit_log"
        " WHERE action = 'COMMAND' AND resource_id = 'ingest' ORDER BY timestamp",
    )
    assert [code for code, _ in audited] == ["1", "1"]
    assert "has 1 invalid line(s); nothing was staged" in audited[0][1]

    # The corrected file creates the day, and its run belongs to it.
    good = write(tmp_path / "good.jsonl", [fees(E1), reward(E1, "S1", "2", "1")])
    r = ingest(ops, ETH, "2025-06-09", good)
    assert r.exit_code == ExitCode.OK, r
    assert periods(ops) == sorted([*before, (ETH, "2025-06-09")])
    assert q(ops.db_url, PARTITIONS) != partitions
    [(status, identifier)] = q(
        ops.db_url,
        "SELECT r.status::text, p.period_identifier FROM ingestion_runs r"
        " JOIN canonical_periods p USING (period_id) WHERE r.run_id = %s",
        r.json()["run_id"],
    )
    assert (status, identifier) == ("SUCCESS", "2025-06-09")


def test_a_refused_file_for_a_registered_period_keeps_it_and_fails_its_run(ops, tmp_path):
    bad = write(tmp_path / "bad.jsonl", [fees(V1), fees("V1")])
    r = ops("ingest", "--chain", SOL, "--period", "850", "--file", str(bad))
    assert r.exit_code == ExitCode.ERROR, r
    assert q(ops.db_url, "SELECT period_identifier FROM canonical_periods") == [("850",)]
    assert q(
        ops.db_url,
        "SELECT r.status::text, p.period_identifier FROM ingestion_runs r JOIN canonical_periods p USING (period_id)",
    ) == [("FAILED", "850")]


def test_the_bundled_samples_still_import_strictly(ops, repo):
    samples = repo / "config" / "samples"
    for entry in tomllib.loads((samples / "periods.toml").read_text())["periods"]:
        if entry["chain"] == SOL and entry["period"] != "850":
            added = ops(
                "periods", "add", "--chain", SOL, "--period", entry["period"],
                "--start", entry["start"], "--end", entry["end"],
            )  # fmt: skip
            assert added.exit_code == 0, added
        r = ingest(ops, entry["chain"], entry["period"], samples / entry["file"])
        assert r.exit_code == ExitCode.OK, r
        assert (r.json()["status"], r.json()["invalid_lines"]) == ("SUCCESS", 0)
