"""An audit log nobody can rewrite: every tampering a superuser can do is caught by `audit verify`.

Given a chain written by ordinary invocations (each appends its head to the checkpoint file in the
data dir), when a superuser edits, rehashes without the key, deletes, truncates or reorders rows,
then `aurora audit verify` exits 1 with one sentence naming the first bad row or the missing tail.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from aurora_cli.db.models import AuditLog
from aurora_cli.errors import InvalidInput
from aurora_cli.services import audit
from aurora_cli.settings import Settings


def tamper(db_url: str, *statements: str) -> None:
    """Run statements as the superuser with triggers off (what the append-only trigger cannot stop)."""
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        for statement in statements:
            conn.execute(statement)


def seqs(db_url: str) -> list[int]:
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql")) as conn:
        return [r[0] for r in conn.execute("SELECT seq FROM audit_log ORDER BY seq").fetchall()]


@pytest.fixture
def chain(cli):
    """An admin and 22 more invocations: a chain of over 25 rows, checkpointed."""
    cli.admin()
    for _ in range(22):
        assert cli("users", "list").exit_code == 0
    r = cli("audit", "verify")
    assert r.exit_code == 0, r
    return cli


def verify_fails(cli, *words: str) -> str:
    r = cli("audit", "verify")
    assert r.exit_code == 1, r
    sentence = " ".join(r.stderr.split())
    assert "Traceback" not in r.stderr and sentence.startswith("Error: the audit chain is broken at row")
    for word in words:
        assert word in sentence, sentence
    return sentence


def rehash_without_the_key(db_url: str, victim: int, *, keyless: bool) -> None:
    """Edit row `victim` and rehash it and every later row with the project's own code, lacking the key:
    either as keyed rows under a guessed key, or claiming revision 002's keyless scheme."""
    guessed = audit.AuditKey(b"a guess that is not the real key, 32+ chars long")
    engine = create_engine(db_url)
    try:
        with Session(engine) as session, session.begin():
            session.execute(text("SET session_replication_role = replica"))
            rows = session.scalars(select(AuditLog).order_by(AuditLog.seq)).all()
            previous = audit.GENESIS
            for row in rows:
                if row.seq == victim:
                    row.resource_id = "rewritten"
                    row.change_hash = audit.change_hash(
                        row.user_id, audit._action(row), row.resource_id, row.timestamp
                    )
                if row.seq >= victim:
                    row.previous_hash = previous
                    if keyless:
                        row.hash_scheme, row.key_id = audit.KEYLESS, None
                        row.row_hash = audit.row_hash(previous, row)
                    else:
                        row.key_id = guessed.key_id
                        row.row_hash = audit.keyed_row_hash(previous, row, guessed)
                previous = row.row_hash
    finally:
        engine.dispose()


def test_an_untouched_chain_verifies(chain):
    r = chain("audit", "verify")
    assert r.exit_code == 0 and "Audit chain intact" in r.stderr


def test_an_edited_row_is_named(chain):
    victim = seqs(chain.db_url)[10]
    tamper(chain.db_url, f"UPDATE audit_log SET reason = 'edited' WHERE seq = {victim}")
    verify_fails(chain, f"row {victim}:", "edited")


def test_an_edited_row_rehashed_under_a_guessed_key_is_named(chain):
    victim = seqs(chain.db_url)[10]
    rehash_without_the_key(chain.db_url, victim, keyless=False)
    verify_fails(chain, f"row {victim}:", "not in this machine's keyring")


def test_an_edited_row_rehashed_as_keyless_is_named(chain):
    victim = seqs(chain.db_url)[10]
    rehash_without_the_key(chain.db_url, victim, keyless=True)
    verify_fails(chain, f"row {victim}:", "keyless scheme after the chain switched")


def test_the_whole_chain_rehashed_as_keyless_contradicts_the_checkpoint(chain):
    first = seqs(chain.db_url)[0]
    rehash_without_the_key(chain.db_url, first, keyless=True)
    verify_fails(chain, "differs from the checkpoint outside the database")


