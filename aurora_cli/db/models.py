"""Typed SQLAlchemy models of Aurora's database: one class per table of the seed schema.

This module owns the Python view of the schema: ``Base`` (whose ``metadata`` is Alembic's
``target_metadata``), one mapped class per table, and a Python ``enum`` for every PostgreSQL enum
type. It mirrors the migrations exactly -- names of indexes, unique keys, foreign keys and CHECK
constraints included -- so that autogenerate against a migrated database reports no difference.

It must never create schema objects itself: the migrations are the only writer of the schema
(enum types are declared ``create_type=False``; never call ``Base.metadata.create_all`` on a real
database). The materialized views (``MATERIALIZED_VIEWS``) are not modelled as tables; query them
with plain SQL and keep them out of autogenerate.

Money is ``NUMERIC(38, 18)`` mapped to ``decimal.Decimal``, in native base units.
"""

from __future__ import annotations

import enum
import ipaddress
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CHAR,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, ENUM, INET, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aurora_cli.domain.agreement_file import AgreementStatus
from aurora_cli.domain.commission import AttributionMethod, RevenueComponent
from aurora_cli.domain.permissions import Role

MATERIALIZED_VIEWS = ("mv_partner_commissions_summary", "mv_validator_revenue_summary")

# Constraints declared without a name get the name PostgreSQL itself gives an unnamed constraint,
# which is what revision 001 (the seed's inline UNIQUE / REFERENCES clauses) produced.
NAMING_CONVENTION = {
    "pk": "%(table_name)s_pkey",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# --- Enum types --------------------------------------------------------------------------------


class IngestionStatus(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    PARTIAL = "PARTIAL"


class DataType(enum.StrEnum):
    FEES = "FEES"
    MEV = "MEV"
    REWARDS = "REWARDS"
    META = "META"


# RevenueComponent, AttributionMethod and AgreementStatus are business vocabulary: defined once in
# domain/ (imported above) and mapped here onto their PostgreSQL enum types.


class StatementStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    PENDING_APPROVAL = "PENDING_APPROVAL"
    APPROVED = "APPROVED"
    RELEASED = "RELEASED"
    PAID = "PAID"


UserRole = Role  # the database enum `user_role` holds the domain's roles


class AuditAction(enum.StrEnum):
    CREATE_AGREEMENT = "CREATE_AGREEMENT"
    UPDATE_AGREEMENT = "UPDATE_AGREEMENT"
    DELETE_AGREEMENT = "DELETE_AGREEMENT"
    CREATE_RULE = "CREATE_RULE"
    UPDATE_RULE = "UPDATE_RULE"
    DELETE_RULE = "DELETE_RULE"
    CREATE_OVERRIDE = "CREATE_OVERRIDE"
    UPDATE_OVERRIDE = "UPDATE_OVERRIDE"
    APPROVE_STATEMENT = "APPROVE_STATEMENT"
    RELEASE_STATEMENT = "RELEASE_STATEMENT"
    RECOMPUTE = "RECOMPUTE"
    INGESTION_RUN = "INGESTION_RUN"
    NORMALIZATION_RUN = "NORMALIZATION_RUN"
    # Revision 002: the actions the product audits beyond the seed's.
    COMMAND = "COMMAND"
    CONFIG_APPLY = "CONFIG_APPLY"
    DB_MIGRATE = "DB_MIGRATE"
    LOGIN = "LOGIN"
    LOGOUT = "LOGOUT"
    CREATE_USER = "CREATE_USER"
    UPDATE_USER = "UPDATE_USER"
    CREATE_TOKEN = "CREATE_TOKEN"
    CREATE_PERIOD = "CREATE_PERIOD"
    FINALIZE_PERIOD = "FINALIZE_PERIOD"
    PNL_COMPUTE = "PNL_COMPUTE"
    GENERATE_STATEMENT = "GENERATE_STATEMENT"
    SUBMIT_STATEMENT = "SUBMIT_STATEMENT"
    REOPEN_STATEMENT = "REOPEN_STATEMENT"
    MARK_PAID = "MARK_PAID"
    CLEAR_OVERRIDE = "CLEAR_OVERRIDE"
    EXPORT_STATEMENT = "EXPORT_STATEMENT"
    EXPORT_PNL = "EXPORT_PNL"


def _pg_enum(enum_class: type[enum.Enum], name: str) -> ENUM:
    # The type is created by the migrations; the database stores the members' values.
    return ENUM(
        enum_class,
        name=name,
        create_type=False,
        values_callable=lambda members: [member.value for member in members],
    )


INGESTION_STATUS = _pg_enum(IngestionStatus, "ingestion_status")
DATA_TYPE = _pg_enum(DataType, "data_type")
REVENUE_COMPONENT = _pg_enum(RevenueComponent, "revenue_component")
ATTRIBUTION_METHOD = _pg_enum(AttributionMethod, "attribution_method")
AGREEMENT_STATUS = _pg_enum(AgreementStatus, "agreement_status")
STATEMENT_STATUS = _pg_enum(StatementStatus, "statement_status")
USER_ROLE = _pg_enum(UserRole, "user_role")
AUDIT_ACTION = _pg_enum(AuditAction, "audit_action")

# --- Column building blocks ----------------------------------------------------------------------

MONEY = Numeric(38, 18, asdecimal=True)  # native base units (lamports, wei)
TIMESTAMPTZ = DateTime(timezone=True)
GEN_UUID = text("gen_random_uuid()")
TRUE = text("true")
FALSE = text("false")
ZERO = text("0")

CHAIN_ID = String(50)
VALIDATOR_KEY = String(100)


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, server_default=GEN_UUID)


def _created_at() -> Mapped[datetime]:
    return mapped_column(TIMESTAMPTZ, nullable=False, server_default=func.now())


def _updated_at() -> Mapped[datetime]:
    # The database sets it on insert only; updates through SQLAlchemy refresh it too (raw SQL must).
    return mapped_column(TIMESTAMPTZ, nullable=False, server_default=func.now(), onupdate=func.now())


def _nonneg(table: str, column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} >= 0", name=f"ck_{table}_{column}_nonneg")


def _bps_range(table: str) -> CheckConstraint:
    return CheckConstraint(
        "commission_rate_bps BETWEEN 0 AND 10000", name=f"ck_{table}_commission_rate_bps_range"
    )


# --- 1. Configuration & Registry -----------------------------------------------------------------


class Chain(Base):
    __tablename__ = "chains"
    __table_args__ = (
        CheckConstraint(
            "period_type IN ('EPOCH', 'BLOCK_WINDOW', 'SLOT_RANGE')", name="chains_period_type_check"
        ),
        Index("idx_chains_active", "is_active"),
    )

    chain_id: Mapped[str] = mapped_column(CHAIN_ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    period_type: Mapped[str] = mapped_column(String(20), nullable=False)
    native_unit: Mapped[str] = mapped_column(String(20), nullable=False)
    # Revision 004: SOL, ETH — the unit amounts are shown in beside native units.
    display_unit: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("''"))
    native_decimals: Mapped[int] = mapped_column(Integer, nullable=False)
    finality_lag: Mapped[int] = mapped_column(Integer, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=TRUE)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class Provider(Base):
    __tablename__ = "providers"
    __table_args__ = (
        UniqueConstraint("provider_name"),
        CheckConstraint(
            "provider_type IN ('FEES', 'MEV', 'REWARDS', 'META', 'RPC')",
            name="providers_provider_type_check",
        ),
        Index("idx_providers_name", "provider_name"),
        Index("idx_providers_type", "provider_type"),
        Index("idx_providers_enabled", "is_enabled"),
    )

    provider_id: Mapped[uuid.UUID] = _uuid_pk()
    provider_name: Mapped[str] = mapped_column(String(50), nullable=False)
    provider_type: Mapped[str] = mapped_column(String(20), nullable=False)
    base_url: Mapped[str | None] = mapped_column(Text)
    api_version: Mapped[str | None] = mapped_column(String(20))
    is_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=TRUE)
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)
    timeout_seconds: Mapped[int | None] = mapped_column(Integer, server_default=text("30"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()
    # Revision 009: the *name* of the API key's environment variable, and adapter options
    # (base_urls, retry bounds, batch sizes) from providers.toml.
    api_key_env: Mapped[str | None] = mapped_column(String(100))
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))


