"""Provider commands (providers list/check, runs show, periods sync) and the HTTP-fetch pieces the
pipeline commands use: `--period previous`, the per-provider progress bars, the fetch report."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aurora_cli.cli.frame import Runtime, command
from aurora_cli.domain.permissions import Permission
from aurora_cli.errors import NotFound
from aurora_cli.services import epochs
from aurora_cli.services import providers as provider_service

providers_app = typer.Typer(help="Data providers: configuration and reachability.", no_args_is_help=True)

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


@command(providers_app, "list", path="providers list", permission=Permission.OPERATE, help="List providers.")
def providers_list(rt: Runtime) -> None:
    with rt.transaction() as session:
        rows = provider_service.list_providers(session)
    shown = rows if rt.output.is_machine else [{**r, "mapped_roles": ", ".join(r["mapped_roles"])} for r in rows]
    rt.output.listing(shown, LIST_COLUMNS, title="Providers (secrets masked)")


@command(
    providers_app,
    "check",
    path="providers check",
    permission=Permission.OPERATE,
    help="One cheap request per provider: reachability and latency (exit 1 if an enabled one is down).",
)
def providers_check(
    rt: Runtime, names: Annotated[list[str] | None, typer.Argument(help="Only these providers.")] = None
) -> int:
    with rt.transaction() as session:
        results = provider_service.check_providers(session, names or None)
    rows = [r.to_json() for r in results]
    rt.output.listing(rows, ["provider_name", "is_enabled", "reachable", "latency_ms", "detail"], title="Providers")
    down = [r for r in results if r.reachable is False and r.is_enabled]
    for r in down:
        rt.output.err.print(f"[red]offline:[/red] {r.detail}", highlight=False)
    return 1 if down else 0


# -- runs show, periods sync --------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    from aurora_cli.cli.pipeline_cmd import periods_app, runs_app

    app.add_typer(providers_app, name="providers")

    @command(runs_app, "show", path="runs show", permission=Permission.READ_PNL, help="One ingestion run and its per-endpoint statistics.")
    def runs_show(rt: Runtime, run_id: Annotated[str, typer.Argument(help="The run id (UUID).")]) -> None:
        from aurora_cli.services import ingest

        with rt.transaction() as session:
            rows = [r for r in ingest.list_runs(session, chain_id=None, period_id=None, limit=100000) if str(r["run_id"]) == run_id]
        if not rows:
            raise NotFound(f"no ingestion run {run_id}: see `aurora runs list`.")
        run = rows[0]
        if rt.output.is_machine:
            rt.output.single(run)
            return
        meta = run.get("metadata") or {}
        rt.output.single({k: v for k, v in run.items() if k != "metadata"}, title="Ingestion run")
        endpoints = meta.get("endpoints") or {}
        rt.output.listing(
            [
                {"endpoint": name, **{k: v for k, v in s.items() if k != "statuses"},
                 "statuses": ", ".join(f"{code}×{n}" for code, n in s.get("statuses", {}).items())}
                for name, s in endpoints.items()
            ],
            ["endpoint", "requests", "retries", "statuses", "bytes", "elapsed_ms"],
            title="Requests per endpoint",
        )
        for item in meta.get("failed_items") or []:
            rt.output.say(f"  failed: {item['validator_key']} {item['data_type']} ({item['endpoint']}): {item['reason']}")
        for item in meta.get("not_yet_available") or []:
            rt.output.say(f"  not yet available: {item['validator_key']} {item['data_type']}: {item['reason']}")

    @command(periods_app, "sync", path="periods sync", permission=Permission.OPERATE, help="Register Solana epochs with their bounds from the RPC.")
    def periods_sync(
        rt: Runtime,
        chain: Annotated[str, typer.Option("--chain", help="An epoch chain, e.g. solana-mainnet.")],
        first: Annotated[int | None, typer.Option("--from", min=0, help="First epoch (default: --to).")] = None,
        last: Annotated[int | None, typer.Option("--to", min=0, help="Last epoch (default: the newest complete one).")] = None,
    ) -> None:
        result = epochs.sync_epochs(rt.engine, chain, first=first, last=last)
        with rt.transaction() as session:
            if result.created:
                rt.audit(session, action="CREATE_PERIOD", resource_type="chain", resource_id=chain, after=result.summary())
        rt.output.say(
            f"periods sync {chain}: {len(result.created)} epoch(s) registered"
            + (f" ({', '.join(result.created)})" if result.created else "")
            + f", {len(result.existing)} already registered; current epoch {result.current_epoch}."
        )
        if rt.output.is_machine:
            rt.output.single(result.summary())


# -- pieces used by the pipeline commands --------------------------------------------------------


def resolve_period_word(rt: Runtime, chain: str, period: str) -> str:
    """`previous` → the newest complete period, printed and audited; anything else unchanged."""
    if period != epochs.PREVIOUS:
        return period
    resolved = epochs.resolve_previous(rt.engine, chain)
    with rt.transaction() as session:
        rt.audit(
            session,
            action="COMMAND",
            resource_type="period",
            resource_id=f"{chain}/{resolved}",
            after={"period": epochs.PREVIOUS, "resolved": resolved},
        )
    rt.output.say(f"period previous of {chain} is {resolved}.")
    return resolved


@contextmanager
def fetch_progress(rt: Runtime) -> Iterator[Callable[[str, int, int, int], None]]:
    """One bar per provider: items done/total and retries so far; hidden with --quiet or off a terminal."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("retries {task.fields[retries]}"),
        TimeElapsedColumn(),
        console=rt.output.err,
        transient=True,
        disable=rt.options.quiet or not rt.output.err.is_terminal,
    )
    tasks: dict[str, Any] = {}
    with bar:

        def update(provider: str, done: int, total: int, retries: int) -> None:
            if provider not in tasks:
                tasks[provider] = bar.add_task(f"fetch {provider}", total=total, retries=0)
            bar.update(tasks[provider], completed=done, total=total, retries=retries)

        yield update


def report_fetch(rt: Runtime, summary: dict[str, Any]) -> None:
    for run in summary["runs"]:
        rt.output.say(
            f"ingest {summary['chain_id']} {summary['period_identifier']} from {run['provider']}: run {run['run_id']} "
            f"{run['status']}; {run['items']} items, {run['staged']} staged, {run['unchanged']} unchanged, "
            f"{len(run['failed'])} failed, {len(run['not_yet_available'])} not yet available; "
            f"{run['requests']} requests, {run['retries']} retries."
        )
        for item in run["failed"]:
            rt.output.say(f"  failed: {item['validator_key']} {item['data_type']} ({item['endpoint']}): {item['reason']}")
        for item in run["not_yet_available"]:
            rt.output.say(f"  not yet available: {item['validator_key']} {item['data_type']}: {item['reason']}")
