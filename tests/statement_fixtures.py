"""Given rows for the statement tests: partners with an agreement, a rule, and commission lines.

The lines are inserted directly (as compute-commissions would write them), so these tests depend
only on the schema, not on how commissions are computed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import psycopg

SOL = "solana-mainnet"
ETH = "ethereum-mainnet"
V1 = "Vote111111111111111111111111111111111111111"
V2 = "Certus22222222222222222222222222222222222222"


def sql(db_url: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


@dataclass(frozen=True)
class PartnerRows:
    name: str
    partner_id: uuid.UUID
    agreement_id: uuid.UUID
    rule_id: uuid.UUID


class Book:
    """Writes the rows a test is given."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    def period(
        self, chain: str, identifier: str, start: str, end: str, *, finalized: bool = True
    ) -> uuid.UUID:
        return sql(
            self.db_url,
            "INSERT INTO canonical_periods (chain_id, period_identifier, period_start, period_end, is_finalized,"
            " finalized_at) VALUES (%s, %s, %s, %s, %s, CASE WHEN %s THEN now() END) RETURNING period_id",
            chain,
            identifier,
            start,
            end,
            finalized,
            finalized,
        )[0][0]

    def period_id(self, chain: str, identifier: str) -> uuid.UUID:
        return sql(
            self.db_url,
            "SELECT period_id FROM canonical_periods WHERE chain_id = %s AND period_identifier = %s",
            chain,
            identifier,
        )[0][0]

    def partner(
        self, name: str, *, legal: str | None = None, email: str | None = None, chain: str = SOL
    ) -> PartnerRows:
        partner_id = sql(
            self.db_url,
            "INSERT INTO partners (partner_name, legal_entity_name, contact_email) VALUES (%s, %s, %s)"
            " RETURNING partner_id",
            name,
            legal or f"{name} Ltd",
            email or f"ops@{name.split()[0].lower()}.example",
        )[0][0]
        agreement_id = sql(
            self.db_url,
            "INSERT INTO agreements (partner_id, agreement_name, status, effective_from)"
            " VALUES (%s, %s, 'ACTIVE', '2025-01-01T00:00:00Z') RETURNING agreement_id",
            partner_id,
            f"{name} referral",
        )[0][0]
        sql(
            self.db_url,
            "INSERT INTO agreement_versions (agreement_id, version_number, effective_from, terms_snapshot)"
            " VALUES (%s, 1, '2025-01-01T00:00:00Z', '{}')",
            agreement_id,
        )
        rule_id = sql(
            self.db_url,
            "INSERT INTO agreement_rules (agreement_id, version_number, rule_order, chain_id, revenue_component,"
            " attribution_method, commission_rate_bps) VALUES (%s, 1, 1, %s, 'COMMISSION', 'CLIENT_REVENUE', 1000)"
            " RETURNING rule_id",
            agreement_id,
            chain,
        )[0][0]
        return PartnerRows(name, partner_id, agreement_id, rule_id)

    def line(
        self,
        partner: PartnerRows,
        period_id: uuid.UUID,
        final: str,
        *,
        chain: str = SOL,
        validator: str | None = V1,
        base: str | None = None,
        bps: int = 1000,
        component: str = "COMMISSION",
        attribution: str = "CLIENT_REVENUE",
    ) -> uuid.UUID:
        base_amount = base if base is not None else str(Decimal(final) * 10)
        return sql(
            self.db_url,
            "INSERT INTO partner_commission_lines (agreement_id, agreement_version, rule_id, partner_id, chain_id,"
            " period_id, validator_key, revenue_component, attribution_method, base_amount_native,"
            " commission_rate_bps, pre_override_amount_native, final_amount_native)"
            " VALUES (%s, 1, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING line_id",
            partner.agreement_id,
            partner.rule_id,
            partner.partner_id,
            chain,
            period_id,
            validator,
            component,
            attribution,
            base_amount,
            bps,
            final,
            final,
        )[0][0]

    def statement(self, partner: PartnerRows, period_id: uuid.UUID, chain: str = SOL) -> tuple:
        rows = sql(
            self.db_url,
            "SELECT statement_id, status::text, total_commission_native, line_count, metadata"
            " FROM partner_commission_statements WHERE partner_id = %s AND chain_id = %s AND period_id = %s",
            partner.partner_id,
            chain,
            period_id,
        )
        return rows[0] if rows else None

    def set_status(
        self, statement_id: uuid.UUID, status: str, *, submitted_by: uuid.UUID | None = None
    ) -> None:
        """Put a statement straight into a status (the workflow's own steps are tested elsewhere)."""
        sql(
            self.db_url,
            "UPDATE partner_commission_statements SET status = %s::statement_status, submitted_by = %s"
            " WHERE statement_id = %s",
            status,
            submitted_by,
            statement_id,
        )

    def user_id(self, username: str) -> uuid.UUID:
        return sql(self.db_url, "SELECT user_id FROM users WHERE username = %s", username)[0][0]

    def audit(self, action: str) -> list[tuple]:
        return sql(
            self.db_url,
            "SELECT resource_id, before_snapshot, after_snapshot, reason, user_id FROM audit_log"
            " WHERE action = %s ORDER BY seq",
            action,
        )
