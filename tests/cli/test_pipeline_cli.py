"""The data spine end to end through the CLI: periods, ingest, normalize, compute-pnl, run."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from aurora_cli.db.engine import make_engine
from aurora_cli.devtools.synthetic import write_samples
from aurora_cli.domain.canonical_json import canonical_json
from aurora_cli.services.locks import period_lock
from tests.validator_keys import ethereum_key, solana_key

SOL = "solana-mainnet"
ETH = "ethereum-mainnet"
V1 = solana_key("V1")
V2 = solana_key("V2")


def q(db_url: str, query: str, *params):
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def write_jsonl(path: Path, records: list[dict | str]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


# A hand-built epoch. Expected P&L, worked by hand:
#   V1: exec fees 1250000000, MEV 830000000,
#       vote rewards = validator-level rewards 200000000 (the staker_address null row),
#       commission = 50000000 (S1) + 25000000 (S2) + 0 (validator-level row) = 75000000,
#       total = 1250000000 + 830000000 + 200000000 + 75000000 = 2355000000.
#   V2: no fees and no MEV lines → 0 and 0; vote rewards 0.000000000000000001 (an 18-decimal amount
#       survives exactly); commission 12345678901234567890 (20 integer digits, the most NUMERIC(38,18) holds);
#       total = 12345678901234567890.000000000000000001.
HAND_BUILT = [
    {"data_type": "FEES", "validator_key": V1, "total_fees_native": "1250000000", "fee_count": 412},
    {"data_type": "MEV", "validator_key": V1, "total_mev_native": "830000000", "tip_count": 97},
    {
        "data_type": "REWARDS",
        "validator_key": V1,
        "staker_address": "S1",
        "rewards_native": "1000000000",
        "commission_native": "50000000",
    },
    {
        "data_type": "REWARDS",
        "validator_key": V1,
        "staker_address": "S2",
        "rewards_native": "500000000",
        "commission_native": "25000000",
    },
    {
        "data_type": "REWARDS",
        "validator_key": V1,
        "staker_address": None,
        "rewards_native": "200000000",
        "commission_native": "0",
    },
    {
        "data_type": "META",
        "validator_key": V1,
        "commission_rate_bps": 500,
        "is_mev_enabled": True,
        "total_stake_native": "900000000000000",
        "active_stake_native": "890000000000000",
        "delegator_count": 2,
        "uptime_percentage": "99.87",
    },
    {
        "data_type": "REWARDS",
        "validator_key": V2,
        "staker_address": None,
        "rewards_native": "0.000000000000000001",
        "commission_native": "0",
    },
    {
        "data_type": "REWARDS",
        "validator_key": V2,
        "staker_address": "S3",
        "rewards_native": "99999999999999999999",  # a commission is part of the rewards: never more
        "commission_native": "12345678901234567890",
    },
]


def pnl(cli, period: str = "850", chain: str = SOL) -> dict[str, dict]:
    r = cli("--format", "json", "pnl", "show", "--chain", chain, "--period", period)
    assert r.exit_code == 0, r
    return {row["validator_key"]: row for row in r.json()}


def test_golden_pnl_for_a_hand_built_epoch(ops, tmp_path):
    f = write_jsonl(tmp_path / "e850.jsonl", HAND_BUILT)
    r = ops("run", "--chain", SOL, "--period", "850", "--file", str(f))
    assert r.exit_code == 0, r
    rows = pnl(ops)
    assert {
        k: (
            v["exec_fees_native"],
            v["mev_tips_native"],
            v["vote_rewards_native"],
            v["commission_native"],
            v["total_revenue_native"],
        )
        for k, v in rows.items()
    } == {
        V1: ("1250000000", "830000000", "200000000", "75000000", "2355000000"),
        V2: (
            "0",
            "0",
            "0.000000000000000001",
            "12345678901234567890",
            "12345678901234567890.000000000000000001",
        ),
    }
    # New validator keys were registered for the chain.
    keys = q(ops.db_url, "SELECT validator_key FROM canonical_validator_identities WHERE chain_id = %s", SOL)
    assert {V1, V2} <= {k for (k,) in keys}
    # The materialized view was refreshed.
    assert q(
        ops.db_url,
        "SELECT total_revenue_native FROM mv_validator_revenue_summary WHERE validator_key = %s",
        V1,
    ) == [(Decimal("2355000000"),)]


def test_every_canonical_number_points_at_its_raw_payload(ops, tmp_path):
    f = write_jsonl(tmp_path / "e850.jsonl", HAND_BUILT)
    assert ops("run", "--chain", SOL, "--period", "850", "--file", str(f)).exit_code == 0
    payloads = q(
        ops.db_url,
        "SELECT payload_id, validator_key, data_type::text, response_hash, raw_payload FROM staging_payloads",
    )
    assert len(payloads) == 5  # V1: FEES, MEV, REWARDS, META; V2: REWARDS
    for _, _, _, digest, raw in payloads:
        assert hashlib.sha256(canonical_json(raw)).hexdigest() == digest
    by_id = {p[0]: p for p in payloads}
    rewards = q(
        ops.db_url,
        "SELECT validator_key, staker_address, rewards_native, source_payload_id"
        " FROM canonical_stake_rewards",
    )
    assert len(rewards) == 5
    for validator, staker, amount, source in rewards:
        _, key, data_type, _, raw = by_id[source]
        assert (key, data_type) == (validator, "REWARDS")
        line = next(r for r in raw["records"] if r["staker_address"] == staker)
        assert Decimal(line["rewards_native"]) == amount
    fees = q(
        ops.db_url,
        "SELECT f.total_fees_native, sp.raw_payload FROM canonical_validator_fees f"
        " JOIN staging_payloads sp ON sp.payload_id = f.source_payload_id",
    )
    assert fees == [(Decimal("1250000000"), {"records": [HAND_BUILT[0]]})]


def test_rerun_is_idempotent_and_stages_nothing_new(ops, tmp_path):
    f = write_jsonl(tmp_path / "e850.jsonl", HAND_BUILT)
    assert ops("run", "--chain", SOL, "--period", "850", "--file", str(f)).exit_code == 0
    snapshot_sql = (
        "SELECT validator_key, exec_fees_native, mev_tips_native, vote_rewards_native,"
        " commission_native, total_revenue_native, computed_at FROM validator_pnl ORDER BY 1"
    )
    rewards_sql = "SELECT validator_key, staker_address, rewards_native, commission_native FROM canonical_stake_rewards ORDER BY 1, 2"
    before = q(ops.db_url, snapshot_sql), q(ops.db_url, rewards_sql)
    again = ops("--format", "json", "run", "--chain", SOL, "--period", "850", "--file", str(f))
    assert again.exit_code == 0, again
    ingest = again.json()["steps"][0]
    assert (ingest["staged"], ingest["unchanged"]) == (0, 5)
    assert "nothing new" in again.stderr
    assert q(ops.db_url, "SELECT count(*) FROM staging_payloads") == [(5,)]
    assert (q(ops.db_url, snapshot_sql), q(ops.db_url, rewards_sql)) == before
    runs = ops("--format", "json", "runs", "list", "--chain", SOL)
    assert [(r["status"], r["records_fetched"], r["records_staged"]) for r in runs.json()] == [
        ("SUCCESS", 5, 0),
        ("SUCCESS", 5, 5),
    ]


def test_changed_data_replaces_the_reward_set_whole(ops, tmp_path):
    assert (
        ops(
            "run",
            "--chain",
            SOL,
            "--period",
            "850",
            "--file",
            str(write_jsonl(tmp_path / "a.jsonl", HAND_BUILT)),
        ).exit_code
        == 0
    )
    # A corrected file: S2 dropped from V1, S1's commission changed.
    corrected = [r for r in HAND_BUILT if r.get("staker_address") != "S2"]
    corrected = [
        dict(r, commission_native="60000000") if r.get("staker_address") == "S1" else r for r in corrected
    ]
    assert (
        ops(
            "run",
            "--chain",
            SOL,
            "--period",
            "850",
            "--file",
            str(write_jsonl(tmp_path / "b.jsonl", corrected)),
        ).exit_code
        == 0
    )
    stakers = q(
        ops.db_url,
        "SELECT staker_address, commission_native FROM canonical_stake_rewards"
        " WHERE validator_key = %s ORDER BY 1 NULLS FIRST",
        V1,
    )
    assert stakers == [(None, Decimal(0)), ("S1", Decimal("60000000"))]
    assert pnl(ops)[V1]["commission_native"] == "60000000"


BAD_LINES = {
    "invalid JSON": '{"data_type": "FEES", "validator_key": "V9"',
    "unknown data type": {"data_type": "TIPS", "validator_key": V1},
    "unknown field": {
        "data_type": "FEES",
        "validator_key": V1,
        "total_fees_native": "1",
        "fee_count": 1,
        "x": 1,
    },
    "negative amount": {
        "data_type": "REWARDS",
        "validator_key": V1,
        "staker_address": "S9",
        "rewards_native": "-5",
        "commission_native": "0",
    },
    "non-numeric amount": {
        "data_type": "MEV",
        "validator_key": V1,
        "total_mev_native": "lots",
        "tip_count": 1,
    },
    "bps outside 0..10000": {
        "data_type": "META",
        "validator_key": V1,
        "commission_rate_bps": 10001,
        "is_mev_enabled": False,
        "total_stake_native": "1",
    },
}


@pytest.mark.parametrize("kind", list(BAD_LINES))
def test_a_bad_line_refuses_the_whole_file_by_default(ops, tmp_path, kind):
    f = write_jsonl(tmp_path / "bad.jsonl", [*HAND_BUILT[:3], BAD_LINES[kind], *HAND_BUILT[3:]])
    r = ops("ingest", "--chain", SOL, "--period", "850", "--file", str(f))
    assert r.exit_code == 1, r
    assert "line 4:" in r.stderr and "nothing was staged" in r.stderr
    assert "Traceback" not in r.stderr
    assert q(ops.db_url, "SELECT count(*) FROM staging_payloads") == [(0,)]
    assert q(ops.db_url, "SELECT status::text, records_staged FROM ingestion_runs") == [("FAILED", 0)]


def test_skip_invalid_keeps_the_good_lines_and_ends_partial(ops, tmp_path):
    f = write_jsonl(tmp_path / "bad.jsonl", [*HAND_BUILT, BAD_LINES["negative amount"]])
    r = ops(
        "--format", "json", "ingest", "--chain", SOL, "--period", "850", "--file", str(f), "--skip-invalid"
    )
    assert r.exit_code == 3, r
    doc = r.json()
    assert (doc["status"], doc["staged"], doc["invalid_lines"]) == ("PARTIAL", 5, 1)
    run = q(ops.db_url, "SELECT status::text, error_message FROM ingestion_runs")[0]
    assert run[0] == "PARTIAL" and "line 9: negative amount in 'rewards_native'" in run[1]


def test_the_committed_bad_file_lists_every_bad_line(ops, repo):
    r = ops("ingest", "--chain", SOL, "--period", "850", "--file", str(repo / "config/samples/bad/bad-lines.jsonl"))
    assert r.exit_code == 1
    assert "has 16 invalid line(s); nothing was staged" in r.stderr
    listed = [int(line.split()[2].rstrip(":")) for line in r.stderr.splitlines() if line.startswith("  - line ")]
    assert listed == [2, 3, *range(5, 17), 21, 22]
    shown = " ".join(r.stderr.split())
    assert "- line 21: commission_native 1500000000 is greater than rewards_native 1000000000" in shown
    assert (
        "- line 22: validator_key 'AuroraTest0000000000000000000000000000000000' is not a Solana vote"
        " account key (base58, 32 bytes)" in shown
    )


def test_unknown_solana_epoch_is_refused_but_ethereum_days_are_derived(ops, tmp_path):
    f = write_jsonl(tmp_path / "x.jsonl", HAND_BUILT)
    r = ops("ingest", "--chain", SOL, "--period", "999", "--file", str(f))
    assert r.exit_code == 1
    assert "unknown period 999 of solana-mainnet: add it with `aurora periods add`" in r.stderr
    eth_keys = {V1: ethereum_key(1), V2: ethereum_key(2)}
    eth = [{**record, "validator_key": eth_keys[record["validator_key"]]} for record in HAND_BUILT]
    f = write_jsonl(tmp_path / "eth.jsonl", eth)
    r = ops("ingest", "--chain", ETH, "--period", "2025-06-07", "--file", str(f))
    assert r.exit_code == 0, r
    assert q(
        ops.db_url,
        "SELECT period_start::text, period_end::text FROM canonical_periods"
        " WHERE period_identifier = '2025-06-07'",
    ) == [("2025-06-07 00:00:00+00", "2025-06-08 00:00:00+00")]


def test_periods_finalize_by_finality_lag(ops):
    for epoch, start, end in (
        ("851", "2025-09-03T01:12:00Z", "2025-09-05T02:24:00Z"),
        ("852", "2025-09-05T02:24:00Z", "2025-09-07T03:36:00Z"),
    ):
        assert (
            ops("periods", "add", "--chain", SOL, "--period", epoch, "--start", start, "--end", end).exit_code
            == 0
        )
    r = ops("--format", "json", "periods", "finalize", "--chain", SOL)
    assert r.exit_code == 0, r
    assert r.json()["finalized"] == ["850", "851"] and r.json()["waiting_for_finality"] == ["852"]
    listed = ops("--format", "json", "periods", "list", "--chain", SOL).json()
    assert [(p["period_identifier"], p["is_finalized"]) for p in listed] == [
        ("850", True),
        ("851", True),
        ("852", False),
    ]
    overlap = ops(
        "periods",
        "add",
        "--chain",
        SOL,
        "--period",
        "853",
        "--start",
        "2025-09-07T00:00:00Z",
        "--end",
        "2025-09-09T00:00:00Z",
    )
    assert overlap.exit_code == 5 and "overlap period 852" in overlap.stderr


def test_finance_may_not_run_the_pipeline(ops, tmp_path):
    ops.token = None
    ops.add_user("fin", "FINANCE")
    r = ops(
        "run",
        "--chain",
        SOL,
        "--period",
        "850",
        "--file",
        str(write_jsonl(tmp_path / "f.jsonl", HAND_BUILT)),
        token=ops.token_for("fin"),
    )
    assert r.exit_code == 4 and "may not operate" in r.stderr


def test_a_second_run_waits_or_exits_5_with_no_wait(ops, tmp_path):
    f = write_jsonl(tmp_path / "e.jsonl", HAND_BUILT)
    engine = make_engine(ops.db_url)
    try:
        with period_lock(engine, SOL, "850", wait=False, timeout_seconds=1):
            r = ops("run", "--chain", SOL, "--period", "850", "--file", str(f), "--no-wait")
            assert r.exit_code == 5, r
            assert "another Aurora run for solana-mainnet 850 is in progress" in r.stderr
            waited = ops(
                "run",
                "--chain",
                SOL,
                "--period",
                "850",
                "--file",
                str(f),
                env={"AURORA_LOCK_TIMEOUT_SECONDS": "1"},
            )
            assert waited.exit_code == 5 and "held the lock for over 1s" in waited.stderr
        assert q(ops.db_url, "SELECT count(*) FROM staging_payloads") == [(0,)]

        # A run that waits proceeds once the holder lets go.
        released = threading.Event()

        def hold_briefly() -> None:
            with period_lock(engine, SOL, "850", wait=False, timeout_seconds=1):
                released.wait(0.1)
                time.sleep(0.5)

        holder = threading.Thread(target=hold_briefly)
        holder.start()
        time.sleep(0.1)
        started = time.monotonic()
        r = ops("run", "--chain", SOL, "--period", "850", "--file", str(f))
        holder.join()
        assert r.exit_code == 0, r
        assert time.monotonic() - started >= 0.2
    finally:
        engine.dispose()


def test_the_sample_dataset_gives_the_pnl_its_generator_implies(ops, repo, tmp_path):
    expected = {(s.chain, s.period): s.validator_pnl for s in write_samples(tmp_path / "samples")}
    periods = __import__("tomllib").loads((repo / "config/samples/periods.toml").read_text())["periods"]
    for p in periods:
        if p["chain"] == SOL and p["period"] != "850":
            assert (
                ops(
                    "periods",
                    "add",
                    "--chain",
                    SOL,
                    "--period",
                    p["period"],
                    "--start",
                    p["start"],
                    "--end",
                    p["end"],
                ).exit_code
                == 0
            )
        r = ops(
            "run",
            "--chain",
            p["chain"],
            "--period",
            p["period"],
            "--file",
            str(repo / "config/samples" / p["file"]),
        )
        assert r.exit_code == 0, r
        got = pnl(ops, p["period"], p["chain"])
        want = expected[(p["chain"], p["period"])]
        assert set(got) == set(want)
        for key, figures in want.items():
            assert Decimal(got[key]["exec_fees_native"]) == figures.exec_fees_native
            assert Decimal(got[key]["mev_tips_native"]) == figures.mev_tips_native
            assert Decimal(got[key]["vote_rewards_native"]) == figures.vote_rewards_native
            assert Decimal(got[key]["commission_native"]) == figures.commission_native
            assert Decimal(got[key]["total_revenue_native"]) == figures.total_revenue_native


def test_run_continues_through_commissions_and_statements(admin_cli, repo):
    cli = admin_cli
    cli.add_epoch_850()
    assert (
        cli("agreements", "apply", str(repo / "config/samples/agreements/helios-capital.toml")).exit_code == 0
    )
    sample = str(repo / "config/samples/solana-mainnet/epoch-850.jsonl")

    # The newest period is not final: commissions are computed, statements wait.
    r = cli("--format", "json", "run", "--chain", SOL, "--period", "850", "--file", sample)
    assert r.exit_code == 0, r
    steps = {s["step"]: s for s in r.json()["steps"]}
    assert list(steps) == ["ingest", "normalize", "compute-pnl", "compute-commissions", "statements generate"]
    assert steps["compute-commissions"]["lines_added"] == 4
    assert steps["statements generate"]["skipped"] == "period not finalized"
    assert q(cli.db_url, "SELECT count(*) FROM partner_commission_statements") == [(0,)]

    r = cli(
        "--format", "json", "run", "--chain", SOL, "--period", "850", "--file", sample, "--allow-unfinalized"
    )
    assert r.exit_code == 0, r
    assert r.json()["steps"][3]["lines_unchanged"] == 4
    statement = q(
        cli.db_url,
        "SELECT s.status::text, s.total_commission_native, s.line_count, s.metadata"
        " FROM partner_commission_statements s",
    )
    lines_total = q(cli.db_url, "SELECT sum(final_amount_native) FROM partner_commission_lines")[0][0]
    assert statement[0][:3] == ("DRAFT", lines_total, 4)
    assert statement[0][3]["allow_unfinalized"] is True
    # Every step of the run is audited under the one correlation id of the invocation.
    actions = q(
        cli.db_url,
        "SELECT action::text FROM audit_log WHERE correlation_id ="
        " (SELECT correlation_id FROM audit_log WHERE action = 'RECOMPUTE' ORDER BY seq DESC LIMIT 1)"
        " ORDER BY seq",
    )
    assert [a for (a,) in actions] == [
        "INGESTION_RUN",
        "NORMALIZATION_RUN",
        "PNL_COMPUTE",
        "RECOMPUTE",
        "GENERATE_STATEMENT",
        "COMMAND",
    ]


def test_an_ops_run_stops_after_pnl_and_says_why(ops, repo):
    r = ops(
        "run",
        "--chain",
        SOL,
        "--period",
        "850",
        "--file",
        str(repo / "config/samples/solana-mainnet/epoch-850.jsonl"),
    )
    assert r.exit_code == 0, r
    assert "Commissions and statements not computed: ops (OPS)" in r.stderr


def test_users_limited_to_chains_and_validators_see_only_those(ops, tmp_path):
    assert (
        ops(
            "run",
            "--chain",
            SOL,
            "--period",
            "850",
            "--file",
            str(write_jsonl(tmp_path / "e.jsonl", HAND_BUILT)),
        ).exit_code
        == 0
    )
    ops.token = None
    ops.add_user("eth-only", "OPS", "password-123", "--chains", ETH)
    ops.add_user("v1-only", "AUDITOR", "password-123", "--validators", V1)
    eth = ops.token_for("eth-only")
    refused = ops("pnl", "show", "--chain", SOL, token=eth)
    assert (
        refused.exit_code == 4 and "may only work on ethereum-mainnet, not solana-mainnet" in refused.stderr
    )
    assert ops("compute-pnl", "--chain", SOL, "--period", "850", token=eth).exit_code == 4
    narrowed = ops("--format", "json", "pnl", "show", "--chain", SOL, token=ops.token_for("v1-only"))
    assert narrowed.exit_code == 0, narrowed
    assert [row["validator_key"] for row in narrowed.json()] == [V1]
