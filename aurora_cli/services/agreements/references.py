"""The checks of an agreement file that need the database (do its chains and validators exist?); no writes.

The file's own checks live in `domain.agreement_file`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from aurora_cli.db.models import CanonicalValidatorIdentity, Chain
from aurora_cli.domain.agreement_file import AgreementFile
from aurora_cli.domain.commission import AttributionMethod as Attribution
from aurora_cli.errors import InvalidInput


def check_references(session: Session, agreement_file: AgreementFile) -> list[tuple[str, str]]:
    """Refuse unknown chains (InvalidInput listing each field); return warnings for the rest.

    A validator not registered yet is only a warning: `ingest --file` registers validators it meets,
    so an agreement may rightly be applied before the validator's first data arrives.
    """
    known_chains = set(session.scalars(select(Chain.chain_id)))
    errors: list[tuple[str, str]] = []
    known = ", ".join(sorted(known_chains)) or "none; run `aurora config apply`"
    for index, client in enumerate(agreement_file.clients):
        if client.chain not in known_chains:
            errors.append((f"clients[{index}].chain", f"unknown chain {client.chain!r} (known: {known})"))
    for index, rule in enumerate(agreement_file.rules):
        if rule.chain is not None and rule.chain not in known_chains:
            errors.append((f"rules[{index}].chain", f"unknown chain {rule.chain!r} (known: {known})"))
    if errors:
        raise InvalidInput(
            f"agreement {agreement_file.agreement.name!r} names chains that do not exist: "
            "fix the file or apply the chain configuration first",
            details=errors,
        )

    registered = {
        (chain, key)
        for chain, key in session.execute(
            select(CanonicalValidatorIdentity.chain_id, CanonicalValidatorIdentity.validator_key)
        )
    }
    registered_keys = {key for _chain, key in registered}
    warnings: list[tuple[str, str]] = []
    for index, client in enumerate(agreement_file.clients):
        if client.validator_key is not None and (client.chain, client.validator_key) not in registered:
            warnings.append(
                (
                    f"clients[{index}].validator_key",
                    f"{client.validator_key} is not a registered validator of {client.chain} yet",
                )
            )
    client_chains = {client.chain for client in agreement_file.clients}
    for index, rule in enumerate(agreement_file.rules):
        if rule.validator_key is not None:
            found = (
                (rule.chain, rule.validator_key) in registered
                if rule.chain is not None
                else rule.validator_key in registered_keys
            )
            if not found:
                warnings.append(
                    (
                        f"rules[{index}].validator_key",
                        f"{rule.validator_key} is not a registered validator"
                        + (f" of {rule.chain}" if rule.chain else "")
                        + " yet",
                    )
                )
        needs_clients = rule.attribution in (Attribution.CLIENT_REVENUE, Attribution.STAKE_WEIGHT)
        if needs_clients and (not client_chains if rule.chain is None else rule.chain not in client_chains):
            warnings.append(
                (
                    f"rules[{index}].attribution",
                    f"{rule.attribution.value} needs [[clients]]"
                    + (f" on {rule.chain}" if rule.chain else "")
                    + "; without them this rule's base is always 0",
                )
            )
    return warnings
