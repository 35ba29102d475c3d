"""The finance vertical keeps its layers: services know nothing of the command line, CLI modules no SQL.

Given the modules of agreements, commissions, statements, overrides and exports, when their imports
and string literals are read, then no service imports Typer, Click, Rich, the CLI or its usage error
and exit codes, or names a command-line flag; and no CLI module of theirs imports SQLAlchemy.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "aurora_cli"
SERVICES = sorted(
    [
        *(PACKAGE / "services" / "statements").glob("*.py"),
        *(PACKAGE / "services" / "commissions").glob("*.py"),
        *(PACKAGE / "services" / "agreements").glob("*.py"),
        *(
            PACKAGE / "services" / name
            for name in ("overrides.py", "exports.py", "audit_sink.py", "finance_errors.py")
        ),
    ]
)
CLI = sorted(
    PACKAGE / "cli" / name
    for name in (
        "agreements_cmd.py",
        "commissions_cmd.py",
        "statements_cmd.py",
        "override_cmd.py",
        "export_cmd.py",
        "finance_options.py",
        "finance_words.py",
    )
)
CLI_ONLY_MODULES = ("typer", "click", "rich", "aurora_cli.cli")
CLI_ONLY_NAMES = {"ExitCode", "UsageError"}
FLAG = re.compile(r"(^|[\s(`'\"])--[a-z][a-z-]*")


def imports(path: Path) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.module, alias.name) for alias in node.names]
    return found


def string_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_finance_service_imports_nothing_of_the_command_line(path):
    for module, name in imports(path):
        assert not module.startswith(CLI_ONLY_MODULES), f"{path.name} imports {module}"
        assert name not in CLI_ONLY_NAMES, f"{path.name} imports {name} from {module}"


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_finance_service_names_no_flag_in_its_messages(path):
    flagged = [text for text in string_literals(path) if FLAG.search(text)]
    assert flagged == []


@pytest.mark.parametrize("path", CLI, ids=lambda p: p.name)
def test_a_finance_command_module_holds_no_sql(path):
    for module, _name in imports(path):
        assert not module.startswith(("sqlalchemy", "aurora_cli.db")), f"{path.name} imports {module}"