def test_a_deleted_middle_row_is_named(chain):
    rows = seqs(chain.db_url)
    tamper(chain.db_url, f"DELETE FROM audit_log WHERE seq = {rows[10]}")
    verify_fails(chain, f"row {rows[11]}:", "a row before it was deleted")


def test_a_deleted_last_row_is_named_from_the_checkpoint(chain):
    rows = seqs(chain.db_url)
    tamper(chain.db_url, f"DELETE FROM audit_log WHERE seq = {rows[-1]}")
    verify_fails(chain, f"records row {rows[-1]}", f"ends at row {rows[-2]}", "deleted")


def test_the_last_20_rows_deleted_are_named_from_the_checkpoint(chain):
    rows = seqs(chain.db_url)
    tamper(chain.db_url, f"DELETE FROM audit_log WHERE seq >= {rows[-20]}")
    verify_fails(chain, f"row {rows[-21] + 1}:", f"records row {rows[-1]}", f"ends at row {rows[-21]}")


def test_a_truncated_log_is_named_from_the_checkpoint(chain):
    rows = seqs(chain.db_url)
    tamper(chain.db_url, "TRUNCATE audit_log")
    verify_fails(chain, "the log is empty", f"records row {rows[-1]}")


def test_reordered_rows_are_named(chain):
    a, b = seqs(chain.db_url)[5], seqs(chain.db_url)[6]
    tamper(
        chain.db_url,
        "ALTER TABLE audit_log ALTER COLUMN seq DROP IDENTITY",
        f"UPDATE audit_log SET seq = -1 WHERE seq = {a}",
        f"UPDATE audit_log SET seq = {a} WHERE seq = {b}",
        f"UPDATE audit_log SET seq = {b} WHERE seq = -1",
    )
    verify_fails(chain, f"row {a}:", "a row before it was deleted or altered")


def test_a_published_anchor_catches_a_truncated_tail_without_the_checkpoint(chain, tmp_path):
    anchor = tmp_path / "anchor.json"
    r = chain("audit", "anchor", "--out", str(anchor))
    assert r.exit_code == 0, r
    assert stat.S_IMODE(anchor.stat().st_mode) == 0o600
    rows = seqs(chain.db_url)
    for checkpoint in (chain.home / "data" / audit.CHECKPOINT_DIR).iterdir():
        checkpoint.unlink()  # the attacker also holds this machine's data dir, but not the anchor
    tamper(chain.db_url, f"DELETE FROM audit_log WHERE seq >= {rows[-3]}")
    assert chain("audit", "verify").exit_code == 0  # nothing left here to tell
    r = chain("audit", "verify", "--anchor", str(anchor))
    assert r.exit_code == 1 and "the anchor anchor.json" in " ".join(r.stderr.split()), r


def test_anchor_refuses_to_publish_a_broken_chain(chain, tmp_path):
    tamper(chain.db_url, f"UPDATE audit_log SET reason = 'edited' WHERE seq = {seqs(chain.db_url)[3]}")
    r = chain("audit", "anchor", "--out", str(tmp_path / "a.json"))
    assert r.exit_code == 1 and "Nothing was anchored" in r.stderr and not (tmp_path / "a.json").exists()


def test_rows_of_a_retired_key_still_verify_after_rotation(cli):
    env = {"AURORA_AUDIT_KEY": None}  # the data dir's key file
    cli.admin()
    assert cli("users", "list", env=env).exit_code == 0
    r = cli("audit", "rotate-key", env=env)
    assert r.exit_code == 0, r
    assert cli("users", "list", env=env).exit_code == 0
    key_ids = {row[0] for row in psql(cli.db_url, "SELECT DISTINCT key_id FROM audit_log")}
    assert len(key_ids) >= 3  # the conftest key, the first file key, the rotated one
    lines = (cli.home / "data" / audit.KEY_FILE).read_text().splitlines()
    assert len(lines) == 2
    # The conftest key is a retired key of this keyring too once it is listed in the file.
    (cli.home / "data" / audit.KEY_FILE).write_text(
        "\n".join([*lines, os.environ["AURORA_AUDIT_KEY"]]) + "\n"
    )
    assert cli("audit", "verify", env=env).exit_code == 0


