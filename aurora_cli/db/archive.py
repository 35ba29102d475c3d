"""Continuous WAL archiving of the embedded cluster: its settings, the archive folder, its health.

Owns the cluster side of backups: `archive_mode`, the `archive_command` that copies each finished
WAL segment into `<backup dir>/wal/`, `archive_timeout`, WAL segment names and what
`pg_stat_archiver` says. It never takes or restores a backup (`aurora_cli.services.backup` does).

The archive command is plain /bin/sh run by the server in its data directory: copy to a hidden
temporary name in the archive folder, fsync, rename, fsync the folder. An existing segment of the
same name is accepted only if identical (PostgreSQL may retry after a crash); a different one is
refused with a non-zero exit, so the server keeps the segment, logs the failure and retries, and
`aurora db status` reports archiving unhealthy. When the archive folder is under the data directory
the command names it relative to pgdata, so a moved or copied data directory keeps archiving
into its own folder.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aurora_cli.db.cluster import EmbeddedCluster

SEGMENT_RE = re.compile(r"^[0-9A-F]{24}$")
DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024


@dataclass(frozen=True)
class ArchivingChange:
    """What `ensure_archiving` had to do."""

    changed: bool  # settings were written
    restarted: bool  # the running server was restarted (archive_mode needs it)
    wal_dir: Path


def wal_dir_of(backup_dir: Path) -> Path:
    return Path(backup_dir) / "wal"


def archive_command(cluster: EmbeddedCluster, wal_dir: Path) -> str:
    """The shell command PostgreSQL runs for each segment (%p: its path, %f: its file name)."""
    wal_dir = Path(wal_dir).absolute()
    try:
        wal_dir.relative_to(cluster.data_dir)
        where = os.path.relpath(wal_dir, cluster.pgdata)
    except ValueError:
        where = str(wal_dir)
    folder = shlex.quote(where).replace("%", "%%")
    return (
        f"d={folder}; f=%f; "
        'if [ -f "$d/$f" ]; then cmp -s %p "$d/$f" || '
        '{ echo "aurora archive: $d/$f already exists with different content; not overwritten" >&2; exit 1; }; '
        'else cp %p "$d/.$f.tmp" && sync "$d/.$f.tmp" && mv "$d/.$f.tmp" "$d/$f" && sync "$d"; fi'
    )


def restore_command(wal_dir: Path) -> str:
    """The restore_command a recovering cluster fetches archived segments with."""
    folder = shlex.quote(str(Path(wal_dir).absolute())).replace("%", "%%")
    return f"cp {folder}/%f %p"


def desired_settings(cluster: EmbeddedCluster, wal_dir: Path, archive_timeout_seconds: int) -> dict[str, str]:
    return {
        "archive_mode": "on",
        "archive_command": archive_command(cluster, wal_dir),
        "archive_timeout": str(archive_timeout_seconds),
    }


def prepare_wal_dir(cluster: EmbeddedCluster, wal_dir: Path) -> None:
    """Create the archive folder writable by the server's OS user (root runs it as `postgres`)."""
    wal_dir = Path(wal_dir).absolute()
    wal_dir.mkdir(parents=True, exist_ok=True)
    user = cluster._server_user()  # noqa: SLF001 - the cluster owns the OS-user rule
    if user is None:
        return
    if wal_dir.stat().st_uid != user.pw_uid:
        os.chown(wal_dir, user.pw_uid, user.pw_gid)
    wal_dir.chmod(0o700)
    for ancestor in wal_dir.parents:  # the server must be able to walk down to it
        mode = ancestor.stat().st_mode
        if not mode & 0o001:
            ancestor.chmod(mode | 0o001)


def ensure_archiving(
    cluster: EmbeddedCluster, wal_dir: Path, archive_timeout_seconds: int = 60
) -> ArchivingChange:
    """Turn archiving on (or re-point it); restarts a running server when archive_mode changes."""
    prepare_wal_dir(cluster, wal_dir)
    wanted = desired_settings(cluster, wal_dir, archive_timeout_seconds)
    if not cluster.is_running():
        current = read_auto_conf(cluster)
        if all(current.get(k) == v for k, v in wanted.items()):
            return ArchivingChange(False, False, Path(wal_dir))
        write_auto_conf(cluster, wanted)
        return ArchivingChange(True, False, Path(wal_dir))
    import psycopg

    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        current = {k: conn.execute(f"SELECT current_setting('{k}')").fetchone()[0] for k in wanted}
        # archive_timeout reads back with a unit ("1min"); compare the seconds it means.
        seconds = conn.execute("SELECT setting FROM pg_settings WHERE name = 'archive_timeout'").fetchone()[0]
        current["archive_timeout"] = seconds
        changed = {k: v for k, v in wanted.items() if current.get(k) != v}
        for key, value in changed.items():
            conn.execute(f"ALTER SYSTEM SET {key} = %s".replace("%s", _literal(value)))
        if changed and "archive_mode" not in changed:
            conn.execute("SELECT pg_reload_conf()")
    restarted = False
    if "archive_mode" in changed:
        cluster.stop()
        cluster.start()
        restarted = True
    return ArchivingChange(bool(changed), restarted, Path(wal_dir))


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_AUTO_LINE = re.compile(r"^\s*([a-z_]+)\s*=\s*'((?:[^']|'')*)'\s*$")