class ChainProviderMapping(Base):
    __tablename__ = "chain_provider_mappings"
    __table_args__ = (
        UniqueConstraint("chain_id", "provider_role", "priority"),
        CheckConstraint(
            "provider_role IN ('FEES', 'MEV', 'REWARDS', 'META', 'RPC')",
            name="chain_provider_mappings_provider_role_check",
        ),
        Index("idx_chain_provider_chain", "chain_id"),
        Index("idx_chain_provider_provider", "provider_id"),
    )

    mapping_id: Mapped[uuid.UUID] = _uuid_pk()
    chain_id: Mapped[str] = mapped_column(
        CHAIN_ID, ForeignKey("chains.chain_id", ondelete="CASCADE"), nullable=False
    )
    provider_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("providers.provider_id", ondelete="CASCADE"), nullable=False
    )
    provider_role: Mapped[str] = mapped_column(String(20), nullable=False)
    priority: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=TRUE)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class CanonicalPeriod(Base):
    __tablename__ = "canonical_periods"
    __table_args__ = (
        UniqueConstraint("chain_id", "period_identifier"),
        CheckConstraint("period_start < period_end", name="ck_canonical_periods_start_before_end"),
        Index("idx_canonical_periods_chain", "chain_id"),
        Index("idx_canonical_periods_finalized", "is_finalized"),
        Index("idx_canonical_periods_range", "chain_id", "period_start", "period_end"),
    )

    period_id: Mapped[uuid.UUID] = _uuid_pk()
    chain_id: Mapped[str] = mapped_column(
        CHAIN_ID, ForeignKey("chains.chain_id", ondelete="CASCADE"), nullable=False
    )
    period_identifier: Mapped[str] = mapped_column(String(50), nullable=False)
    period_start: Mapped[datetime] = mapped_column(TIMESTAMPTZ, nullable=False)
    period_end: Mapped[datetime] = mapped_column(TIMESTAMPTZ, nullable=False)
    is_finalized: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=FALSE)
    finalized_at: Mapped[datetime | None] = mapped_column(TIMESTAMPTZ)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class CanonicalValidatorIdentity(Base):
    __tablename__ = "canonical_validator_identities"
    __table_args__ = (
        UniqueConstraint("chain_id", "validator_key"),
        Index("idx_validator_identities_chain", "chain_id"),
        Index("idx_validator_identities_key", "validator_key"),
    )

    identity_id: Mapped[uuid.UUID] = _uuid_pk()
    chain_id: Mapped[str] = mapped_column(
        CHAIN_ID, ForeignKey("chains.chain_id", ondelete="CASCADE"), nullable=False
    )
    validator_key: Mapped[str] = mapped_column(VALIDATOR_KEY, nullable=False)
    vote_pubkey: Mapped[str | None] = mapped_column(String(100))
    node_pubkey: Mapped[str | None] = mapped_column(String(100))
    identity_pubkey: Mapped[str | None] = mapped_column(String(100))
    fee_recipient: Mapped[str | None] = mapped_column(String(100))
    display_name: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=TRUE)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


