"""Initial schema: the seed design (seed-schema.md), exactly.

Creates, in dependency order:

* the eight PostgreSQL enum types (ingestion_status, data_type, revenue_component,
  attribution_method, agreement_status, statement_status, user_role, audit_action);
* every table of the seed with its columns, types, defaults, primary/unique keys, foreign keys
  (with their ON DELETE rules) and the seed's inline CHECKs (left for PostgreSQL to name);
* the seed's "Data Integrity Constraints", as named CHECKs: every ``*_native`` amount ``>= 0``
  (``ck_<table>_<column>_nonneg``), every ``commission_rate_bps`` within 0..10000
  (``ck_<table>_commission_rate_bps_range``), ``period_start < period_end``
  (``ck_canonical_periods_start_before_end``) and ``effective_from < effective_until``
  (``ck_<table>_effective_range``), plus the staging idempotency key
  ``uq_staging_payloads_idempotency`` (run, chain, period, validator, data type);
* every index of the seed under its seed name (GIN on ``staging_payloads.raw_payload`` included);
* the two materialized views and their unique indexes (so they can be refreshed concurrently);
* the roles ``aurora_app``, ``aurora_readonly`` and ``aurora_migrate`` (NOLOGIN, created only if
  missing) and their grants;
* row-level security on ``partner_commission_lines`` with the seed's SELECT policy. The policy reads
  the session settings with ``missing_ok`` and treats an empty value as unset, so a session that
  never set (or only ``SET LOCAL``-ed) ``app.current_partner_id`` sees no partner rows instead of
  failing with an error.

``gen_random_uuid()`` is built into PostgreSQL 13+, so no extension is created.

Downgrade drops everything this revision created in the database (policy, views, tables, types) and
revokes the privileges it granted. It deliberately leaves the three roles in place: roles are
cluster-wide, and other databases on the same cluster (other Aurora databases, test databases) may
still use them. Upgrading again after a downgrade reuses them.
"""

from alembic import op

revision = "001"
down_revision = None
branch_labels = None
depends_on = None

ROLES = ("aurora_app", "aurora_readonly", "aurora_migrate")

ENUM_TYPES = (
    "CREATE TYPE ingestion_status AS ENUM ('PENDING', 'RUNNING', 'SUCCESS', 'FAILED', 'PARTIAL')",
    "CREATE TYPE data_type AS ENUM ('FEES', 'MEV', 'REWARDS', 'META')",
    "CREATE TYPE revenue_component AS ENUM ('EXEC_FEES', 'MEV_TIPS', 'VOTE_REWARDS', 'COMMISSION')",
    "CREATE TYPE attribution_method AS ENUM ('CLIENT_REVENUE', 'STAKE_WEIGHT', 'FIXED_SHARE')",
    "CREATE TYPE agreement_status AS ENUM ('DRAFT', 'ACTIVE', 'SUSPENDED', 'TERMINATED')",
    "CREATE TYPE statement_status AS ENUM ('DRAFT', 'PENDING_APPROVAL', 'APPROVED', 'RELEASED', 'PAID')",
    "CREATE TYPE user_role AS ENUM ('ADMIN', 'FINANCE', 'OPS', 'PARTNER', 'AUDITOR')",
    """
    CREATE TYPE audit_action AS ENUM (
        'CREATE_AGREEMENT', 'UPDATE_AGREEMENT', 'DELETE_AGREEMENT',
        'CREATE_RULE', 'UPDATE_RULE', 'DELETE_RULE',
        'CREATE_OVERRIDE', 'UPDATE_OVERRIDE',
        'APPROVE_STATEMENT', 'RELEASE_STATEMENT',
        'RECOMPUTE', 'INGESTION_RUN', 'NORMALIZATION_RUN'
    )
    """,
)

