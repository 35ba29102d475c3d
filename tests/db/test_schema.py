"""The migrated database is the seed schema: catalog, constraints, migrations and models agree.

Given a database migrated to head, the seed's tables, columns, types, defaults, keys, foreign keys,
CHECKs, indexes, enum types, materialized views, roles and row-level security are all present and
exactly as designed. Later revisions may add to the schema, so these checks are "the seed is in
there, unchanged", not "nothing else exists". Revision 001 itself (grants, the RLS policy) is checked
on a database migrated to exactly "001". The expected structure is written out below from the seed
design; nothing is read from outside the repository.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pprint import pformat
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, create_engine, insert, text
from sqlalchemy.exc import IntegrityError

from aurora_cli.db import models
from aurora_cli.db.migrate import downgrade, upgrade
from aurora_cli.db.models import MATERIALIZED_VIEWS, Base

# --- The seed, written out ---------------------------------------------------------------------

UUID = "uuid"
TSTZ = "timestamp with time zone"
BOOL = "boolean"
INT = "integer"
TEXT = "text"
JSONB = "jsonb"
INET = "inet"
MONEY = "numeric(38,18)"
GEN_UUID = "gen_random_uuid()"
NOW = "now()"


def vc(length: int) -> str:
    return f"varchar({length})"


def enum(type_name: str) -> str:
    return f"enum {type_name}"


# (column, type, is_nullable as information_schema says it, column_default as PostgreSQL reports it)
SEED_COLUMNS: dict[str, list[tuple[str, str, str, str | None]]] = {
    "chains": [
        ("chain_id", vc(50), "NO", None),
        ("name", vc(100), "NO", None),
        ("period_type", vc(20), "NO", None),
        ("native_unit", vc(20), "NO", None),
        ("native_decimals", INT, "NO", None),
        ("finality_lag", INT, "NO", None),
        ("is_active", BOOL, "NO", "true"),
        ("created_at", TSTZ, "NO", NOW),
        ("updated_at", TSTZ, "NO", NOW),
    ],
    "providers": [
        ("provider_id", UUID, "NO", GEN_UUID),
        ("provider_name", vc(50), "NO", None),
        ("provider_type", vc(20), "NO", None),
        ("base_url", TEXT, "YES", None),
        ("api_version", vc(20), "YES", None),
        ("is_enabled", BOOL, "NO", "true"),
        ("rate_limit_per_minute", INT, "YES", None),
        ("timeout_seconds", INT, "YES", "30"),
        ("created_at", TSTZ, "NO", NOW),
        ("updated_at", TSTZ, "NO", NOW),
    ],
    "chain_provider_mappings": [
        ("mapping_id", UUID, "NO", GEN_UUID),
        ("chain_id", vc(50), "NO", None),
        ("provider_id", UUID, "NO", None),
        ("provider_role", vc(20), "NO", None),
        ("priority", INT, "NO", "1"),
        ("is_active", BOOL, "NO", "true"),
        ("created_at", TSTZ, "NO", NOW),
        ("updated_at", TSTZ, "NO", NOW),
    ],
    "canonical_periods": [
        ("period_id", UUID, "NO", GEN_UUID),
        ("chain_id", vc(50), "NO", None),
        ("period_identifier", vc(50), "NO", None),
        ("period_start", TSTZ, "NO", None),
        ("period_end", TSTZ, "NO", None),
        ("is_finalized", BOOL, "NO", "false"),
        ("finalized_at", TSTZ, "YES", None),
        ("created_at", TSTZ, "NO", NOW),
        ("updated_at", TSTZ, "NO", NOW),
    ],
    "canonical_validator_identities": [
        ("identity_id", UUID, "NO", GEN_UUID),
        ("chain_id", vc(50), "NO", None),
        ("validator_key", vc(100), "NO", None),
        ("vote_pubkey", vc(100), "YES", None),
        ("node_pubkey", vc(100), "YES", None),
        ("identity_pubkey", vc(100), "YES", None),
        ("fee_recipient", vc(100), "YES", None),
        ("display_name", vc(200), "YES", None),
        ("is_active", BOOL, "NO", "true"),
        ("created_at", TSTZ, "NO", NOW),
        ("updated_at", TSTZ, "NO", NOW),
    ],
    "ingestion_runs": [
        ("run_id", UUID, "NO", GEN_UUID),
        ("chain_id", vc(50), "NO", None),
        ("period_id", UUID, "YES", None),
        ("started_at", TSTZ, "NO", NOW),
        ("completed_at", TSTZ, "YES", None),
        ("status", enum("ingestion_status"), "NO", "'PENDING'::ingestion_status"),
        ("error_message", TEXT, "YES", None),
        ("records_fetched", INT, "YES", "0"),
        ("records_staged", INT, "YES", "0"),
        ("metadata", JSONB, "YES", None),
        ("created_at", TSTZ, "NO", NOW),
        ("updated_at", TSTZ, "NO", NOW),
    ],
    "staging_payloads": [
        ("payload_id", UUID, "NO", GEN_UUID),
        ("run_id", UUID, "NO", None),
        ("chain_id", vc(50), "NO", None),
        ("period_id", UUID, "NO", None),
        ("validator_key", vc(100), "NO", None),
        ("provider_id", UUID, "NO", None),
        ("data_type", enum("data_type"), "NO", None),
        ("fetch_timestamp", TSTZ, "NO", NOW),
        ("response_hash", vc(64), "NO", None),
        ("raw_payload", JSONB, "NO", None),
        ("created_at", TSTZ, "NO", NOW),
    ],
    "canonical_validator_fees": [
        ("fee_id", UUID, "NO", GEN_UUID),
        ("chain_id", vc(50), "NO", None),
        ("period_id", UUID, "NO", None),
        ("validator_key", vc(100), "NO", None),
        ("total_fees_native", MONEY, "NO", None),
        ("fee_count", INT, "NO", "0"),
        ("source_provider_id", UUID, "NO", None),
        ("source_payload_id", UUID, "NO", None),
        ("normalized_at", TSTZ, "NO", NOW),
        ("created_at", TSTZ, "NO", NOW),
        ("updated_at", TSTZ, "NO", NOW),
    ],
    "canonical_validator_mev": [
        ("mev_id", UUID, "NO", GEN_UUID),
        ("chain_id", vc(50), "NO", None),
        ("period_id", UUID, "NO", None),
        ("validator_key", vc(100), "NO", None),
        ("total_mev_native", MONEY, "NO", None),
        ("tip_count", INT, "NO", "0"),
        ("source_provider_id", UUID, "NO", None),
        ("source_payload_id", UUID, "NO", None),
        ("normalized_at", TSTZ, "NO", NOW),
        ("created_at", TSTZ, "NO", NOW),
        ("updated_at", TSTZ, "NO", NOW),
    ],
    "canonical_stake_rewards": [
        ("reward_id", UUID, "NO", GEN_UUID),
        ("chain_id", vc(50), "NO", None),
        ("period_id", UUID, "NO", None),
        ("validator_key", vc(100), "NO", None),
        ("staker_address", vc(100), "YES", None),
        ("rewards_native", MONEY, "NO", None),
        ("commission_native", MONEY, "NO", "0"),
        ("source_provider_id", UUID, "NO", None),
        ("source_payload_id", UUID, "NO", None),
        ("normalized_at", TSTZ, "NO", NOW),
        ("created_at", TSTZ, "NO", NOW),
        ("updated_at", TSTZ, "NO", NOW),
    ],
    "canonical_validator_meta": [
        ("meta_id", UUID, "NO", GEN_UUID),
        ("chain_id", vc(50), "NO", None),
        ("period_id", UUID, "NO", None),
        ("validator_key", vc(100), "NO", None),
        ("commission_rate_bps", INT, "NO", None),
        ("is_mev_enabled", BOOL, "NO", "false"),
        ("total_stake_native", MONEY, "NO", "0"),
        ("active_stake_native", MONEY, "YES", None),
        ("delegator_count", INT, "YES", None),
        ("uptime_percentage", "numeric(5,2)", "YES", None),
        ("source_provider_id", UUID, "NO", None),
        ("source_payload_id", UUID, "NO", None),
        ("normalized_at", TSTZ, "NO", NOW),
        ("created_at", TSTZ, "NO", NOW),
        ("updated_at", TSTZ, "NO", NOW),
    ],
    "validator_pnl": [
        ("pnl_id", UUID, "NO", GEN_UUID),
        ("chain_id", vc(50), "NO", None),
        ("period_id", UUID, "NO", None),
        ("validator_key", vc(100), "NO", None),
        ("exec_fees_native", MONEY, "NO", "0"),
        ("mev_tips_native", MONEY, "NO", "0"),
        ("vote_rewards_native", MONEY, "NO", "0"),
        ("commission_native", MONEY, "NO", "0"),
        ("total_revenue_native", MONEY, "NO", None),
        ("computed_at", TSTZ, "NO", NOW),
        ("created_at", TSTZ, "NO", NOW),
        ("updated_at", TSTZ, "NO", NOW),
    ],
    "partners": [
        ("partner_id", UUID, "NO", GEN_UUID),
        ("partner_name", vc(200), "NO", None),
        ("legal_entity_name", vc(200), "YES", None),
        ("contact_email", vc(200), "NO", None),
        ("contact_name", vc(200), "YES", None),
        ("is_active", BOOL, "NO", "true"),
        ("created_at", TSTZ, "NO", NOW),
        ("updated_at", TSTZ, "NO", NOW),
    ],
    "agreements": [
        ("agreement_id", UUID, "NO", GEN_UUID),
        ("partner_id", UUID, "NO", None),
        ("agreement_name", vc(200), "NO", None),
        ("current_version", INT, "NO", "1"),
        ("status", enum("agreement_status"), "NO", "'DRAFT'::agreement_status"),
        ("effective_from", TSTZ, "NO", None),
        ("effective_until", TSTZ, "YES", None),
        ("created_at", TSTZ, "NO", NOW),
        ("updated_at", TSTZ, "NO", NOW),
    ],
    "agreement_versions": [
        ("version_id", UUID, "NO", GEN_UUID),
        ("agreement_id", UUID, "NO", None),
        ("version_number", INT, "NO", None),
        ("effective_from", TSTZ, "NO", None),
        ("effective_until", TSTZ, "YES", None),
        ("terms_snapshot", JSONB, "NO", None),
        ("created_by", UUID, "YES", None),
        ("created_at", TSTZ, "NO", NOW),
    ],
    "agreement_rules": [
        ("rule_id", UUID, "NO", GEN_UUID),
        ("agreement_id", UUID, "NO", None),
        ("version_number", INT, "NO", None),
        ("rule_order", INT, "NO", None),
        ("chain_id", vc(50), "YES", None),
        ("validator_key", vc(100), "YES", None),
        ("revenue_component", enum("revenue_component"), "NO", None),
        ("attribution_method", enum("attribution_method"), "NO", None),
        ("commission_rate_bps", INT, "NO", None),
        ("floor_amount_native", MONEY, "YES", None),
        ("cap_amount_native", MONEY, "YES", None),
        ("tier_config", JSONB, "YES", None),
        ("is_active", BOOL, "NO", "true"),
        ("created_at", TSTZ, "NO", NOW),
        ("updated_at", TSTZ, "NO", NOW),
    ],
    "partner_commission_lines": [
        ("line_id", UUID, "NO", GEN_UUID),
        ("agreement_id", UUID, "NO", None),
        ("agreement_version", INT, "NO", None),
        ("rule_id", UUID, "NO", None),
        ("partner_id", UUID, "NO", None),
        ("chain_id", vc(50), "NO", None),
        ("period_id", UUID, "NO", None),
        ("validator_key", vc(100), "YES", None),
        ("revenue_component", enum("revenue_component"), "NO", None),
        ("attribution_method", enum("attribution_method"), "NO", None),
        ("base_amount_native", MONEY, "NO", None),
        ("commission_rate_bps", INT, "NO", None),
        ("pre_override_amount_native", MONEY, "NO", None),
        ("override_amount_native", MONEY, "YES", None),
        ("override_reason", TEXT, "YES", None),
        ("override_user_id", UUID, "YES", None),
        ("override_timestamp", TSTZ, "YES", None),
        ("final_amount_native", MONEY, "NO", None),
        ("computed_at", TSTZ, "NO", NOW),
        ("created_at", TSTZ, "NO", NOW),
        ("updated_at", TSTZ, "NO", NOW),
    ],
    "partner_commission_statements": [
        ("statement_id", UUID, "NO", GEN_UUID),
        ("partner_id", UUID, "NO", None),
        ("chain_id", vc(50), "NO", None),
        ("period_id", UUID, "NO", None),
        ("total_commission_native", MONEY, "NO", None),
        ("line_count", INT, "NO", None),
        ("status", enum("statement_status"), "NO", "'DRAFT'::statement_status"),
        ("approved_by", UUID, "YES", None),
        ("approved_at", TSTZ, "YES", None),
        ("released_by", UUID, "YES", None),
        ("released_at", TSTZ, "YES", None),
        ("paid_at", TSTZ, "YES", None),
        ("metadata", JSONB, "YES", None),
        ("created_at", TSTZ, "NO", NOW),
        ("updated_at", TSTZ, "NO", NOW),
    ],
    "users": [
        ("user_id", UUID, "NO", GEN_UUID),
        ("username", vc(100), "NO", None),
        ("email", vc(200), "NO", None),
        ("password_hash", vc(255), "NO", None),
        ("role", enum("user_role"), "NO", None),
        ("partner_id", UUID, "YES", None),
        ("allowed_chain_ids", "character varying(50)[]", "YES", None),
        ("allowed_validator_keys", "character varying(100)[]", "YES", None),
        ("is_active", BOOL, "NO", "true"),
        ("last_login_at", TSTZ, "YES", None),
        ("created_at", TSTZ, "NO", NOW),
        ("updated_at", TSTZ, "NO", NOW),
    ],
    "audit_log": [
        ("log_id", UUID, "NO", GEN_UUID),
        ("user_id", UUID, "YES", None),
        ("action", enum("audit_action"), "NO", None),
        ("resource_type", vc(50), "NO", None),
        ("resource_id", vc(100), "YES", None),
        ("before_snapshot", JSONB, "YES", None),
        ("after_snapshot", JSONB, "YES", None),
        ("change_hash", vc(64), "NO", None),
        ("reason", TEXT, "YES", None),
        ("correlation_id", UUID, "NO", None),
        ("ip_address", INET, "YES", None),
        ("user_agent", TEXT, "YES", None),
        ("timestamp", TSTZ, "NO", NOW),
    ],
}
SEED_TABLES = tuple(SEED_COLUMNS)

# The first column of every seed table is its single-column primary key.
SEED_PRIMARY_KEYS = {table: (columns[0][0],) for table, columns in SEED_COLUMNS.items()}

# Inline UNIQUEs carry PostgreSQL's default names; the staging idempotency key is named explicitly.
SEED_UNIQUES: dict[str, tuple[str, tuple[str, ...]]] = {
    "providers_provider_name_key": ("providers", ("provider_name",)),
    "chain_provider_mappings_chain_id_provider_role_priority_key": (
        "chain_provider_mappings",
        ("chain_id", "provider_role", "priority"),
    ),
    "canonical_periods_chain_id_period_identifier_key": (
        "canonical_periods",
        ("chain_id", "period_identifier"),
    ),
    "canonical_validator_identities_chain_id_validator_key_key": (
        "canonical_validator_identities",
        ("chain_id", "validator_key"),
    ),
    # Revision 016: held by staging_payload_keys, which every payload row references in full.
    "uq_staging_payloads_idempotency": (
        "staging_payload_keys",
        ("run_id", "chain_id", "period_id", "validator_key", "data_type"),
    ),
    "canonical_validator_fees_chain_id_period_id_validator_key_key": (
        "canonical_validator_fees",
        ("chain_id", "period_id", "validator_key"),
    ),
    "canonical_validator_mev_chain_id_period_id_validator_key_key": (
        "canonical_validator_mev",
        ("chain_id", "period_id", "validator_key"),
    ),
    "canonical_validator_meta_chain_id_period_id_validator_key_key": (
        "canonical_validator_meta",
        ("chain_id", "period_id", "validator_key"),
    ),
    "validator_pnl_chain_id_period_id_validator_key_key": (
        "validator_pnl",
        ("chain_id", "period_id", "validator_key"),
    ),
    "agreement_versions_agreement_id_version_number_key": (
        "agreement_versions",
        ("agreement_id", "version_number"),
    ),
    "partner_commission_statements_partner_id_chain_id_period_id_key": (
        "partner_commission_statements",
        ("partner_id", "chain_id", "period_id"),
    ),
    "users_username_key": ("users", ("username",)),
    "users_email_key": ("users", ("email",)),
}

CASCADE, RESTRICT, SET_NULL = "CASCADE", "RESTRICT", "SET NULL"
_CHAIN = ("chains", ("chain_id",))
_PERIOD = ("canonical_periods", ("period_id",))
_PROVIDER = ("providers", ("provider_id",))
# Revision 016: the lineage keys point at the payload's key row (staging_payloads is partitioned).
_PAYLOAD = ("staging_payload_keys", ("payload_id",))
_PARTNER = ("partners", ("partner_id",))
_USER = ("users", ("user_id",))
_AGREEMENT = ("agreements", ("agreement_id",))


def _lineage(table: str) -> list[tuple[str, tuple[str, ...], str, tuple[str, ...], str]]:
    """The foreign keys every canonical table has: chain, period, source provider and payload."""
    return [
        (table, ("chain_id",), *_CHAIN, CASCADE),
        (table, ("period_id",), *_PERIOD, CASCADE),
        (table, ("source_provider_id",), *_PROVIDER, RESTRICT),
        (table, ("source_payload_id",), *_PAYLOAD, RESTRICT),
    ]


# (table, columns, referenced table, referenced columns, ON DELETE rule)
SEED_FOREIGN_KEYS: list[tuple[str, tuple[str, ...], str, tuple[str, ...], str]] = [
    ("chain_provider_mappings", ("chain_id",), *_CHAIN, CASCADE),
    ("chain_provider_mappings", ("provider_id",), *_PROVIDER, CASCADE),
    ("canonical_periods", ("chain_id",), *_CHAIN, CASCADE),
    ("canonical_validator_identities", ("chain_id",), *_CHAIN, CASCADE),
    ("ingestion_runs", ("chain_id",), *_CHAIN, CASCADE),
    ("ingestion_runs", ("period_id",), *_PERIOD, SET_NULL),
    ("staging_payloads", ("run_id",), "ingestion_runs", ("run_id",), CASCADE),
    ("staging_payloads", ("chain_id",), *_CHAIN, CASCADE),
    ("staging_payloads", ("period_id",), *_PERIOD, CASCADE),
    ("staging_payloads", ("provider_id",), *_PROVIDER, CASCADE),
    *_lineage("canonical_validator_fees"),
    *_lineage("canonical_validator_mev"),
    *_lineage("canonical_stake_rewards"),
    *_lineage("canonical_validator_meta"),
    ("validator_pnl", ("chain_id",), *_CHAIN, CASCADE),
    ("validator_pnl", ("period_id",), *_PERIOD, CASCADE),
    ("agreements", ("partner_id",), *_PARTNER, RESTRICT),
    ("agreement_versions", ("agreement_id",), *_AGREEMENT, CASCADE),
    ("agreement_versions", ("created_by",), *_USER, SET_NULL),
    ("agreement_rules", ("agreement_id",), *_AGREEMENT, CASCADE),
    ("agreement_rules", ("chain_id",), *_CHAIN, CASCADE),
    (
        "agreement_rules",
        ("agreement_id", "version_number"),
        "agreement_versions",
        ("agreement_id", "version_number"),
        CASCADE,
    ),
    ("partner_commission_lines", ("agreement_id",), *_AGREEMENT, RESTRICT),
    ("partner_commission_lines", ("rule_id",), "agreement_rules", ("rule_id",), RESTRICT),
    ("partner_commission_lines", ("partner_id",), *_PARTNER, RESTRICT),
    ("partner_commission_lines", ("chain_id",), *_CHAIN, CASCADE),
    ("partner_commission_lines", ("period_id",), *_PERIOD, CASCADE),
    ("partner_commission_lines", ("override_user_id",), *_USER, SET_NULL),
    ("partner_commission_statements", ("partner_id",), *_PARTNER, RESTRICT),
    ("partner_commission_statements", ("chain_id",), *_CHAIN, CASCADE),
    ("partner_commission_statements", ("period_id",), *_PERIOD, CASCADE),
    ("partner_commission_statements", ("approved_by",), *_USER, SET_NULL),
    ("partner_commission_statements", ("released_by",), *_USER, SET_NULL),
    ("users", ("partner_id",), *_PARTNER, SET_NULL),
    ("audit_log", ("user_id",), *_USER, SET_NULL),
]

# Every *_native amount is >= 0 (NULL passes), every commission_rate_bps within 0..10000.
NATIVE_COLUMNS = [
    (table, column)
    for table, columns in SEED_COLUMNS.items()
    for column, *_ in columns
    if column.endswith("_native")
]
OPTIONAL_NATIVE_COLUMNS = [
    (table, column)
    for table, columns in SEED_COLUMNS.items()
    for column, _, nullable, _ in columns
    if column.endswith("_native") and nullable == "YES"
]
BPS_TABLES = [
    table
    for table, columns in SEED_COLUMNS.items()
    for column, *_ in columns
    if column == "commission_rate_bps"
]


def _in_list(column: str, values: tuple[str, ...]) -> str:
    items = ", ".join(f"'{value}'::character varying" for value in values)
    return f"CHECK ((({column})::text = ANY ((ARRAY[{items}])::text[])))"


_PROVIDER_ROLES = ("FEES", "MEV", "REWARDS", "META", "RPC")

# CHECK name -> (table, definition as pg_get_constraintdef renders it)
SEED_CHECKS: dict[str, tuple[str, str]] = {
    "chains_period_type_check": ("chains", _in_list("period_type", ("EPOCH", "BLOCK_WINDOW", "SLOT_RANGE"))),
    "providers_provider_type_check": ("providers", _in_list("provider_type", _PROVIDER_ROLES)),
    "chain_provider_mappings_provider_role_check": (
        "chain_provider_mappings",
        _in_list("provider_role", _PROVIDER_ROLES),
    ),
    "ck_canonical_periods_start_before_end": ("canonical_periods", "CHECK ((period_start < period_end))"),
    "ck_agreements_effective_range": ("agreements", "CHECK ((effective_from < effective_until))"),
    "ck_agreement_versions_effective_range": (
        "agreement_versions",
        "CHECK ((effective_from < effective_until))",
    ),
    **{
        f"ck_{table}_{column}_nonneg": (table, f"CHECK (({column} >= (0)::numeric))")
        for table, column in NATIVE_COLUMNS
    },
    **{
        f"ck_{table}_commission_rate_bps_range": (
            table,
            "CHECK (((commission_rate_bps >= 0) AND (commission_rate_bps <= 10000)))",
        )
        for table in BPS_TABLES
    },
}


def _ix(table: str, *columns: str, using: str = "btree", unique: bool = False) -> tuple:
    return (table, columns, using, unique)


# index name -> (table or materialized view, columns, access method, unique)
SEED_INDEXES: dict[str, tuple] = {
    "idx_chains_active": _ix("chains", "is_active"),
    "idx_providers_name": _ix("providers", "provider_name"),
    "idx_providers_type": _ix("providers", "provider_type"),
    "idx_providers_enabled": _ix("providers", "is_enabled"),
    "idx_chain_provider_chain": _ix("chain_provider_mappings", "chain_id"),
    "idx_chain_provider_provider": _ix("chain_provider_mappings", "provider_id"),
    "idx_canonical_periods_chain": _ix("canonical_periods", "chain_id"),
    "idx_canonical_periods_finalized": _ix("canonical_periods", "is_finalized"),
    "idx_canonical_periods_range": _ix("canonical_periods", "chain_id", "period_start", "period_end"),
    "idx_validator_identities_chain": _ix("canonical_validator_identities", "chain_id"),
    "idx_validator_identities_key": _ix("canonical_validator_identities", "validator_key"),
    "idx_ingestion_runs_chain": _ix("ingestion_runs", "chain_id"),
    "idx_ingestion_runs_period": _ix("ingestion_runs", "period_id"),
    "idx_ingestion_runs_status": _ix("ingestion_runs", "status"),
    "idx_ingestion_runs_started": _ix("ingestion_runs", "started_at"),
    "idx_staging_payloads_run": _ix("staging_payloads", "run_id"),
    "idx_staging_payloads_chain_period": _ix("staging_payloads", "chain_id", "period_id"),
    "idx_staging_payloads_validator": _ix("staging_payloads", "validator_key"),
    "idx_staging_payloads_provider": _ix("staging_payloads", "provider_id"),
    "idx_staging_payloads_data_type": _ix("staging_payloads", "data_type"),
    "idx_staging_payloads_raw_payload": _ix("staging_payloads", "raw_payload", using="gin"),
    "idx_canonical_fees_chain_period_validator": _ix(
        "canonical_validator_fees", "chain_id", "period_id", "validator_key"
    ),
    "idx_canonical_fees_source_provider": _ix("canonical_validator_fees", "source_provider_id"),
    "idx_canonical_fees_source_payload": _ix("canonical_validator_fees", "source_payload_id"),
    "idx_canonical_mev_chain_period_validator": _ix(
        "canonical_validator_mev", "chain_id", "period_id", "validator_key"
    ),
    "idx_canonical_mev_source_provider": _ix("canonical_validator_mev", "source_provider_id"),
    "idx_canonical_mev_source_payload": _ix("canonical_validator_mev", "source_payload_id"),
    "idx_canonical_rewards_chain_period_validator": _ix(
        "canonical_stake_rewards", "chain_id", "period_id", "validator_key"
    ),
    "idx_canonical_rewards_staker": _ix("canonical_stake_rewards", "staker_address"),
    "idx_canonical_rewards_source_provider": _ix("canonical_stake_rewards", "source_provider_id"),
    "idx_canonical_rewards_source_payload": _ix("canonical_stake_rewards", "source_payload_id"),
    "idx_canonical_meta_chain_period_validator": _ix(
        "canonical_validator_meta", "chain_id", "period_id", "validator_key"
    ),
    "idx_canonical_meta_mev_enabled": _ix("canonical_validator_meta", "is_mev_enabled"),
    "idx_canonical_meta_source_provider": _ix("canonical_validator_meta", "source_provider_id"),
    "idx_canonical_meta_source_payload": _ix("canonical_validator_meta", "source_payload_id"),
    "idx_validator_pnl_chain_period": _ix("validator_pnl", "chain_id", "period_id"),
    "idx_validator_pnl_validator": _ix("validator_pnl", "validator_key"),
    "idx_validator_pnl_computed": _ix("validator_pnl", "computed_at"),
    "idx_partners_active": _ix("partners", "is_active"),
    "idx_partners_email": _ix("partners", "contact_email"),
    "idx_agreements_partner": _ix("agreements", "partner_id"),
    "idx_agreements_status": _ix("agreements", "status"),
    "idx_agreements_effective": _ix("agreements", "effective_from", "effective_until"),
    "idx_agreement_versions_agreement": _ix("agreement_versions", "agreement_id"),
    "idx_agreement_versions_effective": _ix("agreement_versions", "effective_from", "effective_until"),
    "idx_agreement_rules_agreement": _ix("agreement_rules", "agreement_id"),
    "idx_agreement_rules_chain": _ix("agreement_rules", "chain_id"),
    "idx_agreement_rules_validator": _ix("agreement_rules", "validator_key"),
    "idx_agreement_rules_active": _ix("agreement_rules", "is_active"),
    "idx_commission_lines_agreement": _ix("partner_commission_lines", "agreement_id"),
    "idx_commission_lines_partner": _ix("partner_commission_lines", "partner_id"),
    "idx_commission_lines_chain_period": _ix("partner_commission_lines", "chain_id", "period_id"),
    "idx_commission_lines_validator": _ix("partner_commission_lines", "validator_key"),
    "idx_commission_lines_computed": _ix("partner_commission_lines", "computed_at"),
    "idx_statements_partner": _ix("partner_commission_statements", "partner_id"),
    "idx_statements_chain_period": _ix("partner_commission_statements", "chain_id", "period_id"),
    "idx_statements_status": _ix("partner_commission_statements", "status"),
    "idx_users_username": _ix("users", "username"),
    "idx_users_email": _ix("users", "email"),
    "idx_users_role": _ix("users", "role"),
    "idx_users_partner": _ix("users", "partner_id"),
    "idx_users_active": _ix("users", "is_active"),
    "idx_audit_log_user": _ix("audit_log", "user_id"),
    "idx_audit_log_action": _ix("audit_log", "action"),
    "idx_audit_log_resource": _ix("audit_log", "resource_type", "resource_id"),
    "idx_audit_log_timestamp": _ix("audit_log", "timestamp"),
    "idx_audit_log_correlation": _ix("audit_log", "correlation_id"),
    "idx_mv_partner_summary": _ix(
        "mv_partner_commissions_summary", "partner_id", "chain_id", "period_id", unique=True
    ),
    "idx_mv_validator_revenue": _ix(
        "mv_validator_revenue_summary", "chain_id", "period_id", "validator_key", unique=True
    ),
}

# Labels in the seed's order. Later revisions may append labels, never reorder or drop these.
SEED_ENUMS: dict[str, list[str]] = {
    "ingestion_status": ["PENDING", "RUNNING", "SUCCESS", "FAILED", "PARTIAL"],
    "data_type": ["FEES", "MEV", "REWARDS", "META"],
    "revenue_component": ["EXEC_FEES", "MEV_TIPS", "VOTE_REWARDS", "COMMISSION"],
    "attribution_method": ["CLIENT_REVENUE", "STAKE_WEIGHT", "FIXED_SHARE"],
    "agreement_status": ["DRAFT", "ACTIVE", "SUSPENDED", "TERMINATED"],
    "statement_status": ["DRAFT", "PENDING_APPROVAL", "APPROVED", "RELEASED", "PAID"],
    "user_role": ["ADMIN", "FINANCE", "OPS", "PARTNER", "AUDITOR"],
    "audit_action": [
        "CREATE_AGREEMENT",
        "UPDATE_AGREEMENT",
        "DELETE_AGREEMENT",
        "CREATE_RULE",
        "UPDATE_RULE",
        "DELETE_RULE",
        "CREATE_OVERRIDE",
        "UPDATE_OVERRIDE",
        "APPROVE_STATEMENT",
        "RELEASE_STATEMENT",
        "RECOMPUTE",
        "INGESTION_RUN",
        "NORMALIZATION_RUN",
    ],
}

PYTHON_ENUMS = {
    "ingestion_status": models.IngestionStatus,
    "data_type": models.DataType,
    "revenue_component": models.RevenueComponent,
    "attribution_method": models.AttributionMethod,
    "agreement_status": models.AgreementStatus,
    "statement_status": models.StatementStatus,
    "user_role": models.UserRole,
    "audit_action": models.AuditAction,
}

# materialized view -> [(column, type as format_type renders it)]
SEED_MATVIEWS: dict[str, list[tuple[str, str]]] = {
    "mv_partner_commissions_summary": [
        ("partner_id", UUID),
        ("chain_id", "character varying(50)"),
        ("period_id", UUID),
        ("total_commission_native", "numeric"),
        ("line_count", "bigint"),
        ("last_computed_at", TSTZ),
    ],
    "mv_validator_revenue_summary": [
        ("chain_id", "character varying(50)"),
        ("period_id", UUID),
        ("validator_key", "character varying(100)"),
        ("total_revenue_native", MONEY),
        ("exec_fees_native", MONEY),
        ("mev_tips_native", MONEY),
        ("vote_rewards_native", MONEY),
        ("commission_native", MONEY),
        ("computed_at", TSTZ),
    ],
}
MATVIEW_SOURCES = {
    "mv_partner_commissions_summary": "partner_commission_lines",
    "mv_validator_revenue_summary": "validator_pnl",
}

ROLES = ("aurora_app", "aurora_readonly", "aurora_migrate")

# --- Reading the catalog -----------------------------------------------------------------------


@pytest.fixture
def conn(db_url: str) -> Iterator[Connection]:
    """A connection to the migrated database, inside a transaction that is rolled back."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            yield connection
            transaction.rollback()
    finally:
        engine.dispose()


