"""`aurora db backup [list|prune]` and `aurora db restore` (ADMIN): the embedded cluster's backups.

Parse, authorize, call `services.backup` / `services.restore`, render. An external database is
refused here with a pointer to docs/operations.md (pgBackRest / Barman own its backups).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from aurora_cli.cli.exit_codes import UsageError
from aurora_cli.cli.frame import Runtime, command, run_command
from aurora_cli.db.archive import wal_dir_of
from aurora_cli.db.cluster import EmbeddedCluster
from aurora_cli.domain.permissions import Permission
from aurora_cli.errors import InvalidInput
from aurora_cli.services import backup as backups
from aurora_cli.services import restore as restores

EXTERNAL = (
    "{what} covers the embedded database only; an external database (database_url) is backed up and "
    "restored with pgBackRest or Barman as docs/operations.md describes."
)
LIST_COLUMNS = [
    "label",
    "started_at",
    "finished_at",
    "duration_seconds",
    "size_bytes",
    "start_lsn",
    "end_lsn",
    "timeline",
    "start_wal_segment",
    "verified",
    "verification",
    "audit_head_seq",
    "audit_head_row_hash",
    "system_identifier",
    "path",
]

backup_app = typer.Typer(
    help="Take a verified base backup (no subcommand), list backups, prune by retention.",
    invoke_without_command=True,
)


def _embedded(rt: Runtime, what: str) -> EmbeddedCluster:
    if rt.settings.database_url:
        raise UsageError(EXTERNAL.format(what=what))
    return EmbeddedCluster(rt.settings.data_dir)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


@backup_app.callback()
def backup(
    ctx: typer.Context,
    to: Annotated[
        Path | None,
        typer.Option("--to", help="Put the dated backup folder under DIR instead of the backup directory."),
    ] = None,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    run_command("db backup", Permission.ADMINISTER, lambda rt: _take(rt, to))


def _take(rt: Runtime, to: Path | None) -> None:
    cluster = _embedded(rt, "db backup")
    record = backups.take_backup(cluster, rt.settings.backup_path, parent=to, trail=rt.trail)
    for warning in record.warnings:
        hint = " (run `aurora db up` to turn it on)" if "archiving is off" in warning else ""
        rt.output.say(f"[yellow]Warning:[/yellow] {warning}{hint}.")
    if rt.output.is_machine:
        rt.output.single(record.to_json())
        return
    checked = "verified" if record.verified else "NOT verified"
    rt.output.say(
        f"Backed up {_size(record.size_bytes)} in {record.duration_seconds:.1f} s to {record.path} "
        f"(WAL {record.start_lsn}–{record.end_lsn}, {checked}, audit head seq {record.audit_head_seq})."
    )


@command(
    backup_app, "list", path="db backup list", permission=Permission.ADMINISTER, help="List base backups."
)
def backup_list(rt: Runtime) -> None:
    _embedded(rt, "db backup list")
    rows = [r.to_json() for r in backups.list_backups(rt.settings.backup_path)]
    rt.output.listing(
        rows,
        LIST_COLUMNS,
        title=f"Backups in {rt.settings.backup_path}",
        table_columns=[
            "label",
            "finished_at",
            "size_bytes",
            "duration_seconds",
            "end_lsn",
            "verified",
            "audit_head_seq",
        ],
        right_align=["size_bytes", "duration_seconds", "audit_head_seq"],
    )


@command(
    backup_app,
    "prune",
    path="db backup prune",
    permission=Permission.ADMINISTER,
    help="Delete backups and archived WAL past the retention of aurora.toml (never the newest backup).",
)
def backup_prune(
    rt: Runtime,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be deleted; delete nothing.")
    ] = False,
) -> None:
    cluster = _embedded(rt, "db backup prune")
    settings = rt.settings
    result = backups.prune(
        settings.backup_path,
        backup_retention_days=settings.backup_retention_days,
        wal_retention_days=settings.wal_retention_days,
        dry_run=dry_run,
        cluster=cluster,
        trail=rt.trail,
    )
    if rt.output.is_machine:
        rt.output.single(vars(result))
        return
    verb = "Would delete" if dry_run else "Deleted"
    names = f" ({', '.join(result.deleted_backups)})" if result.deleted_backups else ""
    rt.output.say(
        f"{verb} {len(result.deleted_backups)} backup(s){names} and {result.deleted_wal_segments} WAL "
        f"segment(s) ({_size(result.deleted_wal_bytes)}); kept {len(result.kept_backups)} backup(s) and the WAL "
        f"from segment {result.kept_wal_from or '-'} on."
    )


def register(db_app: typer.Typer) -> None:
    db_app.add_typer(backup_app, name="backup")

    @command(
        db_app,
        "restore",
        path="db restore",
        permission=None,  # authorized below: the source may be the very thing that was lost
        help="Restore a backup into a NEW data directory, to a time or the latest, and check it.",
    )
    def db_restore(
        rt: Runtime,
        from_: Annotated[
            str, typer.Option("--from", help="Backup label (see `db backup list`), folder, or 'latest'.")
        ],
        data_dir: Annotated[
            Path, typer.Option("--data-dir", help="New, empty data directory to restore into.")
        ],
        to_time: Annotated[
            str | None,
            typer.Option(
                "--to-time", help="Point in time, ISO 8601, e.g. 2026-12-01T10:00:00Z (no offset: UTC)."
            ),
        ] = None,
        to_latest: Annotated[bool, typer.Option("--to-latest", help="Replay all archived WAL.")] = False,
    ) -> int:
        return _restore(rt, from_, data_dir, to_time, to_latest)


def _restore(rt: Runtime, name: str, data_dir: Path, to_time: str | None, to_latest: bool) -> int:
    if (to_time is None) == (not to_latest):
        raise UsageError("give exactly one of --to-time ISO8601 or --to-latest.")
    target = None
    if to_time is not None:
        try:
            target = datetime.fromisoformat(to_time.strip())
        except ValueError:
            raise InvalidInput(
                f"--to-time {to_time!r} is not an ISO 8601 time: write e.g. 2026-12-01T10:00:00Z."
            ) from None
    source = _embedded(rt, "db restore")
    username = None
    if source.initialized:
        rt.require(Permission.ADMINISTER)
        username = rt.user.username
    else:
        rt.output.say(
            f"[yellow]Warning:[/yellow] there is no database at {source.data_dir} to authorize against or "
            "compare with; restoring from the backup alone."
        )
    settings = rt.settings
    record = backups.find_backup(settings.backup_path, name, ended_by=restores.normalize_target(target))
    result = restores.restore(
        record,
        wal_dir=wal_dir_of(settings.backup_path),
        new_data_dir=data_dir,
        live_data_dir=settings.data_dir,
        target_time=target,
        source=source if source.initialized else None,
        correlation_id=rt.correlation_id,
        user_id=rt.user_id,
        username=username,
        archive_timeout_seconds=settings.archive_timeout_seconds,
        trail=rt.trail,
    )
    ok = result.audit_intact and result.audit_matches_source is not False
    if rt.output.is_machine:
        rt.output.single(vars(result))
        return 0 if ok else 1
    _say_restore(rt, result)
    return 0 if ok else 1


def _say_restore(rt: Runtime, result: restores.RestoreResult) -> None:
    say = rt.output.say
    say(
        f"Restored backup {result.backup_label} to {result.target} into {result.data_dir} in "
        f"{result.restore_seconds:.1f} s (WAL replay {result.recovery_seconds:.1f} s)."
    )
    if result.audit_intact:
        match = {True: ", the same row as in the source", False: ", NOT the source's row", None: ""}
        say(
            f"Audit chain intact: {result.audit_rows_checked} rows checked; head seq {result.audit_head_seq}, "
            f"hash {result.audit_head_row_hash}{match[result.audit_matches_source]}."
        )
    else:
        say(f"[red]Audit chain broken[/red] in the restored database at {result.audit_broken_reason}.")
    rows = [{"table": t, **counts} for t, counts in result.row_counts.items()]
    rt.output.listing(rows, ["table", "restored", "source"], title="Rows", right_align=["restored", "source"])
    if result.not_replayed_count is not None:
        if result.not_replayed_count == 0:
            say("Nothing after the target was missed: every audit row of the source is in the restore.")
        else:
            first = result.not_replayed[0]
            say(
                f"Not replayed (after the target): {result.not_replayed_count} audit rows from "
                f"{result.not_replayed_invocations} invocations, from seq {first['seq']} at "
                f"{first['timestamp'].isoformat()} ({first['action']} {first['resource_id'] or ''}); "
                "`--format json` lists them."
            )
    for warning in result.warnings:
        say(f"[yellow]Warning:[/yellow] {warning}.")
    say(
        f"The restored database is running. Use it with AURORA_DATA_DIR={result.data_dir} aurora …; "
        f"stop it with AURORA_DATA_DIR={result.data_dir} aurora db stop."
    )