# Tables in creation order (every referenced table comes before the tables referencing it).
TABLES = (
    # --- 1. Configuration & Registry -----------------------------------------------------------
    """
    CREATE TABLE chains (
        chain_id VARCHAR(50) PRIMARY KEY,
        name VARCHAR(100) NOT NULL,
        period_type VARCHAR(20) NOT NULL CHECK (period_type IN ('EPOCH', 'BLOCK_WINDOW', 'SLOT_RANGE')),
        native_unit VARCHAR(20) NOT NULL,
        native_decimals INTEGER NOT NULL,
        finality_lag INTEGER NOT NULL,
        is_active BOOLEAN NOT NULL DEFAULT true,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
    )
    """,
    "CREATE INDEX idx_chains_active ON chains (is_active)",
    """
    CREATE TABLE providers (
        provider_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        provider_name VARCHAR(50) UNIQUE NOT NULL,
        provider_type VARCHAR(20) NOT NULL CHECK (provider_type IN ('FEES', 'MEV', 'REWARDS', 'META', 'RPC')),
        base_url TEXT,
        api_version VARCHAR(20),
        is_enabled BOOLEAN NOT NULL DEFAULT true,
        rate_limit_per_minute INTEGER,
        timeout_seconds INTEGER DEFAULT 30,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
    )
    """,
    "CREATE INDEX idx_providers_name ON providers (provider_name)",
    "CREATE INDEX idx_providers_type ON providers (provider_type)",
    "CREATE INDEX idx_providers_enabled ON providers (is_enabled)",
    """
    CREATE TABLE chain_provider_mappings (
        mapping_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        chain_id VARCHAR(50) NOT NULL REFERENCES chains (chain_id) ON DELETE CASCADE,
        provider_id UUID NOT NULL REFERENCES providers (provider_id) ON DELETE CASCADE,
        provider_role VARCHAR(20) NOT NULL CHECK (provider_role IN ('FEES', 'MEV', 'REWARDS', 'META', 'RPC')),
        priority INTEGER NOT NULL DEFAULT 1,
        is_active BOOLEAN NOT NULL DEFAULT true,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        UNIQUE (chain_id, provider_role, priority)
    )
    """,
    "CREATE INDEX idx_chain_provider_chain ON chain_provider_mappings (chain_id)",
    "CREATE INDEX idx_chain_provider_provider ON chain_provider_mappings (provider_id)",
    """
    CREATE TABLE canonical_periods (
        period_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        chain_id VARCHAR(50) NOT NULL REFERENCES chains (chain_id) ON DELETE CASCADE,
        period_identifier VARCHAR(50) NOT NULL,
        period_start TIMESTAMPTZ NOT NULL,
        period_end TIMESTAMPTZ NOT NULL,
        is_finalized BOOLEAN NOT NULL DEFAULT false,
        finalized_at TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        UNIQUE (chain_id, period_identifier),
        CONSTRAINT ck_canonical_periods_start_before_end CHECK (period_start < period_end)
    )
    """,
    "CREATE INDEX idx_canonical_periods_chain ON canonical_periods (chain_id)",
    "CREATE INDEX idx_canonical_periods_finalized ON canonical_periods (is_finalized)",
    "CREATE INDEX idx_canonical_periods_range ON canonical_periods (chain_id, period_start, period_end)",
    """
    CREATE TABLE canonical_validator_identities (
        identity_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        chain_id VARCHAR(50) NOT NULL REFERENCES chains (chain_id) ON DELETE CASCADE,
        validator_key VARCHAR(100) NOT NULL,
        vote_pubkey VARCHAR(100),
        node_pubkey VARCHAR(100),
        identity_pubkey VARCHAR(100),
        fee_recipient VARCHAR(100),
        display_name VARCHAR(200),
        is_active BOOLEAN NOT NULL DEFAULT true,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        UNIQUE (chain_id, validator_key)
    )
    """,
    "CREATE INDEX idx_validator_identities_chain ON canonical_validator_identities (chain_id)",
    "CREATE INDEX idx_validator_identities_key ON canonical_validator_identities (validator_key)",
    # --- 2. Staging Layer ----------------------------------------------------------------------
    """
    CREATE TABLE ingestion_runs (
        run_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        chain_id VARCHAR(50) NOT NULL REFERENCES chains (chain_id) ON DELETE CASCADE,
        period_id UUID REFERENCES canonical_periods (period_id) ON DELETE SET NULL,
        started_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        completed_at TIMESTAMPTZ,
        status ingestion_status NOT NULL DEFAULT 'PENDING',
        error_message TEXT,
        records_fetched INTEGER DEFAULT 0,
        records_staged INTEGER DEFAULT 0,
        metadata JSONB,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
    )
    """,
    "CREATE INDEX idx_ingestion_runs_chain ON ingestion_runs (chain_id)",
    "CREATE INDEX idx_ingestion_runs_period ON ingestion_runs (period_id)",
    "CREATE INDEX idx_ingestion_runs_status ON ingestion_runs (status)",
    "CREATE INDEX idx_ingestion_runs_started ON ingestion_runs (started_at)",
    """
    CREATE TABLE staging_payloads (
        payload_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        run_id UUID NOT NULL REFERENCES ingestion_runs (run_id) ON DELETE CASCADE,
        chain_id VARCHAR(50) NOT NULL REFERENCES chains (chain_id) ON DELETE CASCADE,
        period_id UUID NOT NULL REFERENCES canonical_periods (period_id) ON DELETE CASCADE,
        validator_key VARCHAR(100) NOT NULL,
        provider_id UUID NOT NULL REFERENCES providers (provider_id) ON DELETE CASCADE,
        data_type data_type NOT NULL,
        fetch_timestamp TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        response_hash VARCHAR(64) NOT NULL,
        raw_payload JSONB NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        CONSTRAINT uq_staging_payloads_idempotency
            UNIQUE (run_id, chain_id, period_id, validator_key, data_type)
    )
    """,
    "CREATE INDEX idx_staging_payloads_run ON staging_payloads (run_id)",
    "CREATE INDEX idx_staging_payloads_chain_period ON staging_payloads (chain_id, period_id)",
    "CREATE INDEX idx_staging_payloads_validator ON staging_payloads (validator_key)",
    "CREATE INDEX idx_staging_payloads_provider ON staging_payloads (provider_id)",
    "CREATE INDEX idx_staging_payloads_data_type ON staging_payloads (data_type)",
    "CREATE INDEX idx_staging_payloads_raw_payload ON staging_payloads USING GIN (raw_payload)",
    # --- 3. Canonical Layer --------------------------------------------------------------------
    """
    CREATE TABLE canonical_validator_fees (
        fee_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        chain_id VARCHAR(50) NOT NULL REFERENCES chains (chain_id) ON DELETE CASCADE,
        period_id UUID NOT NULL REFERENCES canonical_periods (period_id) ON DELETE CASCADE,
        validator_key VARCHAR(100) NOT NULL,
        total_fees_native NUMERIC(38, 18) NOT NULL,
        fee_count INTEGER NOT NULL DEFAULT 0,
        source_provider_id UUID NOT NULL REFERENCES providers (provider_id) ON DELETE RESTRICT,
        source_payload_id UUID NOT NULL REFERENCES staging_payloads (payload_id) ON DELETE RESTRICT,
        normalized_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        UNIQUE (chain_id, period_id, validator_key),
        CONSTRAINT ck_canonical_validator_fees_total_fees_native_nonneg CHECK (total_fees_native >= 0)
    )
    """,
    """
    CREATE INDEX idx_canonical_fees_chain_period_validator
        ON canonical_validator_fees (chain_id, period_id, validator_key)
    """,
    "CREATE INDEX idx_canonical_fees_source_provider ON canonical_validator_fees (source_provider_id)",
    "CREATE INDEX idx_canonical_fees_source_payload ON canonical_validator_fees (source_payload_id)",
    """
    CREATE TABLE canonical_validator_mev (
        mev_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        chain_id VARCHAR(50) NOT NULL REFERENCES chains (chain_id) ON DELETE CASCADE,
        period_id UUID NOT NULL REFERENCES canonical_periods (period_id) ON DELETE CASCADE,
        validator_key VARCHAR(100) NOT NULL,
        total_mev_native NUMERIC(38, 18) NOT NULL,
        tip_count INTEGER NOT NULL DEFAULT 0,
        source_provider_id UUID NOT NULL REFERENCES providers (provider_id) ON DELETE RESTRICT,
        source_payload_id UUID NOT NULL REFERENCES staging_payloads (payload_id) ON DELETE RESTRICT,
        normalized_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        UNIQUE (chain_id, period_id, validator_key),
        CONSTRAINT ck_canonical_validator_mev_total_mev_native_nonneg CHECK (total_mev_native >= 0)
    )
    """,
    """
    CREATE INDEX idx_canonical_mev_chain_period_validator
        ON canonical_validator_mev (chain_id, period_id, validator_key)
    """,
    "CREATE INDEX idx_canonical_mev_source_provider ON canonical_validator_mev (source_provider_id)",
    "CREATE INDEX idx_canonical_mev_source_payload ON canonical_validator_mev (source_payload_id)",
    """
    CREATE TABLE canonical_stake_rewards (
        reward_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        chain_id VARCHAR(50) NOT NULL REFERENCES chains (chain_id) ON DELETE CASCADE,
        period_id UUID NOT NULL REFERENCES canonical_periods (period_id) ON DELETE CASCADE,
        validator_key VARCHAR(100) NOT NULL,
        staker_address VARCHAR(100),
        rewards_native NUMERIC(38, 18) NOT NULL,
        commission_native NUMERIC(38, 18) NOT NULL DEFAULT 0,
        source_provider_id UUID NOT NULL REFERENCES providers (provider_id) ON DELETE RESTRICT,
        source_payload_id UUID NOT NULL REFERENCES staging_payloads (payload_id) ON DELETE RESTRICT,
        normalized_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        CONSTRAINT ck_canonical_stake_rewards_rewards_native_nonneg CHECK (rewards_native >= 0),
        CONSTRAINT ck_canonical_stake_rewards_commission_native_nonneg CHECK (commission_native >= 0)
    )
    """,
    """
    CREATE INDEX idx_canonical_rewards_chain_period_validator
        ON canonical_stake_rewards (chain_id, period_id, validator_key)
    """,
    "CREATE INDEX idx_canonical_rewards_staker ON canonical_stake_rewards (staker_address)",
    "CREATE INDEX idx_canonical_rewards_source_provider ON canonical_stake_rewards (source_provider_id)",
    "CREATE INDEX idx_canonical_rewards_source_payload ON canonical_stake_rewards (source_payload_id)",
    """
    CREATE TABLE canonical_validator_meta (
        meta_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        chain_id VARCHAR(50) NOT NULL REFERENCES chains (chain_id) ON DELETE CASCADE,
        period_id UUID NOT NULL REFERENCES canonical_periods (period_id) ON DELETE CASCADE,
        validator_key VARCHAR(100) NOT NULL,
        commission_rate_bps INTEGER NOT NULL,
        is_mev_enabled BOOLEAN NOT NULL DEFAULT false,
        total_stake_native NUMERIC(38, 18) NOT NULL DEFAULT 0,
        active_stake_native NUMERIC(38, 18),
        delegator_count INTEGER,
        uptime_percentage NUMERIC(5, 2),
        source_provider_id UUID NOT NULL REFERENCES providers (provider_id) ON DELETE RESTRICT,
        source_payload_id UUID NOT NULL REFERENCES staging_payloads (payload_id) ON DELETE RESTRICT,
        normalized_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        UNIQUE (chain_id, period_id, validator_key),
        CONSTRAINT ck_canonical_validator_meta_commission_rate_bps_range
            CHECK (commission_rate_bps BETWEEN 0 AND 10000),
        CONSTRAINT ck_canonical_validator_meta_total_stake_native_nonneg CHECK (total_stake_native >= 0),
        CONSTRAINT ck_canonical_validator_meta_active_stake_native_nonneg CHECK (active_stake_native >= 0)
    )
    """,
    """
    CREATE INDEX idx_canonical_meta_chain_period_validator
        ON canonical_validator_meta (chain_id, period_id, validator_key)
    """,
    "CREATE INDEX idx_canonical_meta_mev_enabled ON canonical_validator_meta (is_mev_enabled)",
    "CREATE INDEX idx_canonical_meta_source_provider ON canonical_validator_meta (source_provider_id)",
    "CREATE INDEX idx_canonical_meta_source_payload ON canonical_validator_meta (source_payload_id)",
    # --- 4. Computation Layer ------------------------------------------------------------------
    """
    CREATE TABLE validator_pnl (
        pnl_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        chain_id VARCHAR(50) NOT NULL REFERENCES chains (chain_id) ON DELETE CASCADE,
        period_id UUID NOT NULL REFERENCES canonical_periods (period_id) ON DELETE CASCADE,
        validator_key VARCHAR(100) NOT NULL,
        exec_fees_native NUMERIC(38, 18) NOT NULL DEFAULT 0,
        mev_tips_native NUMERIC(38, 18) NOT NULL DEFAULT 0,
        vote_rewards_native NUMERIC(38, 18) NOT NULL DEFAULT 0,
        commission_native NUMERIC(38, 18) NOT NULL DEFAULT 0,
        total_revenue_native NUMERIC(38, 18) NOT NULL,
        computed_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        UNIQUE (chain_id, period_id, validator_key),
        CONSTRAINT ck_validator_pnl_exec_fees_native_nonneg CHECK (exec_fees_native >= 0),
        CONSTRAINT ck_validator_pnl_mev_tips_native_nonneg CHECK (mev_tips_native >= 0),
        CONSTRAINT ck_validator_pnl_vote_rewards_native_nonneg CHECK (vote_rewards_native >= 0),
        CONSTRAINT ck_validator_pnl_commission_native_nonneg CHECK (commission_native >= 0),
        CONSTRAINT ck_validator_pnl_total_revenue_native_nonneg CHECK (total_revenue_native >= 0)
    )
    """,
    "CREATE INDEX idx_validator_pnl_chain_period ON validator_pnl (chain_id, period_id)",
    "CREATE INDEX idx_validator_pnl_validator ON validator_pnl (validator_key)",
    "CREATE INDEX idx_validator_pnl_computed ON validator_pnl (computed_at)",
    """
    CREATE TABLE partners (
        partner_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        partner_name VARCHAR(200) NOT NULL,
        legal_entity_name VARCHAR(200),
        contact_email VARCHAR(200) NOT NULL,
        contact_name VARCHAR(200),
        is_active BOOLEAN NOT NULL DEFAULT true,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
    )
    """,
    "CREATE INDEX idx_partners_active ON partners (is_active)",
    "CREATE INDEX idx_partners_email ON partners (contact_email)",
    # users is defined in the seed's section 5 but is referenced by agreement_versions,
    # partner_commission_lines and partner_commission_statements, so it is created here.
    """
    CREATE TABLE users (
        user_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        username VARCHAR(100) UNIQUE NOT NULL,
        email VARCHAR(200) UNIQUE NOT NULL,
        password_hash VARCHAR(255) NOT NULL,
        role user_role NOT NULL,
        partner_id UUID REFERENCES partners (partner_id) ON DELETE SET NULL,
        allowed_chain_ids VARCHAR(50)[],
        allowed_validator_keys VARCHAR(100)[],
        is_active BOOLEAN NOT NULL DEFAULT true,
        last_login_at TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
    )
    """,
    "CREATE INDEX idx_users_username ON users (username)",
    "CREATE INDEX idx_users_email ON users (email)",
    "CREATE INDEX idx_users_role ON users (role)",
    "CREATE INDEX idx_users_partner ON users (partner_id)",
    "CREATE INDEX idx_users_active ON users (is_active)",
    """
    CREATE TABLE agreements (
        agreement_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        partner_id UUID NOT NULL REFERENCES partners (partner_id) ON DELETE RESTRICT,
        agreement_name VARCHAR(200) NOT NULL,
        current_version INTEGER NOT NULL DEFAULT 1,
        status agreement_status NOT NULL DEFAULT 'DRAFT',
        effective_from TIMESTAMPTZ NOT NULL,
        effective_until TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        CONSTRAINT ck_agreements_effective_range CHECK (effective_from < effective_until)
    )
    """,
    "CREATE INDEX idx_agreements_partner ON agreements (partner_id)",
    "CREATE INDEX idx_agreements_status ON agreements (status)",
    "CREATE INDEX idx_agreements_effective ON agreements (effective_from, effective_until)",
    """
    CREATE TABLE agreement_versions (
        version_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        agreement_id UUID NOT NULL REFERENCES agreements (agreement_id) ON DELETE CASCADE,
        version_number INTEGER NOT NULL,
        effective_from TIMESTAMPTZ NOT NULL,
        effective_until TIMESTAMPTZ,
        terms_snapshot JSONB NOT NULL,
        created_by UUID REFERENCES users (user_id) ON DELETE SET NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        UNIQUE (agreement_id, version_number),
        CONSTRAINT ck_agreement_versions_effective_range CHECK (effective_from < effective_until)
    )
    """,
    "CREATE INDEX idx_agreement_versions_agreement ON agreement_versions (agreement_id)",
    """
    CREATE INDEX idx_agreement_versions_effective
        ON agreement_versions (effective_from, effective_until)
    """,
    """
    CREATE TABLE agreement_rules (
        rule_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        agreement_id UUID NOT NULL REFERENCES agreements (agreement_id) ON DELETE CASCADE,
        version_number INTEGER NOT NULL,
        rule_order INTEGER NOT NULL,
        chain_id VARCHAR(50) REFERENCES chains (chain_id) ON DELETE CASCADE,
        validator_key VARCHAR(100),
        revenue_component revenue_component NOT NULL,
        attribution_method attribution_method NOT NULL,
        commission_rate_bps INTEGER NOT NULL,
        floor_amount_native NUMERIC(38, 18),
        cap_amount_native NUMERIC(38, 18),
        tier_config JSONB,
        is_active BOOLEAN NOT NULL DEFAULT true,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        FOREIGN KEY (agreement_id, version_number)
            REFERENCES agreement_versions (agreement_id, version_number) ON DELETE CASCADE,
        CONSTRAINT ck_agreement_rules_commission_rate_bps_range
            CHECK (commission_rate_bps BETWEEN 0 AND 10000),
        CONSTRAINT ck_agreement_rules_floor_amount_native_nonneg CHECK (floor_amount_native >= 0),
        CONSTRAINT ck_agreement_rules_cap_amount_native_nonneg CHECK (cap_amount_native >= 0)
    )
    """,
    "CREATE INDEX idx_agreement_rules_agreement ON agreement_rules (agreement_id)",
    "CREATE INDEX idx_agreement_rules_chain ON agreement_rules (chain_id)",
    "CREATE INDEX idx_agreement_rules_validator ON agreement_rules (validator_key)",
    "CREATE INDEX idx_agreement_rules_active ON agreement_rules (is_active)",
    """
    CREATE TABLE partner_commission_lines (
        line_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        agreement_id UUID NOT NULL REFERENCES agreements (agreement_id) ON DELETE RESTRICT,
        agreement_version INTEGER NOT NULL,
        rule_id UUID NOT NULL REFERENCES agreement_rules (rule_id) ON DELETE RESTRICT,
        partner_id UUID NOT NULL REFERENCES partners (partner_id) ON DELETE RESTRICT,
        chain_id VARCHAR(50) NOT NULL REFERENCES chains (chain_id) ON DELETE CASCADE,
        period_id UUID NOT NULL REFERENCES canonical_periods (period_id) ON DELETE CASCADE,
        validator_key VARCHAR(100),
        revenue_component revenue_component NOT NULL,
        attribution_method attribution_method NOT NULL,
        base_amount_native NUMERIC(38, 18) NOT NULL,
        commission_rate_bps INTEGER NOT NULL,
        pre_override_amount_native NUMERIC(38, 18) NOT NULL,
        override_amount_native NUMERIC(38, 18),
        override_reason TEXT,
        override_user_id UUID REFERENCES users (user_id) ON DELETE SET NULL,
        override_timestamp TIMESTAMPTZ,
        final_amount_native NUMERIC(38, 18) NOT NULL,
        computed_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        CONSTRAINT ck_partner_commission_lines_base_amount_native_nonneg CHECK (base_amount_native >= 0),
        CONSTRAINT ck_partner_commission_lines_commission_rate_bps_range
            CHECK (commission_rate_bps BETWEEN 0 AND 10000),
        CONSTRAINT ck_partner_commission_lines_pre_override_amount_native_nonneg
            CHECK (pre_override_amount_native >= 0),
        CONSTRAINT ck_partner_commission_lines_override_amount_native_nonneg
            CHECK (override_amount_native >= 0),
        CONSTRAINT ck_partner_commission_lines_final_amount_native_nonneg CHECK (final_amount_native >= 0)
    )
    """,
    "CREATE INDEX idx_commission_lines_agreement ON partner_commission_lines (agreement_id)",
    "CREATE INDEX idx_commission_lines_partner ON partner_commission_lines (partner_id)",
    "CREATE INDEX idx_commission_lines_chain_period ON partner_commission_lines (chain_id, period_id)",
    "CREATE INDEX idx_commission_lines_validator ON partner_commission_lines (validator_key)",
    "CREATE INDEX idx_commission_lines_computed ON partner_commission_lines (computed_at)",
    """
    CREATE TABLE partner_commission_statements (
        statement_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        partner_id UUID NOT NULL REFERENCES partners (partner_id) ON DELETE RESTRICT,
        chain_id VARCHAR(50) NOT NULL REFERENCES chains (chain_id) ON DELETE CASCADE,
        period_id UUID NOT NULL REFERENCES canonical_periods (period_id) ON DELETE CASCADE,
        total_commission_native NUMERIC(38, 18) NOT NULL,
        line_count INTEGER NOT NULL,
        status statement_status NOT NULL DEFAULT 'DRAFT',
        approved_by UUID REFERENCES users (user_id) ON DELETE SET NULL,
        approved_at TIMESTAMPTZ,
        released_by UUID REFERENCES users (user_id) ON DELETE SET NULL,
        released_at TIMESTAMPTZ,
        paid_at TIMESTAMPTZ,
        metadata JSONB,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        UNIQUE (partner_id, chain_id, period_id),
        CONSTRAINT ck_partner_commission_statements_total_commission_native_nonneg
            CHECK (total_commission_native >= 0)
    )
    """,
    "CREATE INDEX idx_statements_partner ON partner_commission_statements (partner_id)",
    "CREATE INDEX idx_statements_chain_period ON partner_commission_statements (chain_id, period_id)",
    "CREATE INDEX idx_statements_status ON partner_commission_statements (status)",
    # --- 5. User & Access Layer (users is above) -----------------------------------------------
    """
    CREATE TABLE audit_log (
        log_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id UUID REFERENCES users (user_id) ON DELETE SET NULL,
        action audit_action NOT NULL,
        resource_type VARCHAR(50) NOT NULL,
        resource_id VARCHAR(100),
        before_snapshot JSONB,
        after_snapshot JSONB,
        change_hash VARCHAR(64) NOT NULL,
        reason TEXT,
        correlation_id UUID NOT NULL,
        ip_address INET,
        user_agent TEXT,
        timestamp TIMESTAMPTZ NOT NULL DEFAULT NOW()
    )
    """,
    "CREATE INDEX idx_audit_log_user ON audit_log (user_id)",
    "CREATE INDEX idx_audit_log_action ON audit_log (action)",
    "CREATE INDEX idx_audit_log_resource ON audit_log (resource_type, resource_id)",
    "CREATE INDEX idx_audit_log_timestamp ON audit_log (timestamp)",
    "CREATE INDEX idx_audit_log_correlation ON audit_log (correlation_id)",
)