# --- 2. Staging Layer ----------------------------------------------------------------------------


class IngestionRun(Base):
    __tablename__ = "ingestion_runs"
    __table_args__ = (
        Index("idx_ingestion_runs_chain", "chain_id"),
        Index("idx_ingestion_runs_period", "period_id"),
        Index("idx_ingestion_runs_status", "status"),
        Index("idx_ingestion_runs_started", "started_at"),
    )

    run_id: Mapped[uuid.UUID] = _uuid_pk()
    chain_id: Mapped[str] = mapped_column(
        CHAIN_ID, ForeignKey("chains.chain_id", ondelete="CASCADE"), nullable=False
    )
    period_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("canonical_periods.period_id", ondelete="SET NULL")
    )
    started_at: Mapped[datetime] = mapped_column(TIMESTAMPTZ, nullable=False, server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(TIMESTAMPTZ)
    status: Mapped[IngestionStatus] = mapped_column(
        INGESTION_STATUS, nullable=False, server_default=IngestionStatus.PENDING.value
    )
    error_message: Mapped[str | None] = mapped_column(Text)
    records_fetched: Mapped[int | None] = mapped_column(Integer, server_default=ZERO)
    records_staged: Mapped[int | None] = mapped_column(Integer, server_default=ZERO)
    # "metadata" is reserved on declarative classes, hence the attribute name.
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


_STAGING_KEY = ("payload_id", "created_at", "run_id", "chain_id", "period_id", "validator_key", "data_type")


class StagingPayloadKey(Base):
    """One row per staged payload: the keys `staging_payloads` cannot hold once partitioned (016).

    Written by a trigger on `staging_payloads`, granted to nobody; the lineage foreign keys of the
    canonical tables point here.
    """

    __tablename__ = "staging_payload_keys"
    __table_args__ = (
        UniqueConstraint(
            "run_id",
            "chain_id",
            "period_id",
            "validator_key",
            "data_type",
            name="uq_staging_payloads_idempotency",
        ),
        UniqueConstraint(*_STAGING_KEY, name="uq_staging_payload_keys_row"),
        {
            "comment": "One row per staged payload: the identity and idempotency keys staging_payloads"
            " cannot hold once partitioned by month (revision 016); written by trigger."
        },
    )

    payload_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMPTZ, nullable=False)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    chain_id: Mapped[str] = mapped_column(CHAIN_ID, nullable=False)
    period_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    validator_key: Mapped[str] = mapped_column(VALIDATOR_KEY, nullable=False)
    data_type: Mapped[DataType] = mapped_column(DATA_TYPE, nullable=False)


