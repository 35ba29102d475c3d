"""Applying an agreement file (SPEC §7) to the database, idempotently; never prints, never commits.

A validated `AgreementFile` becomes partner, agreement, version, rules and clients rows. Partners
are identified by `[partner] name`, agreements by (partner, `[agreement] name`). Terms (rules and
clients) are versioned: changed terms create the next `agreement_versions` row and close the
previous one, whose rules and clients stay for history. Partner details and the agreement's own
fields (status, dates) are updated in place without a new version. Applying the same file twice
changes nothing. Every change is recorded through the `audit` the caller gives, in its transaction;
`plan_agreement` says what an apply would do without keeping anything.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from aurora_cli.db.models import Agreement, AgreementRule, AgreementVersion, Partner, PartnerStakeAttribution
from aurora_cli.domain.agreement_file import AgreementFile
from aurora_cli.domain.canonical_json import jsonable
from aurora_cli.errors import Conflict, InvalidInput
from aurora_cli.services.agreements.references import check_references
from aurora_cli.services.agreements.snapshots import (
    agreement_snapshot,
    partner_snapshot,
    rule_snapshot,
    version_snapshot,
)
from aurora_cli.services.audit import Recorder

# The parts of the normalized terms that are versioned; partner details and the agreement's status
# and dates are facts about the relationship, updated in place.
VERSIONED_TERMS = ("clients", "rules", "payment_terms_days", "payouts")

PARTNER_FIELDS = ("legal_entity_name", "contact_email", "contact_name")
AGREEMENT_FIELDS = ("status", "effective_from", "effective_until")


@dataclass
class ApplyResult:
    """What `apply_agreement` did (or, inside a rolled-back savepoint, would do)."""

    agreement_id: uuid.UUID
    partner_name: str
    agreement_name: str
    current_version: int
    created_partner: bool = False
    created_agreement: bool = False
    new_version: int | None = None
    partner_changes: dict[str, list[Any]] = field(default_factory=dict)
    agreement_changes: dict[str, list[Any]] = field(default_factory=dict)
    rules_written: int = 0
    clients_written: int = 0
    warnings: list[tuple[str, str]] = field(default_factory=list)
    # One audit entry (action, resource, before/after) per change, in the order they were made.
    audit_entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.audit_entries)

    def describe(self, *, planned: bool = False) -> list[str]:
        """One phrase per change, in the order they were made (`planned`: what an apply would do)."""
        create, update, close = ("create", "update", "close") if planned else ("created", "updated", "closed")
        said: list[str] = []
        if self.created_partner:
            said.append(f"{create} partner {self.partner_name!r}")
        if self.partner_changes:
            said.append(f"{update} partner {self.partner_name!r}: {', '.join(self.partner_changes)}")
        if self.created_agreement:
            said.append(
                f"{create} agreement {self.agreement_name!r} (version 1: {self.rules_written} rule(s), "
                f"{self.clients_written} client(s))"
            )
        if self.agreement_changes:
            changes = ", ".join(
                f"{name} {_plain(old)} → {_plain(new)}" for name, (old, new) in self.agreement_changes.items()
            )
            said.append(f"{update} agreement {self.agreement_name!r}: {changes}")
        if self.new_version is not None and not self.created_agreement:
            said.append(
                f"{create} version {self.new_version} of {self.agreement_name!r} with the new terms "
                f"({self.rules_written} rule(s), {self.clients_written} client(s)) and {close} "
                f"version {self.new_version - 1}"
            )
        return said

    def summary(self) -> dict[str, Any]:
        return jsonable(
            {
                "agreement_id": self.agreement_id,
                "partner_name": self.partner_name,
                "agreement_name": self.agreement_name,
                "current_version": self.current_version,
                "changed": self.changed,
                "created_partner": self.created_partner,
                "created_agreement": self.created_agreement,
                "new_version": self.new_version,
                "partner_changes": self.partner_changes,
                "agreement_changes": self.agreement_changes,
                "rules_written": self.rules_written,
                "clients_written": self.clients_written,
                "warnings": [{"field": where, "warning": what} for where, what in self.warnings],
            }
        )


def _plain(value: Any) -> str:
    rendered = jsonable(value)
    return "none" if rendered is None else str(rendered)


def apply_agreement(
    session: Session,
    agreement_file: AgreementFile,
    *,
    user_id: uuid.UUID | None = None,
    now: datetime | None = None,
    audit: Recorder | None = None,
    audit_reason: str | None = None,
) -> ApplyResult:
    """Create or update the file's partner and agreement; see the module docstring for the rules.

    Raises InvalidInput (nothing written by this call: the caller's transaction rolls back) when a
    chain is unknown or changed terms would not start after the current version started. `audit`,
    when given, records every change with `audit_reason`.
    """
    result = _apply(session, agreement_file, user_id=user_id, now=now)
    if audit is not None:
        for entry in result.audit_entries:
            audit(session, **entry, reason=audit_reason)
    return result


def agreement_paths(paths: list[Path]) -> list[Path]:
    """The files to apply: each file as given, each directory's ``*.toml`` in name order; no repeats."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.glob("*.toml") if p.is_file())
        else:
            found.append(path)
    unique = list(dict.fromkeys(found))
    if not unique:
        raise InvalidInput(f"no agreement files (*.toml) in {', '.join(str(p) for p in paths)}.")
    return unique


def apply_agreements(
    session: Session,
    agreement_files: list[tuple[str, AgreementFile]],
    *,
    user_id: uuid.UUID | None = None,
    audit: Recorder | None = None,
    audit_reason: str = "agreements apply",
) -> list[tuple[str, ApplyResult]]:
    """`apply_agreement` for each (name, file) in the caller's one transaction: all apply or none."""
    return [
        (
            name,
            apply_agreement(
                session, agreement_file, user_id=user_id, audit=audit, audit_reason=f"{audit_reason} {name}"
            ),
        )
        for name, agreement_file in agreement_files
    ]


def plan_agreement(
    session: Session, agreement_file: AgreementFile, *, user_id: uuid.UUID | None = None
) -> ApplyResult:
    """What `apply_agreement` would do, exactly: it runs in a savepoint that is always rolled back."""
    savepoint = session.begin_nested()
    try:
        return _apply(session, agreement_file, user_id=user_id, now=None)
    finally:
        savepoint.rollback()


def _apply(
    session: Session, agreement_file: AgreementFile, *, user_id: uuid.UUID | None, now: datetime | None
) -> ApplyResult:
    # Partners are identified by name (no unique key in the seed): two concurrent applies of a new
    # file must not both create it. Applies are rare, so one lock for all of them is enough.
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('aurora.agreements.apply'))"))
    warnings = check_references(session, agreement_file)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    terms = agreement_file.normalized_terms()
    spec = agreement_file.agreement

    partner, created_partner, partner_changes, partner_entries = _upsert_partner(session, agreement_file)
    agreement = session.scalar(
        select(Agreement).where(
            Agreement.partner_id == partner.partner_id, Agreement.agreement_name == spec.name
        )
    )
    if agreement is None:
        result = _create_agreement(session, agreement_file, partner, terms, user_id)
        result.created_partner = created_partner
        result.partner_changes = partner_changes
        result.warnings = warnings
        result.audit_entries = partner_entries + result.audit_entries
        return result

    result = ApplyResult(
        agreement_id=agreement.agreement_id,
        partner_name=partner.partner_name,
        agreement_name=agreement.agreement_name,
        current_version=agreement.current_version,
        created_partner=created_partner,
        partner_changes=partner_changes,
        warnings=warnings,
        audit_entries=list(partner_entries),
    )
    _update_agreement_fields(session, agreement, agreement_file, result)
    current = session.scalar(
        select(AgreementVersion).where(
            AgreementVersion.agreement_id == agreement.agreement_id,
            AgreementVersion.version_number == agreement.current_version,
        )
    )
    if current is None:  # only a hand-edited database gets here
        raise Conflict(
            f"agreement {agreement.agreement_name!r} has no version {agreement.current_version}: "
            "the agreement rows were edited outside Aurora"
        )
    if _versioned(current.terms_snapshot) != _versioned(terms):
        _add_version(session, agreement, current, agreement_file, terms, moment, user_id, result)
    return result


