"""One way to reach the database: the URL, the engine, and transactional sessions.

Owns connection set-up, including the session settings that row-level security reads
(`app.current_role`, `app.current_partner_id`, `app.current_user_id`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from aurora_cli.db.cluster import DATABASE, EmbeddedCluster
from aurora_cli.errors import Conflict, DatabaseUnavailable
from aurora_cli.settings import Settings


def resolve_url(settings: Settings, *, start: bool = True) -> str:
    """The configured external URL, or the embedded cluster's (started on demand)."""
    if settings.database_url:
        # Imported here: db.migrate brings Alembic (~0.15 s), which only migrating commands need.
        from aurora_cli.db.migrate import sqlalchemy_url

        return sqlalchemy_url(settings.database_url)
    cluster = EmbeddedCluster(settings.data_dir)
    if start:
        cluster.ensure_running()
    return cluster.url(DATABASE, driver="postgresql+psycopg")


@dataclass
class AccessContext:
    """Who the database session acts for; read by RLS policies."""

    role: str = "SYSTEM"
    partner_id: str | None = None
    user_id: str | None = None


def make_engine(url: str, access: AccessContext | None = None) -> Engine:
    engine = create_engine(url, pool_pre_ping=False, future=True)
    access = access or AccessContext()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001
        with dbapi_conn.cursor() as cur:
            cur.execute(
                "SELECT set_config('app.current_role', %s, false),"
                " set_config('app.current_partner_id', %s, false),"
                " set_config('app.current_user_id', %s, false),"
                " set_config('timezone', 'UTC', false)",
                (access.role, access.partner_id or "", access.user_id or ""),
            )
        dbapi_conn.commit()

    return engine


def set_access(session: Session, access: AccessContext) -> None:
    """Switch the acting identity for the rest of this session's connection."""
    session.execute(
        text(
            "SELECT set_config('app.current_role', :role, false),"
            " set_config('app.current_partner_id', :partner, false),"
            " set_config('app.current_user_id', :user, false)"
        ),
        {"role": access.role, "partner": access.partner_id or "", "user": access.user_id or ""},
    )


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    session = factory()
    try:
        with session.begin():
            yield session
    except OperationalError as exc:
        raise DatabaseUnavailable(f"database error: {str(exc.orig).strip().splitlines()[0]}") from exc
    except IntegrityError as exc:
        # The lock guards of revision 006 (SQLSTATE 23000) refuse writes to locked statements; that is
        # a conflict the user can act on, not a crash. Other integrity errors stay unexpected.
        if getattr(exc.orig, "sqlstate", None) == "23000":
            raise Conflict(str(exc.orig).strip().splitlines()[0]) from exc
        raise
    finally:
        session.close()
