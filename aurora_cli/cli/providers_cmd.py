"""`aurora providers list|check`: the configured data providers and whether they answer.

Parse, call `services.providers`, render. Secrets never reach this module: the service masks base
URLs and names only the environment variable an API key comes from.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from aurora_cli.cli.exit_codes import ExitCode
from aurora_cli.cli.frame import Runtime, command
from aurora_cli.domain.permissions import Permission
from aurora_cli.services import providers as provider_service

app = typer.Typer(help="Data providers: configuration and reachability.", no_args_is_help=True)

LIST_COLUMNS = [
    "provider_name",
    "provider_type",
    "base_url",
    "rate_limit_per_minute",
    "timeout_seconds",
    "is_enabled",
    "api_key_env",
    "mapped_roles",
]


@command(app, "list", path="providers list", permission=Permission.OPERATE, help="List providers.")
def providers_list(rt: Runtime) -> None:
    with rt.transaction() as session:
        rows = provider_service.list_providers(session)
    shown = rows if rt.output.is_machine else [{**r, "mapped_roles": ", ".join(r["mapped_roles"])} for r in rows]
    rt.output.listing(shown, LIST_COLUMNS, title="Providers (secrets masked)")


@command(
    app,
    "check",
    path="providers check",
    permission=Permission.OPERATE,
    help="One cheap request per provider: reachability and latency (exit 1 if an enabled one is down).\n\n"
    "Example: aurora providers check solana-rpc jito",
)
def providers_check(
    rt: Runtime, names: Annotated[list[str] | None, typer.Argument(help="Only these providers.")] = None
) -> int:
    with rt.transaction() as session:
        results = provider_service.check_providers(session, names or None)
    rows = [r.to_json() for r in results]
    rt.output.listing(rows, ["provider_name", "is_enabled", "reachable", "latency_ms", "detail"], title="Providers")
    down = [r for r in results if r.reachable is False and r.is_enabled]
    for r in down:  # a human sentence: --quiet leaves only the exit code
        rt.output.say(f"[red]offline:[/red] {escape(r.detail)}")
    return int(ExitCode.ERROR if down else ExitCode.OK)