def _versioned(terms: dict[str, Any]) -> dict[str, Any]:
    return {key: terms.get(key) for key in VERSIONED_TERMS}


def _upsert_partner(
    session: Session, agreement_file: AgreementFile
) -> tuple[Partner, bool, dict[str, list[Any]], list[dict[str, Any]]]:
    spec = agreement_file.partner
    matches = session.scalars(select(Partner).where(Partner.partner_name == spec.name)).all()
    if len(matches) > 1:
        raise Conflict(
            f"{len(matches)} partners are named {spec.name!r}: rename one in the database before applying"
        )
    wanted = {
        "legal_entity_name": spec.legal_entity_name,
        "contact_email": spec.contact_email,
        "contact_name": spec.contact_name,
    }
    if not matches:
        partner = Partner(partner_name=spec.name, is_active=True, **wanted)
        session.add(partner)
        session.flush()
        entry = {
            "action": "CREATE_AGREEMENT",
            "resource_type": "partner",
            "resource_id": str(partner.partner_id),
            "after": partner_snapshot(partner),
        }
        return partner, True, {}, [entry]
    partner = matches[0]
    changes = {
        name: [getattr(partner, name), value]
        for name, value in wanted.items()
        if getattr(partner, name) != value
    }
    if not changes:
        return partner, False, {}, []
    before = partner_snapshot(partner)
    for name, (_old, new) in changes.items():
        setattr(partner, name, new)
    session.flush()
    entry = {
        "action": "UPDATE_AGREEMENT",
        "resource_type": "partner",
        "resource_id": str(partner.partner_id),
        "before": before,
        "after": partner_snapshot(partner),
    }
    return partner, False, changes, [entry]


