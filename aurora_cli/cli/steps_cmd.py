"""`aurora ingest|normalize|compute-pnl|run`: the period pipeline's commands and their summaries.

Each command parses its options, calls `services.pipeline.run_period` with the steps it names and
renders the step reports; the step order, the lock and the permission gate live in the service.
Without `--file`, ingest fetches from the chain's HTTP providers (`services.fetch`); `--period
previous` is resolved by `services.epochs` before anything runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from aurora_cli.cli.exit_codes import ExitCode
from aurora_cli.cli.frame import Runtime, command
from aurora_cli.cli.options import (
    AllowUnfinalized,
    Chain,
    FetchProviders,
    FetchValidators,
    ImportFile,
    NoWait,
    SkipInvalid,
)
from aurora_cli.cli.options import PipelinePeriod as Period
from aurora_cli.domain.permissions import Permission
from aurora_cli.services import epochs, pipeline
from aurora_cli.services.fetch import FetchProgress
from aurora_cli.services.progress import Progress as ProgressCallback

app = typer.Typer()

OUTCOME_CODES = {
    pipeline.StepOutcome.OK: ExitCode.OK,
    pipeline.StepOutcome.PARTIAL: ExitCode.PARTIAL,
    pipeline.StepOutcome.FAILED: ExitCode.ERROR,
}


@command(
    app,
    "ingest",
    path="ingest",
    permission=Permission.OPERATE,
    help="Stage provider data for one period: fetched from the HTTP providers, or with --file from a "
    "JSON Lines import file.\n\n"
    "Examples: aurora ingest --chain solana-mainnet --period previous; "
    "aurora ingest --chain solana-mainnet --period 850 --file rewards.jsonl",
)
def ingest_cmd(
    rt: Runtime,
    chain: Chain,
    period: Period,
    file: ImportFile = None,
    skip_invalid: SkipInvalid = False,
    no_wait: NoWait = False,
    provider: FetchProviders = None,
    validator: FetchValidators = None,
) -> int:
    return _run(
        rt,
        (pipeline.INGEST,),
        chain,
        period,
        no_wait,
        file=file,
        strict=not skip_invalid,
        providers=provider,
        validators=validator,
    )


@command(
    app,
    "normalize",
    path="normalize",
    permission=Permission.OPERATE,
    help="Turn staged payloads into canonical rows (highest-priority provider wins).",
)
def normalize_cmd(rt: Runtime, chain: Chain, period: Period, no_wait: NoWait = False) -> int:
    return _run(rt, (pipeline.NORMALIZE,), chain, period, no_wait)


@command(
    app,
    "compute-pnl",
    path="compute-pnl",
    permission=Permission.OPERATE,
    help="Compute validator P&L for a period from the canonical layer.",
)
def compute_pnl_cmd(rt: Runtime, chain: Chain, period: Period, no_wait: NoWait = False) -> int:
    return _run(rt, (pipeline.COMPUTE_PNL,), chain, period, no_wait)


@command(
    app,
    "run",
    path="run",
    permission=Permission.OPERATE,
    help="ingest → normalize → compute-pnl → compute-commissions → statements generate for one period, "
    "under one lock and correlation id (for cron/systemd).",
)
def run_cmd(
    rt: Runtime,
    chain: Chain,
    period: Period,
    file: ImportFile = None,
    skip_invalid: SkipInvalid = False,
    no_wait: NoWait = False,
    allow_unfinalized: AllowUnfinalized = False,
    provider: FetchProviders = None,
    validator: FetchValidators = None,
) -> int:
    return _run(
        rt,
        pipeline.PERIOD_STEPS,
        chain,
        period,
        no_wait,
        file=file,
        strict=not skip_invalid,
        allow_unfinalized=allow_unfinalized,
        providers=provider,
        validators=validator,
    )


def _run(
    rt: Runtime,
    steps: tuple[pipeline.Step, ...],
    chain: str,
    period: str,
    no_wait: bool,
    *,
    file: Path | None = None,
    strict: bool = True,
    allow_unfinalized: bool = False,
    providers: list[str] | None = None,
    validators: list[str] | None = None,
) -> int:
    resolved = epochs.resolve_period(rt.engine, chain, period, trail=rt.trail)
    if resolved != period:
        rt.output.say(f"period {period} of {chain} is {resolved}.")
    work = pipeline.PeriodWork(
        rt.engine,
        rt.trail,
        chain,
        resolved,
        file=file,
        strict=strict,
        allow_unfinalized=allow_unfinalized,
        providers=tuple(providers) if providers else None,
        validators=tuple(validators) if validators else None,
        actor_user_id=rt.user_id,
        track=lambda description: progress(rt, description),
        track_fetch=lambda: fetch_progress(rt),
    )
    run = pipeline.run_period(
        work,
        role=rt.scope.role,
        steps=steps,
        wait=not no_wait,
        lock_timeout_seconds=rt.settings.lock_timeout_seconds,
    )
    if run.withheld is not None:
        rt.output.say(
            f"Commissions and statements not computed: {rt.user.username} ({rt.user.role}) may not "
            f"{run.withheld.permission.value}; run `aurora {run.withheld.name}` as FINANCE or ADMIN."
        )
    for report in run.reports:
        _report_step(rt, report)
    if rt.output.format == "json":
        reports = run.reports
        doc = (
            reports[0].summary
            if len(reports) == 1
            else {
                "steps": [
                    {"step": r.step, "exit_code": int(OUTCOME_CODES[r.outcome]), **r.summary} for r in reports
                ]
            }
        )
        rt.output.single(doc)
    return int(OUTCOME_CODES[run.outcome])


@contextmanager
def progress(rt: Runtime, description: str) -> Iterator[ProgressCallback]:
    """A Rich progress bar on stderr; the callback takes (done, total or None)."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=rt.output.err,
        transient=True,
        disable=rt.options.quiet,
    )
    with bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@contextmanager
