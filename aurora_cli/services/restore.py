"""Point-in-time restore of a base backup into a new embedded cluster, and the checks after it.

Owns: refusing unsafe targets before anything is written (an existing or live data directory, a
target before the backup's end or in the future, a WAL archive of another cluster, a gap in the
archived WAL), unpacking and re-verifying the backup, the recovery settings, waiting for the
promotion, and the integrity report: the audit chain verified on the restored database, row counts
beside the source's, and the source's audit rows that were not replayed.

On any failure after the new data directory was created, its server is stopped and the directory
removed, so nothing half-restored is left running. It never prints and never names a flag.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aurora_cli.db.archive import (
    archived_segments,
    ensure_archiving,
    parse_segment,
    restore_command,
    segment_name,
    segment_system_identifier,
    switch_and_wait,
    wal_dir_of,
    write_auto_conf,
)
from aurora_cli.db.cluster import DATABASE, ROLES_FILE, EmbeddedCluster, write_cluster_note
from aurora_cli.db.pgtools import pg_verifybackup_run, tool
from aurora_cli.errors import AuroraError, Conflict, DatabaseUnavailable, InvalidInput, NotFound
from aurora_cli.services.audit import KEY_FILE, Recorder
from aurora_cli.services.backup import BackupRecord, extract_backup, record_in

# The tables whose row counts the restore report compares (those present in the schema).
MAIN_TABLES = (
    "users",
    "chains",
    "providers",
    "canonical_validator_identities",
    "canonical_periods",
    "ingestion_runs",
    "staging_payloads",
    "canonical_stake_rewards",
    "validator_pnl",
    "partners",
    "agreements",
    "partner_commission_lines",
    "partner_commission_statements",
    "audit_log",
)
RECOVERY_KEYS = (
    "restore_command",
    "recovery_target_time",
    "recovery_target_action",
    "recovery_target_timeline",
)
NOT_REPLAYED_SHOWN = 20


@dataclass
class RestoreResult:
    data_dir: str
    url: str
    backup_label: str
    target: str  # an ISO time or "latest"
    restore_seconds: float
    recovery_seconds: float
    audit_intact: bool
    audit_rows_checked: int
    audit_broken_reason: str | None
    audit_head_seq: int | None
    audit_head_row_hash: str | None
    audit_head_at: datetime | None
    source_reachable: bool
    audit_matches_source: bool | None  # the restored chain is a prefix of the source's
    row_counts: dict[str, dict[str, int | None]] = field(default_factory=dict)
    not_replayed_count: int | None = None
    not_replayed_invocations: int | None = None
    not_replayed: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def normalize_target(target: datetime | None) -> datetime | None:
    """A target without an offset is UTC, like every time Aurora stores."""
    if target is None:
        return None
    return target.replace(tzinfo=UTC) if target.tzinfo is None else target.astimezone(UTC)


def check_new_data_dir(new_data_dir: Path, live_data_dir: Path) -> EmbeddedCluster:
    new = Path(new_data_dir).expanduser().absolute()
    live = Path(live_data_dir).expanduser().absolute()
    new_real, live_real = Path(os.path.realpath(new)), Path(os.path.realpath(live))
    if new_real == live_real or live_real in new_real.parents or new_real in live_real.parents:
        raise InvalidInput(
            f"{new} is (or holds, or is inside) the live data directory {live}: restore into a new directory."
        )
    if new.exists() and (not new.is_dir() or any(new.iterdir())):
        raise InvalidInput(f"{new} already exists and is not empty: restore into a new or empty directory.")
    cluster = EmbeddedCluster(new)
    cluster._check_paths()  # noqa: SLF001 - one sentence for a socket path that is too long
    return cluster


def restore(
    backup: BackupRecord,
    *,
    wal_dir: Path,
    new_data_dir: Path,
    live_data_dir: Path,
    target_time: datetime | None,
    source: EmbeddedCluster | None,
    correlation_id: uuid.UUID,
    user_id: uuid.UUID | None,
    username: str | None,
    archive_timeout_seconds: int = 60,
    recovery_timeout_seconds: float = 3600.0,
    trail: Recorder | None = None,
) -> RestoreResult:
    """Restore `backup` into `new_data_dir`, replaying archived WAL to `target_time` (None: latest).

    The restore is audited in the restored database and, through `trail`, in the source."""
    clock = time.monotonic()
    target = normalize_target(target_time)
    cluster = check_new_data_dir(new_data_dir, live_data_dir)
    now = datetime.now(UTC)
    if target is not None and target < backup.finished_at:
        raise InvalidInput(
            f"the target time {target.isoformat()} is before backup {backup.label} ended "
            f"({backup.finished_at.isoformat()}): choose a later time or an older backup."
        )
    if target is not None and target > now:
        raise InvalidInput(
            f"the target time {target.isoformat()} is in the future: restore to the latest instead."
        )
    if source is not None and not source.is_running():
        source = None
    source_last = None
    warnings: list[str] = []
    if source is not None:
        # A commit stamped now lets recovery see that any earlier target was passed; the switch
        # then puts the newest changes in the archive.
        _mark_commit(source)
        source_last = switch_and_wait(source, timeout_seconds=max(30.0, archive_timeout_seconds))
        if source_last is None:
            warnings.append(
                "the source's newest WAL could not be archived in time, so the restore ends at the newest "
                "segment already in the archive (check the archiving state of the source)"
            )
    check_archive(backup, Path(wal_dir), source_last)

    created = not cluster.data_dir.exists()
    try:
        extract_backup(backup.folder, cluster.pgdata)
        _verify_extracted(backup, cluster)
        _carry_secrets(live_data_dir, cluster.data_dir)
        settings = {
            "restore_command": restore_command(wal_dir),
            "recovery_target_action": "promote",
            "recovery_target_timeline": "current",
        }
        if target is not None:
            settings["recovery_target_time"] = target.isoformat()
        write_auto_conf(cluster, settings)
        (cluster.pgdata / "recovery.signal").touch()
        (cluster.pgdata / "standby.signal").unlink(missing_ok=True)
        # The restored cluster archives its own new timeline into its own folder, never the source's.
        ensure_archiving(cluster, wal_dir_of(cluster.data_dir / "backups"), archive_timeout_seconds)
        recovery_clock = time.monotonic()
        try:
            cluster.start()
        except DatabaseUnavailable:
            raise _diagnose(cluster, target, backup) from None
        _wait_for_promotion(cluster, target, backup, recovery_timeout_seconds)
        recovery_seconds = time.monotonic() - recovery_clock
        _reset_recovery_settings(cluster)
        write_cluster_note(cluster)
        result = _report(cluster, backup, target, source)
        result.recovery_seconds = round(recovery_seconds, 2)
        result.warnings[:0] = warnings
        _audit_restored(cluster, result, correlation_id=correlation_id, user_id=user_id, username=username)
    except BaseException:
        try:
            cluster.stop()
        except AuroraError:
            pass
        if created:
            shutil.rmtree(cluster.data_dir, ignore_errors=True)
        else:
            for child in cluster.data_dir.iterdir():
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink()
        raise
    result.restore_seconds = round(time.monotonic() - clock, 2)
    if source is not None and trail is not None:
        record_in(
            source, trail, resource_type="database_restore", resource_id=result.backup_label,
            after=restore_summary(result),
        )
    return result


# The restored cluster holds the source's login roles (their passwords are in the backup) and its
# audit chain is keyed by the source's key: the new data dir gets both files, 0600, or the CLI could
# neither log in as aurora_app nor verify the restored chain.
CARRIED_SECRETS = (ROLES_FILE, KEY_FILE)


def _carry_secrets(live_data_dir: Path, new_data_dir: Path) -> None:
    for name in CARRIED_SECRETS:
        source = live_data_dir.expanduser().absolute() / name
        if not source.is_file() or source.is_symlink():
            continue
        target = new_data_dir / name
        if target.exists():
            continue
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(source.read_bytes())


def _mark_commit(source: EmbeddedCluster) -> None:
    import psycopg

    with psycopg.connect(source.url("postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_current_xact_id()")


def check_archive(backup: BackupRecord, wal_dir: Path, source_last: str | None) -> None:
    """Refuse a WAL archive of another cluster, or one with a gap after the backup's start."""
    if not wal_dir.is_dir():
        raise NotFound(
            f"there is no WAL archive at {wal_dir}: nothing after backup {backup.label} can be replayed."
        )
    size = backup.wal_segment_size
    segments = archived_segments(wal_dir, backup.timeline, size)
    _, start = parse_segment(backup.start_wal_segment, size)
    _, end = parse_segment(backup.end_wal_segment, size)
    after_start = sorted(n for n in segments if n >= start)
    if after_start:
        found = segment_system_identifier(segments[after_start[0]])
        if str(found) != backup.system_identifier:
            raise Conflict(
                f"backup {backup.label} is of database system {backup.system_identifier} but the WAL archive "
                f"at {wal_dir} holds WAL of system {found}: restore a backup of the cluster that archive "
                "belongs to, or use that cluster's backup directory."
            )
    last = after_start[-1] if after_start else end - 1
    if source_last is not None and int(source_last[:8], 16) == backup.timeline:
        last = max(last, parse_segment(source_last, size)[1])
    # The backup holds the segments from its start up to (not including) the one it ended in.
    missing = [n for n in range(start, last + 1) if n not in segments and not start <= n < end]
    if missing:
        first = segment_name(backup.timeline, missing[0], size)
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise NotFound(
            f"WAL segment {first}{more} is missing from the archive at {wal_dir}, so the changes after "
            f"backup {backup.label} cannot be replayed past it: put the segment back, or restore from a "
            "backup taken after it."
        )