class StagingPayload(Base):
    """Range-partitioned by month of `created_at` (revision 016)."""

    __tablename__ = "staging_payloads"
    __table_args__ = (
        ForeignKeyConstraint(
            list(_STAGING_KEY),
            [f"staging_payload_keys.{c}" for c in _STAGING_KEY],
            name="staging_payloads_key_fkey",
            ondelete="CASCADE",
        ),
        Index("idx_staging_payloads_run", "run_id"),
        Index("idx_staging_payloads_chain_period", "chain_id", "period_id"),
        Index("idx_staging_payloads_validator", "validator_key"),
        Index("idx_staging_payloads_provider", "provider_id"),
        Index("idx_staging_payloads_data_type", "data_type"),
        Index("idx_staging_payloads_raw_payload", "raw_payload", postgresql_using="gin"),
    )

    payload_id: Mapped[uuid.UUID] = _uuid_pk()
    run_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("ingestion_runs.run_id", ondelete="CASCADE"), nullable=False
    )
    chain_id: Mapped[str] = mapped_column(
        CHAIN_ID, ForeignKey("chains.chain_id", ondelete="CASCADE"), nullable=False
    )
    period_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("canonical_periods.period_id", ondelete="CASCADE"), nullable=False
    )
    validator_key: Mapped[str] = mapped_column(VALIDATOR_KEY, nullable=False)
    provider_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("providers.provider_id", ondelete="CASCADE"), nullable=False
    )
    data_type: Mapped[DataType] = mapped_column(DATA_TYPE, nullable=False)
    fetch_timestamp: Mapped[datetime] = mapped_column(TIMESTAMPTZ, nullable=False, server_default=func.now())
    response_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # Any JSON document, exactly as the provider returned it (an object or an array).
    raw_payload: Mapped[Any] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        TIMESTAMPTZ, primary_key=True, nullable=False, server_default=func.now()
    )


# --- 3. Canonical Layer --------------------------------------------------------------------------


def _source_provider_id() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, ForeignKey("providers.provider_id", ondelete="RESTRICT"), nullable=False)


def _source_payload_id() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, ForeignKey("staging_payload_keys.payload_id", ondelete="RESTRICT"), nullable=False)


def _chain_id_fk() -> Mapped[str]:
    return mapped_column(CHAIN_ID, ForeignKey("chains.chain_id", ondelete="CASCADE"), nullable=False)


def _period_id_fk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, ForeignKey("canonical_periods.period_id", ondelete="CASCADE"), nullable=False)


class CanonicalValidatorFee(Base):
    __tablename__ = "canonical_validator_fees"
    __table_args__ = (
        UniqueConstraint("chain_id", "period_id", "validator_key"),
        _nonneg(__tablename__, "total_fees_native"),
        Index("idx_canonical_fees_chain_period_validator", "chain_id", "period_id", "validator_key"),
        Index("idx_canonical_fees_source_provider", "source_provider_id"),
        Index("idx_canonical_fees_source_payload", "source_payload_id"),
    )

    fee_id: Mapped[uuid.UUID] = _uuid_pk()
    chain_id: Mapped[str] = _chain_id_fk()
    period_id: Mapped[uuid.UUID] = _period_id_fk()
    validator_key: Mapped[str] = mapped_column(VALIDATOR_KEY, nullable=False)
    total_fees_native: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    fee_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=ZERO)
    source_provider_id: Mapped[uuid.UUID] = _source_provider_id()
    source_payload_id: Mapped[uuid.UUID] = _source_payload_id()
    normalized_at: Mapped[datetime] = mapped_column(TIMESTAMPTZ, nullable=False, server_default=func.now())
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class CanonicalValidatorMev(Base):
    __tablename__ = "canonical_validator_mev"
    __table_args__ = (
        UniqueConstraint("chain_id", "period_id", "validator_key"),
        _nonneg(__tablename__, "total_mev_native"),
        Index("idx_canonical_mev_chain_period_validator", "chain_id", "period_id", "validator_key"),
        Index("idx_canonical_mev_source_provider", "source_provider_id"),
        Index("idx_canonical_mev_source_payload", "source_payload_id"),
    )

    mev_id: Mapped[uuid.UUID] = _uuid_pk()
    chain_id: Mapped[str] = _chain_id_fk()
    period_id: Mapped[uuid.UUID] = _period_id_fk()
    validator_key: Mapped[str] = mapped_column(VALIDATOR_KEY, nullable=False)
    total_mev_native: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    tip_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=ZERO)
    source_provider_id: Mapped[uuid.UUID] = _source_provider_id()
    source_payload_id: Mapped[uuid.UUID] = _source_payload_id()
    normalized_at: Mapped[datetime] = mapped_column(TIMESTAMPTZ, nullable=False, server_default=func.now())
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class CanonicalStakeReward(Base):
    __tablename__ = "canonical_stake_rewards"
    __table_args__ = (
        _nonneg(__tablename__, "rewards_native"),
        _nonneg(__tablename__, "commission_native"),
        _nonneg(__tablename__, "penalties_native"),
        Index("idx_canonical_rewards_chain_period_validator", "chain_id", "period_id", "validator_key"),
        Index("idx_canonical_rewards_staker", "staker_address"),
        Index("idx_canonical_rewards_source_provider", "source_provider_id"),
        Index("idx_canonical_rewards_source_payload", "source_payload_id"),
    )

    reward_id: Mapped[uuid.UUID] = _uuid_pk()
    chain_id: Mapped[str] = _chain_id_fk()
    period_id: Mapped[uuid.UUID] = _period_id_fk()
    validator_key: Mapped[str] = mapped_column(VALIDATOR_KEY, nullable=False)
    # NULL: a validator-level row (operator's own stake / aggregate commission).
    staker_address: Mapped[str | None] = mapped_column(String(100))
    rewards_native: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    commission_native: Mapped[Decimal] = mapped_column(MONEY, nullable=False, server_default=ZERO)
    source_provider_id: Mapped[uuid.UUID] = _source_provider_id()
    source_payload_id: Mapped[uuid.UUID] = _source_payload_id()
    normalized_at: Mapped[datetime] = mapped_column(TIMESTAMPTZ, nullable=False, server_default=func.now())
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()
    # Revision 008: negative consensus figures, as a positive amount (never netted into rewards_native).
    penalties_native: Mapped[Decimal] = mapped_column(MONEY, nullable=False, server_default=ZERO)