def _rows(connection: Connection, sql: str, **params: Any) -> list[Any]:
    return list(connection.execute(text(sql), params))


def _catalog_columns(connection: Connection) -> dict[str, list[tuple[str, str, str, str | None]]]:
    rows = _rows(
        connection,
        """
        SELECT c.table_name, c.column_name, c.data_type, c.character_maximum_length,
               c.numeric_precision, c.numeric_scale, c.udt_name, c.is_nullable, c.column_default,
               format_type(a.atttypid, a.atttypmod) AS formatted
        FROM information_schema.columns c
        JOIN pg_attribute a
          ON a.attrelid = format('%I.%I', c.table_schema, c.table_name)::regclass
         AND a.attname = c.column_name
        WHERE c.table_schema = 'public'
        ORDER BY c.table_name, c.ordinal_position
        """,
    )
    tables: dict[str, list[tuple[str, str, str, str | None]]] = {}
    for row in rows:
        if row.data_type == "character varying":
            type_ = vc(row.character_maximum_length)
        elif row.data_type == "numeric":
            type_ = f"numeric({row.numeric_precision},{row.numeric_scale})"
        elif row.data_type == "USER-DEFINED":
            type_ = enum(row.udt_name)
        elif row.data_type == "ARRAY":
            type_ = row.formatted  # information_schema hides the element type's length
        else:
            type_ = row.data_type
        tables.setdefault(row.table_name, []).append(
            (row.column_name, type_, row.is_nullable, row.column_default)
        )
    return tables


