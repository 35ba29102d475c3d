"""The chain and validator limits of a `Scope` as SQL conditions, for the services' own filters.

Row-level security applies the same limits in the database (revision 011, read once per statement
since 017); the services filter too, so a superuser's connection shows what the user may see.
"""

from __future__ import annotations

from typing import Any

from aurora_cli.domain.permissions import Scope


def limit_conditions(
    scope: Scope | None, alias: str, params: dict[str, Any], *, validators: bool = True, null_validator_visible: bool = False
) -> list[str]:
    """The WHERE conditions holding `alias`'s rows to the scope's allowed chains (and validators),
    with their parameters added to `params`. A row without a validator stays visible when
    `null_validator_visible` (commission lines not tied to one validator)."""
    if scope is None:
        return []
    where = []
    if scope.allowed_chain_ids is not None:
        params["scope_chains"] = list(scope.allowed_chain_ids)
        where.append(f"{alias}.chain_id = ANY(:scope_chains)")
    if validators and scope.allowed_validator_keys is not None:
        params["scope_validators"] = list(scope.allowed_validator_keys)
        allowed = f"{alias}.validator_key = ANY(:scope_validators)"
        where.append(f"({alias}.validator_key IS NULL OR {allowed})" if null_validator_visible else allowed)
    return where
