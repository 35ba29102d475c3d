"""The database's lifecycle: where it is, the embedded cluster's set-up, audited schema migrations.

Owns `status`, the embedded cluster's set-up and stop, `upgrade`, `downgrade` and the question whether migrating needs an ADMIN
(`needs_admin`); the CLI asks for the login and renders. Never prints or prompts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, make_url, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import DBAPIError

from aurora_cli.db import migrate
from aurora_cli.db.archive import archiving_status, ensure_archiving, wal_dir_of
from aurora_cli.db.cluster import DATABASE, EmbeddedCluster, write_cluster_note
from aurora_cli.db.engine import make_engine, resolve_migration_url, resolve_url, transaction
from aurora_cli.errors import PermissionDenied
from aurora_cli.services import audit
from aurora_cli.services.audit import Recorder
from aurora_cli.settings import Settings

KEYED_CHAIN_REVISION = "010"  # the revision that keys the audit chain (checkpoints start there)
STATUS_KEYS = ("url", "running", "data_dir", "revision")  # SPEC §2: `db status --format json`
INSUFFICIENT_PRIVILEGE = "42501"  # SQLSTATE: the role lacks a privilege


def _role_of(url: str) -> str:
    try:
        return make_url(url).username or "the connecting role"
    except Exception:
        return "the connecting role"


def cannot_migrate(url: str, cause: BaseException | None = None) -> PermissionDenied:
    """The one sentence for a migration attempted as a role that does not own the schema."""
    orig = getattr(cause, "orig", cause)
    why = str(orig).strip().splitlines()[0] if orig is not None and str(orig).strip() else "permission denied"
    return PermissionDenied(
        f"the database role {_role_of(url)} may not read or change the schema's migrations ({why}): "
        "migrations run as the role that owns the schema, so set migration_database_url in aurora.toml "
        "(or AURORA_MIGRATION_DATABASE_URL) to that role's URL, e.g. "
        "postgresql://aurora_migrate:PASSWORD@HOST:PORT/DATABASE, and rerun."
    )


def _is_insufficient_privilege(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE


@contextmanager
def _migrating(url: str) -> Iterator[None]:
    """Alembic's work on `url`: a role without the privilege is told, in one sentence, what is needed."""
    try:
        yield
    except DBAPIError as exc:
        if _is_insufficient_privilege(exc):
            raise cannot_migrate(url, exc) from exc
        raise


def status(settings: Settings) -> dict[str, Any]:
    """Where the database is, whether it answers, and its schema revision (SPEC §2)."""
    if settings.database_url:
        url = migrate.sqlalchemy_url(settings.database_url)
        shown = make_url(url).render_as_string(hide_password=True).replace("+psycopg", "")
        running = _answers(url)
        revision = None
        problem = None
        if running:
            # The application role has no privilege on alembic_version: read it as the migration role
            # when one is configured (`migration_database_url`), else as database_url's role.
            migration = resolve_migration_url(settings, start=False)
            try:
                revision = migrate.current_revision(migration)
            except DBAPIError as exc:
                if _is_insufficient_privilege(exc):
                    problem = cannot_migrate(migration, exc).message
            except Exception:
                revision = None
        return {
            "url": shown,
            "running": running,
            "data_dir": None,
            "revision": revision,
            "embedded": False,
            "app_role": app_role(settings) if running else None,
        } | ({"problem": problem} if problem else {})
    cluster = EmbeddedCluster(settings.data_dir)
    state = cluster.status()
    revision = None
    archiving: dict[str, Any] | None = None
    if state.running:
        try:
            revision = migrate.current_revision(cluster.url(DATABASE, driver="postgresql+psycopg"))
        except Exception:
            revision = None
        try:
            archiving = archiving_status(cluster, wal_dir_of(settings.backup_path))
        except Exception as exc:  # status must report, not fail
            archiving = {"healthy": False, "problem": f"archiving state unreadable: {exc}"}
    return {
        "url": state.url,
        "running": state.running,
        "data_dir": str(state.data_dir),
        "revision": revision,
        "embedded": True,
        "app_role": app_role(settings) if state.running else None,
        "server_binaries": str(state.bin_dir) if state.bin_dir else None,
        "archiving": archiving,
    }


def _answers(url: str) -> bool:
    """Whether the database at `url` accepts a connection."""
    from sqlalchemy import create_engine, text

    probe = create_engine(url)
    try:
        with probe.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        probe.dispose()