def _catalog_constraints(connection: Connection, contype: str) -> list[Any]:
    return _rows(
        connection,
        """
        SELECT con.conname, con.conrelid::regclass::text AS table_name,
               array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, n)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
                     ORDER BY k.n)::text[] AS columns,
               con.confrelid::regclass::text AS ref_table,
               array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(attnum, n)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
                     ORDER BY k.n)::text[] AS ref_columns,
               rc.delete_rule,
               pg_get_constraintdef(con.oid) AS definition
        FROM pg_constraint con
        LEFT JOIN information_schema.referential_constraints rc
          ON rc.constraint_schema = 'public' AND rc.constraint_name = con.conname
        WHERE con.connamespace = 'public'::regnamespace AND con.contype = :contype
        """,
        contype=contype,
    )


def _catalog_indexes(connection: Connection) -> dict[str, tuple]:
    rows = _rows(
        connection,
        """
        SELECT i.relname AS index_name, t.relname AS table_name, am.amname, ix.indisunique,
               array(SELECT a.attname FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(attnum, n)
                     JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
                     ORDER BY k.n)::text[] AS columns
        FROM pg_index ix
        JOIN pg_class i ON i.oid = ix.indexrelid
        JOIN pg_class t ON t.oid = ix.indrelid
        JOIN pg_am am ON am.oid = i.relam
        WHERE t.relnamespace = 'public'::regnamespace
        """,
    )
    return {r.index_name: (r.table_name, tuple(r.columns), r.amname, r.indisunique) for r in rows}