def _verify_extracted(backup: BackupRecord, cluster: EmbeddedCluster) -> None:
    pg_verifybackup = tool("pg_verifybackup")
    if pg_verifybackup is None:
        return  # `take_backup` recorded that it could not verify; nothing more can be done here
    pg_verifybackup_run(
        pg_verifybackup, backup.folder / "backup_manifest", cluster.pgdata, f"pg_verifybackup of backup {backup.label}"
    )


def _server_failure(cluster: EmbeddedCluster) -> str | None:
    """The decisive FATAL/PANIC line of the restored server's log."""
    try:
        lines = cluster.log_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    fatal = [line for line in lines if "FATAL:" in line or "PANIC:" in line]
    return fatal[0].split(":", 3)[-1].strip() if fatal else None


def _diagnose(cluster: EmbeddedCluster, target: datetime | None, backup: BackupRecord) -> AuroraError:
    line = _server_failure(cluster) or "the server stopped without saying why"
    when = target.isoformat() if target else "the latest archived change"
    if "recovery ended before configured recovery target was reached" in line:
        return NotFound(
            f"the archived WAL holds no change after {when}, so recovery cannot show that the target was "
            "reached: restore to the latest instead (the same state), or choose an earlier time."
        )
    if "before consistent recovery point" in line:
        return InvalidInput(
            f"the target {when} is before backup {backup.label} became consistent: choose a later time."
        )
    if "different database system" in line:
        return Conflict(
            f"the archived WAL belongs to another database system than backup {backup.label} ({line})."
        )
    if "could not" in line or "requested timeline" in line or "invalid" in line:
        return NotFound(f"recovery of backup {backup.label} could not read the WAL it needs: {line}.")
    return DatabaseUnavailable(f"the restored server stopped during recovery: {line}.")


