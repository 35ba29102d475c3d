"""Consensus penalties beside rewards, and a validator's net revenue.

Why: Ethereum consensus rewards can be negative (a missed attestation, an inactivity leak, a missed
sync-committee duty), but every `*_native` amount of the seed is `>= 0`. Clipping a negative figure to
zero or netting it silently into `rewards_native` would misstate revenue (issue 9). A penalty is
therefore stored as its own non-negative amount, `penalties_native`, on the canonical stake-reward
rows and on `validator_pnl`; `validator_pnl.net_revenue_native` is total revenue − penalties. It is a
generated column, so it can never disagree with the two amounts it is made of; it may be negative (a
day of penalties only) and so has no `>= 0` CHECK. `mv_validator_revenue_summary` stays the seed's
view of revenue: nothing reads penalties from it.

Revision ID: 008
Revises: 007
"""

from alembic import op

revision = "008"
down_revision = "007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("canonical_stake_rewards", "validator_pnl"):
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN penalties_native NUMERIC(38, 18) NOT NULL DEFAULT 0,"
            f" ADD CONSTRAINT ck_{table}_penalties_native_nonneg CHECK (penalties_native >= 0)"
        )
    op.execute(
        "ALTER TABLE validator_pnl ADD COLUMN net_revenue_native NUMERIC(38, 18)"
        " NOT NULL GENERATED ALWAYS AS (total_revenue_native - penalties_native) STORED"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE validator_pnl DROP COLUMN net_revenue_native")
    for table in ("validator_pnl", "canonical_stake_rewards"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN penalties_native")