class CanonicalValidatorMeta(Base):
    __tablename__ = "canonical_validator_meta"
    __table_args__ = (
        UniqueConstraint("chain_id", "period_id", "validator_key"),
        _bps_range(__tablename__),
        _nonneg(__tablename__, "total_stake_native"),
        _nonneg(__tablename__, "active_stake_native"),
        Index("idx_canonical_meta_chain_period_validator", "chain_id", "period_id", "validator_key"),
        Index("idx_canonical_meta_mev_enabled", "is_mev_enabled"),
        Index("idx_canonical_meta_source_provider", "source_provider_id"),
        Index("idx_canonical_meta_source_payload", "source_payload_id"),
    )

    meta_id: Mapped[uuid.UUID] = _uuid_pk()
    chain_id: Mapped[str] = _chain_id_fk()
    period_id: Mapped[uuid.UUID] = _period_id_fk()
    validator_key: Mapped[str] = mapped_column(VALIDATOR_KEY, nullable=False)
    commission_rate_bps: Mapped[int] = mapped_column(Integer, nullable=False)
    is_mev_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=FALSE)
    total_stake_native: Mapped[Decimal] = mapped_column(MONEY, nullable=False, server_default=ZERO)
    active_stake_native: Mapped[Decimal | None] = mapped_column(MONEY)
    delegator_count: Mapped[int | None] = mapped_column(Integer)
    uptime_percentage: Mapped[Decimal | None] = mapped_column(Numeric(5, 2, asdecimal=True))
    source_provider_id: Mapped[uuid.UUID] = _source_provider_id()
    source_payload_id: Mapped[uuid.UUID] = _source_payload_id()
    normalized_at: Mapped[datetime] = mapped_column(TIMESTAMPTZ, nullable=False, server_default=func.now())
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


# --- 4. Computation Layer ------------------------------------------------------------------------


class ValidatorPnl(Base):
    __tablename__ = "validator_pnl"
    __table_args__ = (
        UniqueConstraint("chain_id", "period_id", "validator_key"),
        _nonneg(__tablename__, "exec_fees_native"),
        _nonneg(__tablename__, "mev_tips_native"),
        _nonneg(__tablename__, "vote_rewards_native"),
        _nonneg(__tablename__, "commission_native"),
        _nonneg(__tablename__, "total_revenue_native"),
        _nonneg(__tablename__, "penalties_native"),
        Index("idx_validator_pnl_chain_period", "chain_id", "period_id"),
        Index("idx_validator_pnl_validator", "validator_key"),
        Index("idx_validator_pnl_computed", "computed_at"),
    )

    pnl_id: Mapped[uuid.UUID] = _uuid_pk()
    chain_id: Mapped[str] = _chain_id_fk()
    period_id: Mapped[uuid.UUID] = _period_id_fk()
    validator_key: Mapped[str] = mapped_column(VALIDATOR_KEY, nullable=False)
    exec_fees_native: Mapped[Decimal] = mapped_column(MONEY, nullable=False, server_default=ZERO)
    mev_tips_native: Mapped[Decimal] = mapped_column(MONEY, nullable=False, server_default=ZERO)
    vote_rewards_native: Mapped[Decimal] = mapped_column(MONEY, nullable=False, server_default=ZERO)
    commission_native: Mapped[Decimal] = mapped_column(MONEY, nullable=False, server_default=ZERO)
    total_revenue_native: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(TIMESTAMPTZ, nullable=False, server_default=func.now())
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()
    # Revision 008: Σ penalties_native of the stake-reward rows; net revenue is generated by the database.
    penalties_native: Mapped[Decimal] = mapped_column(MONEY, nullable=False, server_default=ZERO)
    net_revenue_native: Mapped[Decimal] = mapped_column(
        MONEY, Computed("total_revenue_native - penalties_native", persisted=True), nullable=False
    )


