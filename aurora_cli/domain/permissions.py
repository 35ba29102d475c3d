"""Who may do what (SPEC §11): one table, deny by default. Pure: no database, no I/O."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    ADMINISTER = "administer"  # config apply, db, users
    OPERATE = "operate"  # ingest, normalize, compute-pnl, periods, runs
    MANAGE_COMMISSIONS = "manage commissions"  # agreements apply, compute-commissions, override, statements
    APPROVE = "approve"  # approve, release, mark-paid
    READ_PNL = "read P&L"
    READ_COMMISSIONS = "read commissions"  # lines, statements, exports, agreements
    READ_AUDIT = "read the audit log"
    REOPEN = "reopen statements"


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "ADMIN": frozenset(Permission),
    "FINANCE": frozenset(
        {
            Permission.MANAGE_COMMISSIONS,
            Permission.APPROVE,
            Permission.READ_PNL,
            Permission.READ_COMMISSIONS,
        }
    ),
    "OPS": frozenset({Permission.OPERATE, Permission.READ_PNL}),
    # Partners read only their own RELEASED/PAID statements; row-level security narrows the rows.
    "PARTNER": frozenset({Permission.READ_COMMISSIONS}),
    "AUDITOR": frozenset({Permission.READ_PNL, Permission.READ_COMMISSIONS, Permission.READ_AUDIT}),
}

WHO_MAY: dict[Permission, str] = {
    p: " or ".join(role for role, perms in ROLE_PERMISSIONS.items() if p in perms) for p in Permission
}


def allows(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())
