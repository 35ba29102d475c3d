"""Who may do what (SPEC §11): the roles and one permission table, deny by default.

The one definition of the roles: `services.auth` and `db.models` take them from here. Pure: no
database, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "ADMIN"
    FINANCE = "FINANCE"
    OPS = "OPS"
    PARTNER = "PARTNER"
    AUDITOR = "AUDITOR"


class Permission(StrEnum):
    ADMINISTER = "administer"  # config apply, db, users
    OPERATE = "operate"  # ingest, normalize, compute-pnl, periods, runs
    MANAGE_COMMISSIONS = "manage commissions"  # agreements apply, compute-commissions, override, statements
    APPROVE = "approve"  # approve, release, mark-paid
    READ_PNL = "read P&L"
    READ_COMMISSIONS = "read commissions"  # lines, statements, exports, agreements
    READ_AUDIT = "read the audit log"
    REOPEN = "reopen statements"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.FINANCE: frozenset(
        {
            Permission.MANAGE_COMMISSIONS,
            Permission.APPROVE,
            Permission.READ_PNL,
            Permission.READ_COMMISSIONS,
        }
    ),
    Role.OPS: frozenset({Permission.OPERATE, Permission.READ_PNL}),
    # Partners read only their own RELEASED/PAID statements; row-level security narrows the rows.
    Role.PARTNER: frozenset({Permission.READ_COMMISSIONS}),
    Role.AUDITOR: frozenset({Permission.READ_PNL, Permission.READ_COMMISSIONS, Permission.READ_AUDIT}),
}

WHO_MAY: dict[Permission, str] = {
    p: " or ".join(role for role, perms in ROLE_PERMISSIONS.items() if p in perms) for p in Permission
}


def allows(role: str, permission: Permission) -> bool:
    """Whether `role` may `permission`; an unknown role may nothing."""
    return permission in ROLE_PERMISSIONS.get(role, frozenset())  # type: ignore[call-overload]


# -- the scope: who a database session acts for ------------------------------------------------------

SYSTEM = "SYSTEM"  # the library used without a user (scripts, tests, the migration's own audit row)
AUTHENTICATING = "AUTHENTICATING"  # before a user is known: only the user or token being looked up
NO_PARTNER = "00000000-0000-0000-0000-000000000000"  # the partner of a PARTNER scope that has none


@dataclass(frozen=True)
class Scope:
    """The one value the authenticated user becomes, built once by the CLI frame and handed down.

    The database reads it (row-level security, revision 011: the engine sets `app.*` per
    transaction) and the services' own filters read the same value, so a limit holds on every path.
    `None` for chains or validators means no limit.
    """

    role: str = SYSTEM
    user_id: str | None = None
    username: str | None = None
    partner_id: str | None = None
    allowed_chain_ids: tuple[str, ...] | None = None
    allowed_validator_keys: tuple[str, ...] | None = None
    auth_username: str | None = None
    auth_token_hash: str | None = None

    @classmethod
    def system(cls) -> Scope:
        return cls()

    @classmethod
    def authenticating(cls, *, username: str | None = None, token_hash: str | None = None) -> Scope:
        return cls(role=AUTHENTICATING, auth_username=username, auth_token_hash=token_hash)

    @classmethod
    def of(cls, user: object) -> Scope:
        """The scope of an authenticated user (`services.auth.AuthenticatedUser` or alike)."""
        chains = getattr(user, "allowed_chain_ids", None)
        validators = getattr(user, "allowed_validator_keys", None)
        partner = getattr(user, "partner_id", None)
        return cls(
            role=str(user.role),
            user_id=str(user.user_id),
            username=getattr(user, "username", None),
            partner_id=str(partner) if partner else None,
            allowed_chain_ids=tuple(chains) if chains else None,
            allowed_validator_keys=tuple(validators) if validators else None,
        )

    @property
    def is_partner(self) -> bool:
        return self.role == Role.PARTNER

    @property
    def partner_filter(self) -> str | None:
        """The partner a PARTNER scope is held to (None for every other role). A PARTNER scope without
        a partner is held to a partner that cannot exist, so it sees nothing rather than everything."""
        if not self.is_partner:
            return None
        return self.partner_id or NO_PARTNER

    def chain_allowed(self, chain_id: str) -> bool:
        return self.allowed_chain_ids is None or chain_id in self.allowed_chain_ids

    def validator_allowed(self, validator_key: str | None) -> bool:
        return validator_key is None or self.allowed_validator_keys is None or validator_key in self.allowed_validator_keys
