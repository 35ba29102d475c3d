"""The layering, enforced by reading the source (docs/architecture.md, "What each layer may import").

Given every module of `aurora_cli`, parsed (nothing is imported or run), then:
(a) services, domain, providers and db import no Typer, Click, Rich or `aurora_cli.cli`, and never
    name `ExitCode` or `UsageError`: exit codes and usage are the CLI's words;
(b) no service string names a command-line flag (`--period`): services speak the domain's words
    and the CLI names its flags; docstrings are documentation, not messages, and are not read;
(c) no CLI module holds SQL, runs `.execute(`, `.begin_nested(` or builds `text(...)`;
(d) imports never run back up the layers; domain is pure;
(e) released migration revisions import nothing from `aurora_cli` (they carry frozen copies).
Each failure lists its violations as `path:line: reason`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "aurora_cli"

FRAMEWORK_MODULES = ("typer", "click", "rich", "aurora_cli.cli")
CLI_NAMES = {"ExitCode", "UsageError"}
FLAG = re.compile(r"--[a-z][a-z-]+")
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b.*\b(FROM|INTO|SET)\b", re.DOTALL)
SESSION_METHODS = {"execute", "begin_nested"}

# Layer -> the aurora_cli layers (first component after `aurora_cli.`) it may import; None = any.
MAY_IMPORT: dict[str, set[str] | None] = {
    "domain": {"domain", "errors"},
    "db": {"db", "domain", "errors", "settings"},
    "providers": {"providers", "domain", "errors", "db"},
}
MUST_NOT_IMPORT: dict[str, set[str]] = {
    "render": {"services", "cli"},
    "services": {"cli"},
}


@dataclass(frozen=True)
class Module:
    path: Path
    name: str
    tree: ast.Module

    @property
    def layer(self) -> str:
        parts = self.name.split(".")
        return parts[1] if len(parts) > 1 else ""

    def where(self, node: ast.AST) -> str:
        return f"{self.path.relative_to(REPO)}:{getattr(node, 'lineno', 0)}"


def _modules() -> list[Module]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append(Module(path, ".".join(parts), ast.parse(path.read_text(encoding="utf-8"), str(path))))
    return found


MODULES = _modules()


def in_layers(*layers: str) -> list[Module]:
    return [m for m in MODULES if m.layer in layers]


def imports(module: Module) -> Iterator[tuple[ast.AST, str, list[str]]]:
    """(node, absolute module name, imported names) for every import, top-level or inside a function."""
    package = module.name if module.path.name == "__init__.py" else module.name.rpartition(".")[0]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [alias.name for alias in node.names]
            yield node, base, names
            for name in names:  # `from aurora_cli import cli` imports the module aurora_cli.cli
                yield node, f"{base}.{name}", []


def _docstring_nodes(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def strings(module: Module, *, skip_docstrings: bool) -> Iterator[ast.Constant]:
    skip = _docstring_nodes(module.tree) if skip_docstrings else set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node


def _is_under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _report(violations: list[str], rule: str) -> None:
    for line in violations:
        print(line)
    assert not violations, f"{rule}: {len(violations)} violation(s)\n" + "\n".join(violations)


def test_a_lower_layers_know_nothing_of_the_command_line():
    violations = []
    for module in in_layers("services", "domain", "providers", "db"):
        for node, name, names in imports(module):
            for banned in FRAMEWORK_MODULES:
                if _is_under(name, banned):
                    violations.append(
                        f"{module.where(node)}: imports {name} ({module.layer} must not know the CLI)"
                    )
            for cli_name in CLI_NAMES.intersection(names):
                violations.append(f"{module.where(node)}: imports {cli_name} from {name}")
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Attribute) and node.attr in CLI_NAMES:
                violations.append(f"{module.where(node)}: uses .{node.attr}")
    _report(sorted(set(violations)), "(a) CLI concepts below the CLI")


def test_b_services_name_no_command_line_flag():
    violations = []
    for module in in_layers("services"):
        for node in strings(module, skip_docstrings=True):
            for flag in sorted(set(FLAG.findall(node.value))):
                violations.append(f"{module.where(node)}: names the flag {flag}")
    _report(sorted(set(violations)), "(b) flags named in services")


def test_c_cli_modules_hold_no_sql_or_session_handling():
    violations = []
    for module in in_layers("cli"):
        for node in strings(module, skip_docstrings=True):
            if SQL.search(node.value):
                violations.append(f"{module.where(node)}: SQL in a string: {node.value.strip()[:50]!r}")
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in SESSION_METHODS:
                violations.append(f"{module.where(node)}: calls .{func.attr}(")
            elif isinstance(func, ast.Name) and func.id == "text":
                violations.append(f"{module.where(node)}: builds SQL with text(")
            elif isinstance(func, ast.Attribute) and func.attr == "text" and isinstance(func.value, ast.Name):
                if func.value.id in {"sa", "sqlalchemy"}:
                    violations.append(f"{module.where(node)}: builds SQL with {func.value.id}.text(")
    _report(sorted(set(violations)), "(c) SQL and sessions in the CLI")


def test_d_imports_never_run_back_up():
    violations = []
    for module in MODULES:
        allowed = MAY_IMPORT.get(module.layer)
        banned = MUST_NOT_IMPORT.get(module.layer, set())
        for node, name, _names in imports(module):
            parts = name.split(".")
            if parts[0] != "aurora_cli" or len(parts) < 2:
                continue
            target = parts[1]
            if allowed is not None and target not in allowed:
                violations.append(f"{module.where(node)}: {module.layer} imports {name}")
            elif target in banned:
                violations.append(f"{module.where(node)}: {module.layer} imports {name}")
            elif target == "devtools" and module.layer not in {"cli", "devtools"}:
                violations.append(f"{module.where(node)}: only the CLI may use the dev tools ({name})")
    _report(sorted(set(violations)), "(d) imports that run back up")


def test_e_released_revisions_import_nothing_from_the_application():
    violations = []
    for module in MODULES:
        if not module.name.startswith("aurora_cli.migrations.versions.") or module.path.name == "__init__.py":
            continue
        for node, name, _names in imports(module):
            if _is_under(name, "aurora_cli"):
                violations.append(
                    f"{module.where(node)}: revision imports {name}; copy what it needs into it"
                )
    _report(sorted(set(violations)), "(e) revisions importing the application")


def test_the_scan_sees_the_whole_package():
    layers = {m.layer for m in MODULES}
    assert {"cli", "services", "domain", "providers", "db", "render", "migrations"} <= layers
    assert len(in_layers("cli")) >= 5 and len(in_layers("services")) >= 5
