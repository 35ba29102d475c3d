"""`aurora periods add|list|finalize|sync`: parse, call `services.periods` / `services.epochs`, render."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from aurora_cli.cli.frame import Runtime, command
from aurora_cli.cli.options import Chain, ChainFilter, Period, moment_option
from aurora_cli.domain.permissions import Permission
from aurora_cli.services import periods

app = typer.Typer(help="Accounting periods: epochs and UTC days.", no_args_is_help=True)

@command(
    app,
    "add",
    path="periods add",
    permission=Permission.OPERATE,
    help="Register a period (bounds are derived for Ethereum days).\n\n"
    "Example: aurora periods add --chain solana-mainnet --period 850 "
    "--start 2025-09-01T00:00:00Z --end 2025-09-03T04:00:00Z",
)
def periods_add(
    rt: Runtime,
    chain: Chain,
    period: Period,
    start: Annotated[str | None, moment_option("--start", "Start of the period")] = None,
    end: Annotated[str | None, moment_option("--end", "End of the period (exclusive)")] = None,
) -> None:
    # The option callbacks have turned --start/--end into aware datetimes.
    start_at: datetime | None = start  # type: ignore[assignment]
    end_at: datetime | None = end  # type: ignore[assignment]
    with rt.transaction() as session:
        row, created = periods.add_period(session, rt.trail, chain, period, start_at, end_at)
        doc = periods.period_row(row)
    rt.output.say(f"{'Added' if created else 'Already registered:'} period {period} of {chain}.")
    rt.output.single(doc, title="Period")


@command(app, "list", path="periods list", permission=Permission.READ_PNL, help="List periods.")
def periods_list(rt: Runtime, chain: ChainFilter = None) -> None:
    with rt.transaction() as session:
        rows = [periods.period_row(p) for p in periods.list_periods(session, chain)]
    rt.output.listing(
        rows,
        periods.PERIOD_COLUMNS,
        title="Periods",
        table_columns=["chain_id", "period_identifier", "period_start", "period_end", "is_finalized"],
    )


@command(
    app,
    "finalize",
    path="periods finalize",
    permission=Permission.OPERATE,
    help="Mark final every period with at least the chain's finality lag of newer periods.",
)
def periods_finalize(rt: Runtime, chain: Chain) -> None:
    with rt.transaction() as session:
        result = periods.finalize(session, rt.trail, chain)
    doc = {
        "chain_id": chain,
        "finalized": result.finalized,
        "already_final": result.already_final,
        "waiting_for_finality": result.waiting,
    }
    rt.output.say(
        f"Finalized {len(result.finalized)} period(s) of {chain}"
        + (f"; waiting: {', '.join(result.waiting)}." if result.waiting else ".")
    )
    if rt.output.is_machine:
        rt.output.single(doc)


@command(
    app,
    "sync",
    path="periods sync",
    permission=Permission.OPERATE,
    help="Register Solana epochs with their bounds from the RPC (getEpochSchedule, getBlockTime).\n\n"
    "Example: aurora periods sync --chain solana-mainnet --from 850 --to 852",
)
def periods_sync(
    rt: Runtime,
    chain: Chain,
    first: Annotated[int | None, typer.Option("--from", min=0, help="First epoch (default: --to).")] = None,
    last: Annotated[
        int | None, typer.Option("--to", min=0, help="Last epoch (default: the newest complete one).")
    ] = None,
) -> None:
    from aurora_cli.services import epochs  # the RPC client and the models: `periods sync` only

    result = epochs.sync_epochs(rt.engine, chain, first=first, last=last, trail=rt.trail)
    rt.output.say(
        f"periods sync {chain}: {len(result.created)} epoch(s) registered"
        + (f" ({', '.join(result.created)})" if result.created else "")
        + f", {len(result.existing)} already registered; current epoch {result.current_epoch}."
    )
    if rt.output.is_machine:
        rt.output.single(result.summary())
