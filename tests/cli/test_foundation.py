"""The CLI frame: users, authentication, permissions, audit rows, config apply."""

from __future__ import annotations

import json
import stat
import uuid

import psycopg
import pytest

from aurora_cli.db.migrate import head_revision


def audit_rows(db_url: str, correlation_id: str) -> list[tuple]:
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql")) as conn:
        return conn.execute(
            "SELECT action::text, resource_id, after_snapshot FROM audit_log WHERE correlation_id = %s ORDER BY seq",
            (correlation_id,),
        ).fetchall()


def sql(db_url: str, query: str, *params):
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def test_bootstrap_admin_works_only_once(cli):
    first = cli(
        "users",
        "bootstrap-admin",
        "--username",
        "alice",
        "--email",
        "a@x.io",
        "--password-stdin",
        input="secret-pass-1\n",
    )
    assert first.exit_code == 0, first
    second = cli(
        "users",
        "bootstrap-admin",
        "--username",
        "bob",
        "--email",
        "b@x.io",
        "--password-stdin",
        input="secret-pass-2\n",
    )
    assert second.exit_code == 5
    assert "users already exist" in second.stderr
    assert sql(cli.db_url, "SELECT username, role::text FROM users") == [("alice", "ADMIN")]
    stored = sql(cli.db_url, "SELECT password_hash FROM users")[0][0]
    assert stored.startswith("$2b$") and "secret-pass-1" not in stored


def test_login_right_and_wrong_password(cli):
    cli.admin("alice", "secret-pass-1")
    mode = stat.S_IMODE(cli.credentials.stat().st_mode)
    assert mode == 0o600
    who = cli("--format", "json", "whoami")
    assert who.exit_code == 0, who
    assert who.json()["username"] == "alice" and who.json()["role"] == "ADMIN"

    wrong = cli("login", "--username", "alice", "--password-stdin", input="not-the-password\n")
    assert wrong.exit_code == 4
    assert "wrong username or password" in wrong.stderr
    assert "Traceback" not in wrong.stderr

    logout = cli("logout")
    assert logout.exit_code == 0 and not cli.credentials.exists()
    after = cli("whoami")
    assert after.exit_code == 4 and "not logged in" in after.stderr


def test_service_token_authenticates_and_is_stored_hashed(cli):
    cli.admin()
    cli.add_user("cron", "OPS")
    token = cli.token_for("cron")
    assert token.startswith("aur_") and "\n" not in token
    assert sql(cli.db_url, "SELECT count(*) FROM user_tokens WHERE token_hash = %s", token) == [(0,)]
    who = cli("--format", "json", "whoami", token=token)
    assert who.exit_code == 0, who
    assert who.json()["username"] == "cron" and who.json()["role"] == "OPS"
    bogus = cli("whoami", token="aur_not-a-real-token")
    assert bogus.exit_code == 4 and "not valid" in bogus.stderr


def test_deactivated_user_token_stops_working(cli):
    cli.admin()
    cli.add_user("finn", "FINANCE")
    token = cli.token_for("finn")
    assert cli("users", "deactivate", "finn").exit_code == 0
    r = cli("whoami", token=token)
    assert r.exit_code == 4 and "revoked" in r.stderr


def test_permission_refused_with_exit_4_and_audited(cli):
    cli.admin()
    cli.add_user("opsy", "OPS")
    token = cli.token_for("opsy")
    cid = str(uuid.uuid4())
    refused = cli("--correlation-id", cid, "users", "list", token=token)
    assert refused.exit_code == 4
    assert "permission denied: opsy (OPS) may not administer" in refused.stderr
    rows = audit_rows(cli.db_url, cid)
    assert [(r[0], r[1]) for r in rows] == [("COMMAND", "users list")]
    assert rows[0][2]["outcome"] == "refused" and rows[0][2]["exit_code"] == 4


@pytest.mark.parametrize(
    ("args", "expected_code"),
    [
        (("users", "list"), 0),
        (("users", "add", "--username", "x", "--email", "x@y.z", "--role", "KING", "--password-stdin"), 1),
        (("users", "add", "--no-such-option"), 2),
    ],
)
def test_every_invocation_writes_an_audit_row(cli, args, expected_code):
    cli.admin()
    cid = str(uuid.uuid4())
    result = cli("--correlation-id", cid, *args, input="password-123\n")
    assert result.exit_code == expected_code, result
    rows = audit_rows(cli.db_url, cid)
    commands = [r for r in rows if r[0] == "COMMAND"]
    assert len(commands) == 1
    assert commands[0][2]["exit_code"] == expected_code
    assert "password-123" not in json.dumps(rows)