MATERIALIZED_VIEWS = (
    """
    CREATE MATERIALIZED VIEW mv_partner_commissions_summary AS
    SELECT
        partner_id,
        chain_id,
        period_id,
        SUM(final_amount_native) AS total_commission_native,
        COUNT(*) AS line_count,
        MAX(computed_at) AS last_computed_at
    FROM partner_commission_lines
    GROUP BY partner_id, chain_id, period_id
    """,
    """
    CREATE UNIQUE INDEX idx_mv_partner_summary
        ON mv_partner_commissions_summary (partner_id, chain_id, period_id)
    """,
    """
    CREATE MATERIALIZED VIEW mv_validator_revenue_summary AS
    SELECT
        chain_id,
        period_id,
        validator_key,
        total_revenue_native,
        exec_fees_native,
        mev_tips_native,
        vote_rewards_native,
        commission_native,
        computed_at
    FROM validator_pnl
    """,
    """
    CREATE UNIQUE INDEX idx_mv_validator_revenue
        ON mv_validator_revenue_summary (chain_id, period_id, validator_key)
    """,
)

ROW_LEVEL_SECURITY = (
    "ALTER TABLE partner_commission_lines ENABLE ROW LEVEL SECURITY",
    # The seed's policy, reading the settings with missing_ok = true; NULLIF turns the empty string
    # a custom setting falls back to after a SET LOCAL / RESET into "unset" instead of a cast error.
    """
    CREATE POLICY partner_commission_lines_policy ON partner_commission_lines
        FOR SELECT
        USING (
            partner_id = NULLIF(current_setting('app.current_partner_id', true), '')::UUID
            OR current_setting('app.current_role', true) IN ('ADMIN', 'FINANCE', 'AUDITOR')
        )
    """,
)

