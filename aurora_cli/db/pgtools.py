"""PostgreSQL's own client programs (pg_basebackup, pg_verifybackup), run from the cluster's bin dir.

Owns how they are found and invoked (arguments, environment, one sentence on failure); it never
decides what to back up or keep (`services/backup.py`, `services/restore.py` do).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from aurora_cli.db.cluster import EmbeddedCluster, find_bin_dir
from aurora_cli.errors import DatabaseUnavailable


def tool(name: str) -> Path | None:
    """A PostgreSQL client tool from the cluster's own bin dir (same major version), or None."""
    path = find_bin_dir() / name
    return path if path.is_file() and os.access(path, os.X_OK) else None


def require_tool(name: str) -> Path:
    path = tool(name)
    if path is None:
        raise DatabaseUnavailable(
            f"{name} is not among the PostgreSQL binaries in {find_bin_dir()}: install the PostgreSQL "
            "client tools of the server's version (e.g. the postgresql-client package) next to them."
        )
    return path


def run_tool(argv: list[str], what: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    result = subprocess.run(argv, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        tail = " ".join((result.stderr or result.stdout or "").strip().splitlines()[-3:])
        raise DatabaseUnavailable(f"{what} failed: {tail or 'no output'}")
    return result


def tool_major_version(path: Path) -> int:
    out = run_tool([str(path), "--version"], f"{path.name} --version").stdout
    digits = out.strip().split()[-1]
    return int(digits.split(".")[0])



def pg_basebackup(binary: Path, cluster: EmbeddedCluster, folder: Path, *, label: str) -> None:
    """A compressed tar base backup with its manifest and the WAL it needs, into `folder`."""
    run_tool(
        [
            str(binary),
            "--dbname",
            cluster.url("postgres"),
            "--pgdata",
            str(folder),
            "--format=tar",
            "--gzip",
            "--compress=1",  # gzip level 1: most of the size gain at a fraction of the time
            "--wal-method=stream",  # the backup holds the WAL it needs: restorable on its own
            "--checkpoint=fast",
            "--manifest-checksums=CRC32C",
            "--label",
            label,
            *(["--no-sync"] if cluster.fast else []),
        ],
        "pg_basebackup",
    )


def pg_verifybackup_run(binary: Path, manifest: Path, pgdata: Path, what: str) -> bool:
    """Check an unpacked backup against its manifest; True when its WAL was parsed too."""
    argv = [str(binary), "--manifest-path", str(manifest)]
    parse_wal = tool("pg_waldump") is not None
    if not parse_wal:
        argv.append("--no-parse-wal")
    run_tool([*argv, str(pgdata)], what)
    return parse_wal
