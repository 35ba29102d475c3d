"""The `aurora` command: global options and the command map. Each group lives in its own module."""

from __future__ import annotations

import sys
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

# typer >= 0.29 vendors click; the root group catches its usage errors to audit them.
from typer._click.exceptions import UsageError as ClickUsageError
from typer.core import TyperGroup

from aurora_cli.cli.exit_codes import ExitCode
from aurora_cli.cli.frame import GlobalOptions, Runtime

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
    """Root group: hoists global options and audits usage errors too."""

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


app = typer.Typer(
    cls=AuroraGroup,
    name="aurora",
    help="Aurora: exact validator P&L and partner commissions, traceable to the provider data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
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


def _register() -> None:
    from aurora_cli.cli import (
        audit_cmd,
        config_cmd,
        db_cmd,
        periods_cmd,
        pnl_cmd,
        providers_cmd,
        runs_cmd,
        session_cmd,
        steps_cmd,
        users_cmd,
    )

    app.add_typer(db_cmd.app, name="db")
    app.add_typer(config_cmd.app, name="config")
    app.add_typer(users_cmd.app, name="users")
    app.add_typer(session_cmd.app)  # unnamed: login, logout, whoami are top-level commands
    app.add_typer(periods_cmd.app, name="periods")
    app.add_typer(pnl_cmd.app, name="pnl")
    app.add_typer(runs_cmd.app, name="runs")
    app.add_typer(steps_cmd.app)  # unnamed: ingest, normalize, compute-pnl, run
    app.add_typer(providers_cmd.app, name="providers")
    from aurora_cli.cli import commissions_cmd

    commissions_cmd.register(app)
    from aurora_cli.cli import statements_cmd

    statements_cmd.register(app)
    app.add_typer(audit_cmd.app, name="audit")
    from aurora_cli.cli import dev_cmd

    app.add_typer(dev_cmd.app, name="dev")


_register()


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
