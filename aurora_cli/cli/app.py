"""The `aurora` command: global options and the command map. Each group lives in its own module.

Start-up is part of the interface: `aurora --help` and `--version` import Typer and this module only,
and a command imports only its own group's module (and what that needs). `COMMANDS` names every
top-level command, the module that defines it and the line the root help shows; the module is
imported when the command is run, completed or asked for its own help. Nothing heavy (SQLAlchemy,
pydantic, httpx, fpdf2, the services) may be imported at module level here.
"""

from __future__ import annotations

import importlib
import sys
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

# typer >= 0.29 vendors click; the root group catches its usage errors to audit them.
from typer._click.core import Command as ClickCommand
from typer._click.exceptions import UsageError as ClickUsageError
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:
    from typer._click.core import Context as ClickContext


@dataclass(frozen=True)
class Entry:
    """A top-level command: where it is defined and the one line `aurora --help` shows for it.

    `attach` names how the module adds it: `app` (the module's Typer app, as a group of this name),
    `app:` (the module's app, unnamed: its commands are top-level) or `register` (the module's
    `register(app)` function).
    """

    module: str
    attach: str
    line: str


_C = "aurora_cli.cli."
COMMANDS: dict[str, Entry] = {
    "db": Entry(_C + "db_cmd", "app", "The database: embedded cluster, migrations, backups."),
    "config": Entry(_C + "config_cmd", "app", "Configuration as code (ADMIN)."),
    "users": Entry(_C + "users_cmd", "app", "Users, roles and service tokens (ADMIN)."),
    "login": Entry(_C + "session_cmd", "app:", "Log in; keeps a session token (mode 0600)."),
    "logout": Entry(_C + "session_cmd", "app:", "Forget and revoke the session token."),
    "whoami": Entry(_C + "session_cmd", "app:", "Show the current user and role."),
    "periods": Entry(_C + "periods_cmd", "app", "Accounting periods: epochs and UTC days."),
    "ingest": Entry(_C + "steps_cmd", "app:", "Stage provider data for one period (fetch, or --file)."),
    "normalize": Entry(_C + "steps_cmd", "app:", "Staged payloads to canonical rows."),
    "compute-pnl": Entry(_C + "steps_cmd", "app:", "Compute validator P&L for one period."),
    "run": Entry(_C + "steps_cmd", "app:", "The whole pipeline for one period (for timers)."),
    "pnl": Entry(_C + "pnl_cmd", "app", "Validator P&L."),
    "runs": Entry(_C + "runs_cmd", "app", "Ingestion runs."),
    "providers": Entry(_C + "providers_cmd", "app", "Data providers: configuration and reachability."),
    "agreements": Entry(_C + "commissions_cmd", "register", "Partner agreements as code (TOML files)."),
    "compute-commissions": Entry(_C + "commissions_cmd", "register", "Compute partner commission lines."),
    "commissions": Entry(_C + "commissions_cmd", "register", "Partner commission lines."),
    "override": Entry(_C + "statements_cmd", "register", "Override a commission line's amount."),
    "statements": Entry(_C + "statements_cmd", "register", "Partner statements and their workflow."),
    "approve": Entry(_C + "statements_cmd", "register", "Approve a statement (four eyes)."),
    "export": Entry(_C + "statements_cmd", "register", "Export statements and P&L to files."),
    "audit": Entry(_C + "audit_cmd", "app", "The audit trail."),
    "dev": Entry(_C + "dev_cmd", "app", "Developer tools: synthetic data (ADMIN or OPS)."),
}

