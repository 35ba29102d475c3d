"""Ingest refuses (or, with --skip-invalid, drops) lines that normalization would reject as a set:
a second FEES/MEV/META record for a validator, a REWARDS staker_address repeated for a validator
(the validator-level null row included), and commission given both per delegator and in aggregate.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from tests.validator_keys import solana_key

SOL = "solana-mainnet"
ETH = "ethereum-mainnet"
V1 = solana_key("V1")
V2 = solana_key("V2")


def q(db_url: str, query: str, *params):
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def fees(amount: str) -> dict:
    return {"data_type": "FEES", "validator_key": V1, "total_fees_native": amount, "fee_count": 1}


def mev(amount: str) -> dict:
    return {"data_type": "MEV", "validator_key": V1, "total_mev_native": amount, "tip_count": 1}


def meta(bps: int) -> dict:
    return {
        "data_type": "META",
        "validator_key": V1,
        "commission_rate_bps": bps,
        "is_mev_enabled": True,
        "total_stake_native": "1000",
    }


def reward(staker: str | None, amount: str, commission: str = "0") -> dict:
    return {
        "data_type": "REWARDS",
        "validator_key": V1,
        "staker_address": staker,
        "rewards_native": amount,
        "commission_native": commission,
    }


# Lines 1..6; every case below adds or changes lines of this valid file.
BASE = [
    fees("100"),  # line 1
    mev("200"),  # line 2
    reward("S1", "1000", "50"),  # line 3
    reward("S2", "500", "25"),  # line 4
    reward(None, "300", "0"),  # line 5
    meta(500),  # line 6
]

CASES = {
    "second FEES": (
        [*BASE, fees("999")],
        [(7, f"second FEES record for validator {V1} (first on line 1)")],
    ),
    "second and third MEV": (
        [*BASE, mev("999"), mev("998")],
        [
            (7, f"second MEV record for validator {V1} (first on line 2)"),
            (8, f"third MEV record for validator {V1} (first on line 2)"),
        ],
    ),
    "second META": (
        [*BASE, meta(900)],
        [(7, f"second META record for validator {V1} (first on line 6)")],
    ),
    "repeated staker": (
        [*BASE, reward("S1", "7", "0")],
        [(7, f"second REWARDS record for staker S1 of validator {V1} (first on line 3)")],
    ),
    "two validator-level rows": (
        [*BASE, reward(None, "7", "0")],
        [
            (
                7,
                f"second validator-level REWARDS record (staker_address null) for validator {V1}"
                " (first on line 5)",
            )
        ],
    ),
    "commission per delegator and in aggregate": (
        [*BASE[:4], reward(None, "300", "10"), *BASE[5:]],
        [
            (
                5,
                f"aggregate commission on the validator-level REWARDS record of validator {V1}, which also"
                " has commission per delegator (first on line 3); give one or the other",
            )
        ],
    ),
}


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_strict_ingest_refuses_what_normalize_would_reject(ops, tmp_path, case):
    records, errors = CASES[case]
    f = write_jsonl(tmp_path / "f.jsonl", records)
    r = ops("ingest", "--chain", SOL, "--period", "850", "--file", str(f))
    assert r.exit_code == 1, r
    assert f"has {len(errors)} invalid line(s); nothing was staged" in r.stderr
    shown = " ".join(r.stderr.split())  # the terminal may wrap a long reason
    for line, reason in errors:
        assert f" - line {line}: {reason}" in shown, r.stderr
    assert "Traceback" not in r.stderr
    assert q(ops.db_url, "SELECT count(*) FROM staging_payloads") == [(0,)]
    [(status, message, metadata)] = q(
        ops.db_url, "SELECT status::text, error_message, metadata FROM ingestion_runs"
    )
    assert status == "FAILED"
    assert f"line {errors[0][0]}: {errors[0][1]}" in message
    assert metadata["invalid_lines"] == [{"line": n, "reason": reason} for n, reason in errors]


@pytest.mark.parametrize("case", list(CASES))
def test_skip_invalid_drops_the_offending_lines_and_normalize_accepts_the_rest(ops, tmp_path, case):
    records, errors = CASES[case]
    f = write_jsonl(tmp_path / "f.jsonl", records)
    r = ops(
        "--format", "json", "ingest", "--chain", SOL, "--period", "850", "--file", str(f), "--skip-invalid"
    )
    assert r.exit_code == 3, r
    doc = r.json()
    assert (doc["status"], doc["invalid_lines"], doc["staged"]) == ("PARTIAL", len(errors), 4)
    assert doc["invalid"] == [{"line": n, "reason": reason} for n, reason in errors]

    n = ops("--format", "json", "normalize", "--chain", SOL, "--period", "850")
    assert n.exit_code == 0, n
    # The first occurrence of a duplicate is kept; a mixed-commission file loses its aggregate row.
    assert q(ops.db_url, "SELECT total_fees_native FROM canonical_validator_fees") == [(Decimal(100),)]
    assert q(ops.db_url, "SELECT total_mev_native FROM canonical_validator_mev") == [(Decimal(200),)]
    assert q(ops.db_url, "SELECT commission_rate_bps FROM canonical_validator_meta") == [(500,)]
    rewards = q(
        ops.db_url,
        "SELECT staker_address, rewards_native, commission_native FROM canonical_stake_rewards"
        " ORDER BY 1 NULLS FIRST",
    )
    expected = [("S1", Decimal(1000), Decimal(50)), ("S2", Decimal(500), Decimal(25))]
    if case != "commission per delegator and in aggregate":
        expected.insert(0, (None, Decimal(300), Decimal(0)))
    assert rewards == expected


def test_rules_are_per_validator_and_aggregate_commission_alone_is_fine(ops, tmp_path):
    other = {**fees("5"), "validator_key": V2}
    aggregate_only = [
        reward("S1", "1000", "0"),
        reward("S2", "500", "0"),
        reward(None, "300", "75"),
        {**reward("S1", "1", "1"), "validator_key": V2},  # same staker, another validator
        {**reward(None, "1", "0"), "validator_key": V2},
        fees("100"),
        other,
    ]
    f = write_jsonl(tmp_path / "ok.jsonl", aggregate_only)
    r = ops("run", "--chain", SOL, "--period", "850", "--file", str(f))
    assert r.exit_code == 0, r


def test_one_reason_per_line_and_the_mixed_rule_sees_only_the_kept_records(ops, tmp_path):
    # The second validator-level row carries commission next to per-delegator commission: it is a
    # duplicate (reported once, as such), and once dropped the kept records are consistent.
    f = write_jsonl(tmp_path / "f.jsonl", [*BASE, reward(None, "70", "10")])
    r = ops(
        "--format", "json", "ingest", "--chain", SOL, "--period", "850", "--file", str(f), "--skip-invalid"
    )
    assert r.exit_code == 3, r
    assert r.json()["invalid"] == [
        {
            "line": 7,
            "reason": f"second validator-level REWARDS record (staker_address null) for validator {V1}"
            " (first on line 5)",
        }
    ]
    assert ops("normalize", "--chain", SOL, "--period", "850").exit_code == 0