# Every table of this revision, in creation order (dropped in reverse).
SEED_TABLES = (
    "chains",
    "providers",
    "chain_provider_mappings",
    "canonical_periods",
    "canonical_validator_identities",
    "ingestion_runs",
    "staging_payloads",
    "canonical_validator_fees",
    "canonical_validator_mev",
    "canonical_stake_rewards",
    "canonical_validator_meta",
    "validator_pnl",
    "partners",
    "users",
    "agreements",
    "agreement_versions",
    "agreement_rules",
    "partner_commission_lines",
    "partner_commission_statements",
    "audit_log",
)
SEED_VIEWS = ("mv_partner_commissions_summary", "mv_validator_revenue_summary")

# Grants name the objects explicitly rather than "ALL TABLES IN SCHEMA public" so the application
# roles get nothing on alembic_version. Later revisions grant on the tables they add.
_TABLE_LIST = ", ".join(SEED_TABLES)
_VIEW_LIST = ", ".join(SEED_VIEWS)
GRANTS = (
    "GRANT USAGE ON SCHEMA public TO aurora_app",
    f"GRANT SELECT, INSERT, UPDATE, DELETE ON {_TABLE_LIST} TO aurora_app",
    f"GRANT SELECT ON {_VIEW_LIST} TO aurora_app",
    "GRANT USAGE ON SCHEMA public TO aurora_readonly",
    f"GRANT SELECT ON {_TABLE_LIST}, {_VIEW_LIST} TO aurora_readonly",
    "GRANT ALL ON SCHEMA public TO aurora_migrate",
)