def _enum_labels(connection: Connection) -> dict[str, list[str]]:
    rows = _rows(
        connection,
        """
        SELECT t.typname, e.enumlabel
        FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
        WHERE t.typnamespace = 'public'::regnamespace
        ORDER BY t.typname, e.enumsortorder
        """,
    )
    labels: dict[str, list[str]] = {}
    for row in rows:
        labels.setdefault(row.typname, []).append(row.enumlabel)
    return labels


def _public_relations(connection: Connection) -> list[str]:
    """Tables, views, materialized views and sequences left in the public schema."""
    rows = _rows(
        connection,
        """
        SELECT relname FROM pg_class
        WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
        ORDER BY relname
        """,
    )
    return [row.relname for row in rows]


# --- a. The catalog is the seed ----------------------------------------------------------------


def test_every_seed_table_has_the_seed_columns_with_their_types_nullability_and_defaults(conn):
    actual = _catalog_columns(conn)
    missing_tables = [table for table in SEED_TABLES if table not in actual]
    assert not missing_tables, f"seed tables missing: {missing_tables}"
    problems = []
    for table, expected_columns in SEED_COLUMNS.items():
        by_name = {column[0]: column for column in actual[table]}
        for expected in expected_columns:
            got = by_name.get(expected[0])
            if got != expected:
                problems.append(f"{table}.{expected[0]}: expected {expected[1:]}, got {got and got[1:]}")
    assert not problems, "columns differ from the seed:\n" + "\n".join(problems)


