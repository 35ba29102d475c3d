"""`aurora runs list`: the ingestion runs, newest first. Parse, call `services.ingest`, render."""

from __future__ import annotations

import uuid
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


@command(
    app,
    "show",
    path="runs show",
    permission=Permission.READ_PNL,
    help="One ingestion run and its per-endpoint request statistics.\n\nExample: aurora runs show 2f1c…",
)
def runs_show(rt: Runtime, run_id: Annotated[uuid.UUID, typer.Argument(help="The run id (UUID).")]) -> None:
    with rt.transaction() as session:
        run = ingest.get_run(session, run_id)
    if rt.output.is_machine:
        rt.output.single(run)
        return
    meta = run.get("metadata") or {}
    rt.output.single({k: v for k, v in run.items() if k != "metadata"}, title="Ingestion run")
    endpoints = meta.get("endpoints") or {}
    rt.output.listing(
        [
            {
                "endpoint": name,
                **{k: v for k, v in stats.items() if k != "statuses"},
                "statuses": ", ".join(f"{code}×{n}" for code, n in stats.get("statuses", {}).items()),
            }
            for name, stats in endpoints.items()
        ],
        ["endpoint", "requests", "retries", "statuses", "bytes", "elapsed_ms"],
        title="Requests per endpoint",
    )
    for item in meta.get("failed_items") or []:
        rt.output.say(f"  failed: {item['validator_key']} {item['data_type']} ({item['endpoint']}): {item['reason']}")
    for item in meta.get("not_yet_available") or []:
        rt.output.say(f"  not yet available: {item['validator_key']} {item['data_type']}: {item['reason']}")
