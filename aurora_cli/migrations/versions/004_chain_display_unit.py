"""The display unit of a chain's native currency.

Why: amounts are stored in native base units (lamports, wei) and SPEC §6/§10 show them beside
display units (SOL, ETH). The seed keeps `native_unit` and `native_decimals` but not the display
unit's name.

Revision ID: 004
Revises: 003
"""

from alembic import op

revision = "004"
down_revision = "003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE chains ADD COLUMN display_unit VARCHAR(20) NOT NULL DEFAULT ''")


def downgrade() -> None:
    op.execute("ALTER TABLE chains DROP COLUMN display_unit")
