"""Snapshots of agreement rows (partner, agreement, version, rule) for audit before/after and views; no SQL."""

from __future__ import annotations

from typing import Any

from aurora_cli.db.models import Agreement, AgreementRule, AgreementVersion, Partner


def partner_snapshot(partner: Partner) -> dict[str, Any]:
    return {
        "partner_id": partner.partner_id,
        "partner_name": partner.partner_name,
        "legal_entity_name": partner.legal_entity_name,
        "contact_email": partner.contact_email,
        "contact_name": partner.contact_name,
        "is_active": partner.is_active,
    }


def agreement_snapshot(agreement: Agreement, partner_name: str) -> dict[str, Any]:
    return {
        "agreement_id": agreement.agreement_id,
        "partner_id": agreement.partner_id,
        "partner_name": partner_name,
        "agreement_name": agreement.agreement_name,
        "status": agreement.status,
        "current_version": agreement.current_version,
        "effective_from": agreement.effective_from,
        "effective_until": agreement.effective_until,
    }


def version_snapshot(version: AgreementVersion) -> dict[str, Any]:
    return {
        "version_id": version.version_id,
        "version_number": version.version_number,
        "effective_from": version.effective_from,
        "effective_until": version.effective_until,
        "terms_snapshot": version.terms_snapshot,
    }


RULE_COLUMNS = [
    "rule_id",
    "version_number",
    "rule_order",
    "chain_id",
    "validator_key",
    "revenue_component",
    "attribution_method",
    "commission_rate_bps",
    "floor_amount_native",
    "cap_amount_native",
    "tier_config",
    "is_active",
]


def rule_snapshot(rule: AgreementRule) -> dict[str, Any]:
    return {"agreement_id": rule.agreement_id, **{c: getattr(rule, c) for c in RULE_COLUMNS}}