class Partner(Base):
    __tablename__ = "partners"
    __table_args__ = (
        Index("idx_partners_active", "is_active"),
        Index("idx_partners_email", "contact_email"),
    )

    partner_id: Mapped[uuid.UUID] = _uuid_pk()
    partner_name: Mapped[str] = mapped_column(String(200), nullable=False)
    legal_entity_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(200), nullable=False)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=TRUE)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class Agreement(Base):
    __tablename__ = "agreements"
    __table_args__ = (
        CheckConstraint("effective_from < effective_until", name="ck_agreements_effective_range"),
        Index("idx_agreements_partner", "partner_id"),
        Index("idx_agreements_status", "status"),
        Index("idx_agreements_effective", "effective_from", "effective_until"),
    )

    agreement_id: Mapped[uuid.UUID] = _uuid_pk()
    partner_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("partners.partner_id", ondelete="RESTRICT"), nullable=False
    )
    agreement_name: Mapped[str] = mapped_column(String(200), nullable=False)
    current_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    status: Mapped[AgreementStatus] = mapped_column(
        AGREEMENT_STATUS, nullable=False, server_default=AgreementStatus.DRAFT.value
    )
    effective_from: Mapped[datetime] = mapped_column(TIMESTAMPTZ, nullable=False)
    effective_until: Mapped[datetime | None] = mapped_column(TIMESTAMPTZ)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class AgreementVersion(Base):
    __tablename__ = "agreement_versions"
    __table_args__ = (
        UniqueConstraint("agreement_id", "version_number"),
        CheckConstraint("effective_from < effective_until", name="ck_agreement_versions_effective_range"),
        Index("idx_agreement_versions_agreement", "agreement_id"),
        Index("idx_agreement_versions_effective", "effective_from", "effective_until"),
    )

    version_id: Mapped[uuid.UUID] = _uuid_pk()
    agreement_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("agreements.agreement_id", ondelete="CASCADE"), nullable=False
    )
    version_number: Mapped[int] = mapped_column(Integer, nullable=False)
    effective_from: Mapped[datetime] = mapped_column(TIMESTAMPTZ, nullable=False)
    effective_until: Mapped[datetime | None] = mapped_column(TIMESTAMPTZ)
    terms_snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.user_id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = _created_at()