def test_seed_columns_keep_the_seed_order(conn):
    actual = _catalog_columns(conn)
    for table, expected_columns in SEED_COLUMNS.items():
        names = [column[0] for column in actual[table]]
        expected = [column[0] for column in expected_columns]
        assert names[: len(expected)] == expected, f"{table}: columns {names}, seed order {expected}"


# Revision 012 partitions these by period (the seed's plan): a partitioned table's primary key must
# include the partition key.
PARTITIONED_PRIMARY_KEYS = {
    "canonical_stake_rewards": ("reward_id", "period_id"),
    "partner_commission_lines": ("line_id", "period_id"),
    # Revision 016: staged payloads by month; payload_id alone is the key of staging_payload_keys.
    "staging_payloads": ("payload_id", "created_at"),
    "staging_payload_keys": ("payload_id",),
}


def test_primary_keys(conn):
    actual = {row.table_name: tuple(row.columns) for row in _catalog_constraints(conn, "p")}
    for table, columns in {**SEED_PRIMARY_KEYS, **PARTITIONED_PRIMARY_KEYS}.items():
        assert actual.get(table) == columns, f"{table}: primary key {actual.get(table)}, expected {columns}"


def test_unique_keys(conn):
    actual = {row.conname: (row.table_name, tuple(row.columns)) for row in _catalog_constraints(conn, "u")}
    problems = [
        f"{name}: expected {expected}, got {actual.get(name)}"
        for name, expected in SEED_UNIQUES.items()
        if actual.get(name) != expected
    ]
    assert not problems, "unique keys differ from the seed:\n" + "\n".join(problems)


