"""Session and service tokens.

Why: SPEC §11 has `aurora login` keep a session token and `aurora users token create` issue
service tokens for cron/CI, stored only as a hash. The seed has no place for them.

Revision ID: 003
Revises: 002
"""

from alembic import op

revision = "003"
down_revision = "002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE user_tokens (
            token_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id UUID NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
            token_hash VARCHAR(64) NOT NULL UNIQUE,
            kind VARCHAR(20) NOT NULL CHECK (kind IN ('SESSION', 'SERVICE')),
            name VARCHAR(100),
            expires_at TIMESTAMPTZ,
            revoked_at TIMESTAMPTZ,
            last_used_at TIMESTAMPTZ,
            created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
        )
        """
    )
    op.execute("CREATE INDEX idx_user_tokens_user ON user_tokens (user_id)")
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON user_tokens TO aurora_app")
    op.execute("GRANT SELECT ON user_tokens TO aurora_readonly")


def downgrade() -> None:
    op.execute("DROP TABLE user_tokens")
