"""Start-up (issue 12): what a simple read imports, checked in a fresh interpreter, not timed.

`aurora --help` and `--version` import no database library; `aurora whoami` and `aurora periods
list` run for real against the suite's database (authenticate, read, write their audit row) without
importing the ORM models (`aurora_cli.db.models`, ~0.2 s); `whoami` not even `sqlalchemy.orm`. The
timings themselves are measured outside the suite (see the lead's report and `make bench`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.statement_fixtures import sql

# Runs the real CLI in a fresh interpreter and, at exit (after the command's own SystemExit), prints
# the modules it had imported as the last line of stderr.
PROBE = """
import atexit, json, sys
atexit.register(lambda: print("\\nMODULES " + json.dumps(sorted(sys.modules)), file=sys.stderr))
sys.argv = ["aurora", *sys.argv[1:]]
from aurora_cli.cli.app import main
main()
"""
HEAVY = ("aurora_cli.db.models", "sqlalchemy.orm", "alembic")  # alembic: on an external URL too


def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, set[str]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AURORA_")} | (env or {})
    r = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=environment, timeout=60
    )
    marker = r.stderr.rfind("MODULES ")
    assert marker >= 0, r.stderr
    return r, set(json.loads(r.stderr[marker + len("MODULES ") :].splitlines()[0]))


@pytest.mark.parametrize("args", [("--help",), ("--version",)])
def test_help_and_version_import_no_database_library(args, tmp_path):
    r, modules = run_cli(*args, env={"HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()
    loaded = {m for m in modules if m.split(".")[0] in ("sqlalchemy", "psycopg", "pydantic", "alembic")}
    assert not loaded, sorted(loaded)


@pytest.fixture
def reader_env(admin_cli) -> dict[str, str]:
    admin_cli.add_epoch_850()
    admin_cli.add_user("reader", "AUDITOR")
    return {
        "AURORA_DATABASE_URL": admin_cli.app_db_url,
        "AURORA_TOKEN": admin_cli.token_for("reader"),
        "AURORA_DATA_DIR": str(admin_cli.home / "data"),
        "AURORA_CREDENTIALS": str(admin_cli.home / "credentials"),
        "HOME": str(admin_cli.home),
        "AURORA_AUDIT_KEY": os.environ["AURORA_AUDIT_KEY"],
    }


def test_simple_reads_run_without_the_orm_models(admin_cli, reader_env):
    who, modules = run_cli("--format", "json", "whoami", env=reader_env)
    assert who.returncode == 0, who.stderr
    assert json.loads(who.stdout[: who.stdout.rindex("}") + 1])["username"] == "reader"
    assert not set(HEAVY) & modules, sorted(set(HEAVY) & modules)

    for chain_words in ((), ("--chain", "solana-mainnet")):  # the chain check is Core SQL too
        periods, modules = run_cli("--format", "json", "periods", "list", *chain_words, env=reader_env)
        assert periods.returncode == 0, periods.stderr
        assert [p["period_identifier"] for p in json.loads(periods.stdout)] == ["850"]
        assert not {"aurora_cli.db.models", "alembic"} & modules

    # Both invocations were audited (Core SQL, keyed chain) and the chain still verifies.
    rows = sql(
        admin_cli.db_url,
        "SELECT resource_id, after_snapshot->>'exit_code' FROM audit_log a JOIN users u USING (user_id)"
        " WHERE u.username = 'reader' AND action = 'COMMAND' ORDER BY seq",
    )
    assert rows == [("whoami", "0"), ("periods list", "0"), ("periods list", "0")]
    verify = admin_cli("audit", "verify")
    assert verify.exit_code == 0 and "intact" in verify.stderr + verify.stdout, verify


def test_a_refused_token_is_still_one_sentence_without_the_models(admin_cli, reader_env):
    bogus, modules = run_cli("whoami", env=reader_env | {"AURORA_TOKEN": "aur_not-a-token"})
    assert bogus.returncode == 4
    assert "the token is not valid for this database" in " ".join(bogus.stderr.split())
    assert "aurora_cli.db.models" not in modules
