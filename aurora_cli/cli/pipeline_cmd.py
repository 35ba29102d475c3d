"""Pipeline commands: periods, ingest, normalize, compute-pnl, run; and their read views
(pnl show, runs list)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from aurora_cli.cli.frame import Runtime, command
from aurora_cli.domain.money import to_display, to_plain_string
from aurora_cli.domain.permissions import Permission, allows
from aurora_cli.errors import ExitCode, UsageError
from aurora_cli.render.output import short_key
from aurora_cli.cli import providers_cmd
from aurora_cli.services import fetch, ingest, periods, pipeline, pnl

Chain = Annotated[str, typer.Option("--chain", help="Chain id, e.g. solana-mainnet.")]
PeriodOpt = Annotated[
    str, typer.Option("--period", help="Epoch number (Solana) or UTC day YYYY-MM-DD (Ethereum).")
]
ProviderOpt = Annotated[
    list[str] | None, typer.Option("--provider", help="Without --file: fetch only from this provider (repeatable).")
]
ValidatorOpt = Annotated[
    list[str] | None, typer.Option("--validator", help="Without --file: fetch only this validator key (repeatable).")
]
NoWait = Annotated[bool, typer.Option("--no-wait", help="Exit 5 at once if another run holds this period.")]
FileOpt = Annotated[
    Path | None, typer.Option("--file", help="A JSON Lines import file (the `file` provider).")
]
SkipInvalid = Annotated[
    bool,
    typer.Option(
        "--skip-invalid/--strict",
        help="--strict (default) stages nothing when any line is bad; --skip-invalid keeps the good lines.",
    ),
]

periods_app = typer.Typer(help="Accounting periods: epochs and UTC days.", no_args_is_help=True)
pnl_app = typer.Typer(help="Validator P&L.", no_args_is_help=True)
runs_app = typer.Typer(help="Ingestion runs.", no_args_is_help=True)


@contextmanager
def progress(rt: Runtime, description: str) -> Iterator[Callable[[int, int | None], None]]:
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


# -- periods -------------------------------------------------------------------------------------

PERIOD_COLUMNS = [
    "period_id",
    "chain_id",
    "period_identifier",
    "period_start",
    "period_end",
    "is_finalized",
    "finalized_at",
]


@command(
    periods_app,
    "add",
    path="periods add",
    permission=Permission.OPERATE,
    help="Register a period (bounds are derived for Ethereum days).",
)
def periods_add(
    rt: Runtime,
    chain: Chain,
    period: PeriodOpt,
    start: Annotated[
        datetime | None,
        typer.Option(
            "--start",
            help="ISO 8601 with offset, e.g. 2025-09-01T00:00:00Z.",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"],
        ),
    ] = None,
    end: Annotated[
        datetime | None,
        typer.Option(
            "--end",
            help="ISO 8601 with offset (exclusive).",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"],
        ),
    ] = None,
) -> None:
    with rt.transaction() as session:
        row, created = periods.add_period(session, chain, period, start, end)
        doc = {c: getattr(row, c) for c in PERIOD_COLUMNS}
        if created:
            rt.audit(
                session,
                action="CREATE_PERIOD",
                resource_type="period",
                resource_id=str(row.period_id),
                after=doc,
            )
    rt.output.say(f"{'Added' if created else 'Already registered:'} period {period} of {chain}.")
    rt.output.single(doc, title="Period")


@command(periods_app, "list", path="periods list", permission=Permission.READ_PNL, help="List periods.")
def periods_list(
    rt: Runtime, chain: Annotated[str | None, typer.Option("--chain", help="Only this chain.")] = None
) -> None:
    with rt.transaction() as session:
        rows = [{c: getattr(p, c) for c in PERIOD_COLUMNS} for p in periods.list_periods(session, chain)]
    rt.output.listing(
        rows,
        PERIOD_COLUMNS,
        title="Periods",
        table_columns=["chain_id", "period_identifier", "period_start", "period_end", "is_finalized"],
    )


@command(
    periods_app,
    "finalize",
    path="periods finalize",
    permission=Permission.OPERATE,
    help="Mark final every period with at least the chain's finality lag of newer periods.",
)
def periods_finalize(rt: Runtime, chain: Chain) -> None:
    with rt.transaction() as session:
        result = periods.finalize(session, chain)
        if result.finalized:
            rt.audit(
                session,
                action="FINALIZE_PERIOD",
                resource_type="chain",
                resource_id=chain,
                after={"finalized": result.finalized},
            )
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


# -- the steps -----------------------------------------------------------------------------------


def _report_step(rt: Runtime, report: pipeline.StepReport) -> None:
    s = report.summary
    if report.step == "fetch":
        providers_cmd.report_fetch(rt, s)
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


def _emit(rt: Runtime, reports: list[pipeline.StepReport]) -> int:
    for report in reports:
        _report_step(rt, report)
    if rt.output.format == "json":
        doc = (
            reports[0].summary
            if len(reports) == 1
            else {"steps": [{"step": r.step, "exit_code": int(r.exit_code), **r.summary} for r in reports]}
        )
        rt.output.single(doc)
    return int(max((r.exit_code for r in reports), default=ExitCode.OK))


def register(app: typer.Typer) -> None:
    app.add_typer(periods_app, name="periods")
    app.add_typer(pnl_app, name="pnl")
    app.add_typer(runs_app, name="runs")

    @command(
        app,
        "ingest",
        path="ingest",
        permission=Permission.OPERATE,
        help="Stage provider data for one period (with --file: the JSON Lines import format).",
    )
    def ingest_cmd(
        rt: Runtime,
        chain: Chain,
        period: PeriodOpt,
        file: FileOpt = None,
        skip_invalid: SkipInvalid = False,
        no_wait: NoWait = False,
        provider: ProviderOpt = None,
        validator: ValidatorOpt = None,
    ) -> int:
        period = providers_cmd.resolve_period_word(rt, chain, period)
        if file is None:  # fetch from the HTTP providers (services.fetch)
            with rt.period_lock(chain, period, no_wait=no_wait), providers_cmd.fetch_progress(rt) as bar:
                report = fetch.run_fetch_step(
                    rt.engine, rt.audit, chain_id=chain, period=period, providers=provider,
                    validators=validator, on_progress=bar,
                )
            return _emit(rt, [report])
        path = file
        with rt.period_lock(chain, period, no_wait=no_wait), progress(rt, f"ingest {path.name}") as bar:
            report = pipeline.run_ingest_file(
                rt.engine,
                rt.audit,
                chain_id=chain,
                period=period,
                path=path,
                strict=not skip_invalid,
                on_progress=bar,
            )
        return _emit(rt, [report])

    @command(
        app,
        "normalize",
        path="normalize",
        permission=Permission.OPERATE,
        help="Turn staged payloads into canonical rows (highest-priority provider wins).",
    )
    def normalize_cmd(rt: Runtime, chain: Chain, period: PeriodOpt, no_wait: NoWait = False) -> int:
        period = providers_cmd.resolve_period_word(rt, chain, period)
        with rt.period_lock(chain, period, no_wait=no_wait), progress(rt, "normalize") as bar:
            report = pipeline.run_normalize(
                rt.engine, rt.audit, chain_id=chain, period=period, on_progress=bar
            )
        return _emit(rt, [report])

    @command(
        app,
        "compute-pnl",
        path="compute-pnl",
        permission=Permission.OPERATE,
        help="Compute validator P&L for a period from the canonical layer.",
    )
    def compute_pnl_cmd(rt: Runtime, chain: Chain, period: PeriodOpt, no_wait: NoWait = False) -> int:
        period = providers_cmd.resolve_period_word(rt, chain, period)
        with rt.period_lock(chain, period, no_wait=no_wait):
            report = pipeline.run_compute_pnl(rt.engine, rt.audit, chain_id=chain, period=period)
        return _emit(rt, [report])

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
        period: PeriodOpt,
        file: FileOpt = None,
        skip_invalid: SkipInvalid = False,
        no_wait: NoWait = False,
        allow_unfinalized: Annotated[
            bool,
            typer.Option(
                "--allow-unfinalized",
                help="Generate statements even if the period is not final yet (recorded on them).",
            ),
        ] = False,
        provider: ProviderOpt = None,
        validator: ValidatorOpt = None,
    ) -> int:
        period = providers_cmd.resolve_period_word(rt, chain, period)
        reports: list[pipeline.StepReport] = []
        with rt.period_lock(chain, period, no_wait=no_wait):
            if file is None:  # fetch from the HTTP providers; nothing fetched → stop here
                with providers_cmd.fetch_progress(rt) as fetch_bar:
                    reports.append(
                        fetch.run_fetch_step(
                            rt.engine, rt.audit, chain_id=chain, period=period, providers=provider,
                            validators=validator, on_progress=fetch_bar,
                        )
                    )
                if reports[-1].summary["status"] == "FAILED":
                    return _emit(rt, reports)
            else:
                with progress(rt, f"ingest {file.name}") as bar:
                    reports.append(
                        pipeline.run_ingest_file(
                            rt.engine,
                            rt.audit,
                            chain_id=chain,
                            period=period,
                            path=file,
                            strict=not skip_invalid,
                            on_progress=bar,
                        )
                    )
            with progress(rt, "normalize") as bar:
                reports.append(
                    pipeline.run_normalize(
                        rt.engine, rt.audit, chain_id=chain, period=period, on_progress=bar
                    )
                )
            reports.append(pipeline.run_compute_pnl(rt.engine, rt.audit, chain_id=chain, period=period))
            if not allows(rt.user.role, Permission.MANAGE_COMMISSIONS):
                # Least privilege: an OPS service token loads data; commissions need FINANCE or ADMIN.
                rt.output.say(
                    f"Commissions and statements not computed: {rt.user.username} ({rt.user.role}) may not "
                    f"{Permission.MANAGE_COMMISSIONS.value}; run `aurora compute-commissions` as FINANCE or ADMIN."
                )
                return _emit(rt, reports)
            reports.append(
                pipeline.run_compute_commissions(rt.engine, rt.audit, chain_id=chain, period=period)
            )
            reports.append(
                pipeline.run_generate_statements(
                    rt.engine,
                    rt.audit,
                    chain_id=chain,
                    period=period,
                    allow_unfinalized=allow_unfinalized,
                    actor_user_id=rt.user_id,
                )
            )
        return _emit(rt, reports)


# -- read views ------------------------------------------------------------------------------------

PNL_AMOUNTS = [
    "exec_fees_native",
    "mev_tips_native",
    "vote_rewards_native",
    "commission_native",
    "total_revenue_native",
    "penalties_native",
    "net_revenue_native",
]


@command(
    pnl_app,
    "show",
    path="pnl show",
    permission=Permission.READ_PNL,
    help="Validator P&L per period, in native units (and display units in the table).",
)
def pnl_show(
    rt: Runtime,
    chain: Chain,
    period: Annotated[str | None, typer.Option("--period", help="Only this period.")] = None,
    validator: Annotated[str | None, typer.Option("--validator", help="Only this validator key.")] = None,
) -> None:
    with rt.transaction() as session:
        rows, decimals = pnl.pnl_rows(
            session, chain, period, validator, allowed_validators=rt.user.allowed_validator_keys
        )
        unit = periods.get_chain(session, chain).display_unit or "display"
    if rt.output.is_machine:
        rt.output.listing(rows, pnl.PNL_COLUMNS)
        return
    shown = []
    for row in (
        [*rows, {"period_identifier": "TOTAL", "validator_key": "", **pnl.totals(rows)}] if rows else []
    ):
        display = {
            k: f"{to_plain_string(row[k])}\n[dim]{to_plain_string(to_display(row[k], decimals))} {unit}[/dim]"
            for k in PNL_AMOUNTS
        }
        shown.append(
            {
                "period_identifier": row["period_identifier"],
                "validator_key": row.get("display_name") or short_key(row["validator_key"]),
                **display,
            }
        )
    headers = {
        "period_identifier": "period",
        "validator_key": "validator",
        "exec_fees_native": "exec fees",
        "mev_tips_native": "MEV tips",
        "vote_rewards_native": "vote rewards",
        "commission_native": "commission",
        "total_revenue_native": "total revenue",
        "penalties_native": "penalties",
        "net_revenue_native": "net revenue",
    }
    rt.output.listing(
        shown,
        ["period_identifier", "validator_key", *PNL_AMOUNTS],
        title=f"Validator P&L — {chain} (native units, {unit} below)",
        headers=headers,
        right_align=PNL_AMOUNTS,
    )
    if not rows:
        rt.output.say("No P&L yet: run `aurora compute-pnl` (or `aurora run`) for a period.")


RUN_COLUMNS = [
    "run_id",
    "chain_id",
    "period_id",
    "period_identifier",
    "provider",
    "status",
    "started_at",
    "completed_at",
    "records_fetched",
    "records_staged",
    "error_message",
    "metadata",
]


@command(
    runs_app,
    "list",
    path="runs list",
    permission=Permission.READ_PNL,
    help="List ingestion runs, newest first.",
)
def runs_list(
    rt: Runtime,
    chain: Annotated[str | None, typer.Option("--chain", help="Only this chain.")] = None,
    period: Annotated[str | None, typer.Option("--period", help="Only this period (needs --chain).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many runs.")] = 50,
) -> None:
    if period and not chain:
        raise UsageError("--period needs --chain.")
    with rt.transaction() as session:
        period_id = periods.get_period(session, chain, period).period_id if period and chain else None
        rows = ingest.list_runs(session, chain_id=chain, period_id=period_id, limit=limit)
    rt.output.listing(
        rows,
        RUN_COLUMNS,
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
