"""The layering of issue 8, read off the imports: services and domain never reach up into the CLI
(Typer, Click, Rich, exit codes, usage errors), and command modules hold no SQL or session handling."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "aurora_cli"
CLI_ONLY_MODULES = ("typer", "click", "rich", "aurora_cli.cli")
CLI_ONLY_NAMES = {"ExitCode", "UsageError"}
# Not split yet (issue 8, the statements/commissions part): drop each entry when its module is.
PENDING = {"services/statements.py": {"UsageError"}, "cli/commissions_cmd.py": {"begin_nested"}}


def modules(*layers: str) -> list[Path]:
    return sorted(p for layer in layers for p in (PACKAGE / layer).glob("*.py"))


def imports(path: Path) -> list[tuple[str, set[str]]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, set()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, {alias.name for alias in node.names}))
    return found


def rel(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


@pytest.mark.parametrize("path", modules("services", "domain"), ids=rel)
def test_services_and_domain_know_nothing_of_the_command_line(path: Path) -> None:
    allowed = PENDING.get(rel(path), set())
    for module, names in imports(path):
        assert not module.startswith(CLI_ONLY_MODULES), f"{rel(path)} imports {module}"
        assert not (names & CLI_ONLY_NAMES) - allowed, f"{rel(path)} imports {names & CLI_ONLY_NAMES}"


@pytest.mark.parametrize("path", [p for p in modules("cli") if p.name != "frame.py"], ids=rel)
def test_command_modules_hold_no_sql_or_session_handling(path: Path) -> None:
    for module, _names in imports(path):
        assert not module.startswith(("sqlalchemy", "aurora_cli.db")), f"{rel(path)} imports {module}"
    source = path.read_text(encoding="utf-8")
    allowed = PENDING.get(rel(path), set())
    for word in ("execute(", "begin_nested", "SET TRANSACTION", "select("):
        assert word.rstrip("(") in allowed or word not in source, f"{rel(path)} uses {word}"
