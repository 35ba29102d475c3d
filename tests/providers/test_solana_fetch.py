"""Solana providers end to end over real loopback HTTP: given a scripted epoch (solana_chain.py),
when `aurora ingest` / `aurora run` fetch without --file, then exact canonical amounts, runs,
attempt counts, faults, gap-filling reruns and no secret anywhere."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from aurora_cli.providers.http import RetryPolicy
from aurora_cli.services import fetch
from tests.providers import solana_chain as chain
from tests.providers.http_server import Reply
from tests.providers.solana_chain import EPOCH, V1, V2, VOTE2

SOL = "solana-mainnet"
REPO = Path(__file__).resolve().parents[2]
TOKEN = "pathT0KEN-9f8e7d"
QUERY_KEY = "queryKEY-4c3b2a"
BEACH_KEY = "beachKEY-1a2b3c"
FAST = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.02, max_total_wait=2)


def q(db_url: str, query: str, *params):
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def config_dir(tmp_path: Path, server, *, beach: bool = False) -> Path:
    """The committed config with the Solana providers pointed at the loopback server: the RPC
    base URL carries a path token from the environment and a query token, like hosted RPCs."""
    target = tmp_path / "config"
    shutil.copytree(REPO / "config", target)
    text = (target / "providers.toml").read_text()
    text = text.replace('base_url = "https://api.mainnet-beta.solana.com"',
                        f'base_url = "{server.url}/${{T_SOLANA_TOKEN}}/?api-key=${{T_QUERY_KEY}}"')
    text = text.replace('base_url = "https://kobe.mainnet.jito.network"', f'base_url = "{server.url}"')
    text = text.replace('base_url = "https://api.solanabeach.io/v2"', f'base_url = "{server.url}/beach"')
    text = text.replace("retry_attempts = 5", "retry_attempts = 3\nretry_initial_wait_seconds = 0.01")
    text = text.replace('api_key_env = "AURORA_SOLANABEACH_API_KEY"', 'api_key_env = "T_BEACH_KEY"')
    if beach:
        text = text.replace("is_enabled = false                 # needs an API key", "is_enabled = true #")
    (target / "providers.toml").write_text(text)
    (target / "validators.toml").write_text(chain.validators_toml())
    server.rpc_path = f"/{TOKEN}/"
    return target


@pytest.fixture
def solana(http_server, tmp_path, monkeypatch, admin_cli):
    monkeypatch.setenv("T_SOLANA_TOKEN", TOKEN)
    monkeypatch.setenv("T_QUERY_KEY", QUERY_KEY)
    monkeypatch.setenv("T_BEACH_KEY", BEACH_KEY)
    chain.serve_solana(http_server)
    r = admin_cli("config", "apply", "--dir", str(config_dir(tmp_path, http_server)))
    assert r.exit_code == 0, r
    only_test_validators(admin_cli.db_url)
    return http_server


def only_test_validators(db_url: str) -> None:
    """config apply keeps the committed sample validators; these tests fetch for V1 and V2 only."""
    q(db_url, "UPDATE canonical_validator_identities SET is_active = false WHERE validator_key NOT IN (%s, %s)", V1, V2)


def canonical(db_url: str) -> dict:
    fees = {k: (int(a), n) for k, a, n in q(db_url, "SELECT validator_key, total_fees_native, fee_count FROM canonical_validator_fees")}
    mev = {k: int(a) for k, a in q(db_url, "SELECT validator_key, total_mev_native FROM canonical_validator_mev")}
    rewards: dict = {}
    for k, s, r, c in q(db_url, "SELECT validator_key, staker_address, rewards_native, commission_native FROM canonical_stake_rewards"):
        rewards.setdefault(k, {})[s] = (int(r), int(c))
    meta = {k: (b, int(s), m) for k, b, s, m in q(db_url, "SELECT validator_key, commission_rate_bps, total_stake_native, is_mev_enabled FROM canonical_validator_meta")}
    return {"fees": fees, "mev": mev, "rewards": rewards, "meta": meta}


def test_ingest_fetches_every_mapped_role_with_exact_amounts(solana, admin_cli, db_url):
    r = admin_cli("ingest", "--chain", SOL, "--period", str(EPOCH))
    # jito has V2's epoch at mev_rewards 0: not yet available → PARTIAL (exit 3), never a zero row.
    assert r.exit_code == 3, r
    assert "not yet available: ValidatorTwo MEV" in r.stderr
    runs = dict(q(db_url, "SELECT metadata->>'provider', status::text FROM ingestion_runs"))
    assert runs == {"solana-rpc": "SUCCESS", "jito": "PARTIAL"}
    # The epoch was registered from the RPC: first block time of 850 and of 851 (its first slot skipped).
    (start, end), = q(db_url, "SELECT period_start, period_end FROM canonical_periods WHERE period_identifier = '850'")
    assert int(start.timestamp()) == 1756684800 and int(end.timestamp()) == 1756684800 + (432000 + 1) * 2 // 5

    r = admin_cli("normalize", "--chain", SOL, "--period", str(EPOCH))
    assert r.exit_code == 0, r
    got = canonical(db_url)
    assert got["fees"] == chain.EXPECTED_FEES
    assert got["mev"] == chain.EXPECTED_MEV
    assert got["rewards"] == chain.EXPECTED_REWARDS
    assert got["meta"] == chain.EXPECTED_META
    assert sum(c for _, c in got["rewards"][V1].values()) == 1001

    # Requests: solana-rpc = periods sync (getEpochSchedule, getEpochInfo, 3 getBlockTime) + run
    # (getEpochSchedule) + per validator FEES 1 + 1 batch (V1 only), REWARDS 2, META 1.
    (meta,), = q(db_url, "SELECT metadata FROM ingestion_runs WHERE metadata->>'provider' = 'solana-rpc'")
    endpoints = meta["endpoints"]
    assert endpoints["getBlock"]["requests"] == 1 and endpoints["getLeaderSchedule"]["requests"] == 2
    assert endpoints["getInflationReward"]["requests"] == 2 and endpoints["getVoteAccounts"]["requests"] == 2
    assert meta["notes"]["skipped_slots"] == {V1: 1, V2: 0}
    assert len(chain_calls := solana.rpc_calls("getBlock")) == 5 and chain_calls[0][0] == chain.FIRST_SLOT


def test_rerun_is_deduplicated_and_runs_show_prints_endpoint_stats(solana, admin_cli, db_url):
    assert admin_cli("ingest", "--chain", SOL, "--period", str(EPOCH)).exit_code == 3
    staged = q(db_url, "SELECT count(*) FROM staging_payloads")[0][0]
    assert staged == 7  # rpc: 2 validators × 3 roles; jito: V1
    r = admin_cli("ingest", "--chain", SOL, "--period", str(EPOCH), "--format", "json")
    assert r.exit_code == 3, r
    assert q(db_url, "SELECT count(*) FROM staging_payloads")[0][0] == staged
    rpc_run = next(run for run in r.json()["runs"] if run["provider"] == "solana-rpc")
    assert rpc_run["unchanged"] == 6 and rpc_run["staged"] == 0
    shown = admin_cli("runs", "show", str(rpc_run["run_id"]))
    assert shown.exit_code == 0, shown
    assert "getInflationReward" in shown.stderr and "Requests per endpoint" in shown.stderr


def test_500_forever_for_one_item_then_gap_filling_rerun_equals_a_clean_run(solana, admin_cli, db_url):
    clean_handler = solana.rpc_handlers["getInflationReward"]

    def broken(params):
        return Reply(status=500, body={"error": "boom"}) if VOTE2 in params[0] else clean_handler(params)

    solana.rpc("getInflationReward", broken)
    r = admin_cli("ingest", "--chain", SOL, "--period", str(EPOCH), "--provider", "solana-rpc")
    assert r.exit_code == 3, r
    assert "failed: ValidatorTwo REWARDS (getInflationReward): HTTP 500 (gave up after retries)" in r.stderr
    (status, error, meta), = q(db_url, "SELECT status::text, error_message, metadata FROM ingestion_runs")
    assert status == "PARTIAL" and "ValidatorTwo REWARDS (getInflationReward)" in error
    assert meta["endpoints"]["getInflationReward"]["requests"] == 1 + 3  # V1 once, V2 three attempts
    assert meta["endpoints"]["getInflationReward"]["retries"] == 2
    assert q(db_url, "SELECT count(*) FROM staging_payloads")[0][0] == 5

    solana.rpc("getInflationReward", clean_handler)
    r = admin_cli("ingest", "--chain", SOL, "--period", str(EPOCH), "--provider", "solana-rpc", "--format", "json")
    assert r.exit_code == 0, r
    assert r.json()["runs"][0]["staged"] == 1 and r.json()["runs"][0]["unchanged"] == 5
    assert admin_cli("ingest", "--chain", SOL, "--period", str(EPOCH), "--provider", "jito").exit_code == 3
    assert admin_cli("normalize", "--chain", SOL, "--period", str(EPOCH)).exit_code == 0
    got = canonical(db_url)
    assert got["rewards"] == chain.EXPECTED_REWARDS and got["fees"] == chain.EXPECTED_FEES


def test_schema_changed_and_truncated_responses_fail_the_item_naming_the_field(solana, admin_cli, db_url):
    solana.rpc("getVoteAccounts", lambda p: {"current": [{"votePubkey": p[0]["votePubkey"], "commission": "7%",
                                                          "activatedStake": 1}], "delinquent": []})
    solana.route("GET", f"/api/v1/validators/{chain.VOTE1}", Reply(body=[{"epoch": 850}] * 50, truncate=30))
    r = admin_cli("ingest", "--chain", SOL, "--period", str(EPOCH))
    assert r.exit_code == 1, r  # the jito run fetched nothing: FAILED
    assert "failed: ValidatorOne META (META): field current.0.commission" in r.stderr
    assert "not valid JSON (truncated?)" in r.stderr
    assert "Traceback" not in r.stderr
    meta_rows = q(db_url, "SELECT count(*) FROM staging_payloads WHERE data_type = 'META'")[0][0]
    assert meta_rows == 0
    (jito_status,), = q(db_url, "SELECT status::text FROM ingestion_runs WHERE metadata->>'provider' = 'jito'")
    assert jito_status == "FAILED"  # nothing of jito could be fetched (V1 truncated, V2 not yet)


def test_429_retry_after_and_timeouts_are_retried_within_bounds(solana, engine, admin_cli, db_url):
    solana.rpc_faults.extend([Reply(status=429, headers={"Retry-After": "0"}), Reply(status=503)])
    # Periods must exist first (fetch registers them through the same RPC, which would eat the faults).
    assert admin_cli("periods", "sync", "--chain", SOL, "--from", "850", "--to", "850").exit_code == 0
    solana.rpc_faults.extend([Reply(status=429, headers={"Retry-After": "0"}), Reply(status=503)])
    report = fetch.fetch_period(engine, chain_id=SOL, period=str(EPOCH), providers=["solana-rpc"], policy=FAST)
    run = report.runs[0]
    assert run.status == "SUCCESS" and run.staged == 6
    assert run.endpoints["getEpochSchedule"]["statuses"] == {"200": 1, "429": 1, "503": 1}
    assert run.endpoints["getEpochSchedule"]["retries"] == 2


def test_interrupted_fetch_ends_the_run_failed_keeping_what_was_staged(solana, engine, admin_cli, db_url):
    assert admin_cli("periods", "sync", "--chain", SOL, "--from", "850", "--to", "850").exit_code == 0

    def stop_after_two(provider, done, total, retries):
        if done == 2:
            raise KeyboardInterrupt("terminated by signal 15")

    with pytest.raises(KeyboardInterrupt):
        fetch.fetch_period(engine, chain_id=SOL, period=str(EPOCH), providers=["solana-rpc"], policy=FAST,
                           on_progress=stop_after_two)
    (status, error), = q(db_url, "SELECT status::text, error_message FROM ingestion_runs")
    assert status == "FAILED" and error.startswith("interrupted")
    assert q(db_url, "SELECT count(*) FROM staging_payloads")[0][0] == 2
    again = fetch.fetch_period(engine, chain_id=SOL, period=str(EPOCH), providers=["solana-rpc"], policy=FAST)
    assert again.runs[0].staged == 4 and again.runs[0].unchanged == 2


def test_missing_identity_is_a_clear_item_error(solana, admin_cli, tmp_path, db_url):
    q(db_url, "UPDATE canonical_validator_identities SET identity_pubkey = NULL WHERE validator_key = %s", V2)
    r = admin_cli("ingest", "--chain", SOL, "--period", str(EPOCH), "--provider", "solana-rpc")
    assert r.exit_code == 3, r
    assert "validator ValidatorTwo has no identity_pubkey in config/validators.toml" in r.stderr


def test_no_secret_reaches_the_database_or_verbose_output(http_server, tmp_path, monkeypatch, admin_cli, db_url):
    monkeypatch.setenv("T_SOLANA_TOKEN", TOKEN)
    monkeypatch.setenv("T_QUERY_KEY", QUERY_KEY)
    monkeypatch.setenv("T_BEACH_KEY", BEACH_KEY)
    chain.serve_solana(http_server)
    beach = {"votePubkey": chain.VOTE1, "commission": 7.5, "activatedStake": 42, "delegatorCount": 3}

    def beach_reply(entry):
        assert entry.headers.get("Authorization") == f"Bearer {BEACH_KEY}"
        return Reply(body={**beach, "votePubkey": entry.path.rsplit("/", 1)[1]})

    for vote in (chain.VOTE1, chain.VOTE2):
        http_server.route("GET", f"/beach/validator/{vote}", beach_reply)
    http_server.route("GET", "/beach/health", Reply(body={}))
    assert admin_cli("config", "apply", "--dir", str(config_dir(tmp_path, http_server, beach=True))).exit_code == 0
    only_test_validators(db_url)
    outputs = [
        admin_cli("--verbose", "run", "--chain", SOL, "--period", str(EPOCH), "--allow-unfinalized"),
        admin_cli("--verbose", "providers", "list"),
        admin_cli("--verbose", "providers", "check", "solana-rpc", "jito", "solanabeach"),
    ]
    assert outputs[0].exit_code == 3, outputs[0]
    assert outputs[2].exit_code == 0, outputs[2]
    assert q(db_url, "SELECT commission_rate_bps FROM canonical_validator_meta WHERE validator_key = %s", V1) == [(750,)]
    # A staged META from solanabeach; the higher-priority one won.
    dump = "".join(o.stdout + o.stderr for o in outputs)
    for table in ("staging_payloads", "ingestion_runs", "audit_log", "providers"):
        dump += str(q(db_url, f"SELECT * FROM {table}"))
    for secret in (TOKEN, QUERY_KEY, BEACH_KEY):
        assert secret not in dump
    assert "${T_SOLANA_TOKEN}" in outputs[1].stderr + outputs[1].stdout


def test_previous_period_resolves_from_the_rpc_and_is_audited(solana, admin_cli, db_url):
    r = admin_cli("ingest", "--chain", SOL, "--period", "previous", "--provider", "jito")
    assert "period previous of solana-mainnet is 851." in r.stderr
    assert q(db_url, "SELECT count(*) FROM audit_log WHERE after_snapshot->>'resolved' = '851'")[0][0] == 1


def test_providers_check_reports_an_offline_provider(solana, admin_cli, db_url):
    q(db_url, "UPDATE providers SET base_url = 'http://127.0.0.1:9' WHERE provider_name = 'jito'")
    r = admin_cli("providers", "check", "jito", "solana-rpc")
    assert r.exit_code == 1, r
    assert "offline:" in r.stderr and "jito" in r.stderr
