"""The `aurora` command: global options and the command map. Each group lives in its own module."""

from __future__ import annotations

import sys
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

# typer >= 0.29 vendors click; the root group catches its usage errors to audit them.
from typer._click.exceptions import UsageError
from typer.core import TyperGroup

from aurora_cli.cli.frame import GlobalOptions, Runtime
from aurora_cli.errors import ExitCode

# Options that belong to the whole invocation; accepted anywhere on the line.
GLOBAL_FLAGS = ("--verbose", "-v", "--quiet", "-q")
GLOBAL_VALUED = ("--format", "--config", "--database-url", "--correlation-id")
# Subcommands with an option of the same name of their own.
OWN_FORMAT = ("export",)


def hoist_global_options(args: list[str]) -> list[str]:
    """Move global options written after the subcommand to the front (`aurora pnl show --format json`)."""
    positionals = [a for a in args if not a.startswith("-")]
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

    def invoke(self, ctx: typer.Context):  # noqa: ANN201
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            options = ctx.obj if isinstance(ctx.obj, GlobalOptions) else GlobalOptions()
            path = " ".join(a for a in options.argv if not a.startswith("-"))[:100] or "aurora"
            rt = Runtime(options)
            rt.audit_invocation(path, ExitCode.USAGE, exc.format_message())
            rt.close()
            raise


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
    from aurora_cli.cli import audit_cmd, config_cmd, db_cmd, pipeline_cmd, users_cmd

    app.add_typer(db_cmd.app, name="db")
    app.add_typer(config_cmd.app, name="config")
    app.add_typer(users_cmd.app, name="users")
    users_cmd.register_session_commands(app)
    pipeline_cmd.register(app)
    from aurora_cli.cli import commissions_cmd

    commissions_cmd.register(app)
    from aurora_cli.cli import statements_cmd

    statements_cmd.register(app)
    app.add_typer(audit_cmd.app, name="audit")


_register()


def main() -> None:
    app()
