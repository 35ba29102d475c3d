"""Who may do what (SPEC §11): the roles and one permission table, deny by default.

The one definition of the roles: `services.auth` and `db.models` take them from here. Pure: no
database, no I/O.
"""

from __future__ import annotations

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