class AgreementRule(Base):
    __tablename__ = "agreement_rules"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agreement_id", "version_number"],
            ["agreement_versions.agreement_id", "agreement_versions.version_number"],
            ondelete="CASCADE",
        ),
        _bps_range(__tablename__),
        _nonneg(__tablename__, "floor_amount_native"),
        _nonneg(__tablename__, "cap_amount_native"),
        Index("idx_agreement_rules_agreement", "agreement_id"),
        Index("idx_agreement_rules_chain", "chain_id"),
        Index("idx_agreement_rules_validator", "validator_key"),
        Index("idx_agreement_rules_active", "is_active"),
    )

    rule_id: Mapped[uuid.UUID] = _uuid_pk()
    agreement_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("agreements.agreement_id", ondelete="CASCADE"), nullable=False
    )
    version_number: Mapped[int] = mapped_column(Integer, nullable=False)
    rule_order: Mapped[int] = mapped_column(Integer, nullable=False)
    # NULL chain / validator: the rule applies to all.
    chain_id: Mapped[str | None] = mapped_column(CHAIN_ID, ForeignKey("chains.chain_id", ondelete="CASCADE"))
    validator_key: Mapped[str | None] = mapped_column(VALIDATOR_KEY)
    revenue_component: Mapped[RevenueComponent] = mapped_column(REVENUE_COMPONENT, nullable=False)
    attribution_method: Mapped[AttributionMethod] = mapped_column(ATTRIBUTION_METHOD, nullable=False)
    commission_rate_bps: Mapped[int] = mapped_column(Integer, nullable=False)
    floor_amount_native: Mapped[Decimal | None] = mapped_column(MONEY)
    cap_amount_native: Mapped[Decimal | None] = mapped_column(MONEY)
    tier_config: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=TRUE)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class PartnerCommissionLine(Base):
    """A computed commission line; row-level security scopes SELECTs to the session's partner."""

    __tablename__ = "partner_commission_lines"
    __table_args__ = (
        _nonneg(__tablename__, "base_amount_native"),
        _bps_range(__tablename__),
        _nonneg(__tablename__, "pre_override_amount_native"),
        _nonneg(__tablename__, "override_amount_native"),
        _nonneg(__tablename__, "final_amount_native"),
        Index("idx_commission_lines_agreement", "agreement_id"),
        Index("idx_commission_lines_partner", "partner_id"),
        Index("idx_commission_lines_chain_period", "chain_id", "period_id"),
        Index("idx_commission_lines_validator", "validator_key"),
        Index("idx_commission_lines_computed", "computed_at"),
    )

    line_id: Mapped[uuid.UUID] = _uuid_pk()
    agreement_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("agreements.agreement_id", ondelete="RESTRICT"), nullable=False
    )
    agreement_version: Mapped[int] = mapped_column(Integer, nullable=False)
    rule_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("agreement_rules.rule_id", ondelete="RESTRICT"), nullable=False
    )
    partner_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("partners.partner_id", ondelete="RESTRICT"), nullable=False
    )
    chain_id: Mapped[str] = _chain_id_fk()
    period_id: Mapped[uuid.UUID] = _period_id_fk()
    # NULL only for the floor line written when every base is zero.
    validator_key: Mapped[str | None] = mapped_column(VALIDATOR_KEY)
    revenue_component: Mapped[RevenueComponent] = mapped_column(REVENUE_COMPONENT, nullable=False)
    attribution_method: Mapped[AttributionMethod] = mapped_column(ATTRIBUTION_METHOD, nullable=False)
    base_amount_native: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    commission_rate_bps: Mapped[int] = mapped_column(Integer, nullable=False)
    pre_override_amount_native: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    override_amount_native: Mapped[Decimal | None] = mapped_column(MONEY)
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.user_id", ondelete="SET NULL")
    )
    override_timestamp: Mapped[datetime | None] = mapped_column(TIMESTAMPTZ)
    final_amount_native: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(TIMESTAMPTZ, nullable=False, server_default=func.now())
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class PartnerCommissionStatement(Base):
    __tablename__ = "partner_commission_statements"
    __table_args__ = (
        UniqueConstraint("partner_id", "chain_id", "period_id"),
        _nonneg(__tablename__, "total_commission_native"),
        # Revision 006: four eyes, held by the database too.
        CheckConstraint(
            "approved_by IS NULL OR submitted_by IS NULL OR approved_by <> submitted_by",
            name="ck_partner_commission_statements_four_eyes",
        ),
        Index("idx_statements_partner", "partner_id"),
        Index("idx_statements_chain_period", "chain_id", "period_id"),
        Index("idx_statements_status", "status"),
    )

    statement_id: Mapped[uuid.UUID] = _uuid_pk()
    partner_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("partners.partner_id", ondelete="RESTRICT"), nullable=False
    )
    chain_id: Mapped[str] = _chain_id_fk()
    period_id: Mapped[uuid.UUID] = _period_id_fk()
    total_commission_native: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    line_count: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[StatementStatus] = mapped_column(
        STATEMENT_STATUS, nullable=False, server_default=StatementStatus.DRAFT.value
    )
    approved_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.user_id", ondelete="SET NULL")
    )
    approved_at: Mapped[datetime | None] = mapped_column(TIMESTAMPTZ)
    released_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.user_id", ondelete="SET NULL")
    )
    released_at: Mapped[datetime | None] = mapped_column(TIMESTAMPTZ)
    paid_at: Mapped[datetime | None] = mapped_column(TIMESTAMPTZ)
    # "metadata" is reserved on declarative classes, hence the attribute name.
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()
    # Revision 006: who did each workflow step and when (approved/released/paid_at are the seed's).
    generated_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.user_id", ondelete="SET NULL")
    )
    generated_at: Mapped[datetime | None] = mapped_column(TIMESTAMPTZ)
    submitted_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.user_id", ondelete="SET NULL")
    )
    submitted_at: Mapped[datetime | None] = mapped_column(TIMESTAMPTZ)
    paid_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.user_id", ondelete="SET NULL"))
    paid_reference: Mapped[str | None] = mapped_column(String(200))
    reopened_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.user_id", ondelete="SET NULL")
    )
    reopened_at: Mapped[datetime | None] = mapped_column(TIMESTAMPTZ)
    reopen_reason: Mapped[str | None] = mapped_column(Text)


class StatementDocument(Base):
    """Revision 013: one issued statement document (number + revision) per change of its figures."""

    __tablename__ = "statement_documents"
    __table_args__ = (
        UniqueConstraint("statement_number", "revision", name="uq_statement_documents_number_revision"),
        UniqueConstraint(
            "partner_id", "chain_id", "window_key", "revision", name="uq_statement_documents_window_revision"
        ),
        CheckConstraint("revision >= 1", name="ck_statement_documents_revision_positive"),
    )

    document_id: Mapped[uuid.UUID] = _uuid_pk()
    statement_number: Mapped[str] = mapped_column(String(80), nullable=False)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    partner_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("partners.partner_id", ondelete="RESTRICT"), nullable=False
    )
    chain_id: Mapped[str] = mapped_column(CHAIN_ID, ForeignKey("chains.chain_id", ondelete="RESTRICT"), nullable=False)
    window_key: Mapped[str] = mapped_column(String(60), nullable=False)
    facts_sha256: Mapped[str] = mapped_column(CHAR(64), nullable=False)
    created_at: Mapped[datetime] = _created_at()


class StatementDocumentFile(Base):
    """Revision 013: every file issued for a statement document, by its SHA-256."""

    __tablename__ = "statement_document_files"
    __table_args__ = (Index("idx_statement_document_files_document", "document_id"),)

    file_sha256: Mapped[str] = mapped_column(CHAR(64), primary_key=True)
    document_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("statement_documents.document_id", ondelete="RESTRICT"), nullable=False
    )
    file_name: Mapped[str] = mapped_column(String(40), nullable=False)
    json_sha256: Mapped[str] = mapped_column(CHAR(64), nullable=False)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _created_at()