def _create_agreement(
    session: Session,
    agreement_file: AgreementFile,
    partner: Partner,
    terms: dict[str, Any],
    user_id: uuid.UUID | None,
) -> ApplyResult:
    spec = agreement_file.agreement
    agreement = Agreement(
        partner_id=partner.partner_id,
        agreement_name=spec.name,
        current_version=1,
        status=spec.status,
        effective_from=spec.effective_from,
        effective_until=spec.effective_until,
    )
    session.add(agreement)
    session.flush()
    # SPEC §7: the first version is effective from the agreement's effective_from (a
    # version_effective_from in a first file has nothing earlier to supersede).
    version = AgreementVersion(
        agreement_id=agreement.agreement_id,
        version_number=1,
        effective_from=spec.effective_from,
        effective_until=None,
        terms_snapshot=terms,
        created_by=user_id,
    )
    session.add(version)
    session.flush()
    rules = _write_terms(session, agreement, 1, agreement_file)
    result = ApplyResult(
        agreement_id=agreement.agreement_id,
        partner_name=partner.partner_name,
        agreement_name=agreement.agreement_name,
        current_version=1,
        created_agreement=True,
        new_version=1,
        rules_written=len(rules),
        clients_written=len(agreement_file.clients),
    )
    result.audit_entries.append(
        {
            "action": "CREATE_AGREEMENT",
            "resource_type": "agreement",
            "resource_id": str(agreement.agreement_id),
            "after": {
                **agreement_snapshot(agreement, partner.partner_name),
                "version": version_snapshot(version),
            },
        }
    )
    result.audit_entries += [_rule_created(rule) for rule in rules]
    return result


def _update_agreement_fields(
    session: Session, agreement: Agreement, agreement_file: AgreementFile, result: ApplyResult
) -> None:
    """Status and dates change in place; the first version keeps starting with the agreement."""
    spec = agreement_file.agreement
    wanted = {
        "status": spec.status,
        "effective_from": spec.effective_from,
        "effective_until": spec.effective_until,
    }
    changes = {
        name: [getattr(agreement, name), value]
        for name, value in wanted.items()
        if getattr(agreement, name) != value
    }
    if not changes:
        return
    partner_name = result.partner_name
    before = agreement_snapshot(agreement, partner_name)
    if "effective_from" in changes:
        first = session.scalar(
            select(AgreementVersion).where(
                AgreementVersion.agreement_id == agreement.agreement_id,
                AgreementVersion.version_number == 1,
            )
        )
        new_start = wanted["effective_from"]
        if first is not None and first.effective_until is not None and not new_start < first.effective_until:
            raise InvalidInput(
                f"agreement {agreement.agreement_name!r} cannot start at {new_start.isoformat()}: "
                f"version 2 already starts at {first.effective_until.isoformat()}",
                details=[("agreement.effective_from", "must be before version 2's start")],
            )
        if first is not None:
            first.effective_from = new_start
    for name, value in wanted.items():
        setattr(agreement, name, value)
    session.flush()
    result.agreement_changes = changes
    result.audit_entries.append(
        {
            "action": "UPDATE_AGREEMENT",
            "resource_type": "agreement",
            "resource_id": str(agreement.agreement_id),
            "before": before,
            "after": agreement_snapshot(agreement, partner_name),
        }
    )


