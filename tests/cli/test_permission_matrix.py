"""SPEC §11's permission matrix, walked over every command the CLI has: role × command.

The command list is read off the CLI itself (every module loaded, every `@command` path with the
permission it declared), so a new command is covered the day it is added. Each command is run with
placeholder values for its required inputs: a role the matrix refuses must get exit 4 and the
refusal sentence before anything else happens; a role it allows must get past that gate (the
command may then fail for its placeholder inputs, but never with the refusal).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import typer._click as click  # typer >= 0.29 vendors click

from aurora_cli.cli.app import COMMANDS, load_command
from aurora_cli.cli.frame import PERMISSIONS
from aurora_cli.domain.permissions import Permission, Role, allows

REFUSAL = "permission denied:"
# Commands whose gate is inside the command (they must also work before anyone can log in):
# once users exist, only an ADMIN may stop or migrate the database.
SELF_GATED = {"db stop": Permission.ADMINISTER, "db downgrade": Permission.ADMINISTER}
ROLES = [Role.FINANCE, Role.OPS, Role.PARTNER, Role.AUDITOR, Role.ADMIN]


def _leaf_commands() -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}

    def walk(path: str, cmd: click.Command) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(f"{path} {name}", sub)
        else:
            found[path] = cmd

    for name in COMMANDS:
        cmd = load_command(name)
        assert cmd is not None, name
        walk(name, cmd)
    return found


# Placeholder values by input name: well-formed, naming nothing that exists.
PLACEHOLDERS = {
    "chain": "solana-mainnet",
    "period": "850",
    "format": "json",
    "role": "AUDITOR",
    "email": "nobody@example.com",
    "line_id": "00000000-0000-0000-0000-000000000000",
    "run_id": "00000000-0000-0000-0000-000000000000",
    "revision": "head",
}
PATH_INPUTS = ("data_dir", "file", "files", "out", "path")


def _placeholder_args(cmd: click.Command, tmp: Path) -> list[str]:
    """Values for every required input, so the command reaches its permission gate."""
    args: list[str] = []
    for param in cmd.params:
        if not param.required:
            continue
        if param.name in PATH_INPUTS:
            value = str(tmp / f"placeholder-{param.name}")
        else:
            value = PLACEHOLDERS.get(param.name, "placeholder")
        if param.param_type_name == "option":
            args += [param.opts[0], value]
        else:
            args.append(value)
    return args


def test_every_command_declares_its_permission():
    leaves = _leaf_commands()
    undeclared = [path for path in leaves if path not in PERMISSIONS]
    assert not undeclared, f"commands not registered through @command: {undeclared}"
    gated = [p for p, perm in PERMISSIONS.items() if perm is not None]
    assert len(gated) >= 40, gated  # the matrix below really walks the command set


@pytest.fixture
def tokens(admin_cli):
    agreement = Path(__file__).resolve().parents[2] / "config/samples/agreements/helios-capital.toml"
    assert admin_cli("agreements", "apply", str(agreement)).exit_code == 0
    made = {}
    for role in ROLES:
        name = f"matrix-{role.value.lower()}"
        extra = ("--partner", "Helios Capital") if role is Role.PARTNER else ()
        admin_cli.add_user(name, role.value, "password-123", *extra)
        made[role] = admin_cli.token_for(name)
    return made


@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
def test_each_role_is_refused_exactly_the_commands_spec_11_denies_it(admin_cli, tokens, role, tmp_path):
    leaves = _leaf_commands()
    wrong: list[str] = []
    for path, cmd in sorted(leaves.items()):
        permission = SELF_GATED.get(path, PERMISSIONS.get(path))
        if permission is None:
            continue  # login, logout, whoami, bootstrap-admin, db up/status: anyone
        argv = [*path.split(), *_placeholder_args(cmd, tmp_path)]
        result = admin_cli(*argv, token=tokens[role])
        refused = result.exit_code == 4 and REFUSAL in result.stderr
        if allows(role, permission) == refused:
            expected = "allowed" if allows(role, permission) else "refused (exit 4)"
            wrong.append(f"{path}: expected {expected}, got exit {result.exit_code}: {result.stderr.strip()[:160]}")
    assert not wrong, f"{role.value}:\n" + "\n".join(wrong)