def psql(db_url: str, query: str) -> list[tuple]:
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql")) as conn:
        return conn.execute(query).fetchall()


# -- the key file ---------------------------------------------------------------------------------


def _settings(tmp_path: Path, key: str | None = None) -> Settings:
    return Settings.model_construct(data_dir=tmp_path / "data", audit_key=None if key is None else key)


def test_the_key_file_is_created_0600_on_first_use_and_reused(tmp_path):
    first = audit.load_keyring(_settings(tmp_path))
    path = tmp_path / "data" / audit.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert audit.load_keyring(_settings(tmp_path)).current == first.current
    assert first.current.secret.decode() not in repr(first)  # never shown


def test_a_key_file_others_can_read_or_a_symlink_is_refused(tmp_path):
    audit.load_keyring(_settings(tmp_path))
    path = tmp_path / "data" / audit.KEY_FILE
    path.chmod(0o644)
    with pytest.raises(InvalidInput, match="readable by others"):
        audit.load_keyring(_settings(tmp_path))
    path.chmod(0o600)
    real = tmp_path / "elsewhere.key"
    path.rename(real)
    path.symlink_to(real)
    with pytest.raises(InvalidInput, match="symbolic link"):
        audit.load_keyring(_settings(tmp_path))


def test_a_short_environment_key_is_refused(tmp_path):
    from pydantic import SecretStr

    with pytest.raises(InvalidInput, match="AURORA_AUDIT_KEY is too short"):
        audit.load_keyring(Settings.model_construct(data_dir=tmp_path, audit_key=SecretStr("short")))


# -- rows from before revision 010 ----------------------------------------------------------------


def test_rows_from_before_010_stay_the_verifiable_keyless_prefix(empty_db_url):
    from datetime import UTC, datetime

    from aurora_cli.db.engine import transaction
    from aurora_cli.db.migrate import upgrade

    upgrade(empty_db_url, "001")
    when = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    with psycopg.connect(empty_db_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        for resource in ("a", "b"):
            conn.execute(
                "INSERT INTO audit_log (action, resource_type, resource_id, change_hash, correlation_id, timestamp)"
                " VALUES ('RECOMPUTE', 'period', %s, %s, gen_random_uuid(), %s)",
                (resource, audit.change_hash(None, "RECOMPUTE", resource, when), when),
            )
    upgrade(empty_db_url, "head")
    key = audit.AuditKey(b"k" * 40)
    keyring = audit.Keyring(key)
    engine = create_engine(empty_db_url)
    try:
        with transaction(engine) as session:
            audit.record(session, action="COMMAND", resource_type="command", correlation_id=uuid4(), key=key)
        verdict = audit.verify(engine, keyring=keyring)
        assert verdict.intact and verdict.rows_checked == 3
        schemes = [r[0] for r in psql(empty_db_url, "SELECT hash_scheme FROM audit_log ORDER BY seq")]
        assert schemes == [audit.KEYLESS, audit.KEYLESS, audit.KEYED]
        # New rows must be keyed: the trigger refuses a keyless insert even from code that forgets.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with psycopg.connect(empty_db_url.replace("postgresql+psycopg", "postgresql")) as conn:
                conn.execute(
                    "INSERT INTO audit_log (action, resource_type, change_hash, correlation_id, hash_scheme)"
                    " VALUES ('COMMAND', 'command', 'x', gen_random_uuid(), 'sha256')"
                )
        # Editing a keyless row breaks the first keyed row's link.
        tamper(empty_db_url, "UPDATE audit_log SET reason = 'x' WHERE resource_id = 'a'")
        assert audit.verify(engine, keyring=keyring).reason == "its content was edited"
    finally:
        engine.dispose()
