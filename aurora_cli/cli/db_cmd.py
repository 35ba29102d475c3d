"""`aurora db`: the embedded cluster (up, stop, status) and migrations of any database.

up/stop/status act on the local data directory and need no login: whoever can read the data
directory owns the cluster. upgrade/downgrade need an ADMIN once users exist.
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import make_url, text

from aurora_cli.cli.frame import Runtime, command
from aurora_cli.db.archive import archiving_status, ensure_archiving, wal_dir_of
from aurora_cli.db.cluster import DATABASE, EmbeddedCluster, write_cluster_note
from aurora_cli.db.engine import make_engine
from aurora_cli.db.migrate import current_revision, downgrade, head_revision, sqlalchemy_url, upgrade
from aurora_cli.domain.permissions import Permission
from aurora_cli.errors import AuroraError, UsageError

app = typer.Typer(
    help="The database: embedded cluster lifecycle and schema migrations.", no_args_is_help=True
)


def _status(rt: Runtime) -> dict:
    settings = rt.settings
    if settings.database_url:
        url = sqlalchemy_url(settings.database_url)
        shown = make_url(url).render_as_string(hide_password=True).replace("+psycopg", "")
        try:
            revision = current_revision(url)
            running = True
        except Exception:
            revision, running = None, False
        return {"url": shown, "running": running, "data_dir": None, "revision": revision, "embedded": False}
    cluster = EmbeddedCluster(settings.data_dir)
    status = cluster.status()
    revision = None
    archiving: dict | None = None
    if status.running:
        try:
            revision = current_revision(cluster.url(DATABASE, driver="postgresql+psycopg"))
        except Exception:
            revision = None
        try:
            archiving = archiving_status(cluster, wal_dir_of(settings.backup_path))
        except Exception as exc:  # status must report, not fail
            archiving = {"healthy": False, "problem": f"archiving state unreadable: {exc}"}
    return {
        "url": status.url,
        "running": status.running,
        "data_dir": str(status.data_dir),
        "revision": revision,
        "embedded": True,
        "server_binaries": str(status.bin_dir) if status.bin_dir else None,
        "archiving": archiving,
    }


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


def _has_users(url: str) -> bool:
    """Whether migrating needs an ADMIN: users exist and tokens can be checked (revision 003+)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            inspector = sa_inspect(conn)
            if not (inspector.has_table("users") and inspector.has_table("user_tokens")):
                return False
            return bool(conn.execute(text("SELECT EXISTS (SELECT 1 FROM users)")).scalar())
    finally:
        engine.dispose()


@command(app, "up", path="db up", permission=None, help="Create, start and migrate the embedded database.")
def db_up(rt: Runtime) -> None:
    settings = rt.settings
    if settings.database_url:
        url = sqlalchemy_url(settings.database_url)
        if _has_users(url):
            rt.require(Permission.ADMINISTER)
    else:
        cluster = EmbeddedCluster(settings.data_dir)
        created = cluster.init()
        # Before the first start of a new cluster; an older running cluster is restarted if needed.
        archiving = ensure_archiving(
            cluster, wal_dir_of(settings.backup_path), settings.archive_timeout_seconds
        )
        if archiving.changed and not created:
            rt.output.say(
                f"Enabled WAL archiving into {archiving.wal_dir}"
                + (" (restarted the database to apply it)." if archiving.restarted else ".")
            )
        if not cluster.is_running():
            rt.output.say(f"Starting PostgreSQL in {cluster.data_dir} ...")
            cluster.start()
        cluster.create_database(DATABASE)
        write_cluster_note(cluster)
        if created:
            rt.output.say(f"Created a new PostgreSQL cluster in {cluster.data_dir}.")
        url = cluster.url(DATABASE, driver="postgresql+psycopg")
    before, after = _upgrade_audited(rt, url, "head")
    rt.output.say(
        f"Database ready at revision {after}" + ("" if before != after else " (already current)") + "."
    )
    _show_status(rt, _status(rt), every_key=True)


@command(app, "stop", path="db stop", permission=None, help="Stop the embedded database.")
def db_stop(rt: Runtime) -> None:
    if rt.settings.database_url:
        raise UsageError(
            "db stop manages the embedded cluster only; an external database is managed elsewhere."
        )
    cluster = EmbeddedCluster(rt.settings.data_dir)
    # Audit before the server goes away; if stopping then fails, the frame adds the failure.
    rt.audit_invocation("db stop", 0, None)
    try:
        stopped = cluster.stop()
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
    _show_status(rt, _status(rt))


def _show_status(rt: Runtime, status: dict, *, every_key: bool = False) -> None:
    if rt.output.is_machine:
        # SPEC §2's four keys; the embedded cluster adds its archiving state (an external one is not ours).
        keys = ["url", "running", "data_dir", "revision"] + (["archiving"] if status.get("embedded") else [])
        keys = list(status) if every_key else keys
        rt.output.single({k: status.get(k) for k in keys})
    else:
        rt.output.single(
            status | {"archiving": _archiving_line(status.get("archiving"))}, title="Aurora database"
        )


@command(
    app, "upgrade", path="db upgrade", permission=None, help="Migrate the database up (default: to head)."
)
def db_upgrade(
    rt: Runtime,
    revision: Annotated[str, typer.Argument(help="Target revision (default head).")] = "head",
) -> None:
    before, after = _upgrade_audited(rt, _migration_url(rt), revision)
    rt.output.say(f"Migrated from {before or 'base'} to {after or 'base'} (head is {head_revision()}).")


@command(app, "downgrade", path="db downgrade", permission=None, help="Migrate the database down to REV.")
def db_downgrade(
    rt: Runtime,
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. 003 or base.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    url = _migration_url(rt)
    before = current_revision(url)
    if not yes and not typer.confirm(
        f"Downgrade {before} to {revision}? Data in dropped tables is lost", err=True
    ):
        raise UsageError("downgrade cancelled.")
    if revision != "base":
        with rt.transaction() as session:
            rt.audit(
                session,
                action="DB_MIGRATE",
                resource_type="database",
                resource_id=revision,
                before={"revision": before},
                after={"revision": revision},
            )
    downgrade(url, revision)
    rt.audited = revision == "base"  # below 002 the audit log cannot hold a COMMAND row
    rt.output.say(f"Migrated from {before} down to {revision}.")


def _upgrade_audited(rt: Runtime, url: str, revision: str) -> tuple[str | None, str | None]:
    """Migrate up and record it; returns the revisions before and after."""
    before = current_revision(url)
    upgrade(url, revision)
    after = current_revision(url)
    with rt.transaction() as session:
        rt.audit(
            session,
            action="DB_MIGRATE",
            resource_type="database",
            resource_id=after,
            before={"revision": before},
            after={"revision": after},
        )
    return before, after


def _migration_url(rt: Runtime) -> str:
    settings = rt.settings
    if settings.database_url:
        url = sqlalchemy_url(settings.database_url)
    else:
        cluster = EmbeddedCluster(settings.data_dir)
        cluster.ensure_running()
        url = cluster.url(DATABASE, driver="postgresql+psycopg")
    if _has_users(url):
        rt.require(Permission.ADMINISTER)
    return url


def _register_backups() -> None:
    from aurora_cli.cli import backup_cmd

    backup_cmd.register(app)


_register_backups()