def _add_version(
    session: Session,
    agreement: Agreement,
    current: AgreementVersion,
    agreement_file: AgreementFile,
    terms: dict[str, Any],
    moment: datetime,
    user_id: uuid.UUID | None,
    result: ApplyResult,
) -> None:
    spec = agreement_file.agreement
    starts = spec.version_effective_from or moment
    if not starts > current.effective_from:
        # agreement_versions CHECKs effective_from < effective_until on the version being closed.
        source = "[agreement] version_effective_from" if spec.version_effective_from else "now"
        raise InvalidInput(
            f"the changed terms of {agreement.agreement_name!r} would start at {starts.isoformat()} ({source}), "
            f"not after version {current.version_number} started ({current.effective_from.isoformat()})",
            details=[
                (
                    "agreement.version_effective_from",
                    f"set it after {current.effective_from.isoformat()}, when the new terms take effect",
                )
            ],
        )
    before_version = version_snapshot(current)
    before_agreement = agreement_snapshot(agreement, result.partner_name)
    current.effective_until = starts
    number = current.version_number + 1
    version = AgreementVersion(
        agreement_id=agreement.agreement_id,
        version_number=number,
        effective_from=starts,
        effective_until=None,
        terms_snapshot=terms,
        created_by=user_id,
    )
    session.add(version)
    agreement.current_version = number
    session.flush()
    rules = _write_terms(session, agreement, number, agreement_file)
    result.new_version = number
    result.current_version = number
    result.rules_written = len(rules)
    result.clients_written = len(agreement_file.clients)
    result.audit_entries.append(
        {
            "action": "UPDATE_AGREEMENT",
            "resource_type": "agreement_version",
            "resource_id": str(agreement.agreement_id),
            "before": {**before_agreement, "version": before_version},
            "after": {
                **agreement_snapshot(agreement, result.partner_name),
                "previous_version": version_snapshot(current),
                "version": version_snapshot(version),
            },
        }
    )
    result.audit_entries += [_rule_created(rule) for rule in rules]


def _write_terms(
    session: Session, agreement: Agreement, version_number: int, agreement_file: AgreementFile
) -> list[AgreementRule]:
    """The version's rules and clients; earlier versions' rows are left as they are, for history."""
    rules = [
        AgreementRule(
            agreement_id=agreement.agreement_id,
            version_number=version_number,
            rule_order=rule.order,
            chain_id=rule.chain,
            validator_key=rule.validator_key,
            revenue_component=rule.component,
            attribution_method=rule.attribution,
            commission_rate_bps=rule.recorded_rate_bps,
            floor_amount_native=rule.floor_native,
            cap_amount_native=rule.cap_native,
            tier_config=None if rule.tiers is None else rule.tier_table().to_config(),
            is_active=True,
        )
        for rule in sorted(agreement_file.rules, key=lambda r: r.order)
    ]
    session.add_all(rules)
    session.add_all(
        PartnerStakeAttribution(
            partner_id=agreement.partner_id,
            agreement_id=agreement.agreement_id,
            version_number=version_number,
            chain_id=client.chain,
            staker_address=client.staker_address,
            validator_key=client.validator_key,
        )
        for client in agreement_file.clients
    )
    session.flush()
    return rules


def _rule_created(rule: AgreementRule) -> dict[str, Any]:
    return {
        "action": "CREATE_RULE",
        "resource_type": "agreement_rule",
        "resource_id": str(rule.rule_id),
        "after": rule_snapshot(rule),
    }
