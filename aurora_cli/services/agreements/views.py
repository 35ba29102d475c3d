"""Reading agreements: the list and one agreement's versions, rules and clients; never writes."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aurora_cli.db.models import Agreement, AgreementRule, AgreementVersion, Partner, PartnerStakeAttribution
from aurora_cli.errors import NotFound
from aurora_cli.services.agreements.snapshots import RULE_COLUMNS, agreement_snapshot, partner_snapshot
from aurora_cli.services.finance_errors import AmbiguousAgreement

AGREEMENT_LIST_COLUMNS = [
    "agreement_id",
    "partner_name",
    "agreement_name",
    "status",
    "current_version",
    "effective_from",
    "effective_until",
]


def list_agreements(session: Session, *, partner_id: str | uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Every agreement with its partner's name; `partner_id` narrows to one partner (PARTNER users)."""
    query = (
        select(Agreement, Partner.partner_name)
        .join(Partner, Partner.partner_id == Agreement.partner_id)
        .order_by(Partner.partner_name, Agreement.agreement_name)
    )
    if partner_id is not None:
        query = query.where(Agreement.partner_id == uuid.UUID(str(partner_id)))
    return [
        {c: v for c, v in agreement_snapshot(agreement, name).items() if c in AGREEMENT_LIST_COLUMNS}
        for agreement, name in session.execute(query)
    ]


def agreement_details(
    session: Session,
    name: str,
    *,
    partner_name: str | None = None,
    partner_id: str | uuid.UUID | None = None,
) -> dict[str, Any]:
    """One agreement: its row, every version, the current version's rules and clients."""
    query = (
        select(Agreement, Partner)
        .join(Partner, Partner.partner_id == Agreement.partner_id)
        .where(Agreement.agreement_name == name)
    )
    if partner_name is not None:
        query = query.where(Partner.partner_name == partner_name)
    if partner_id is not None:
        query = query.where(Agreement.partner_id == uuid.UUID(str(partner_id)))
    matches = session.execute(query).all()
    if not matches:
        whose = f" of partner {partner_name!r}" if partner_name else ""
        raise NotFound(f"no agreement named {name!r}{whose}: see `aurora agreements list`.")
    if len(matches) > 1:
        raise AmbiguousAgreement(name, sorted(p.partner_name for _a, p in matches))
    agreement, partner = matches[0]
    versions = session.scalars(
        select(AgreementVersion)
        .where(AgreementVersion.agreement_id == agreement.agreement_id)
        .order_by(AgreementVersion.version_number)
    ).all()
    rules = session.scalars(
        select(AgreementRule)
        .where(
            AgreementRule.agreement_id == agreement.agreement_id,
            AgreementRule.version_number == agreement.current_version,
        )
        .order_by(AgreementRule.rule_order)
    ).all()
    clients = session.scalars(
        select(PartnerStakeAttribution)
        .where(
            PartnerStakeAttribution.agreement_id == agreement.agreement_id,
            PartnerStakeAttribution.version_number == agreement.current_version,
        )
        .order_by(
            PartnerStakeAttribution.chain_id,
            PartnerStakeAttribution.staker_address,
            PartnerStakeAttribution.validator_key.nulls_first(),
        )
    ).all()
    return {
        **agreement_snapshot(agreement, partner.partner_name),
        "partner": partner_snapshot(partner),
        "versions": [
            {
                "version_number": v.version_number,
                "effective_from": v.effective_from,
                "effective_until": v.effective_until,
                "created_by": v.created_by,
                "created_at": v.created_at,
            }
            for v in versions
        ],
        "rules": [{c: getattr(r, c) for c in RULE_COLUMNS} for r in rules],
        "clients": [
            {"chain_id": c.chain_id, "staker_address": c.staker_address, "validator_key": c.validator_key}
            for c in clients
        ],
    }
