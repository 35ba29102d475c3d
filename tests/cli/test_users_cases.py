"""`aurora users deactivate` never locks everyone out: the last active ADMIN stays."""

from __future__ import annotations

import psycopg


def sql(db_url: str, query: str, *params):
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def active(db_url: str, username: str) -> bool:
    return sql(db_url, "SELECT is_active FROM users WHERE username = %s", username)[0][0]


def test_the_only_admin_cannot_deactivate_themselves(cli):
    cli.admin("alice", "secret-pass-1")
    r = cli("users", "deactivate", "alice")
    assert r.exit_code == 5, r
    assert "'alice' is the last active ADMIN" in r.stderr
    assert "Traceback" not in r.stderr and "unexpected" not in r.stderr
    assert active(cli.db_url, "alice") is True
    # Still logged in: the refusal revoked nothing.
    who = cli("--format", "json", "whoami")
    assert who.exit_code == 0 and who.json()["username"] == "alice"


def test_one_of_two_admins_may_go_but_not_the_last(cli):
    cli.admin("alice", "secret-pass-1")
    cli.add_user("bob", "ADMIN")
    bob = cli.token_for("bob")
    # Two ADMINs: one may go (here alice deactivates herself while bob remains).
    assert cli("users", "deactivate", "alice").exit_code == 0
    assert active(cli.db_url, "alice") is False
    # Now bob is the last active ADMIN: he cannot deactivate himself.
    r = cli("users", "deactivate", "bob", token=bob)
    assert r.exit_code == 5, r
    assert "'bob' is the last active ADMIN" in r.stderr
    assert active(cli.db_url, "bob") is True
    # Deactivating a user that is already inactive, or a non-ADMIN, still works.
    assert cli("users", "deactivate", "alice", token=bob).exit_code == 0
    r = cli(
        "users",
        "add",
        "--username",
        "finn",
        "--email",
        "finn@example.com",
        "--role",
        "FINANCE",
        "--password-stdin",
        input="password-123\n",
        token=bob,
    )
    assert r.exit_code == 0, r
    assert cli("users", "deactivate", "finn", token=bob).exit_code == 0
    assert active(cli.db_url, "finn") is False


def test_refusal_is_audited_as_refused(cli):
    cli.admin("alice", "secret-pass-1")
    cli("--correlation-id", "6f2d1a52-3c1b-4a8e-9a55-0d7b1e2f3a4b", "users", "deactivate", "alice")
    rows = sql(
        cli.db_url,
        "SELECT action::text, after_snapshot FROM audit_log WHERE correlation_id = %s ORDER BY seq",
        "6f2d1a52-3c1b-4a8e-9a55-0d7b1e2f3a4b",
    )
    assert [r[0] for r in rows] == ["COMMAND"]
    assert rows[0][1]["outcome"] == "refused" and rows[0][1]["exit_code"] == 5