def fetch_progress(rt: Runtime) -> Iterator[FetchProgress]:
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


def _report_fetch(rt: Runtime, s: dict[str, Any]) -> None:
    for run in s["runs"]:
        rt.output.say(
            f"ingest {s['chain_id']} {s['period_identifier']} from {run['provider']}: run {run['run_id']} "
            f"{run['status']}; {run['items']} items, {run['staged']} staged, {run['unchanged']} unchanged, "
            f"{len(run['failed'])} failed, {len(run['not_yet_available'])} not yet available; "
            f"{run['requests']} requests, {run['retries']} retries."
        )
        for item in run["failed"]:
            rt.output.say(f"  failed: {item['validator_key']} {item['data_type']} ({item['endpoint']}): {item['reason']}")
        for item in run["not_yet_available"]:
            rt.output.say(f"  not yet available: {item['validator_key']} {item['data_type']}: {item['reason']}")


def _report_step(rt: Runtime, report: pipeline.StepReport) -> None:
    s = report.summary
    if report.step == "fetch":
        _report_fetch(rt, s)
    elif report.step == "ingest":
        note = "nothing new: identical to what is staged" if s["staged"] == 0 else f"{s['staged']} staged"
        rt.output.say(
            f"ingest {s['chain_id']} {s['period_identifier']}: run {s['run_id']} {s['status']}; "
            f"{s['lines_read']} lines, {s['payloads']} payloads, {note}, {s['unchanged']} unchanged."
        )
        if s["new_validators"]:
            rt.output.say(
                f"Registered {len(s['new_validators'])} new validator(s): {_some(s['new_validators'])}"
            )
        for item in s["invalid"]:
            rt.output.say(f"  skipped line {item['line']}: {item['reason']}")
    elif report.step == "normalize":
        rt.output.say(
            f"normalize {s['chain_id']} {s['period_identifier']}: {s['payloads']} payloads → "
            f"{s['fees_rows']} fees, {s['mev_rows']} MEV, {s['reward_rows']} reward, {s['meta_rows']} meta rows."
        )
        for bad in s["invalid_payloads"]:
            rt.output.say(
                f"  [yellow]invalid payload {bad['payload_id']}[/yellow] ({bad['validator_key']} "
                f"{bad['data_type']}): {bad['reason']}"
            )
    elif report.step == "compute-pnl":
        rt.output.say(
            f"compute-pnl {s['chain_id']} {s['period_identifier']}: {s['validators']} validators, "
            f"{s['changed']} changed, {s['removed']} removed."
        )
    elif report.step == "compute-commissions":
        locked = ", ".join(p["partner_name"] for p in s["locked_partners"])
        rt.output.say(
            f"compute-commissions {s['chain_id']} {s['period_identifier']}: {s['rules']} rule(s), lines "
            f"{s['lines_added']} added, {s['lines_updated']} updated, {s['lines_deleted']} deleted, "
            f"{s['lines_unchanged']} unchanged" + (f"; locked, left untouched: {locked}." if locked else ".")
        )
    elif "skipped" in s:
        rt.output.say(
            f"statements {s['chain_id']} {s['period_identifier']}: not generated yet, the period is not final "
            "(`aurora periods finalize`, or --allow-unfinalized)."
        )
    else:
        rt.output.say(
            f"statements {chain_period(s)}: {s['created']} created, {s['updated']} updated, "
            f"{s['unchanged']} unchanged, {s['removed']} removed."
        )


def chain_period(summary: dict) -> str:
    return f"{summary.get('chain_id')} {', '.join(summary.get('periods') or [])}".strip()


def _some(keys: list[str], shown: int = 5) -> str:
    """A few keys for a sentence; `--format json` and `runs list` have them all."""
    more = len(keys) - shown
    return ", ".join(keys[:shown]) + (f" and {more} more" if more > 0 else "")
