"""One way to reach the database: the URLs, the engine, and transactional sessions.

Owns connection set-up and the one place the acting scope reaches PostgreSQL: whenever a unit of work
takes a connection from the pool, the engine sets the `app.*` settings that the row-level-security
policies of revision 011 read, from the scope the engine acts for now. No setting means no rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import IntegrityError, OperationalError

from aurora_cli.db.cluster import APP_ROLE, DATABASE, MIGRATE_ROLE, EmbeddedCluster
from aurora_cli.domain.permissions import Scope
from aurora_cli.errors import Conflict, DatabaseUnavailable
from aurora_cli.settings import Settings

if TYPE_CHECKING:  # the ORM (~40 ms, ~0.2 s with the models) is imported by the first ORM session only
    from sqlalchemy.orm import Session

# The old name; a scope is what a session acts for.
AccessContext = Scope


def sqlalchemy_url(url: str) -> str:
    """Accept plain libpq URLs too; SQLAlchemy needs the psycopg 3 driver named. (Here, not in
    db.migrate, so that running on an external URL does not import Alembic, ~0.1 s.)"""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def resolve_url(settings: Settings, *, start: bool = True) -> str:
    """The URL the application runs on: the configured one, or the embedded cluster's as aurora_app."""
    if settings.database_url:
        return sqlalchemy_url(settings.database_url)
    cluster = EmbeddedCluster(settings.data_dir)
    if start:
        cluster.ensure_running()
    return cluster.role_url(APP_ROLE, DATABASE, driver="postgresql+psycopg")


def resolve_migration_url(settings: Settings, *, start: bool = True) -> str:
    """The URL migrations run on: `migration_database_url`, else `database_url`, else the embedded
    cluster as aurora_migrate (so the objects it creates are owned by that role)."""

    if settings.migration_database_url:
        return sqlalchemy_url(settings.migration_database_url)
    if settings.database_url:
        return sqlalchemy_url(settings.database_url)
    cluster = EmbeddedCluster(settings.data_dir)
    if start:
        cluster.ensure_running()
    return cluster.role_url(MIGRATE_ROLE, DATABASE, driver="postgresql+psycopg")


_SCOPE_SQL = (
    "SELECT set_config('app.current_role', %s, false),"
    " set_config('app.current_user_id', %s, false),"
    " set_config('app.current_partner_id', %s, false),"
    " set_config('app.allowed_chains', %s, false),"
    " set_config('app.allowed_validators', %s, false),"
    " set_config('app.auth_username', %s, false),"
    " set_config('app.auth_token_hash', %s, false)"
)


def _array_literal(values: tuple[str, ...] | None) -> str:
    """'' = no limit; otherwise a PostgreSQL text[] literal, each element quoted."""
    if values is None:
        return ""
    quoted = ['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]
    return "{" + ",".join(quoted) + "}"


def scope_parameters(scope: Scope) -> tuple[str, ...]:
    return (
        scope.role,
        scope.user_id or "",
        scope.partner_id or "",
        _array_literal(scope.allowed_chain_ids),
        _array_literal(scope.allowed_validator_keys),
        scope.auth_username or "",
        scope.auth_token_hash or "",
    )


def make_engine(url: str, scope: Scope | None = None) -> Engine:
    """An engine whose every transaction acts for `scope` (default: the library's SYSTEM scope)."""
    engine = create_engine(url, pool_pre_ping=False, future=True)
    engine.aurora_scope = scope or Scope.system()  # type: ignore[attr-defined]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001
        with dbapi_conn.cursor() as cur:
            cur.execute("SELECT set_config('timezone', 'UTC', false)")
        dbapi_conn.commit()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, _record, _proxy) -> None:  # noqa: ANN001
        # Each unit of work checks a connection out, so each starts with the current scope. Applied in
        # its own short transaction rather than as the unit's first statement, because a unit may need
        # to begin with SET TRANSACTION ISOLATION LEVEL.
        with dbapi_conn.cursor() as cur:
            cur.execute(_SCOPE_SQL, scope_parameters(scope_of(engine)))
        dbapi_conn.commit()

    return engine


def scope_of(engine: Engine) -> Scope:
    return engine.aurora_scope  # type: ignore[attr-defined]


def set_scope(engine: Engine, scope: Scope) -> None:
    """Act for `scope` from the next transaction on (the frame does this once, after logging in)."""
    engine.aurora_scope = scope  # type: ignore[attr-defined]


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    from sqlalchemy.orm import sessionmaker

    factory = sessionmaker(engine, expire_on_commit=False)
    session = factory()
    try:
        with _database_errors(), session.begin():
            yield session
    finally:
        session.close()


@contextmanager
def connection(engine: Engine) -> Iterator[Connection]:
    """One unit of work on a Core connection (Core `text()` SQL only, no ORM import): what the frame's
    own reads and writes use (authentication, the invocation's audit row), so a simple read does not
    pay for the ORM and the models. Same scope, same commit/rollback and error mapping as `transaction`."""
    with _database_errors(), engine.begin() as conn:
        yield conn


@contextmanager
def _database_errors() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        raise DatabaseUnavailable(f"database error: {str(exc.orig).strip().splitlines()[0]}") from exc
    except IntegrityError as exc:
        # The lock guards of revision 006 (SQLSTATE 23000) refuse writes to locked statements; that is
        # a conflict the user can act on, not a crash. Other integrity errors stay unexpected.
        if getattr(exc.orig, "sqlstate", None) == "23000":
            raise Conflict(str(exc.orig).strip().splitlines()[0]) from exc
        raise
