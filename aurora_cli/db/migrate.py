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

from aurora_cli.db.engine import sqlalchemy_url  # noqa: F401  (also this module's public name)

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


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
