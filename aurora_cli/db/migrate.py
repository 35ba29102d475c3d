"""Alembic, driven from code: upgrade, downgrade, current revision.

The migration scripts live in the package (`aurora_cli/migrations/`), so an installed wheel
migrates as a checkout does.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


def sqlalchemy_url(url: str) -> str:
    """Accept plain libpq URLs too; SQLAlchemy needs the psycopg 3 driver named."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on '%' in percent-encoded URLs.
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("postgresql://")).get_current_head()


def is_applied(url: str, revision: str) -> bool:
    """Whether `revision` is the database's current revision or one of its ancestors."""
    current = current_revision(url)
    if current is None:
        return False
    script = ScriptDirectory.from_config(alembic_config("postgresql://"))
    return any(r.revision == revision for r in script.iterate_revisions(current, "base"))
