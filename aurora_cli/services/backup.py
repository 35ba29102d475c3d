"""Base backups of the embedded cluster: take (pg_basebackup + pg_verifybackup), list, prune.

Owns the backup folder layout and its retention. Each backup is one dated folder
`<backup dir>/<label>/` holding pg_basebackup's tar output (`base.tar.gz`, `pg_wal.tar.gz`,
`backup_manifest`) and `backup.json`, written last: a folder without it is an unfinished backup
and is ignored. The WAL archive is `<backup dir>/wal/` (`aurora_cli.db.archive`).

Why tar + gzip, verified by extracting: the backup is compressed on every PostgreSQL version, and
pg_verifybackup before 18 checks only plain-format folders (18 reads tars but cannot parse the
WAL inside them), so the backup is extracted into a scratch folder beside it and verified there,
WAL included. That is also the exact path a restore takes.

It never prints, never names a command-line flag, and never touches an external database.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aurora_cli.db.archive import (
    DEFAULT_SEGMENT_SIZE,
    SEGMENT_RE,
    parse_lsn,
    parse_segment,
    segment_name,
    segment_of_lsn,
    wal_dir_of,
)
from aurora_cli.db.cluster import EmbeddedCluster, find_bin_dir
from aurora_cli.db.pgtools import (
    pg_basebackup,
    pg_verifybackup_run,
    require_tool,
    tool,
    tool_major_version,
)
from aurora_cli.errors import InvalidInput, NotFound
from aurora_cli.services.audit import Recorder

RECORD = "backup.json"
LABEL_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass
class BackupRecord:
    """What `backup.json` says about one base backup."""

    label: str
    path: str
    started_at: datetime
    finished_at: datetime
    start_lsn: str
    end_lsn: str
    timeline: int
    start_wal_segment: str
    end_wal_segment: str
    wal_segment_size: int
    system_identifier: str
    server_version: str
    size_bytes: int
    duration_seconds: float
    format: str
    verified: bool
    verification: str
    audit_head_seq: int | None
    audit_head_row_hash: str | None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        doc = asdict(self)
        doc["started_at"] = self.started_at.isoformat()
        doc["finished_at"] = self.finished_at.isoformat()
        return doc

    @classmethod
    def from_json(cls, doc: dict, folder: Path) -> BackupRecord:
        known = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__}
        known["started_at"] = datetime.fromisoformat(doc["started_at"])
        known["finished_at"] = datetime.fromisoformat(doc["finished_at"])
        known["path"] = str(folder)  # where it is now, not where it was written
        return cls(**known)

    @property
    def folder(self) -> Path:
        return Path(self.path)


# -- taking a backup -------------------------------------------------------------------------------


def take_backup(
    cluster: EmbeddedCluster, backup_dir: Path, *, parent: Path | None = None, trail: Recorder | None = None
) -> BackupRecord:
    """Take, verify and record one base backup of the running cluster into a dated folder; audited
    in the cluster's own database through `trail`."""
    import psycopg

    pg_basebackup_bin = require_tool("pg_basebackup")
    cluster.ensure_running()
    parent = Path(parent or backup_dir).expanduser().absolute()
    started_at = datetime.now(UTC)
    label = started_at.strftime(LABEL_FORMAT)
    folder = parent / label
    if folder.exists():  # two backups within one second
        time.sleep(1.0)
        started_at = datetime.now(UTC)
        label = started_at.strftime(LABEL_FORMAT)
        folder = parent / label
    warnings: list[str] = []
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        system_identifier = str(
            conn.execute("SELECT system_identifier FROM pg_control_system()").fetchone()[0]
        )
        server_version = conn.execute("SHOW server_version").fetchone()[0]
        segment_size = int(
            conn.execute("SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'").fetchone()[0]
        )
        if conn.execute("SELECT current_setting('archive_mode')").fetchone()[0] == "off":
            warnings.append("WAL archiving is off, so this backup restores only to its own end")
    head = audit_head(cluster)
    parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir()
    clock = time.monotonic()
    try:
        pg_basebackup(pg_basebackup_bin, cluster, folder, label=f"aurora {label}")
        verified, verification = verify_backup(folder)
        if not verified:
            warnings.append(verification)
        manifest = json.loads((folder / "backup_manifest").read_text(encoding="utf-8"))
        wal_range = manifest["WAL-Ranges"][-1]
        start_lsn, end_lsn, timeline = (
            wal_range["Start-LSN"],
            wal_range["End-LSN"],
            int(wal_range["Timeline"]),
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finished_at = datetime.now(UTC)
    record = BackupRecord(
        label=label,
        path=str(folder),
        started_at=started_at,
        finished_at=finished_at,
        start_lsn=start_lsn,
        end_lsn=end_lsn,
        timeline=timeline,
        start_wal_segment=segment_name(
            timeline, segment_of_lsn(parse_lsn(start_lsn), segment_size), segment_size
        ),
        end_wal_segment=segment_name(
            timeline, segment_of_lsn(parse_lsn(end_lsn) - 1, segment_size), segment_size
        ),
        wal_segment_size=segment_size,
        system_identifier=system_identifier,
        server_version=server_version,
        size_bytes=folder_size(folder),
        duration_seconds=round(time.monotonic() - clock, 2),
        format="tar+gzip",
        verified=verified,
        verification=verification,
        audit_head_seq=head[0] if head else None,
        audit_head_row_hash=head[1] if head else None,
        warnings=warnings,
    )
    write_record(record)
    if trail is not None:
        record_in(
            cluster,
            trail,
            resource_type="database_backup",
            resource_id=record.label,
            after={k: v for k, v in record.to_json().items() if k != "warnings"},
        )
    return record


def audit_head(cluster: EmbeddedCluster) -> tuple[int, str] | None:
    """(seq, row_hash) of the newest audit row, or None before any (or before the audit schema)."""
    import psycopg

    from aurora_cli.db.cluster import DATABASE

    try:
        with psycopg.connect(cluster.url(DATABASE), autocommit=True) as conn:
            row = conn.execute("SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    except psycopg.Error:
        return None
    return (int(row[0]), row[1]) if row else None


def verify_backup(folder: Path) -> tuple[bool, str]:
    """Extract into a scratch folder beside the backup and run pg_verifybackup on it (WAL included)."""
    pg_verifybackup = tool("pg_verifybackup")
    if pg_verifybackup is None:
        return False, f"not verified: pg_verifybackup is not in {find_bin_dir()}"
    scratch = folder / ".verify"
    try:
        extract_backup(folder, scratch)
        wal_checked = pg_verifybackup_run(pg_verifybackup, folder / "backup_manifest", scratch, "pg_verifybackup")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    parsed = "files and WAL" if wal_checked else "files (pg_waldump missing: WAL unchecked)"
    return True, f"pg_verifybackup {tool_major_version(pg_verifybackup)}: {parsed} match the manifest"


def extract_backup(folder: Path, pgdata: Path) -> None:
    """Unpack base.tar.gz into pgdata and pg_wal.tar.gz into pgdata/pg_wal."""
    base = folder / "base.tar.gz"
    if not base.is_file():
        raise NotFound(f"{folder} holds no base.tar.gz: it is not a finished Aurora backup.")
    pgdata.mkdir(parents=True, exist_ok=True)
    with tarfile.open(base, "r:gz") as archive:
        archive.extractall(pgdata, filter="tar")
    wal = folder / "pg_wal.tar.gz"
    if wal.is_file():
        (pgdata / "pg_wal").mkdir(exist_ok=True)
        with tarfile.open(wal, "r:gz") as archive:
            archive.extractall(pgdata / "pg_wal", filter="tar")


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def write_record(record: BackupRecord) -> None:
    path = record.folder / RECORD
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(record.to_json(), indent=2) + "\n", encoding="utf-8")
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)