DROP_TYPES = (
    "audit_action",
    "user_role",
    "statement_status",
    "agreement_status",
    "attribution_method",
    "revenue_component",
    "data_type",
    "ingestion_status",
)


def _create_role_if_missing(role: str) -> str:
    # Roles are cluster-wide: another database may already have created it, possibly concurrently
    # (parallel test databases), hence the existence check *and* the duplicate handlers.
    return f"""
    DO $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            CREATE ROLE {role} NOLOGIN;
        END IF;
    EXCEPTION
        WHEN duplicate_object OR unique_violation THEN NULL;
    END
    $$
    """


def _revoke_if_role_exists(role: str) -> str:
    return f"""
    DO $$
    BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            REVOKE ALL ON {_TABLE_LIST}, {_VIEW_LIST} FROM {role};
            REVOKE ALL ON SCHEMA public FROM {role};
        END IF;
    END
    $$
    """


def upgrade() -> None:
    for statement in ENUM_TYPES + TABLES + MATERIALIZED_VIEWS + ROW_LEVEL_SECURITY:
        op.execute(statement)
    for role in ROLES:
        op.execute(_create_role_if_missing(role))
    for statement in GRANTS:
        op.execute(statement)


def downgrade() -> None:
    for role in ROLES:
        op.execute(_revoke_if_role_exists(role))
    op.execute("DROP POLICY IF EXISTS partner_commission_lines_policy ON partner_commission_lines")
    for view in reversed(SEED_VIEWS):
        op.execute(f"DROP MATERIALIZED VIEW IF EXISTS {view}")
    # No CASCADE: an unexpected dependant (say a hand-made view) fails the downgrade loudly.
    for table in reversed(SEED_TABLES):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    for type_name in DROP_TYPES:
        op.execute(f"DROP TYPE IF EXISTS {type_name}")
