"""`aurora export statement|pnl`: parse, call `services.exports`, say where the bytes went; no rules here."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from aurora_cli.cli.finance_words import in_flag_words, require_period_or_month
from aurora_cli.cli.frame import Runtime, command
from aurora_cli.cli.options import Chain, Month, Out, PeriodSelector, RequiredPartner
from aurora_cli.domain.permissions import Permission
from aurora_cli.services import exports
from aurora_cli.services.statements import Viewer

export_app = typer.Typer(help="Export statements (CSV, PDF, JSON) and P&L (CSV, JSON).", no_args_is_help=True)


class StatementFormat(StrEnum):
    CSV = "csv"
    PDF = "pdf"
    JSON = "json"


class PnlFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def _out_path(out: str) -> Path | None:
    return None if out == "-" else Path(out)


def _report_export(rt: Runtime, result: exports.ExportResult, what: str) -> None:
    if result.path is None:
        typer.echo(result.content.decode("utf-8"), nl=False)
    rt.output.say(f"Wrote {what} to {result.path or 'stdout'} ({result.format}).")
    rt.output.say(f"SHA-256: {result.sha256}")
    if result.path is not None and rt.output.is_machine:
        rt.output.single(result.audit_after())


@command(
    export_app,
    "statement",
    path="export statement",
    permission=Permission.READ_COMMISSIONS,
    help="A partner's statement for a period or a month as CSV, PDF or JSON.",
)
@in_flag_words
def export_statement(
    rt: Runtime,
    partner: RequiredPartner,
    chain: Chain,
    format: Annotated[StatementFormat, typer.Option("--format", help="csv, pdf or json.")],
    out: Out,
    period: PeriodSelector = None,
    month: Month = None,
) -> None:
    require_period_or_month(period, month)
    with rt.transaction() as session:
        result = exports.export_statement(
            session,
            partner=partner,
            chain_id=chain,
            period=period,
            month=month,
            fmt=format.value,
            out=_out_path(out),
            viewer=Viewer.of(rt.user),
            issuer_name=rt.settings.issuer_name,
            audit=rt.trail,
        )
    _report_export(rt, result, f"the statement of {result.scope} ({result.rows} lines)")
    if result.missing_periods:
        rt.output.say(
            f"[yellow]Not included:[/yellow] period(s) {', '.join(result.missing_periods)} have commission "
            f"lines for {partner} but no statement yet: run `aurora statements generate --chain {chain}`."
        )


@command(
    export_app,
    "pnl",
    path="export pnl",
    permission=Permission.READ_PNL,
    help="Validator P&L of a chain (one period or all) as CSV or JSON, amounts in native units.",
)
@in_flag_words
def export_pnl(
    rt: Runtime,
    chain: Chain,
    format: Annotated[PnlFormat, typer.Option("--format", help="csv or json.")],
    out: Out,
    period: Annotated[str | None, typer.Option("--period", help="Only this period.")] = None,
) -> None:
    with rt.transaction() as session:
        result = exports.export_pnl(
            session,
            chain,
            period=period,
            fmt=format.value,
            out=_out_path(out),
            allowed_validators=rt.user.allowed_validator_keys,
            audit=rt.trail,
        )
    _report_export(rt, result, f"the P&L of {result.scope} ({result.rows} rows)")
