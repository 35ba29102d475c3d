"""Hardening (issue 10): secrets never reach the audit log, every invocation is audited, files are
private, --out never replaces what is not a regular file, and failures stay one sentence."""

from __future__ import annotations

import errno
import os
import re
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
from sqlalchemy.exc import OperationalError

from aurora_cli.db.cluster import write_cluster_note
from aurora_cli.errors import InvalidInput, WriteFailed, write_failed
from aurora_cli.services import audit, auth, exports
from tests.conftest import CLUSTER


def sql(db_url: str, query: str, *params):
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def audit_text(db_url: str) -> str:
    """Every column of every audit row, as text."""
    return "\n".join(r[0] for r in sql(db_url, "SELECT a::text FROM audit_log a"))


def rows_of(db_url: str, correlation_id: str) -> list[tuple]:
    return sql(
        db_url,
        "SELECT resource_id, after_snapshot->>'exit_code' FROM audit_log WHERE correlation_id = %s",
        correlation_id,
    )


def one_sentence(stderr: str) -> None:
    assert stderr.startswith("Error: "), stderr
    assert "Traceback" not in stderr and "[SQL:" not in stderr and "Background on this error" not in stderr


# -- every invocation is audited, and nothing secret is stored ----------------------------------------


def test_no_secret_reaches_any_audit_column_whatever_fails(cli, tmp_path):
    cli.admin()
    cli.add_user("ops", "OPS")
    ops_token = cli.token_for("ops")
    url_with_password = re.sub(r"://([^@/:]+)@", r"://\1:url-secret-9@", cli.db_url)
    assert url_with_password != cli.db_url
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text('issuer_name = ["postgresql://u:toml-secret-7@h/db"]\n')
    cases = [
        # (argv, env, expected exit code)
        (["login", "--username", "u", "--password", "hunter2-secret"], {}, 2),
        (["login", "--username", "u", "--password=hunter3-secret"], {}, 2),
        (["users", "list", "--token", "aur_positional-secret-token"], {}, 2),
        (["--database-url", url_with_password, "users", "list"], {}, 0),
        (["--database-url", url_with_password, "users", "nosuch"], {}, 2),
        (["--config", str(tmp_path / "missing.toml"), "users", "list"], {}, 2),
        (["--config", str(bad_toml), "users", "list"], {}, 1),
        (["users", "list"], {"AURORA_LOCK_TIMEOUT_SECONDS": "not-a-number"}, 1),
        (["users", "list"], {"AURORA_TOKEN": ops_token}, 4),  # refused
    ]
    for argv, env, code in cases:
        cid = str(uuid.uuid4())
        r = cli("--correlation-id", cid, *argv, env=env)
        assert r.exit_code == code, (argv, r)
        assert rows_of(cli.db_url, cid), f"{argv} was not audited under its correlation id"
    stored = audit_text(cli.db_url)
    for secret in (
        "hunter2-secret",
        "hunter3-secret",
        "positional-secret-token",
        "url-secret-9",
        "toml-secret-7",
    ):
        assert secret not in stored, secret
    assert ops_token not in stored
    [(resource_id,)] = sql(
        cli.db_url,
        "SELECT resource_id FROM audit_log WHERE after_snapshot->'argv' @> '[\"--password\"]' LIMIT 1",
    )
    assert resource_id == "login"  # the command's words, never the values after its options


def test_redaction_of_free_text():
    text = "postgresql://app:pw1@db/aurora password=pw2 token: aur_abcdefghijkl apikey=x sslpassword='p w'"
    assert audit.redact_text(text) == (
        "postgresql://app:***@db/aurora password=*** token: *** apikey=*** sslpassword=***"
    )
    assert audit.redact_text("No such option: hunter2", ["hunter2"]) == "No such option: ***"


# -- login, bcrypt, tokens, the credentials file --------------------------------------------------------


