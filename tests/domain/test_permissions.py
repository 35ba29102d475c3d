"""SPEC §11's permission table, cell by cell: what each role may do, and nothing else (deny by default)."""

from __future__ import annotations

import pytest

from aurora_cli.domain.permissions import ROLE_PERMISSIONS, WHO_MAY, Permission, Role, allows

P = Permission
# SPEC §11, one row per role. OPS reads P&L only; PARTNER reads (row-level security narrows it to its
# own RELEASED/PAID statements); approving one's own submission is refused by the workflow, not here.
SPEC_MATRIX: dict[Role, set[Permission]] = {
    Role.ADMIN: set(Permission),
    Role.FINANCE: {P.MANAGE_COMMISSIONS, P.APPROVE, P.READ_PNL, P.READ_COMMISSIONS},
    Role.OPS: {P.OPERATE, P.READ_PNL},
    Role.PARTNER: {P.READ_COMMISSIONS},
    Role.AUDITOR: {P.READ_PNL, P.READ_COMMISSIONS, P.READ_AUDIT},
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_each_cell_of_the_matrix(role: Role, permission: Permission) -> None:
    assert allows(role, permission) is (permission in SPEC_MATRIX[role])


def test_roles_are_the_five_of_the_spec_and_each_has_a_row() -> None:
    assert [r.value for r in Role] == ["ADMIN", "FINANCE", "OPS", "PARTNER", "AUDITOR"]
    assert set(ROLE_PERMISSIONS) == set(Role)


@pytest.mark.parametrize("role", ["", "SYSTEM", "admin", "ROOT", "aurora_app"])
def test_an_unknown_role_may_nothing(role: str) -> None:
    assert not any(allows(role, p) for p in Permission)


def test_plain_strings_from_the_database_match_the_roles() -> None:
    assert allows("OPS", P.OPERATE) and not allows("OPS", P.MANAGE_COMMISSIONS)


def test_only_admin_administers_and_reopens() -> None:
    assert WHO_MAY[P.ADMINISTER] == "ADMIN"
    assert WHO_MAY[P.REOPEN] == "ADMIN"
    assert WHO_MAY[P.OPERATE] == "ADMIN or OPS"
    assert WHO_MAY[P.READ_AUDIT] == "ADMIN or AUDITOR"
