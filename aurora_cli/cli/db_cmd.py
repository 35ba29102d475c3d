"""`aurora db up|stop|status|upgrade|downgrade`: parse, ask for the login or a confirmation, call
`services.database`, render.

up/stop/status act on the local data directory and need no login: whoever can read the data
directory owns the cluster. upgrade/downgrade need an ADMIN once users exist.
"""

from __future__ import annotations

from typing import Annotated

import typer

from aurora_cli.cli.exit_codes import ExitCode, UsageError
from aurora_cli.cli.frame import Runtime, command
from aurora_cli.domain.permissions import Permission
from aurora_cli.errors import AuroraError
from aurora_cli.services import audit, database

app = typer.Typer(
    help="The database: embedded cluster lifecycle and schema migrations.", no_args_is_help=True
)


@command(app, "up", path="db up", permission=None, help="Create, start and migrate the embedded database.")
def db_up(rt: Runtime) -> None:
    settings = rt.settings
    if settings.database_url:
        url = _migration_url(rt)
    else:
        created, data_dir = database.set_up_embedded(
            settings,
            on_starting=lambda folder: rt.output.say(f"Starting PostgreSQL in {folder} ..."),
            on_archiving_enabled=lambda wal_dir, restarted: rt.output.say(
                f"Enabled WAL archiving into {wal_dir}"
                + (" (restarted the database to apply it)." if restarted else ".")
            ),
        )
        if created:
            rt.output.say(f"Created a new PostgreSQL cluster in {data_dir}.")
        url = database.migration_url(settings)
    migration = database.upgrade(url, "head", engine=rt.engine, trail=rt.trail)
    rt.output.say(
        f"Database ready at revision {migration.after}"
        + ("" if migration.before != migration.after else " (already current)")
        + "."
    )
    _show_status(rt, database.status(settings), every_key=True)


@command(app, "stop", path="db stop", permission=None, help="Stop the embedded database.")
def db_stop(rt: Runtime) -> None:
    if rt.settings.database_url:
        # Authorize first, so a non-ADMIN is refused the same way whatever the database is.
        rt.require(Permission.ADMINISTER)
        raise UsageError(
            "db stop manages the embedded cluster only; an external database is managed elsewhere."
        )
    if database.stop_needs_admin(rt.settings):
        rt.require(Permission.ADMINISTER)
    # Audit before the server goes away; if stopping then fails, the frame adds the failure.
    rt.audit_invocation("db stop", ExitCode.OK, None)
    try:
        stopped = database.stop_embedded(rt.settings)
    except AuroraError:
        rt.audited = False
        raise
    rt.output.say("Stopped the embedded database." if stopped else "The embedded database was not running.")


@command(
    app,
    "status",
    path="db status",
    permission=None,
    help="Where the database is, whether it runs, its revision.",
)
def db_status(rt: Runtime) -> None:
    _show_status(rt, database.status(rt.settings))


def _show_status(rt: Runtime, status: dict, *, every_key: bool = False) -> None:
    if rt.output.is_machine:
        # SPEC §2's four keys, the role the application runs as (issue 10), why the revision is
        # unreadable when it is; the embedded cluster adds its archiving state (an external one is not ours).
        keys = [*database.STATUS_KEYS, "app_role"] + (["archiving"] if status.get("embedded") else [])
        keys = list(status) if every_key else keys + (["problem"] if "problem" in status else [])
        rt.output.single({k: status.get(k) for k in keys})
    else:
        shown = {k: v for k, v in status.items() if k != "problem"}
        rt.output.single(
            shown
            | {"archiving": _archiving_line(status.get("archiving")), "app_role": _role_line(status.get("app_role"))},
            title="Aurora database",
        )
        if status.get("problem"):
            rt.output.say(f"The revision could not be read: {status['problem']}")


def _role_line(role: dict | None) -> str | None:
    """The application's database role in one cell: its name and whether it is (wrongly) privileged."""
    if role is None:
        return None
    flags = [
        "SUPERUSER" if role["superuser"] else "not superuser",
        "BYPASSRLS" if role["bypass_rls"] else "row-level security applies",
    ]
    return f"{role['name']} ({', '.join(flags)})"


def _archiving_line(archiving: dict | None) -> str | None:
    """The archiving state in one cell of the human status table."""
    if archiving is None:
        return None
    if not archiving["healthy"]:
        return f"UNHEALTHY: {archiving['problem']}"
    last = archiving.get("last_archived_wal")
    if last is None:
        return f"on, into {archiving['archive_dir']}; nothing archived yet"
    return (
        f"healthy, into {archiving['archive_dir']}; last {last} "
        f"{archiving['last_archived_age_seconds']} s ago"
    )


@command(
    app, "upgrade", path="db upgrade", permission=None, help="Migrate the database up (default: to head)."
)
def db_upgrade(
    rt: Runtime,
    revision: Annotated[str, typer.Argument(help="Target revision (default head).")] = "head",
) -> None:
    migration = database.upgrade(_migration_url(rt), revision, engine=rt.engine, trail=rt.trail)
    rt.output.say(
        f"Migrated from {migration.before or 'base'} to {migration.after or 'base'} "
        f"(head is {database.head_revision()})."
    )


@command(app, "downgrade", path="db downgrade", permission=None, help="Migrate the database down to REV.")
def db_downgrade(
    rt: Runtime,
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. 003 or base.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    url = _migration_url(rt)
    before = database.current_revision(url)
    if not yes and not typer.confirm(
        f"Downgrade {before} to {revision}? Data in dropped tables is lost", err=True
    ):
        raise UsageError("downgrade cancelled.")
    database.downgrade(
        url,
        revision,
        engine=rt.engine,
        trail=rt.trail,
        checkpoint=audit.checkpoint_path(rt.data_dir, rt.engine),
    )
    rt.audited = revision == "base"  # below 002 the audit log cannot hold a COMMAND row
    rt.output.say(f"Migrated from {before} down to {revision}.")


def _migration_url(rt: Runtime) -> str:
    """The database to migrate; once it has users, only an ADMIN may migrate it."""
    url = database.migration_url(rt.settings)
    if database.needs_admin(url):
        rt.require(Permission.ADMINISTER)
    return url


def _register_backups() -> None:
    from aurora_cli.cli import backup_cmd

    backup_cmd.register(app)


_register_backups()