def test_errors_are_one_sentence_without_traceback(cli):
    cli.admin()
    r = cli(
        "users",
        "add",
        "--username",
        "x",
        "--email",
        "nope",
        "--role",
        "KING",
        "--password-stdin",
        input="password-123\n",
    )
    assert r.exit_code == 1
    assert "Traceback" not in r.stderr
    assert "--role: unknown role 'KING'" in r.stderr and "--email: not an e-mail address" in r.stderr
    assert "correlation id" in r.stderr


def test_config_apply_is_idempotent(cli, repo):
    cli.admin()
    first = cli("--format", "json", "config", "apply", "--dir", str(repo / "config"))
    assert first.exit_code == 0, first
    created = {row["kind"]: row["created"] for row in first.json()}
    assert created["chains"] == 2 and created["providers"] == 6 and created["mappings"] >= 8
    snapshot = sql(
        cli.db_url,
        "SELECT chain_id, provider_role, priority, is_active FROM chain_provider_mappings ORDER BY 1,2,3",
    )
    second = cli("--format", "json", "config", "apply", "--dir", str(repo / "config"))
    assert second.exit_code == 0
    assert all(row["created"] == row["updated"] == row["deactivated"] == 0 for row in second.json())
    assert "Nothing changed" in second.stderr
    assert (
        sql(
            cli.db_url,
            "SELECT chain_id, provider_role, priority, is_active FROM chain_provider_mappings ORDER BY 1,2,3",
        )
        == snapshot
    )
    # The file provider serves every role of both chains.
    file_roles = sql(
        cli.db_url,
        "SELECT m.chain_id, m.provider_role FROM chain_provider_mappings m JOIN providers p USING (provider_id)"
        " WHERE p.provider_name = 'file' AND m.is_active ORDER BY 1, 2",
    )
    assert len(file_roles) == 8
    assert sql(cli.db_url, "SELECT count(*) FROM audit_log WHERE action = 'CONFIG_APPLY'") == [(1,)]


def test_config_apply_refuses_a_bad_file_and_writes_nothing(cli, repo, tmp_path):
    cli.admin()
    bad = tmp_path / "cfg"
    bad.mkdir()
    for name in ("providers.toml", "validators.toml"):
        (bad / name).write_text((repo / "config" / name).read_text())
    (bad / "chains.toml").write_text('[[chains]]\nchain_id = "x"\nname = "X"\nperiod_type = "WEEK"\n')
    r = cli("config", "apply", "--dir", str(bad))
    assert r.exit_code == 1
    assert "chains.0.period_type" in r.stderr
    assert sql(cli.db_url, "SELECT count(*) FROM chains") == [(0,)]