def test_login_costs_one_bcrypt_check_for_unknown_and_known_users(cli, monkeypatch):
    cli.admin()
    calls = []
    real = auth.bcrypt.checkpw
    monkeypatch.setattr(auth.bcrypt, "checkpw", lambda pw, h: calls.append(h) or real(pw, h))
    for username in ("nobody-at-all", "root-admin"):
        calls.clear()
        r = cli("login", "--username", username, "--password-stdin", input="wrong-password\n")
        assert r.exit_code == 4 and "wrong username or password" in r.stderr, r
        assert len(calls) == 1, username
        assert calls[0].startswith(b"$2b$")  # a real bcrypt hash each time, at the configured cost


def test_bcrypt_cost_is_12_at_least_unless_testing(monkeypatch):
    monkeypatch.delenv("AURORA_BCRYPT_ROUNDS")
    monkeypatch.delenv("AURORA_TESTING")
    assert auth.bcrypt_rounds() == 12
    monkeypatch.setenv("AURORA_BCRYPT_ROUNDS", "4")
    with pytest.raises(InvalidInput, match="test suite only"):
        auth.bcrypt_rounds()
    monkeypatch.setenv("AURORA_TESTING", "1")
    assert auth.bcrypt_rounds() == 4
    monkeypatch.setenv("AURORA_BCRYPT_ROUNDS", "twelve")
    with pytest.raises(InvalidInput, match="not a bcrypt cost"):
        auth.bcrypt_rounds()


def test_a_low_bcrypt_cost_outside_tests_is_refused_and_audited(admin_cli):
    cid = str(uuid.uuid4())
    r = admin_cli(
        "--correlation-id", cid, "users", "add", "--username", "weak", "--email", "w@example.com",
        "--role", "OPS", "--password-stdin", input="password-123\n", env={"AURORA_TESTING": None},
    )  # fmt: skip
    assert r.exit_code == 1 and "AURORA_BCRYPT_ROUNDS='4'" in r.stderr, r
    assert rows_of(admin_cli.db_url, cid)
    assert not sql(admin_cli.db_url, "SELECT 1 FROM users WHERE username = 'weak'")


def test_service_tokens_expire_in_90_days_unless_opted_out(admin_cli):
    admin_cli.add_user("cron", "OPS")
    assert admin_cli("users", "token", "create", "--user", "cron").exit_code == 0
    assert admin_cli("users", "token", "create", "--user", "cron", "--expires-days", "5").exit_code == 0
    assert admin_cli("users", "token", "create", "--user", "cron", "--no-expiry").exit_code == 0
    both = admin_cli("users", "token", "create", "--user", "cron", "--no-expiry", "--expires-days", "5")
    assert both.exit_code == 1 and "--expires-days or --no-expiry" in both.stderr, both
    expiries = [
        r[0]
        for r in sql(
            admin_cli.db_url,
            "SELECT expires_at FROM user_tokens t JOIN users u USING (user_id)"
            " WHERE u.username = 'cron' ORDER BY t.created_at",
        )
    ]
    now = datetime.now(UTC)
    assert abs(expiries[0] - (now + timedelta(days=90))) < timedelta(minutes=5)
    assert abs(expiries[1] - (now + timedelta(days=5))) < timedelta(minutes=5)
    assert expiries[2] is None
    audited = sql(
        admin_cli.db_url,
        "SELECT after_snapshot->>'no_expiry', reason FROM audit_log WHERE action = 'CREATE_TOKEN' ORDER BY seq",
    )
    assert audited[-1] == ("true", "never expires (opted out)")
    assert audited[-2][0] == "false"


def test_a_credentials_file_that_is_not_0600_or_is_a_symlink_is_refused(cli):
    cli.admin()
    cli.token = None
    assert cli("whoami").exit_code == 0
    cli.credentials.chmod(0o644)
    r = cli("whoami")
    assert r.exit_code == 4 and "mode 0644, not 0600" in r.stderr, r
    cli.credentials.chmod(0o600)
    real = cli.home / "real-credentials"
    cli.credentials.rename(real)
    cli.credentials.symlink_to(real)
    r = cli("whoami")
    assert r.exit_code == 4 and "is a symbolic link" in r.stderr, r