def test_foreign_keys_and_their_on_delete_rules(conn):
    actual = {
        (row.table_name, tuple(row.columns), row.ref_table, tuple(row.ref_columns), row.delete_rule)
        for row in _catalog_constraints(conn, "f")
    }
    missing = [fk for fk in SEED_FOREIGN_KEYS if fk not in actual]
    assert not missing, "foreign keys missing or with another ON DELETE rule:\n" + pformat(missing)
    assert len(set(SEED_FOREIGN_KEYS)) == len(SEED_FOREIGN_KEYS) == 47  # as many as the seed has


def test_check_constraints(conn):
    actual = {row.conname: (row.table_name, row.definition) for row in _catalog_constraints(conn, "c")}
    problems = [
        f"{name}: expected {expected}, got {actual.get(name)}"
        for name, expected in SEED_CHECKS.items()
        if actual.get(name) != expected
    ]
    assert not problems, "CHECK constraints differ from the seed:\n" + "\n".join(problems)
    # 18 amounts, 3 rates, 1 period range, 2 effective ranges, 3 inline CHECKs of the seed.
    assert (len(NATIVE_COLUMNS), len(BPS_TABLES), len(SEED_CHECKS)) == (18, 3, 27)


def test_indexes_with_their_columns_access_method_and_uniqueness(conn):
    actual = _catalog_indexes(conn)
    problems = [
        f"{name}: expected {expected}, got {actual.get(name)}"
        for name, expected in SEED_INDEXES.items()
        if actual.get(name) != expected
    ]
    assert not problems, "indexes differ from the seed:\n" + "\n".join(problems)


def test_enum_types_keep_the_seed_labels_in_order(conn):
    actual = _enum_labels(conn)
    for type_name, labels in SEED_ENUMS.items():
        assert type_name in actual, f"enum type {type_name} missing"
        seed_labels_in_db_order = [label for label in actual[type_name] if label in labels]
        assert seed_labels_in_db_order == labels, f"{type_name}: labels {actual[type_name]}, seed {labels}"


def test_python_enums_list_exactly_the_database_labels(conn):
    actual = _enum_labels(conn)
    for type_name, python_enum in PYTHON_ENUMS.items():
        values = [member.value for member in python_enum]
        assert values == actual[type_name], (
            f"{python_enum.__name__} {values} != {type_name} {actual[type_name]}"
        )


def test_materialized_views_with_their_columns_and_sources(conn):
    assert set(MATERIALIZED_VIEWS) == set(SEED_MATVIEWS)
    for view, expected_columns in SEED_MATVIEWS.items():
        definition = conn.execute(
            text("SELECT definition FROM pg_matviews WHERE schemaname = 'public' AND matviewname = :v"),
            {"v": view},
        ).scalar_one_or_none()
        assert definition is not None, f"materialized view {view} missing"
        assert f"FROM {MATVIEW_SOURCES[view]}" in definition, f"{view} does not read {MATVIEW_SOURCES[view]}"
        columns = _rows(
            conn,
            """
            SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
            WHERE attrelid = to_regclass(:v) AND attnum > 0 AND NOT attisdropped ORDER BY attnum
            """,
            v=f"public.{view}",
        )
        assert [(c.attname, c.type) for c in columns] == expected_columns, f"{view} columns"


# Issue 10 (revision 011) supersedes the seed's grants and its one permissive policy: the reporting
# role never reads users, tokens, the audit log or raw payloads; the application role never reads the
# materialized summaries (they cannot carry RLS), never owns, truncates or triggers, and may only
# INSERT and SELECT the audit log.
READONLY_NEVER = ("users", "user_tokens", "audit_log", "staging_payloads")


def _may(conn, role: str, relation: str, privilege: str) -> bool:
    return conn.execute(
        text("SELECT has_table_privilege(:role, :rel, :priv)"),
        {"role": role, "rel": relation, "priv": privilege},
    ).scalar_one()


def test_the_three_roles_exist_with_the_privileges_of_revision_011(conn):
    roles = {
        row.rolname: row
        for row in _rows(conn, "SELECT rolname, rolsuper, rolbypassrls, rolcreaterole FROM pg_roles")
    }
    assert set(ROLES) <= set(roles), f"roles missing: {set(ROLES) - set(roles)}"
    for role in ROLES:
        assert not (roles[role].rolsuper or roles[role].rolbypassrls or roles[role].rolcreaterole), role
    for relation in SEED_TABLES:
        assert _may(conn, "aurora_app", relation, "SELECT"), f"aurora_app cannot SELECT {relation}"
        for privilege in ("TRUNCATE", "TRIGGER", "REFERENCES"):
            assert not _may(conn, "aurora_app", relation, privilege), f"aurora_app may {privilege} {relation}"
        for privilege in ("INSERT", "UPDATE", "DELETE", "TRUNCATE"):
            assert not _may(conn, "aurora_readonly", relation, privilege), (
                f"readonly may {privilege} {relation}"
            )
        if relation in READONLY_NEVER:
            assert not _may(conn, "aurora_readonly", relation, "SELECT"), f"readonly may SELECT {relation}"
    for relation in ("chains", "canonical_periods", "validator_pnl", "partner_commission_lines"):
        assert _may(conn, "aurora_readonly", relation, "SELECT"), f"aurora_readonly cannot SELECT {relation}"
    for view in SEED_MATVIEWS:
        assert not _may(conn, "aurora_app", view, "SELECT"), f"aurora_app may SELECT {view}"
        assert _may(conn, "aurora_readonly", view, "SELECT"), f"aurora_readonly cannot SELECT {view}"
    assert _may(conn, "aurora_app", "audit_log", "INSERT") and _may(conn, "aurora_app", "audit_log", "SELECT")
    for privilege in ("UPDATE", "DELETE"):
        assert not _may(conn, "aurora_app", "audit_log", privilege), f"aurora_app may {privilege} audit_log"
    owners = {
        row.relname: row.owner
        for row in _rows(
            conn,
            "SELECT c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'm')",
        )
    }
    assert {owners[t] for t in (*SEED_TABLES, *SEED_MATVIEWS)} == {"aurora_migrate"}


def test_row_level_security_on_partner_commission_lines(conn):
    enabled, forced = conn.execute(
        text(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class"
            " WHERE oid = 'public.partner_commission_lines'::regclass"
        )
    ).one()
    assert enabled and forced, "row-level security is not ENABLEd and FORCEd on partner_commission_lines"
    policies = {
        row.policyname: row
        for row in _rows(
            conn,
            "SELECT policyname, cmd, roles::text[] AS roles, qual FROM pg_policies"
            " WHERE schemaname = 'public' AND tablename = 'partner_commission_lines'",
        )
    }
    assert "partner_commission_lines_policy" not in policies, "the seed's permissive policy is still there"
    prefix = "partner_commission_lines_"
    assert set(policies) == {prefix + p for p in ("read", "insert", "update", "delete", "owner", "reporting")}
    read = policies[prefix + "read"]
    assert read.cmd == "SELECT" and read.roles == ["aurora_app"]
    assert "aurora_scope_is" in read.qual and "'PARTNER'" in read.qual, read.qual
    assert "aurora_scope_partner()" in read.qual and "'RELEASED'" in read.qual, read.qual
    for name in ("insert", "update", "delete"):
        assert policies[prefix + name].roles == ["aurora_app"]
    assert policies[prefix + "owner"].roles == ["aurora_migrate"]
    assert (policies[prefix + "reporting"].cmd, policies[prefix + "reporting"].roles) == (
        "SELECT",
        ["aurora_readonly"],
    )
    assert not any("public" in p.roles for p in policies.values()), "a policy applies to PUBLIC"


