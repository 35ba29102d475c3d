"""Alembic environment: online migrations only, against the URL set by aurora_cli.db.migrate.

The one file here that imports the live application: the models are autogenerate's target (what
`alembic revision --autogenerate` compares with the database) and `DatabaseUnavailable` is the error
the CLI maps to its exit code. The revisions themselves import nothing from `aurora_cli`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from aurora_cli.db.models import MATERIALIZED_VIEWS, Base
from aurora_cli.errors import DatabaseUnavailable

MIN_SERVER_VERSION = (15,)

config = context.config
target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to):  # noqa: ANN001
    # Materialized views are created with raw SQL in revision 001; they are not tables.
    return not (type_ == "table" and name in MATERIALIZED_VIEWS)


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        # Read at connect time by the dialect; a query here would open a transaction Alembic then
        # treats as the caller's and never commits.
        version = connection.dialect.server_version_info or (0,)
        if version < MIN_SERVER_VERSION:
            # Revision 005 uses UNIQUE NULLS NOT DISTINCT (PostgreSQL 15).
            raise DatabaseUnavailable(
                f"Aurora needs PostgreSQL 15 or newer; this server is {version[0]}: upgrade it, "
                "or leave AURORA_DATABASE_URL unset to use the embedded cluster."
            )
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