# -- listing ---------------------------------------------------------------------------------------


def list_backups(backup_dir: Path) -> list[BackupRecord]:
    """Finished backups in the backup dir, oldest first."""
    found: list[BackupRecord] = []
    backup_dir = Path(backup_dir)
    if not backup_dir.is_dir():
        return found
    for record_path in sorted(backup_dir.glob(f"*/{RECORD}")):
        try:
            doc = json.loads(record_path.read_text(encoding="utf-8"))
            found.append(BackupRecord.from_json(doc, record_path.parent))
        except (ValueError, KeyError, TypeError):
            continue  # not ours, or damaged: never chosen, never pruned
    return sorted(found, key=lambda r: r.finished_at)


def find_backup(backup_dir: Path, name: str, *, ended_by: datetime | None = None) -> BackupRecord:
    """A backup by folder path, by label, or `latest` (the newest that ended by `ended_by`, if given)."""
    if name == "latest":
        backups = list_backups(backup_dir)
        if not backups:
            raise NotFound(f"there is no backup in {backup_dir} yet.")
        if ended_by is not None:
            earlier = [b for b in backups if b.finished_at <= ended_by]
            if not earlier:
                raise InvalidInput(
                    f"every backup in {backup_dir} ended after {ended_by.isoformat()} (the oldest, "
                    f"{backups[0].label}, ended {backups[0].finished_at.isoformat()}): choose a later time."
                )
            return earlier[-1]
        return backups[-1]
    candidate = Path(name).expanduser()
    folder = candidate if candidate.is_dir() else Path(backup_dir) / name
    record_path = folder / RECORD
    if not record_path.is_file():
        raise NotFound(
            f"no backup {name!r}: give a label from the backup list (in {backup_dir}) or a backup folder."
        )
    try:
        return BackupRecord.from_json(json.loads(record_path.read_text(encoding="utf-8")), folder.absolute())
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"{record_path} cannot be read: {exc}") from exc


