"""`aurora runs list`: the ingestion runs, newest first. Parse, call `services.ingest`, render."""

from __future__ import annotations

from typing import Annotated

import typer

from aurora_cli.cli.exit_codes import UsageError
from aurora_cli.cli.frame import Runtime, command
from aurora_cli.cli.options import ChainFilter
from aurora_cli.domain.permissions import Permission
from aurora_cli.services import ingest

app = typer.Typer(help="Ingestion runs.", no_args_is_help=True)


@command(
    app,
    "list",
    path="runs list",
    permission=Permission.READ_PNL,
    help="List ingestion runs, newest first.",
)
def runs_list(
    rt: Runtime,
    chain: ChainFilter = None,
    period: Annotated[str | None, typer.Option("--period", help="Only this period (needs --chain).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many runs.")] = 50,
) -> None:
    if period and not chain:
        raise UsageError("--period needs --chain.")
    with rt.transaction() as session:
        rows = ingest.list_runs(session, chain_id=chain, period=period, limit=limit)
    rt.output.listing(
        rows,
        ingest.RUN_COLUMNS,
        title="Ingestion runs",
        table_columns=[
            "started_at",
            "chain_id",
            "period_identifier",
            "provider",
            "status",
            "records_fetched",
            "records_staged",
            "error_message",
        ],
    )