# --- b. The CHECK constraints hold -------------------------------------------------------------

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SMALLEST_NEGATIVE = Decimal("-0.000000000000000001")  # one unit of the 18th decimal place


def _insert(connection: Connection, table: str, row: dict[str, Any]) -> Any:
    """Insert one row through the model's table; returns its primary key."""
    tbl = Base.metadata.tables[table]
    return connection.execute(insert(tbl).values(**row).returning(*tbl.primary_key.columns)).scalar_one()


@pytest.fixture
def parents(conn) -> dict[str, Any]:
    return _insert_parents(conn)


def _insert_parents(conn: Connection) -> dict[str, Any]:
    """One row of every table the constrained tables reference; returns their keys."""
    ids: dict[str, Any] = {"chain_id": "test-chain"}
    _insert(
        conn,
        "chains",
        {
            "chain_id": "test-chain",
            "name": "Test chain",
            "period_type": "EPOCH",
            "native_unit": "lamports",
            "native_decimals": 9,
            "finality_lag": 0,
        },
    )
    ids["provider_id"] = _insert(
        conn, "providers", {"provider_name": "test-provider", "provider_type": "FEES"}
    )
    ids["period_id"] = _insert(
        conn,
        "canonical_periods",
        {
            "chain_id": "test-chain",
            "period_identifier": "1",
            "period_start": T0,
            "period_end": T0 + timedelta(days=2),
        },
    )
    ids["run_id"] = _insert(conn, "ingestion_runs", {"chain_id": "test-chain"})
    ids["payload_id"] = _insert(
        conn,
        "staging_payloads",
        {
            "run_id": ids["run_id"],
            "chain_id": "test-chain",
            "period_id": ids["period_id"],
            "validator_key": "V1",
            "provider_id": ids["provider_id"],
            "data_type": models.DataType.FEES,
            "response_hash": "0" * 64,
            "raw_payload": {"fees": "1"},
        },
    )
    ids["partner_id"] = _insert(
        conn, "partners", {"partner_name": "Helios", "contact_email": "ops@helios.example"}
    )
    ids["agreement_id"] = _insert(
        conn,
        "agreements",
        {"partner_id": ids["partner_id"], "agreement_name": "Helios referral", "effective_from": T0},
    )
    _insert(
        conn,
        "agreement_versions",
        {
            "agreement_id": ids["agreement_id"],
            "version_number": 1,
            "effective_from": T0,
            "terms_snapshot": {},
        },
    )
    ids["rule_id"] = _insert(conn, "agreement_rules", _valid_row("agreement_rules", ids))
    return ids


def _valid_row(table: str, ids: dict[str, Any]) -> dict[str, Any]:
    """A row of `table` that satisfies every constraint (amounts positive, rates in range)."""
    lineage = {
        "chain_id": ids["chain_id"],
        "period_id": ids["period_id"],
        "validator_key": "V1",
        "source_provider_id": ids["provider_id"],
        "source_payload_id": ids["payload_id"],
    }
    one = Decimal("1")
    rows: dict[str, dict[str, Any]] = {
        "canonical_periods": {
            "chain_id": ids["chain_id"],
            "period_identifier": "2",
            "period_start": T0,
            "period_end": T0 + timedelta(days=1),
        },
        "canonical_validator_fees": {**lineage, "total_fees_native": one},
        "canonical_validator_mev": {**lineage, "total_mev_native": one},
        "canonical_stake_rewards": {**lineage, "rewards_native": one, "commission_native": one},
        "canonical_validator_meta": {
            **lineage,
            "commission_rate_bps": 500,
            "total_stake_native": one,
            "active_stake_native": one,
        },
        "validator_pnl": {
            "chain_id": ids["chain_id"],
            "period_id": ids["period_id"],
            "validator_key": "V1",
            "exec_fees_native": one,
            "mev_tips_native": one,
            "vote_rewards_native": one,
            "commission_native": one,
            "total_revenue_native": Decimal("4"),
        },
        "agreements": {
            "partner_id": ids["partner_id"],
            "agreement_name": "Second agreement",
            "effective_from": T0,
            "effective_until": T0 + timedelta(days=365),
        },
        "agreement_versions": {
            "agreement_id": ids["agreement_id"],
            "version_number": 2,
            "effective_from": T0,
            "effective_until": T0 + timedelta(days=30),
            "terms_snapshot": {"rules": []},
        },
        "agreement_rules": {
            "agreement_id": ids["agreement_id"],
            "version_number": 1,
            "rule_order": 1,
            "revenue_component": models.RevenueComponent.COMMISSION,
            "attribution_method": models.AttributionMethod.FIXED_SHARE,
            "commission_rate_bps": 1000,
            "floor_amount_native": one,
            "cap_amount_native": Decimal("5000000000"),
        },
        "partner_commission_lines": {
            "agreement_id": ids.get("agreement_id"),
            "agreement_version": 1,
            "rule_id": ids.get("rule_id"),
            "partner_id": ids["partner_id"],
            "chain_id": ids["chain_id"],
            "period_id": ids["period_id"],
            "validator_key": "V1",
            "revenue_component": models.RevenueComponent.COMMISSION,
            "attribution_method": models.AttributionMethod.FIXED_SHARE,
            "base_amount_native": Decimal("10"),
            "commission_rate_bps": 1000,
            "pre_override_amount_native": one,
            "override_amount_native": one,
            "final_amount_native": one,
        },
        "partner_commission_statements": {
            "partner_id": ids["partner_id"],
            "chain_id": ids["chain_id"],
            "period_id": ids["period_id"],
            "total_commission_native": one,
            "line_count": 1,
        },
    }
    return rows[table]


def _assert_rejected(connection: Connection, table: str, row: dict[str, Any], constraint: str) -> None:
    with pytest.raises(IntegrityError) as raised:
        with connection.begin_nested():
            _insert(connection, table, row)
    error = raised.value.orig
    assert isinstance(error, psycopg.errors.CheckViolation), (
        f"{table}: expected a CHECK violation, got {error!r}"
    )
    assert error.diag.constraint_name == constraint, f"{table}: violated {error.diag.constraint_name}"


def _assert_accepted(connection: Connection, table: str, row: dict[str, Any]) -> None:
    savepoint = connection.begin_nested()
    try:
        _insert(connection, table, row)
    finally:
        savepoint.rollback()


@pytest.mark.parametrize(("table", "column"), NATIVE_COLUMNS, ids=[f"{t}.{c}" for t, c in NATIVE_COLUMNS])
def test_a_negative_amount_is_rejected_and_zero_is_accepted(conn, parents, table, column):
    valid = _valid_row(table, parents)
    _assert_accepted(conn, table, valid)
    _assert_rejected(conn, table, {**valid, column: SMALLEST_NEGATIVE}, f"ck_{table}_{column}_nonneg")
    _assert_accepted(conn, table, {**valid, column: Decimal(0)})


@pytest.mark.parametrize(
    ("table", "column"), OPTIONAL_NATIVE_COLUMNS, ids=[f"{t}.{c}" for t, c in OPTIONAL_NATIVE_COLUMNS]
)
def test_a_null_optional_amount_is_accepted(conn, parents, table, column):
    _assert_accepted(conn, table, {**_valid_row(table, parents), column: None})


