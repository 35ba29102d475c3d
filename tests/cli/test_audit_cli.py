"""`aurora audit list` refuses bad filters in one sentence; `audit verify` reports the chain head."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from aurora_cli.db.models import AuditAction


def sql(db_url: str, query: str, *params):
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def test_unknown_action_is_refused_with_the_valid_ones(cli):
    cli.admin()
    r = cli("audit", "list", "--action", "foo")
    assert r.exit_code == 1, r
    assert "--action 'foo' is not an audit action" in r.stderr
    assert all(a.value in r.stderr.replace("\n", "") for a in AuditAction)
    for raw in ("DataError", "unexpected", "SELECT", "Traceback"):
        assert raw not in r.stderr


@pytest.mark.parametrize("given", ["login", "Login", "LOGIN", " login "])
def test_action_is_case_insensitive(cli, given):
    cli.admin()
    r = cli("--format", "json", "audit", "list", "--action", given)
    assert r.exit_code == 0, r
    rows = r.json()
    assert rows and {row["action"] for row in rows} == {"LOGIN"}


def test_bad_correlation_id_is_refused(cli):
    cli.admin()
    r = cli("audit", "list", "--correlation", "nope")
    assert r.exit_code == 1, r
    assert "--correlation 'nope' is not a correlation id" in r.stderr
    for raw in ("ValueError", "unexpected", "Traceback"):
        assert raw not in r.stderr


def test_correlation_filter_still_works(cli):
    cli.admin()
    cid = str(uuid.uuid4())
    assert cli("--correlation-id", cid, "users", "list").exit_code == 0
    r = cli("--format", "json", "audit", "list", "--correlation", cid.upper())
    assert r.exit_code == 0, r
    assert [(row["action"], row["resource_id"]) for row in r.json()] == [("COMMAND", "users list")]


def test_verify_reports_the_chain_head(cli):
    cli.admin()
    r = cli("--format", "json", "audit", "verify")
    assert r.exit_code == 0, r
    doc = r.json()
    # The verify command's own COMMAND row is written after the walk: the head is the row before it.
    seq, row_hash = sql(
        cli.db_url,
        "SELECT seq, row_hash FROM audit_log WHERE NOT (action = 'COMMAND' AND resource_id = 'audit verify')"
        " ORDER BY seq DESC LIMIT 1",
    )[0]
    assert doc["intact"] is True
    assert doc["head_seq"] == seq and doc["head_row_hash"] == row_hash
    assert doc["rows_checked"] == sql(cli.db_url, "SELECT count(*) FROM audit_log WHERE seq <= %s", seq)[0][0]

    human = cli("audit", "verify")
    assert human.exit_code == 0, human
    seq, row_hash = sql(
        cli.db_url,
        "SELECT seq, row_hash FROM audit_log WHERE seq < (SELECT max(seq) FROM audit_log)"
        " ORDER BY seq DESC LIMIT 1",
    )[0]
    sentence = " ".join(human.stderr.split())
    assert (
        f"Audit chain intact: {doc['rows_checked'] + 1} rows checked; head seq {seq}, hash {row_hash}"
        in sentence
    )


def test_verify_of_a_broken_chain_still_names_the_head(cli):
    cli.admin()
    sql(cli.db_url, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    sql(cli.db_url, "UPDATE audit_log SET reason = 'edited' WHERE seq = (SELECT min(seq) FROM audit_log)")
    r = cli("--format", "json", "audit", "verify")
    assert r.exit_code == 1, r  # issue 10: a broken chain is an error (exit 1), not a refused transition
    doc = r.json()
    assert doc["intact"] is False and doc["head_seq"] is not None and len(doc["head_row_hash"]) == 64
