"""Provider fetch settings: the API key's environment-variable name and per-provider options.

Why: HTTP adapters (issue 9) build their client from the `providers` row. The seed keeps base URL,
timeout and rate limit, but not the *name* of the environment variable holding the API key
(`api_key_env`; the key itself is never stored), nor provider-specific options such as the relay
list of `mevboost-relay` (`base_urls`), retry bounds or batch sizes. `settings` holds those as JSON.
Both are written by `aurora config apply` from providers.toml.

Revision ID: 009
Revises: 008
"""

from alembic import op

revision = "009"
down_revision = "008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE providers ADD COLUMN api_key_env VARCHAR(100)")
    op.execute("ALTER TABLE providers ADD COLUMN settings JSONB NOT NULL DEFAULT '{}'::jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE providers DROP COLUMN settings")
    op.execute("ALTER TABLE providers DROP COLUMN api_key_env")
