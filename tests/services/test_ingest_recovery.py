"""An ingestion run never stays RUNNING after its process is gone: SIGTERM unwinds the command (run
FAILED, nothing staged, invocation audited), and a run left RUNNING by a process that died outright
is marked FAILED when the next ingest of the same (chain, period, provider) starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from aurora_cli.cli.exit_codes import ExitCode
from aurora_cli.db.engine import transaction
from aurora_cli.devtools.synthetic import write_period_file
from aurora_cli.services import ingest
from aurora_cli.services.config_apply import apply_config, read_config
from tests.validator_keys import solana_key

SOL = "solana-mainnet"
REPO = Path(__file__).resolve().parents[2]
AURORA = REPO / ".venv" / "bin" / "aurora"


def q(db_url: str, query: str, *params):
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


@pytest.fixture
def seeded(engine, repo):
    with transaction(engine) as session:
        apply_config(session, read_config(repo / "config"))
        for period, start, end in (
            ("850", "2025-09-01T00:00:00Z", "2025-09-03T01:12:00Z"),
            ("851", "2025-09-03T01:12:00Z", "2025-09-05T02:24:00Z"),
        ):
            session.execute(
                text(
                    "INSERT INTO canonical_periods (chain_id, period_identifier, period_start, period_end)"
                    " VALUES (:c, :p, :s, :e)"
                ),
                {"c": SOL, "p": period, "s": start, "e": end},
            )
    return engine


def running_run(engine, period: str, provider: str) -> uuid.UUID:
    with transaction(engine) as session:
        return session.execute(
            text(
                "INSERT INTO ingestion_runs (chain_id, period_id, status, started_at, metadata)"
                " SELECT chain_id, period_id, 'RUNNING', now() - interval '1 hour', CAST(:m AS jsonb)"
                " FROM canonical_periods WHERE chain_id = :c AND period_identifier = :p"
                " RETURNING run_id"
            ),
            {"c": SOL, "p": period, "m": json.dumps({"provider": provider})},
        ).scalar_one()


def test_a_run_left_running_is_marked_failed_when_the_next_ingest_starts(seeded, db_url, tmp_path):
    stale = running_run(seeded, "850", "file")
    other_provider = running_run(seeded, "850", "jito")
    other_period = running_run(seeded, "851", "file")
    path = tmp_path / "f.jsonl"
    path.write_text(
        json.dumps(
            {"data_type": "FEES", "validator_key": solana_key("V1"), "total_fees_native": "1", "fee_count": 1}
        )
        + "\n"
    )

    result = ingest.ingest_file(seeded, chain_id=SOL, period="850", path=path)

    assert result.status == "SUCCESS"
    runs = {
        run_id: (status, message, completed is not None, metadata)
        for run_id, status, message, completed, metadata in q(
            db_url, "SELECT run_id, status::text, error_message, completed_at, metadata FROM ingestion_runs"
        )
    }
    assert runs[stale][:3] == ("FAILED", "abandoned: the process ended before the run finished", True)
    assert runs[other_provider][:3] == ("RUNNING", None, False)
    assert runs[other_period][:3] == ("RUNNING", None, False)
    assert runs[result.run_id][0] == "SUCCESS"
    assert runs[result.run_id][3]["abandoned_runs"] == [str(stale)]


def test_sigterm_fails_the_run_stages_nothing_and_audits_the_invocation(admin_cli, tmp_path):
    cli = admin_cli
    cli.add_user("ops", "OPS")
    token = cli.token_for("ops")
    cli.add_epoch_850()
    big = tmp_path / "big.jsonl"
    write_period_file(big, SOL, "850", 20, 20_000, seed=7)

    env = {
        **os.environ,
        "AURORA_DATABASE_URL": cli.db_url,
        "AURORA_TOKEN": token,
        "AURORA_CREDENTIALS": str(cli.credentials),
        "AURORA_DATA_DIR": str(cli.home / "data"),
        "HOME": str(cli.home),
    }
    proc = subprocess.Popen(
        [str(AURORA), "ingest", "--chain", SOL, "--period", "850", "--file", str(big)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not q(cli.db_url, "SELECT 1 FROM ingestion_runs WHERE status = 'RUNNING'"):
            assert proc.poll() is None, f"aurora ended before its run started: {proc.communicate()}"
            assert time.monotonic() < deadline, "the ingestion run never appeared"
            time.sleep(0.05)
        time.sleep(1.5)
        assert proc.poll() is None, (
            f"the ingest finished before it could be interrupted: {proc.communicate()}"
        )
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    assert proc.returncode != 0
    assert proc.returncode == ExitCode.ERROR, (proc.returncode, stderr)  # unwound, not killed
    assert "Traceback" not in stderr
    assert q(cli.db_url, "SELECT status::text FROM ingestion_runs") == [("FAILED",)]
    assert q(cli.db_url, "SELECT count(*) FROM staging_payloads") == [(0,)]
    audited = q(
        cli.db_url,
        "SELECT after_snapshot FROM audit_log WHERE action = 'COMMAND' AND resource_id = 'ingest'",
    )
    assert len(audited) == 1
    assert audited[0][0]["exit_code"] == ExitCode.ERROR and audited[0][0]["error"] == "interrupted"