def _wait_for_promotion(
    cluster: EmbeddedCluster, target: datetime | None, backup: BackupRecord, timeout: float
) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not cluster.is_running():
            raise _diagnose(cluster, target, backup)
        try:
            with psycopg.connect(cluster.url("postgres"), autocommit=True, connect_timeout=5) as conn:
                if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    return
        except psycopg.OperationalError:
            pass  # not accepting connections yet, or shutting down after a failure
        time.sleep(0.2)
    raise DatabaseUnavailable(
        f"recovery of backup {backup.label} did not finish within {int(timeout)} s (see {cluster.log_file})."
    )


def _reset_recovery_settings(cluster: EmbeddedCluster) -> None:
    """Keep the restored cluster an ordinary one: the recovery settings go from its configuration."""
    import psycopg

    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        for key in RECOVERY_KEYS:
            conn.execute(f"ALTER SYSTEM RESET {key}")
        conn.execute("SELECT pg_reload_conf()")


def _report(
    cluster: EmbeddedCluster, backup: BackupRecord, target: datetime | None, source: EmbeddedCluster | None
) -> RestoreResult:
    import psycopg

    from aurora_cli.db.engine import make_engine
    from aurora_cli.services import audit

    engine = make_engine(cluster.url(DATABASE, driver="postgresql+psycopg"))
    try:
        verdict = audit.verify(engine)
    finally:
        engine.dispose()
    with psycopg.connect(cluster.url(DATABASE), autocommit=True) as conn:
        tables = [t for t in MAIN_TABLES if conn.execute("SELECT to_regclass(%s)", (t,)).fetchone()[0]]
        restored_counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        head = conn.execute(
            "SELECT seq, row_hash, timestamp FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    head_seq, head_hash, head_at = head if head else (0, None, None)
    result = RestoreResult(
        data_dir=str(cluster.data_dir),
        url=cluster.url(),
        backup_label=backup.label,
        target=target.isoformat() if target else "latest",
        restore_seconds=0.0,
        recovery_seconds=0.0,
        audit_intact=verdict.intact,
        audit_rows_checked=verdict.rows_checked,
        audit_broken_reason=None if verdict.intact else f"row {verdict.broken_seq}: {verdict.reason}",
        audit_head_seq=head_seq or None,
        audit_head_row_hash=head_hash,
        audit_head_at=head_at,
        source_reachable=source is not None,
        audit_matches_source=None,
        row_counts={t: {"restored": n, "source": None} for t, n in restored_counts.items()},
    )
    if source is None:
        result.warnings.append("the source database is not running: nothing to compare the restore with")
        return result
    with psycopg.connect(source.url(DATABASE), autocommit=True) as conn:
        for table in tables:
            result.row_counts[table]["source"] = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        same = conn.execute("SELECT row_hash FROM audit_log WHERE seq = %s", (head_seq,)).fetchone()
        result.audit_matches_source = head_hash is None or (same is not None and same[0] == head_hash)
        total, invocations = conn.execute(
            "SELECT count(*), count(DISTINCT correlation_id) FROM audit_log WHERE seq > %s", (head_seq,)
        ).fetchone()
        result.not_replayed_count, result.not_replayed_invocations = total, invocations
        rows = conn.execute(
            "SELECT seq, timestamp, action::text, resource_type, resource_id, correlation_id FROM audit_log"
            " WHERE seq > %s ORDER BY seq LIMIT %s",
            (head_seq, NOT_REPLAYED_SHOWN),
        ).fetchall()
    keys = ("seq", "timestamp", "action", "resource_type", "resource_id", "correlation_id")
    result.not_replayed = [dict(zip(keys, row, strict=True)) for row in rows]
    if not result.audit_matches_source:
        result.warnings.append(
            f"the restored audit chain differs from the source's at row {head_seq}: the source is not the "
            "cluster this backup came from, or its audit log was altered"
        )
    return result


def _audit_restored(
    cluster: EmbeddedCluster,
    result: RestoreResult,
    *,
    correlation_id: uuid.UUID,
    user_id: uuid.UUID | None,
    username: str | None,
) -> None:
    """The restore's own row in the restored database (the source gets one through the trail)."""
    from sqlalchemy import text

    from aurora_cli.db.engine import make_engine, transaction
    from aurora_cli.services import audit

    engine = make_engine(cluster.url(DATABASE, driver="postgresql+psycopg"))
    try:
        with transaction(engine) as session:
            known = (
                user_id is not None
                and session.execute(text("SELECT 1 FROM users WHERE user_id = :u"), {"u": user_id}).first()
            )
            audit.record(
                session,
                action="COMMAND",
                resource_type="database_restore",
                resource_id=result.backup_label,
                correlation_id=correlation_id,
                user_id=user_id if known else None,
                after=restore_summary(result) | {"restored_by": username},
            )
    finally:
        engine.dispose()


def restore_summary(result: RestoreResult) -> dict:
    """What both audit rows of a restore hold."""
    return {
        "backup": result.backup_label,
        "target": result.target,
        "data_dir": result.data_dir,
        "audit_intact": result.audit_intact,
        "audit_head_seq": result.audit_head_seq,
        "audit_head_row_hash": result.audit_head_row_hash,
        "not_replayed_audit_rows": result.not_replayed_count,
    }