# -- retention -------------------------------------------------------------------------------------


@dataclass
class PruneResult:
    deleted_backups: list[str]
    kept_backups: list[str]
    deleted_wal_segments: int
    deleted_wal_bytes: int
    kept_wal_from: str | None
    dry_run: bool


def prune(
    backup_dir: Path,
    *,
    backup_retention_days: int,
    wal_retention_days: int,
    now: datetime | None = None,
    dry_run: bool = False,
    cluster: EmbeddedCluster | None = None,
    trail: Recorder | None = None,
) -> PruneResult:
    """Delete base backups past retention (never the newest) and WAL no kept backup needs.

    A kept backup needs every archived segment from its start segment on, so it can roll forward
    to any later moment. Segments before the oldest kept backup's start segment are deleted once
    they were archived more than `wal_retention_days` ago (compared by segment number, as
    pg_archivecleanup does, but with the age condition it lacks). Timeline history files stay.
    """
    now = now or datetime.now(UTC)
    backups = list_backups(backup_dir)
    cutoff = now - timedelta(days=backup_retention_days)
    doomed = [b for b in backups[:-1] if b.finished_at < cutoff]  # the newest one always stays
    kept = [b for b in backups if b not in doomed]
    deleted_segments = deleted_bytes = 0
    anchor = kept[0] if kept else None
    if anchor is not None:
        wal_cutoff = (now - timedelta(days=wal_retention_days)).timestamp()
        segment_size = anchor.wal_segment_size or DEFAULT_SEGMENT_SIZE
        _, anchor_number = parse_segment(anchor.start_wal_segment, segment_size)
        wal_dir = wal_dir_of(backup_dir)
        for entry in sorted(os.scandir(wal_dir), key=lambda e: e.name) if wal_dir.is_dir() else []:
            name = entry.name.split(".")[0]  # 0000…0003.00000028.backup and .partial files too
            if not SEGMENT_RE.match(name) or entry.name.endswith(".history"):
                continue
            if parse_segment(name, segment_size)[1] >= anchor_number:
                continue
            stat = entry.stat()
            if stat.st_mtime >= wal_cutoff:
                continue
            deleted_segments += 1
            deleted_bytes += stat.st_size
            if not dry_run:
                os.unlink(entry.path)
    if not dry_run:
        for backup in doomed:
            shutil.rmtree(backup.folder)
    result = PruneResult(
        deleted_backups=[b.label for b in doomed],
        kept_backups=[b.label for b in kept],
        deleted_wal_segments=deleted_segments,
        deleted_wal_bytes=deleted_bytes,
        kept_wal_from=anchor.start_wal_segment if anchor else None,
        dry_run=dry_run,
    )
    if not dry_run and cluster is not None and trail is not None:
        record_in(cluster, trail, resource_type="database_backup", resource_id="prune", after=asdict(result))
    return result


def record_in(cluster: EmbeddedCluster, trail: Recorder, *, resource_type: str, resource_id: str, after: dict) -> None:
    """One audit row in `cluster`'s own database: backups and restores are audited where they happen."""
    from aurora_cli.db.cluster import DATABASE
    from aurora_cli.db.engine import make_engine, transaction

    engine = make_engine(cluster.url(DATABASE, driver="postgresql+psycopg"))
    try:
        with transaction(engine) as session:
            trail(session, action="COMMAND", resource_type=resource_type, resource_id=resource_id, after=after)
    finally:
        engine.dispose()
