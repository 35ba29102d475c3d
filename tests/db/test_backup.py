"""Backups you have restored: archive, back up, write, restore to a time and to the latest, prune.

One dedicated embedded cluster for the module (archiving needs its own configuration), in a short
temporary path; the tests run in file order over the same history.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aurora_cli.cli.app import app
from aurora_cli.db.archive import archive_command, parse_segment
from aurora_cli.db.cluster import EmbeddedCluster
from aurora_cli.errors import DatabaseUnavailable
from tests.statement_fixtures import SOL, Book, sql

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-1"


class World:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "d"
        self.home = root / "h"
        self.home.mkdir()
        self.cluster = EmbeddedCluster(self.data, fast=True)
        self.url = self.cluster.url()
        self.restored: list[EmbeddedCluster] = []
        self.notes: dict = {}

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None):
        environment = {
            "AURORA_DATABASE_URL": None,
            "AURORA_DATA_DIR": str(self.data),
            "AURORA_CREDENTIALS": str(self.home / "credentials"),
            "AURORA_TOKEN": None,
            "AURORA_BACKUP_DIR": None,
            "HOME": str(self.home),
            "COLUMNS": "200",
        } | (env or {})
        return CliRunner().invoke(app, list(args), input=input, env=environment, catch_exceptions=False)

    def ok(self, *args: str, **kw):
        result = self(*args, **kw)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return result

    @property
    def wal(self) -> Path:
        return self.data / "backups" / "wal"

    def restore(self, name: str, *target: str):
        new = self.root / name
        self.restored.append(EmbeddedCluster(new))
        return self("--format", "json", "db", "restore", "--from", "latest", *target, "--data-dir", str(new))


@pytest.fixture(scope="module")
def world():
    root = Path(tempfile.mkdtemp(prefix="au-"))
    root.chmod(0o711)
    w = World(root)
    try:
        # A running cluster made before archiving existed: `db up` turns it on, restarts, says so.
        w.cluster.init()
        w.cluster.start()
        up = w.ok("db", "up")
        assert "Enabled WAL archiving" in up.stderr and "restarted" in up.stderr
        w.ok(
            "users",
            "bootstrap-admin",
            "--username",
            "root-admin",
            "--email",
            "root@example.com",
            "--password-stdin",
            input=PASSWORD + "\n",
        )
        w.ok("login", "--username", "root-admin", "--password-stdin", input=PASSWORD + "\n")
        w.ok("config", "apply", "--dir", str(REPO / "config"))
        yield w
    finally:
        for cluster in [*w.restored, w.cluster]:
            try:
                cluster.stop()
            except DatabaseUnavailable:
                pass
        shutil.rmtree(root, ignore_errors=True)


def _segments(wal: Path) -> list[str]:
    return sorted(p.name for p in wal.iterdir() if len(p.name) == 24)


def test_archive_command_copies_atomically_and_never_overwrites_a_different_segment(tmp_path):
    cluster = EmbeddedCluster(tmp_path / "d")
    pgdata = cluster.pgdata
    (pgdata / "pg_wal").mkdir(parents=True)
    wal = tmp_path / "d" / "backups" / "wal"
    wal.mkdir(parents=True)
    name = "000000010000000000000003"
    (pgdata / "pg_wal" / name).write_bytes(b"segment bytes")
    command = archive_command(cluster, wal).replace("%p", f"pg_wal/{name}").replace("%f", name)

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(["sh", "-c", command], cwd=pgdata, capture_output=True, text=True)

    assert run().returncode == 0 and (wal / name).read_bytes() == b"segment bytes"
    assert [p.name for p in wal.iterdir()] == [name]  # no temporary file left behind
    assert run().returncode == 0  # an identical retry is fine
    (wal / name).write_bytes(b"another cluster's segment")
    refused = run()
    assert refused.returncode != 0 and "different content" in refused.stderr
    assert (wal / name).read_bytes() == b"another cluster's segment"


def test_backup_is_verified_recorded_and_listed(world):
    taken = world.ok("--format", "json", "db", "backup")
    record = json.loads(taken.stdout)
    folder = Path(record["path"])
    assert folder.parent == world.data / "backups"
    assert {"base.tar.gz", "pg_wal.tar.gz", "backup_manifest", "backup.json"} <= {
        p.name for p in folder.iterdir()
    }
    assert record["verified"] is True and "pg_verifybackup" in record["verification"]
    head = sql(world.url, "SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1")[0]
    assert record["audit_head_seq"] < head[0]  # the backup's own audit rows come after it
    assert json.loads((folder / "backup.json").read_text())["end_lsn"] == record["end_lsn"]
    audited = sql(world.url, "SELECT resource_id FROM audit_log WHERE resource_type = 'database_backup'")
    assert audited == [(record["label"],)]
    listed = json.loads(world.ok("--format", "json", "db", "backup", "list").stdout)
    assert [b["label"] for b in listed] == [record["label"]]
    status = json.loads(world.ok("--format", "json", "db", "status").stdout)
    assert status["archiving"]["healthy"] is True and status["archiving"]["last_archived_wal"]
    world.notes["backup"] = record


def test_restore_to_a_time_has_the_earlier_writes_only_and_to_latest_has_all(world):
    book = Book(world.url)
    # Written after the backup and before the target: a released statement and audited invocations.
    period = book.period(SOL, "900", "2025-10-01T00:00:00Z", "2025-10-03T00:00:00Z")
    helios = book.partner("Helios Capital")
    book.line(helios, period, "1500000000")
    world.ok("statements", "generate", "--chain", SOL, "--period", "900")
    statement_id = book.statement(helios, period)[0]
    book.set_status(statement_id, "RELEASED")
    time.sleep(1.0)
    target = datetime.now(UTC)
    time.sleep(1.0)
    # After the target: a user and a partner.
    world.ok("users", "add", "--username", "late-ops", "--email", "late@example.com", "--role", "OPS",
             "--password-stdin", input="password-123\n")  # fmt: skip
    book.partner("Late Partner")

    result = world.restore("r1", "--to-time", target.isoformat())
    assert result.exit_code == 0, (result.stdout, result.stderr)
    report = json.loads(result.stdout)
    restored = world.restored[-1].url()
    assert sql(restored, "SELECT status::text FROM partner_commission_statements WHERE statement_id = %s",
               statement_id) == [("RELEASED",)]  # fmt: skip
    assert sql(restored, "SELECT count(*) FROM users WHERE username = 'late-ops'") == [(0,)]
    assert sql(restored, "SELECT count(*) FROM partners WHERE partner_name = 'Late Partner'") == [(0,)]
    assert report["audit_intact"] is True and report["audit_matches_source"] is True
    assert report["not_replayed_count"] >= 2  # the user's creation and its invocation
    assert report["row_counts"]["partners"] == {"restored": 1, "source": 2}
    # The restore is audited in the restored database and in the source.
    for url in (restored, world.url):
        rows = sql(url, "SELECT resource_id FROM audit_log WHERE resource_type = 'database_restore'")
        assert rows == [(world.notes["backup"]["label"],)], url
    assert sql(restored, "SELECT pg_is_in_recovery()") == [(False,)]
    verify = world.ok("--format", "json", "audit", "verify", env={"AURORA_DATA_DIR": report["data_dir"]})
    assert json.loads(verify.stdout)["intact"] is True
    world.ok("db", "stop", env={"AURORA_DATA_DIR": report["data_dir"]})

    latest = world.restore("r2", "--to-latest")
    assert latest.exit_code == 0, (latest.stdout, latest.stderr)
    everything = world.restored[-1].url()
    assert sql(everything, "SELECT count(*) FROM users WHERE username = 'late-ops'") == [(1,)]
    assert sql(everything, "SELECT count(*) FROM partners WHERE partner_name = 'Late Partner'") == [(1,)]
    doc = json.loads(latest.stdout)
    assert doc["audit_intact"] is True and doc["row_counts"]["users"]["restored"] == 2
    world.restored[-1].stop()


def test_a_missing_wal_segment_is_refused_before_anything_starts(world):
    segments = _segments(world.wal)
    end = world.notes["backup"]["end_wal_segment"]
    after = [s for s in segments if s > end]
    assert after, segments
    hidden = world.root / "hidden-segment"
    shutil.move(world.wal / after[0], hidden)
    try:
        refused = world.restore("r3", "--to-latest")
        assert refused.exit_code == 1
        assert f"WAL segment {after[0]}" in refused.stderr and "missing from the archive" in refused.stderr
        assert not (world.root / "r3").exists()
    finally:
        shutil.move(hidden, world.wal / after[0])


def test_refusals_are_one_sentence(world):
    backup = world.notes["backup"]
    before = world.restore("r4", "--to-time", backup["started_at"])
    assert before.exit_code == 1 and "every backup in" in before.stderr and "ended after" in before.stderr
    named = world("db", "restore", "--from", backup["label"], "--to-time", backup["started_at"],
                  "--data-dir", str(world.root / "r4"))  # fmt: skip
    assert named.exit_code == 1 and f"is before backup {backup['label']} ended" in named.stderr
    assert not (world.root / "r4").exists()
    live = world("db", "restore", "--from", "latest", "--to-latest", "--data-dir", str(world.data))
    assert live.exit_code == 1 and "live data directory" in live.stderr
    occupied = world.root / "occupied"
    occupied.mkdir()
    (occupied / "file").write_text("x")
    taken = world("db", "restore", "--from", "latest", "--to-latest", "--data-dir", str(occupied))
    assert taken.exit_code == 1 and "not empty" in taken.stderr
    # A backup of another cluster against this archive.
    other = world.root / "other-backup"
    shutil.copytree(backup["path"], other)
    doc = json.loads((other / "backup.json").read_text())
    doc["system_identifier"] = "1234567890123456789"
    (other / "backup.json").write_text(json.dumps(doc))
    wrong = world("db", "restore", "--from", str(other), "--to-latest", "--data-dir", str(world.root / "r5"))
    assert wrong.exit_code == 5 and "database system 1234567890123456789" in wrong.stderr
    assert not (world.root / "r5").exists()
    shutil.rmtree(other)
    for args in (
        ("db", "backup"),
        ("db", "restore", "--from", "latest", "--to-latest", "--data-dir", "/tmp/x"),
    ):
        external = world(*args, env={"AURORA_DATABASE_URL": world.url})
        assert external.exit_code == 2 and "docs/operations.md" in external.stderr, external.stderr
    # ADMIN only.
    ops_token = world.ok("users", "token", "create", "--user", "late-ops").stdout.strip()
    denied = world("db", "backup", env={"AURORA_TOKEN": ops_token})
    assert denied.exit_code == 4 and "ADMIN" in denied.stderr


def test_prune_keeps_the_newest_backup_and_the_wal_kept_backups_need(world):
    first = world.notes["backup"]
    second = json.loads(world.ok("--format", "json", "db", "backup").stdout)
    # Backdate the first backup past the 30 days and every segment past the 7 days.
    record_path = Path(first["path"]) / "backup.json"
    doc = json.loads(record_path.read_text())
    doc["finished_at"] = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    doc["started_at"] = doc["finished_at"]
    record_path.write_text(json.dumps(doc))
    old = time.time() - 10 * 86400
    for segment in _segments(world.wal):
        os.utime(world.wal / segment, (old, old))
    size = second["wal_segment_size"]
    anchor = parse_segment(second["start_wal_segment"], size)[1]
    needed = [s for s in _segments(world.wal) if parse_segment(s, size)[1] >= anchor]
    older = [s for s in _segments(world.wal) if parse_segment(s, size)[1] < anchor]
    assert older and needed

    dry = json.loads(world.ok("--format", "json", "db", "backup", "prune", "--dry-run").stdout)
    assert dry["deleted_backups"] == [first["label"]] and Path(first["path"]).exists()
    pruned = json.loads(world.ok("--format", "json", "db", "backup", "prune").stdout)
    assert pruned["deleted_backups"] == [first["label"]] and pruned["kept_backups"] == [second["label"]]
    assert pruned["deleted_wal_segments"] >= len(older)
    assert not Path(first["path"]).exists()
    assert _segments(world.wal) == needed  # every segment the kept backup needs is still there

    # The only backup is never pruned, however old.
    only = Path(second["path"]) / "backup.json"
    doc = json.loads(only.read_text())
    doc["finished_at"] = (datetime.now(UTC) - timedelta(days=400)).isoformat()
    only.write_text(json.dumps(doc))
    again = json.loads(world.ok("--format", "json", "db", "backup", "prune").stdout)
    assert again["deleted_backups"] == [] and Path(second["path"]).exists()
    assert _segments(world.wal) == needed


def test_status_reports_archiving_that_fails(world):
    moved = world.root / "wal-away"
    world.wal.rename(moved)
    try:
        sql(world.url, "SELECT pg_switch_wal() FROM (SELECT pg_current_xact_id()) AS x")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            archiving = json.loads(world.ok("--format", "json", "db", "status").stdout)["archiving"]
            if not archiving["healthy"]:
                break
            time.sleep(0.5)
        assert archiving["healthy"] is False and archiving["failed_count"] >= 1
        assert "failed" in archiving["problem"] or "missing" in archiving["problem"]
        table = world.ok("db", "status")
        assert "UNHEALTHY" in table.stderr
    finally:
        moved.rename(world.wal)
