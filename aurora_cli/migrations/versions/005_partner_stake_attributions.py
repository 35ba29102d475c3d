"""Which stakers a partner referred: partner stake attributions.

Why: SPEC §7/§8 attribute revenue to a partner through the staker addresses it brought in (the
`[[clients]]` of an agreement file), optionally narrowed to one validator. The seed has no place
for which stakers a partner referred, so this revision adds `partner_stake_attributions`.

Clients are part of an agreement's terms (`terms_snapshot`), so they are kept per agreement version,
exactly like `agreement_rules`: recomputing a period of an earlier version uses the clients agreed
then, and a superseded version's clients stay for history.

A NULL `validator_key` means "this staker at every validator of the chain". The unique key uses
`NULLS NOT DISTINCT` (PostgreSQL 15+) so the same staker cannot be listed twice for the whole chain.
It leads with `agreement_id`, so it also serves lookups by agreement.

Revision ID: 005
Revises: 004
"""

from alembic import op

revision = "005"
down_revision = "004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE partner_stake_attributions (
            attribution_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            partner_id UUID NOT NULL REFERENCES partners (partner_id) ON DELETE CASCADE,
            agreement_id UUID NOT NULL REFERENCES agreements (agreement_id) ON DELETE CASCADE,
            version_number INTEGER NOT NULL,
            chain_id VARCHAR(50) NOT NULL REFERENCES chains (chain_id) ON DELETE CASCADE,
            staker_address VARCHAR(100) NOT NULL,
            validator_key VARCHAR(100),
            created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            CONSTRAINT fk_partner_stake_attributions_version
                FOREIGN KEY (agreement_id, version_number)
                REFERENCES agreement_versions (agreement_id, version_number) ON DELETE CASCADE,
            CONSTRAINT uq_partner_stake_attributions_key
                UNIQUE NULLS NOT DISTINCT
                (agreement_id, version_number, chain_id, staker_address, validator_key)
        )
        """
    )
    op.execute(
        "CREATE INDEX idx_partner_stake_attributions_staker "
        "ON partner_stake_attributions (chain_id, staker_address)"
    )
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON partner_stake_attributions TO aurora_app")
    op.execute("GRANT SELECT ON partner_stake_attributions TO aurora_readonly")


def downgrade() -> None:
    op.execute("DROP TABLE partner_stake_attributions")
