-- Aurora's schema on Citus (distributed PostgreSQL): run on the coordinator of a Citus 12+ cluster,
-- after `aurora db upgrade` (Alembic head, revisions 012 and 016 included) has created the schema there:
--
--   psql -h <coordinator> -d aurora -v ON_ERROR_STOP=1 -f docs/citus.sql
--
-- Why each choice: docs/scaling.md, "Past one machine". In short: every per-validator fact table is
-- distributed on validator_key and co-located, so normalize / P&L / partner bases are shard-local
-- (parallel across workers, no repartition); partner-facing tables on partner_id, so a statement,
-- an export and row-level security stay on one shard; the small registries are reference tables;
-- the audit chain stays one ordered table on the coordinator.

CREATE EXTENSION IF NOT EXISTS citus;

BEGIN;

-- Views that read the tables being distributed are recreated at the end.
DROP MATERIALIZED VIEW IF EXISTS mv_validator_revenue_summary;
DROP MATERIALIZED VIEW IF EXISTS mv_partner_commissions_summary;

-- Registries: small, read by every statement, joined on every shard.
SELECT create_reference_table('chains');
SELECT create_reference_table('providers');
SELECT create_reference_table('chain_provider_mappings');
SELECT create_reference_table('canonical_periods');
SELECT create_reference_table('canonical_validator_identities');
SELECT create_reference_table('partners');
SELECT create_reference_table('users');
SELECT create_reference_table('user_tokens');
SELECT create_reference_table('agreements');
SELECT create_reference_table('agreement_versions');
SELECT create_reference_table('agreement_rules');
SELECT create_reference_table('partner_stake_attributions');
SELECT create_reference_table('ingestion_runs');

-- Citus requires every primary key / unique constraint / foreign key between distributed tables to
-- include the distribution column. Staging (revision 016): a payload's key row is identified by
-- (validator_key, payload_id); the monthly-partitioned payloads by (validator_key, payload_id,
-- created_at); the idempotency key and the payload -> key-row foreign key already carry validator_key.
ALTER TABLE canonical_validator_fees DROP CONSTRAINT canonical_validator_fees_source_payload_id_fkey;
ALTER TABLE canonical_validator_mev DROP CONSTRAINT canonical_validator_mev_source_payload_id_fkey;
ALTER TABLE canonical_validator_meta DROP CONSTRAINT canonical_validator_meta_source_payload_id_fkey;
ALTER TABLE canonical_stake_rewards DROP CONSTRAINT canonical_stake_rewards_source_payload_id_fkey;
ALTER TABLE staging_payloads DROP CONSTRAINT staging_payloads_key_fkey;
ALTER TABLE staging_payloads DROP CONSTRAINT staging_payloads_pkey;
ALTER TABLE staging_payloads ADD PRIMARY KEY (validator_key, payload_id, created_at);
ALTER TABLE staging_payload_keys DROP CONSTRAINT staging_payload_keys_pkey;
ALTER TABLE staging_payload_keys ADD PRIMARY KEY (validator_key, payload_id);

SELECT create_distributed_table('staging_payload_keys', 'validator_key');
SELECT create_distributed_table('staging_payloads', 'validator_key', colocate_with => 'staging_payload_keys');
ALTER TABLE staging_payloads ADD CONSTRAINT staging_payloads_key_fkey
    FOREIGN KEY (payload_id, created_at, run_id, chain_id, period_id, validator_key, data_type)
    REFERENCES staging_payload_keys (payload_id, created_at, run_id, chain_id, period_id, validator_key, data_type)
    ON DELETE CASCADE;
-- The key-row triggers write the co-located shard of staging_payload_keys.
ALTER DATABASE aurora SET citus.enable_unsafe_triggers = on;
SELECT create_distributed_table('canonical_validator_fees', 'validator_key', colocate_with => 'staging_payload_keys');
SELECT create_distributed_table('canonical_validator_mev', 'validator_key', colocate_with => 'staging_payload_keys');
SELECT create_distributed_table('canonical_validator_meta', 'validator_key', colocate_with => 'staging_payload_keys');

-- Partitioned by period (revision 012) and distributed by validator: the primary key carries both.
ALTER TABLE canonical_stake_rewards DROP CONSTRAINT canonical_stake_rewards_pkey;
ALTER TABLE canonical_stake_rewards ADD PRIMARY KEY (reward_id, period_id, validator_key);
SELECT create_distributed_table('canonical_stake_rewards', 'validator_key', colocate_with => 'staging_payload_keys');
SELECT create_distributed_table('validator_pnl', 'validator_key', colocate_with => 'staging_payload_keys');

-- Lineage foreign keys again, now co-located (shard-local checks).
ALTER TABLE canonical_validator_fees ADD FOREIGN KEY (validator_key, source_payload_id)
    REFERENCES staging_payload_keys (validator_key, payload_id) ON DELETE RESTRICT;
ALTER TABLE canonical_validator_mev ADD FOREIGN KEY (validator_key, source_payload_id)
    REFERENCES staging_payload_keys (validator_key, payload_id) ON DELETE RESTRICT;
ALTER TABLE canonical_validator_meta ADD FOREIGN KEY (validator_key, source_payload_id)
    REFERENCES staging_payload_keys (validator_key, payload_id) ON DELETE RESTRICT;
ALTER TABLE canonical_stake_rewards ADD FOREIGN KEY (validator_key, source_payload_id)
    REFERENCES staging_payload_keys (validator_key, payload_id) ON DELETE RESTRICT;

-- Partner-facing tables: one partner's lines and statements on one shard.
ALTER TABLE partner_commission_lines DROP CONSTRAINT partner_commission_lines_pkey;
ALTER TABLE partner_commission_lines ADD PRIMARY KEY (line_id, period_id, partner_id);
SELECT create_distributed_table('partner_commission_statements', 'partner_id');
SELECT create_distributed_table('partner_commission_lines', 'partner_id',
                                colocate_with => 'partner_commission_statements');

-- The audit chain is one total order (seq, previous_hash): it stays a local table on the
-- coordinator (all Aurora processes connect to the coordinator), with its triggers.
SELECT citus_add_local_table_to_metadata('audit_log');

-- SET LOCAL app.current_partner_id / app.current_role (the RLS policies read them) must reach the
-- workers inside the transaction.
ALTER DATABASE aurora SET citus.propagate_set_commands = 'local';

-- The summaries: materialized views on the coordinator over distributed tables (REFRESH runs a
-- distributed query and stores the result on the coordinator).
CREATE MATERIALIZED VIEW mv_validator_revenue_summary AS
    SELECT chain_id, period_id, validator_key, total_revenue_native, exec_fees_native, mev_tips_native,
           vote_rewards_native, commission_native, computed_at
    FROM validator_pnl;
CREATE UNIQUE INDEX ON mv_validator_revenue_summary (chain_id, period_id, validator_key);
CREATE MATERIALIZED VIEW mv_partner_commissions_summary AS
    SELECT partner_id, chain_id, period_id, sum(final_amount_native) AS total_commission_native,
           count(*) AS line_count, max(computed_at) AS last_computed_at
    FROM partner_commission_lines
    GROUP BY partner_id, chain_id, period_id;
CREATE UNIQUE INDEX ON mv_partner_commissions_summary (partner_id, chain_id, period_id);

COMMIT;