def read_auto_conf(cluster: EmbeddedCluster) -> dict[str, str]:
    path = cluster.pgdata / "postgresql.auto.conf"
    found: dict[str, str] = {}
    if not path.is_file():
        return found
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _AUTO_LINE.match(line)
        if match:
            found[match.group(1)] = match.group(2).replace("''", "'")
        elif "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            found[key.strip()] = value.strip()
    return found


def write_auto_conf(
    cluster: EmbeddedCluster, settings: dict[str, str], *, remove: tuple[str, ...] = ()
) -> None:
    """Set (or drop) keys in postgresql.auto.conf of a stopped cluster, as ALTER SYSTEM would."""
    path = cluster.pgdata / "postgresql.auto.conf"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    drop = set(settings) | set(remove)
    kept = [line for line in lines if line.partition("=")[0].strip() not in drop]
    kept += [f"{key} = {_literal(value)}" for key, value in settings.items()]
    # Rewrite in place so the file keeps its owner (the server's OS user when we are root).
    with open(path, "r+" if path.exists() else "w", encoding="utf-8") as handle:
        handle.seek(0)
        handle.write("\n".join(kept) + "\n")
        handle.truncate()


# -- WAL segment names ---------------------------------------------------------------------------


def parse_lsn(lsn: str) -> int:
    high, low = lsn.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def segments_per_id(segment_size: int) -> int:
    return 0x1_0000_0000 // segment_size


def segment_name(timeline: int, segment_number: int, segment_size: int) -> str:
    per_id = segments_per_id(segment_size)
    return f"{timeline:08X}{segment_number // per_id:08X}{segment_number % per_id:08X}"


def segment_of_lsn(lsn: int, segment_size: int) -> int:
    return lsn // segment_size


def parse_segment(name: str, segment_size: int) -> tuple[int, int]:
    """(timeline, segment number) of a WAL segment file name."""
    return int(name[:8], 16), int(name[8:16], 16) * segments_per_id(segment_size) + int(name[16:24], 16)


def archived_segments(wal_dir: Path, timeline: int, segment_size: int) -> dict[int, Path]:
    """Archived segments of one timeline by segment number."""
    found: dict[int, Path] = {}
    if not Path(wal_dir).is_dir():
        return found
    for entry in os.scandir(wal_dir):
        if SEGMENT_RE.match(entry.name) and int(entry.name[:8], 16) == timeline:
            found[parse_segment(entry.name, segment_size)[1]] = Path(entry.path)
    return found


def segment_system_identifier(path: Path) -> int:
    """The database system identifier in a segment's first (long) page header."""
    with open(path, "rb") as handle:
        header = handle.read(40)
    # XLogLongPageHeaderData: the 24-byte page header, then xlp_sysid (uint64, native = little endian).
    return int.from_bytes(header[24:32], "little")


# -- health --------------------------------------------------------------------------------------


def archiving_status(cluster: EmbeddedCluster, wal_dir: Path) -> dict:
    """Archiving as `db status` shows it; the cluster must be running."""
    import psycopg

    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        mode = conn.execute("SELECT current_setting('archive_mode')").fetchone()[0]
        command = conn.execute("SELECT current_setting('archive_command')").fetchone()[0]
        row = conn.execute(
            "SELECT archived_count, last_archived_wal, last_archived_time, failed_count,"
            " last_failed_wal, last_failed_time, now() FROM pg_stat_archiver"
        ).fetchone()
    archived, last_wal, last_time, failed, failed_wal, failed_time, now = row
    problem = None
    if mode == "off":
        problem = "WAL archiving is off"
    elif command != archive_command(cluster, wal_dir):
        problem = f"the archive command does not archive into {wal_dir}"
    elif failed_time is not None and (last_time is None or failed_time > last_time):
        problem = f"archiving {failed_wal} failed (see {cluster.log_file})"
    elif not Path(wal_dir).is_dir():
        problem = f"the archive folder {wal_dir} is missing"
    return {
        "healthy": problem is None,
        "problem": problem,
        "archive_dir": str(wal_dir),
        "archived_count": archived,
        "last_archived_wal": last_wal,
        "last_archived_at": last_time,
        "last_archived_age_seconds": round((now - last_time).total_seconds()) if last_time else None,
        "failed_count": failed,
        "last_failed_wal": failed_wal,
        "last_failed_at": failed_time,
    }


def switch_and_wait(cluster: EmbeddedCluster, *, timeout_seconds: float = 30.0) -> str | None:
    """Close the current WAL segment and wait until it is archived; returns its name (None if not)."""
    import time

    import psycopg

    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        if conn.execute("SELECT current_setting('archive_mode')").fetchone()[0] == "off":
            return None
        lsn = conn.execute("SELECT pg_switch_wal()").fetchone()[0]
        name = conn.execute("SELECT pg_walfile_name(%s)", (lsn,)).fetchone()[0]
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            last = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0]
            if last is not None and SEGMENT_RE.match(last) and last[8:] >= name[8:]:
                return name
            time.sleep(0.1)
    return None


def now_utc() -> datetime:
    return datetime.now(UTC)