# -- files: private, and --out only ever replaces a regular file ----------------------------------------


def test_exports_are_written_0600_and_replace_only_regular_files(tmp_path):
    def write(path: Path) -> None:
        path.write_text("data\n")

    target, _ = exports.write_atomically(tmp_path / "new.csv", write)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    existing = tmp_path / "old.csv"
    existing.write_text("old\n")
    exports.write_atomically(existing, write)
    assert existing.read_text() == "data\n"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "link.csv"
    link.symlink_to(existing)
    refusals = {
        "/dev/full": "not a regular file",
        str(fifo): "not a regular file",
        str(link): "symbolic link",
        str(tmp_path): "is a folder",
        str(tmp_path / "no-such-dir" / "x.csv"): "does not exist",
    }
    for out, reason in refusals.items():
        with pytest.raises(InvalidInput, match=reason):
            exports.write_atomically(Path(out), write)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode) and stat.S_ISFIFO(fifo.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "link.csv", "new.csv", "old.csv"]


def test_out_dev_full_is_refused_in_one_sentence(cli):
    cli.admin()
    r = cli("audit", "anchor", "--out", "/dev/full")
    assert r.exit_code == 1 and "/dev/full is not a regular file" in r.stderr, r
    one_sentence(r.stderr)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_full_disk_is_one_sentence_and_leaves_nothing(tmp_path, cli, monkeypatch):
    def write(path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(WriteFailed, match="the disk is full writing .*: free some space"):
        exports.write_atomically(folder / "x.csv", write)
    assert list(folder.iterdir()) == []
    assert "read-only" in write_failed(OSError(errno.EROFS, "Read-only file system"), "/x").message
    # An OSError escaping any command is mapped by the frame, not printed raw.
    cli.admin()
    monkeypatch.setattr(
        audit,
        "publish_anchor",
        lambda *a, **k: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space", "/out")),
    )
    r = cli("audit", "anchor", "--out", str(tmp_path / "a.json"))
    assert r.exit_code == 1 and "the disk is full writing /out" in r.stderr, r
    one_sentence(r.stderr)


def test_the_cluster_note_and_the_server_log_are_private(tmp_path):
    write_cluster_note(SimpleNamespace(url=lambda: "postgresql://x", data_dir=tmp_path))
    assert stat.S_IMODE((tmp_path / "cluster.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(CLUSTER.log_file.stat().st_mode) == 0o600  # the test session's own cluster


# -- the database going away, a malformed URL -----------------------------------------------------------


def test_the_database_going_away_mid_command_is_one_sentence(cli, monkeypatch):
    cli.admin()
    lost = psycopg.OperationalError("server closed the connection unexpectedly\n\tThis probably means ...")
    monkeypatch.setattr(
        audit, "verify_here", lambda *a, **k: (_ for _ in ()).throw(OperationalError("SELECT 1", {}, lost))
    )
    r = cli("audit", "verify")
    assert r.exit_code == 1, r
    one_sentence(r.stderr)
    assert (
        "the database connection failed mid-command (server closed the connection unexpectedly)"
        in " ".join(r.stderr.split())
    )
    assert "This probably means" not in r.stderr


def test_a_lost_lock_connection_does_not_hide_the_error_that_ended_the_work(engine, db_url):
    from aurora_cli.services.locks import period_lock

    with pytest.raises(RuntimeError, match="the real error"):
        with period_lock(engine, "solana-mainnet", "850", wait=False, timeout_seconds=1):
            sql(
                db_url,
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()",
            )
            raise RuntimeError("the real error")


def test_a_malformed_database_url_is_one_sentence_without_its_password(cli):
    r = cli("--database-url", "postgresql://u:pw-secret-5@host:notaport/db", "users", "list")
    assert r.exit_code == 2, r
    one_sentence(r.stderr)
    assert "is not a PostgreSQL URL" in r.stderr and "pw-secret-5" not in r.stderr