def test_audit_chain_verifies_and_detects_tampering(cli):
    cli.admin()
    cli("users", "list")
    ok = cli("--format", "json", "audit", "verify")
    assert ok.exit_code == 0 and ok.json()["intact"] is True and ok.json()["rows_checked"] >= 3
    # Tamper as the database owner (the trigger refuses even that until disabled).
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        sql(cli.db_url, "UPDATE audit_log SET reason = 'x'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        sql(cli.db_url, "TRUNCATE audit_log")
    sql(cli.db_url, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    victim = sql(cli.db_url, "SELECT seq FROM audit_log ORDER BY seq LIMIT 1 OFFSET 1")[0][0]
    sql(cli.db_url, "UPDATE audit_log SET reason = 'edited' WHERE seq = %s", victim)
    broken = cli("--format", "json", "audit", "verify")
    assert broken.exit_code == 1  # issue 10: a broken chain is an error
    assert broken.json()["intact"] is False and broken.json()["broken_at_seq"] == victim


def test_global_options_are_accepted_after_the_subcommand(cli):
    cli.admin()
    r = cli("users", "list", "--format", "json")
    assert r.exit_code == 0, r
    assert [u["username"] for u in r.json()] == ["root-admin"]


def test_db_status_reports_the_external_database(cli):
    r = cli("--format", "json", "db", "status")
    assert r.exit_code == 0, r
    doc = r.json()
    assert doc["running"] is True and doc["revision"] == head_revision()
    assert set(doc) == {"url", "running", "data_dir", "revision", "app_role"}  # SPEC §2 + the role (issue 10)
    assert doc["app_role"]["name"] == "aurora_app"


def test_db_downgrade_and_upgrade_an_external_database(cli):
    cli.admin()
    head = head_revision()
    down = cli("db", "downgrade", "004", "--yes")
    assert down.exit_code == 0, down
    assert sql(cli.db_url, "SELECT version_num FROM alembic_version") == [("004",)]
    assert sql(cli.db_url, "SELECT to_regclass('partner_stake_attributions')") == [(None,)]
    up = cli("db", "upgrade")
    assert up.exit_code == 0, up
    assert f"to {head}" in up.stderr
    assert sql(cli.db_url, "SELECT version_num FROM alembic_version") == [(head,)]
    migrations = sql(
        cli.db_url,
        "SELECT before_snapshot->>'revision', after_snapshot->>'revision' FROM audit_log"
        " WHERE action = 'DB_MIGRATE' ORDER BY seq",
    )
    assert migrations == [(head, "004"), ("004", head)]


def test_db_migrations_need_an_admin_once_users_exist(cli):
    cli.admin()
    cli.add_user("opsy", "OPS")
    r = cli("db", "downgrade", "004", "--yes", token=cli.token_for("opsy"))
    assert r.exit_code == 4
    assert sql(cli.db_url, "SELECT version_num FROM alembic_version") == [(head_revision(),)]


def test_machine_output_is_the_data_verbatim(cli):
    cli.admin()
    cli(
        "users",
        "add",
        "--username",
        "odd",
        "--email",
        ":smile:[bold]x@example.com",
        "--role",
        "AUDITOR",
        "--password-stdin",
        input="password-123\n",
    )
    doc = cli("--format", "json", "users", "list").json()
    assert ":smile:[bold]x@example.com" in [u["email"] for u in doc]
    csv_out = cli("--format", "csv", "users", "list").stdout
    assert ":smile:[bold]x@example.com" in csv_out


def test_audit_rows_from_before_the_chain_are_chained_on_upgrade(cli):
    from datetime import UTC, datetime

    from aurora_cli.services.audit import change_hash

    cli.admin()
    assert cli("db", "downgrade", "001", "--yes").exit_code == 0
    when = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    sql(
        cli.db_url,
        "INSERT INTO audit_log (action, resource_type, resource_id, change_hash, correlation_id, timestamp)"
        " VALUES ('RECOMPUTE', 'period', 'x', %s, gen_random_uuid(), %s)",
        change_hash(None, "RECOMPUTE", "x", when),
        when,
    )
    assert cli("db", "upgrade").exit_code == 0
    assert sql(cli.db_url, "SELECT count(*) FROM audit_log WHERE row_hash IS NULL") == [(0,)]
    cli.login_as("root-admin", "correct-horse-1")
    verdict = cli("--format", "json", "audit", "verify").json()
    assert verdict["intact"] is True and verdict["rows_checked"] >= 3


def test_database_passwords_stay_out_of_the_audit_log(cli):
    cli.admin()
    cid = str(uuid.uuid4())
    url = cli.db_url.replace("aurora@", "aurora:hunter2@", 1)
    r = cli("--correlation-id", cid, "--database-url", url, "whoami")
    assert r.exit_code == 0, r
    rows = audit_rows(cli.db_url, cid)
    assert rows and "hunter2" not in json.dumps(rows)
    assert "***" in json.dumps(rows[0][2]["argv"])


def test_logout_is_audited_with_who_logged_out(cli):
    cli.admin()
    assert cli("logout").exit_code == 0
    [(resource_id, user_id)] = sql(
        cli.db_url, "SELECT resource_id, user_id::text FROM audit_log WHERE action = 'LOGOUT'"
    )
    assert resource_id == user_id and resource_id is not None


def test_a_prompt_without_input_says_what_to_pass(cli):
    cli.admin()
    r = cli("login", "--username", "root-admin", input="")
    assert r.exit_code == 2
    assert "pass the password with --password-stdin" in r.stderr and "Traceback" not in r.stderr