def migration_url(settings: Settings) -> str:
    """The URL migrations run against: `migration_database_url` or the external database, or the
    embedded one (started) as aurora_migrate, which then owns what migrations create."""
    if not settings.database_url and not settings.migration_database_url:
        cluster = EmbeddedCluster(settings.data_dir)
        cluster.ensure_running()
        cluster.ensure_login_roles()
        cluster.hand_schema_to_migrate_role(DATABASE)
    return resolve_migration_url(settings)


def app_role(settings: Settings) -> dict[str, Any] | None:
    """Which role the application runs as, and whether it is (wrongly) privileged: None if unreachable."""
    try:
        engine = make_engine(resolve_url(settings, start=False))
        try:
            with engine.connect() as conn:
                row = conn.execute(
                    text(
                        "SELECT current_user, r.rolsuper, r.rolbypassrls FROM pg_roles r"
                        " WHERE r.rolname = current_user"
                    )
                ).one()
        finally:
            engine.dispose()
    except Exception:
        return None
    return {"name": row[0], "superuser": bool(row[1]), "bypass_rls": bool(row[2])}


def set_up_embedded(
    settings: Settings,
    *,
    on_starting: Callable[[Path], None],
    on_archiving_enabled: Callable[[Path, bool], None] | None = None,
) -> tuple[bool, Path]:
    """Create (when new) and start the embedded cluster and its database, with WAL archiving on.

    Returns whether the cluster was created now, and its data directory.

    `on_starting(data_dir)` is called just before a stopped server is started, which takes a while;
    `on_archiving_enabled(wal_dir, restarted)` when archiving was switched on for an existing cluster.
    """
    cluster = EmbeddedCluster(settings.data_dir)
    created = cluster.init()
    # Before the first start of a new cluster; an older running cluster is restarted if needed.
    archiving = ensure_archiving(cluster, wal_dir_of(settings.backup_path), settings.archive_timeout_seconds)
    if archiving.changed and not created and on_archiving_enabled is not None:
        on_archiving_enabled(archiving.wal_dir, archiving.restarted)
    if not cluster.is_running():
        on_starting(cluster.data_dir)
        cluster.start()
    cluster.create_database(DATABASE)
    cluster.ensure_login_roles()
    cluster.hand_schema_to_migrate_role(DATABASE)
    write_cluster_note(cluster)
    return created, cluster.data_dir


def stop_needs_admin(settings: Settings) -> bool:
    """Whether stopping the embedded cluster needs an ADMIN: it runs and its database has users."""
    cluster = EmbeddedCluster(settings.data_dir)
    if not cluster.initialized or not cluster.is_running():
        return False
    return needs_admin(cluster.url(DATABASE, driver="postgresql+psycopg"))


def stop_embedded(settings: Settings) -> bool:
    """Stop the embedded cluster; False when it was not running."""
    return EmbeddedCluster(settings.data_dir).stop()


def needs_admin(url: str) -> bool:
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


@dataclass(frozen=True)
class Migration:
    before: str | None
    after: str | None


def current_revision(url: str) -> str | None:
    with _migrating(url):
        return migrate.current_revision(url)


def head_revision() -> str | None:
    return migrate.head_revision()


def upgrade(url: str, revision: str, *, engine: Engine, trail: Recorder) -> Migration:
    """Migrate up to `revision` and record it (DB_MIGRATE) through `engine` once the log exists."""
    with _migrating(url):
        before = migrate.current_revision(url)
        migrate.upgrade(url, revision)
        after = migrate.current_revision(url)
    _audit_migration(engine, trail, Migration(before, after), after)
    return Migration(before, after)


def downgrade(
    url: str, revision: str, *, engine: Engine, trail: Recorder, checkpoint: Path | None = None
) -> Migration:
    """Migrate down to `revision`, recorded first: below 002 the audit log is gone (`base`).

    Below revision 010 the keyed chain is gone (below 002 the chain itself): the migration rewrites
    the log, so the heads in this database's `checkpoint` no longer describe it. The checkpoint is
    then retired (renamed aside, kept), and the chain rebuilt by the next upgrade starts a new one."""
    with _migrating(url):
        before = migrate.current_revision(url)
    if revision != "base":
        _audit_migration(engine, trail, Migration(before, revision), revision)
    with _migrating(url):
        migrate.downgrade(url, revision)
    if checkpoint is not None and not migrate.is_applied(url, KEYED_CHAIN_REVISION):
        audit.retire_checkpoint(checkpoint)
    return Migration(before, revision)


def _audit_migration(engine: Engine, trail: Recorder, migration: Migration, resource_id: str | None) -> None:
    with transaction(engine) as session:
        trail(
            session,
            action="DB_MIGRATE",
            resource_type="database",
            resource_id=resource_id,
            before={"revision": migration.before},
            after={"revision": migration.after},
        )