# Shown under a main command's own --help (the README's command table is generated from --help).
EXAMPLES: dict[str, str] = {
    "ingest": "aurora ingest --chain solana-mainnet --period 850 --file epoch-850.jsonl\n"
    "aurora ingest --chain ethereum-mainnet --period previous",
    "normalize": "aurora normalize --chain solana-mainnet --period 850",
    "compute-pnl": "aurora compute-pnl --chain solana-mainnet --period 850",
    "run": "aurora run --chain solana-mainnet --period 850 --file epoch-850.jsonl\n"
    "aurora --quiet run --chain ethereum-mainnet --period previous",
    "compute-commissions": "aurora compute-commissions --chain solana-mainnet --period 850 --dry-run\n"
    "aurora compute-commissions --chain solana-mainnet --period 850",
    "statements generate": "aurora statements generate --chain solana-mainnet --period 850\n"
    "aurora statements generate --chain ethereum-mainnet --month 2025-09",
    "approve": "aurora approve --partner 'Helios Capital' --chain solana-mainnet --period 850\n"
    "aurora approve --statement STATEMENT_ID   # the id from `aurora statements list`",
    "export statement": "aurora export statement --partner 'Helios Capital' --chain solana-mainnet "
    "--period 850 --format pdf --out helios-850.pdf\n"
    "aurora export statement --partner 'Helios Capital' --chain solana-mainnet --month 2025-09 "
    "--format csv --out -",
    "pnl show": "aurora pnl show --chain solana-mainnet --period 850\n"
    "aurora pnl show --chain solana-mainnet --validator AuroraVote1 --format json",
    "agreements apply": "aurora agreements validate config/samples/agreements/helios.toml\n"
    "aurora agreements apply config/samples/agreements/helios.toml",
}

_loaded: dict[str, ClickCommand] = {}


def load_command(name: str) -> ClickCommand | None:
    """The real command `name`: import its module and build it (once per process)."""
    if name in _loaded:
        return _loaded[name]
    entry = COMMANDS.get(name)
    if entry is None:
        return None
    module = importlib.import_module(entry.module)
    host = typer.Typer(rich_markup_mode=None)
    if entry.attach == "app":
        host.add_typer(module.app, name=name)
    elif entry.attach == "app:":
        host.add_typer(module.app)
    else:
        module.register(host)
    group = typer.main.get_group(host)
    for sub_name, sub in group.commands.items():  # a module may define several top-level commands
        if sub_name in COMMANDS:
            _with_examples(sub_name, sub)
            _loaded.setdefault(sub_name, sub)
    return _loaded.get(name)


def _with_examples(path: str, command: ClickCommand) -> None:
    if path in EXAMPLES:
        command.epilog = "Examples:\n\n" + _example_lines(EXAMPLES[path])
    for sub_name, sub in getattr(command, "commands", {}).items():
        _with_examples(f"{path} {sub_name}", sub)


def _example_lines(text: str) -> str:
    # \b keeps Click from rewrapping the block: one example per line, as typed.
    return "\b\n" + "\n".join("  " + line for line in text.splitlines())

# Options that belong to the whole invocation; accepted anywhere on the line.
GLOBAL_FLAGS = ("--verbose", "-v", "--quiet", "-q")
GLOBAL_VALUED = ("--format", "--config", "--database-url", "--correlation-id")
# Subcommands with an option of the same name of their own.
OWN_FORMAT = ("export",)


def hoist_global_options(args: list[str]) -> list[str]:
    """Move global options written after the subcommand to the front (`aurora pnl show --format json`)."""
    positionals = [a for a in _without_global_values(args) if not a.startswith("-")]
    own_format = bool(positionals) and positionals[0] in OWN_FORMAT
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        token = args[i]
        name = token.split("=", 1)[0]
        if token == "--":
            rest += args[i:]
            break
        if token in GLOBAL_FLAGS:
            front.append(token)
        elif name in GLOBAL_VALUED and not (own_format and name == "--format"):
            if "=" in token:
                front.append(token)
            elif i + 1 < len(args):
                front += [token, args[i + 1]]
                i += 1
            else:
                rest.append(token)
        else:
            rest.append(token)
        i += 1
    return front + rest