@pytest.mark.parametrize("table", BPS_TABLES)
def test_commission_rate_bps_must_be_between_0_and_10000(conn, parents, table):
    valid = _valid_row(table, parents)
    constraint = f"ck_{table}_commission_rate_bps_range"
    for bps in (-1, 10001):
        _assert_rejected(conn, table, {**valid, "commission_rate_bps": bps}, constraint)
    for bps in (0, 10000):
        _assert_accepted(conn, table, {**valid, "commission_rate_bps": bps})


def test_a_period_must_start_before_it_ends(conn, parents):
    valid = _valid_row("canonical_periods", parents)
    _assert_accepted(conn, "canonical_periods", valid)
    for end in (T0, T0 - timedelta(seconds=1)):
        _assert_rejected(
            conn, "canonical_periods", {**valid, "period_end": end}, "ck_canonical_periods_start_before_end"
        )


@pytest.mark.parametrize("table", ["agreements", "agreement_versions"])
def test_an_effective_range_must_not_be_empty_but_may_be_open(conn, parents, table):
    valid = _valid_row(table, parents)
    _assert_accepted(conn, table, valid)
    _assert_accepted(conn, table, {**valid, "effective_until": None})
    for until in (T0, T0 - timedelta(days=1)):
        _assert_rejected(conn, table, {**valid, "effective_until": until}, f"ck_{table}_effective_range")


def test_staging_payloads_are_unique_per_run_chain_period_validator_and_data_type(conn, parents):
    duplicate = {
        "run_id": parents["run_id"],
        "chain_id": parents["chain_id"],
        "period_id": parents["period_id"],
        "validator_key": "V1",
        "provider_id": parents["provider_id"],
        "data_type": models.DataType.FEES,
        "response_hash": "1" * 64,
        "raw_payload": [],
    }
    with pytest.raises(IntegrityError) as raised:
        with conn.begin_nested():
            _insert(conn, "staging_payloads", duplicate)
    assert isinstance(raised.value.orig, psycopg.errors.UniqueViolation)
    assert raised.value.orig.diag.constraint_name == "uq_staging_payloads_idempotency"
    _assert_accepted(conn, "staging_payloads", {**duplicate, "data_type": models.DataType.MEV})


# --- Revision 001 itself: grants and the row-level security policy -----------------------------


def test_revision_001_grants(empty_db_url):
    upgrade(empty_db_url, "001")
    engine = create_engine(empty_db_url)
    try:
        with engine.connect() as connection:

            def privileges(role: str, relation: str) -> set[str]:
                return {
                    privilege
                    for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
                    if connection.execute(
                        text("SELECT has_table_privilege(:role, :rel, :priv)"),
                        {"role": role, "rel": relation, "priv": privilege},
                    ).scalar_one()
                }

            for table in SEED_TABLES:
                assert privileges("aurora_app", table) == {"SELECT", "INSERT", "UPDATE", "DELETE"}, table
                assert privileges("aurora_readonly", table) == {"SELECT"}, table
            for view in SEED_MATVIEWS:
                assert "SELECT" in privileges("aurora_app", view), view
                assert privileges("aurora_readonly", view) == {"SELECT"}, view
            assert privileges("aurora_app", "alembic_version") == set()
            schema_acl = {
                row.grantee: row.privileges
                for row in _rows(
                    connection,
                    """
                    SELECT g.rolname AS grantee,
                           array_agg(a.privilege_type ORDER BY a.privilege_type) AS privileges
                    FROM pg_namespace n, aclexplode(n.nspacl) a
                    JOIN pg_roles g ON g.oid = a.grantee
                    WHERE n.nspname = 'public' GROUP BY g.rolname
                    """,
                )
            }
            assert schema_acl.get("aurora_app") == ["USAGE"]
            assert schema_acl.get("aurora_readonly") == ["USAGE"]
            assert schema_acl.get("aurora_migrate") == ["CREATE", "USAGE"]
    finally:
        engine.dispose()


def test_revision_001_policy_scopes_commission_lines_to_the_sessions_partner(empty_db_url):
    upgrade(empty_db_url, "001")
    engine = create_engine(empty_db_url)
    try:
        with engine.connect() as connection, connection.begin():
            ids = _insert_parents(connection)
            other_partner = _insert(
                connection, "partners", {"partner_name": "Other", "contact_email": "ops@other.example"}
            )
            line = _valid_row("partner_commission_lines", ids)
            _insert(connection, "partner_commission_lines", line)
            _insert(connection, "partner_commission_lines", {**line, "partner_id": other_partner})

            # As a role that does not own the table, so the policy applies.
            connection.execute(text("SET LOCAL ROLE aurora_readonly"))

            def visible(partner_id: str | None = None, role: str | None = None) -> list[uuid.UUID]:
                connection.execute(
                    text(
                        "SELECT set_config('app.current_partner_id', :p, true),"
                        " set_config('app.current_role', :r, true)"
                    ),
                    {"p": partner_id or "", "r": role or ""},
                )
                return [
                    row.partner_id
                    for row in _rows(connection, "SELECT partner_id FROM partner_commission_lines")
                ]

            assert _rows(connection, "SELECT * FROM partner_commission_lines") == [], (
                "unset settings must see nothing"
            )
            assert visible() == [], "empty settings must see nothing, not fail"
            assert visible(partner_id=str(ids["partner_id"]), role="PARTNER") == [ids["partner_id"]]
            assert visible(partner_id=str(other_partner), role="PARTNER") == [other_partner]
            for role in ("ADMIN", "FINANCE", "AUDITOR"):
                assert len(visible(role=role)) == 2, role
            assert visible(role="OPS") == []
    finally:
        engine.dispose()


# --- c. Down to base and up again --------------------------------------------------------------


def test_migrations_go_down_to_base_and_up_again(empty_db_url):
    engine = create_engine(empty_db_url)
    try:
        upgrade(empty_db_url, "head")
        with engine.connect() as connection:
            assert set(SEED_TABLES) | set(SEED_MATVIEWS) <= set(_public_relations(connection))

        downgrade(empty_db_url, "base")
        with engine.connect() as connection:
            assert _public_relations(connection) == ["alembic_version"], "downgrade to base left relations"
            assert _enum_labels(connection) == {}, "downgrade to base left enum types"
            assert _rows(connection, "SELECT policyname FROM pg_policies WHERE schemaname = 'public'") == []
            grantees = _rows(
                connection,
                """
                SELECT g.rolname FROM pg_namespace n, aclexplode(n.nspacl) a
                JOIN pg_roles g ON g.oid = a.grantee
                WHERE n.nspname = 'public' AND g.rolname LIKE 'aurora%'
                """,
            )
            assert grantees == [], f"schema privileges left after downgrade: {grantees}"
            roles = {row.rolname for row in _rows(connection, "SELECT rolname FROM pg_roles")}
            assert set(ROLES) <= roles, "roles are cluster-wide and must survive a downgrade"

        upgrade(empty_db_url, "head")
        with engine.connect() as connection:
            assert set(SEED_TABLES) | set(SEED_MATVIEWS) <= set(_public_relations(connection))
            assert set(SEED_ENUMS) <= set(_enum_labels(connection))
    finally:
        engine.dispose()


# --- d. The models are the migrated schema -----------------------------------------------------


# Partitions (revisions 012 and 016) are the parent's storage, not tables of the model.
_PARTITION = re.compile(r"(canonical_stake_rewards|partner_commission_lines)_[0-9a-f]{32}|staging_payloads_(\d{4}m\d{2}|default)")


def _include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    if table and _PARTITION.fullmatch(table):
        return False
    return not (type_ == "table" and (name in MATERIALIZED_VIEWS or name == "alembic_version"))


def test_models_match_the_migrated_database(db_url):
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "compare_server_default": True,
                    "include_object": _include_object,
                },
            )
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], "models.py and the migrations disagree:\n" + pformat(differences)