# --- 5. User & Access Layer ----------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("username"),
        UniqueConstraint("email"),
        Index("idx_users_username", "username"),
        Index("idx_users_email", "email"),
        Index("idx_users_role", "role"),
        Index("idx_users_partner", "partner_id"),
        Index("idx_users_active", "is_active"),
    )

    user_id: Mapped[uuid.UUID] = _uuid_pk()
    username: Mapped[str] = mapped_column(String(100), nullable=False)
    email: Mapped[str] = mapped_column(String(200), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)  # bcrypt, never plaintext
    role: Mapped[UserRole] = mapped_column(USER_ROLE, nullable=False)
    # Set for PARTNER users: the partner whose data they may see.
    partner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("partners.partner_id", ondelete="SET NULL")
    )
    allowed_chain_ids: Mapped[list[str] | None] = mapped_column(ARRAY(String(50)))
    allowed_validator_keys: Mapped[list[str] | None] = mapped_column(ARRAY(String(100)))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=TRUE)
    last_login_at: Mapped[datetime | None] = mapped_column(TIMESTAMPTZ)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("idx_audit_log_user", "user_id"),
        Index("idx_audit_log_action", "action"),
        Index("idx_audit_log_resource", "resource_type", "resource_id"),
        Index("idx_audit_log_timestamp", "timestamp"),
        Index("idx_audit_log_correlation", "correlation_id"),
        UniqueConstraint("seq", name="uq_audit_log_seq"),
    )

    log_id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.user_id", ondelete="SET NULL"))
    action: Mapped[AuditAction] = mapped_column(AUDIT_ACTION, nullable=False)
    resource_type: Mapped[str] = mapped_column(String(50), nullable=False)
    resource_id: Mapped[str | None] = mapped_column(String(100))
    before_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    change_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    correlation_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    # psycopg reads INET as an ipaddress object; a string is accepted on write.
    ip_address: Mapped[ipaddress.IPv4Address | ipaddress.IPv6Address | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(TIMESTAMPTZ, nullable=False, server_default=func.now())
    # Revision 002: the hash chain (order, the previous row's hash, this row's hash).
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False)
    previous_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))
    # Revision 010: how row_hash was made ('sha256' keyless before 010, 'hmac-sha256') and with which key.
    hash_scheme: Mapped[str] = mapped_column(String(20), nullable=False)
    key_id: Mapped[str | None] = mapped_column(String(16))


class UserToken(Base):
    """Revision 003: session and service tokens, stored only as SHA-256 hashes."""

    __tablename__ = "user_tokens"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        CheckConstraint("kind IN ('SESSION', 'SERVICE')", name="user_tokens_kind_check"),
        Index("idx_user_tokens_user", "user_id"),
    )

    token_id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False
    )
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    name: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[datetime | None] = mapped_column(TIMESTAMPTZ)
    revoked_at: Mapped[datetime | None] = mapped_column(TIMESTAMPTZ)
    last_used_at: Mapped[datetime | None] = mapped_column(TIMESTAMPTZ)
    created_at: Mapped[datetime] = _created_at()


class PartnerStakeAttribution(Base):
    """Revision 005: the stakers a partner referred (an agreement file's `[[clients]]`), per version.

    Kept per agreement version like `agreement_rules`, because clients are part of the terms. A NULL
    ``validator_key`` means the staker counts at every validator of the chain; the unique key treats
    NULLs as equal so that case cannot be listed twice.
    """

    __tablename__ = "partner_stake_attributions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agreement_id", "version_number"],
            ["agreement_versions.agreement_id", "agreement_versions.version_number"],
            ondelete="CASCADE",
            name="fk_partner_stake_attributions_version",
        ),
        UniqueConstraint(
            "agreement_id",
            "version_number",
            "chain_id",
            "staker_address",
            "validator_key",
            name="uq_partner_stake_attributions_key",
            postgresql_nulls_not_distinct=True,
        ),
        Index("idx_partner_stake_attributions_staker", "chain_id", "staker_address"),
    )

    attribution_id: Mapped[uuid.UUID] = _uuid_pk()
    partner_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("partners.partner_id", ondelete="CASCADE"), nullable=False
    )
    agreement_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("agreements.agreement_id", ondelete="CASCADE"), nullable=False
    )
    version_number: Mapped[int] = mapped_column(Integer, nullable=False)
    chain_id: Mapped[str] = mapped_column(
        CHAIN_ID, ForeignKey("chains.chain_id", ondelete="CASCADE"), nullable=False
    )
    staker_address: Mapped[str] = mapped_column(String(100), nullable=False)
    validator_key: Mapped[str | None] = mapped_column(VALIDATOR_KEY)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()