class AuroraGroup(TyperGroup):
    """Root group: loads commands on demand, hoists global options and audits usage errors too."""

    _listing = False  # while the root help or completion lists the commands: one line each, no import

    def list_commands(self, ctx: ClickContext) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: ClickContext, cmd_name: str) -> ClickCommand | None:
        if self._listing and cmd_name in COMMANDS and cmd_name not in _loaded:
            line = COMMANDS[cmd_name].line
            return TyperCommand(cmd_name, help=line, short_help=line)
        return load_command(cmd_name)

    def format_commands(self, ctx: ClickContext, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False

    def shell_complete(self, ctx: ClickContext, incomplete: str) -> list[Any]:
        self._listing = True
        try:
            return super().shell_complete(ctx, incomplete)
        finally:
            self._listing = False

    def main(self, args=None, *a, **kw):  # noqa: ANN001, ANN002, ANN003
        self.invocation_argv = hoist_global_options(list(sys.argv[1:] if args is None else args))
        return super().main(self.invocation_argv, *a, **kw)

    def make_context(self, info_name, args, parent=None, **extra):  # noqa: ANN001, ANN003, ANN201
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except ClickUsageError as exc:  # a bad global option, e.g. --format xml
            self._audit_usage_error(None, exc)
            raise

    def invoke(self, ctx: typer.Context):  # noqa: ANN201
        try:
            return super().invoke(ctx)
        except ClickUsageError as exc:
            self._audit_usage_error(ctx, exc)
            raise

    def _audit_usage_error(self, ctx: typer.Context | None, exc: ClickUsageError) -> None:
        """Usage errors never reach a command, so the root audits them (and names the correlation id)."""
        from aurora_cli.cli.exit_codes import ExitCode
        from aurora_cli.cli.frame import GlobalOptions, Runtime

        argv = list(getattr(self, "invocation_argv", []))
        if ctx is not None and isinstance(ctx.obj, GlobalOptions):
            options = ctx.obj
        else:
            params = ctx.params if ctx is not None else {}
            options = GlobalOptions(
                config=params.get("config"),
                database_url=params.get("database_url"),
                correlation_id=_uuid_or_none(params.get("correlation_id")),
                argv=argv,
            )
        rt = Runtime(options)
        rt.audit_invocation(_command_words(argv) or "aurora", ExitCode.USAGE, exc.format_message())
        rt.close()
        exc.message = f"{exc.message} (correlation id {rt.correlation_id})"


def _command_words(argv: list[str]) -> str:
    """The command's own words (`users add`), not the values after its options: those may be secrets."""
    words: list[str] = []
    for token in _without_global_values(argv):
        if token in GLOBAL_FLAGS:
            continue
        if token.startswith("-"):
            break
        words.append(token)
    return " ".join(words)[:100]


def _uuid_or_none(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _without_global_values(args: list[str]) -> list[str]:
    """The arguments minus the values of valued global options (so `--format json` is not a word)."""
    out: list[str] = []
    skip = False
    for token in args:
        if skip:
            skip = False
            continue
        if token in GLOBAL_VALUED:
            skip = True
            continue
        out.append(token)
    return out


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("aurora-cli")
        except PackageNotFoundError:  # running from a source tree without an install
            number = "unknown"
        typer.echo(f"aurora {number}")
        raise typer.Exit(0)


# Plain Click help (rich_markup_mode=None): Rich's help renderer alone costs ~0.2 s of start-up.
app = typer.Typer(
    cls=AuroraGroup,
    name="aurora",
    help="Aurora: exact validator P&L and partner commissions, traceable to the provider data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", is_eager=True, callback=_version),
    ] = False,
    format: Annotated[
        OutputFormat,
        typer.Option(
            "--format", help="Output: table (for people, on stderr), json or csv (for scripts, on stdout)."
        ),
    ] = OutputFormat.TABLE,
    config: Annotated[
        Path | None, typer.Option("--config", help="Settings file (default ~/.config/aurora/aurora.toml).")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="External PostgreSQL URL (default: the embedded cluster)."),
    ] = None,
    correlation_id: Annotated[
        str | None,
        typer.Option("--correlation-id", help="Correlation id for the audit log (default: new UUID)."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show the correlation id and tracebacks.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and machine output.")] = False,
) -> None:
    from aurora_cli.cli.frame import GlobalOptions

    try:
        cid = uuid.UUID(correlation_id) if correlation_id else None
    except ValueError as exc:
        raise typer.BadParameter("must be a UUID", param_hint="--correlation-id") from exc
    argv = list(getattr(ctx.find_root().command, "invocation_argv", []))
    ctx.obj = GlobalOptions(
        format=format.value,
        config=config,
        database_url=database_url,
        correlation_id=cid,
        verbose=verbose,
        quiet=quiet,
        argv=argv,
    )


def main() -> None:
    import signal

    def terminate(signum: int, _frame: object) -> None:
        # systemd, timeouts and CI stop a job with SIGTERM: unwind like Ctrl-C, so the frame audits
        # the invocation (exit 1) and a running ingest marks its run FAILED. A second SIGTERM during
        # that cleanup ends the process at once.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise KeyboardInterrupt(f"terminated by signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    app()
