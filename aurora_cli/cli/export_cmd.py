"""`aurora export statement|pnl`: parse, call `services.exports`, say where the bytes went; no rules here."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from aurora_cli.cli.exit_codes import UsageError
from aurora_cli.cli.finance_words import in_flag_words
from aurora_cli.cli.frame import Runtime, command
from aurora_cli.cli.options import Chain, Month, Out, PeriodSelector, RequiredPartner, _month_shape
from aurora_cli.domain.permissions import Permission
from aurora_cli.services import exports

export_app = typer.Typer(help="Export statements (CSV, PDF, JSON) and P&L (CSV, JSON).", no_args_is_help=True)


class StatementFormat(StrEnum):
    CSV = "csv"
    PDF = "pdf"
    JSON = "json"
    PACK = "pack"


class PnlFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def _quarter_shape(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"\d{4}Q[1-4]", value.upper()):
        raise typer.BadParameter(f"{value!r} is not a quarter: write the year, Q and 1 to 4, e.g. 2025Q3.")
    return value


def _out_path(out: str) -> Path | None:
    return None if out == "-" else Path(out)


def _report_export(rt: Runtime, result: exports.ExportResult, what: str) -> None:
    if result.path is None:
        typer.echo(result.content.decode("utf-8"), nl=False)
    rt.output.say(f"Wrote {what} to {result.path or 'stdout'} ({result.format}).")
    if result.statement_number:
        rt.output.say(
            f"Statement {result.statement_number}" + (" (PROVISIONAL)" if result.provisional else "")
        )
        rt.output.say(f"statement.json SHA-256: {result.sha256}")
    else:
        rt.output.say(f"SHA-256: {result.sha256}")
    if result.path is not None and rt.output.is_machine:
        rt.output.single(result.audit_after())


@command(
    export_app,
    "statement",
    path="export statement",
    permission=Permission.READ_COMMISSIONS,
    help="A partner's statement for a period, month, quarter or months as CSV, PDF, JSON or a pack "
    "(a folder: statement.pdf, lines.csv, summary.csv, statement.json, SHA256SUMS).",
)
@in_flag_words
def export_statement(
    rt: Runtime,
    partner: RequiredPartner,
    chain: Annotated[
        list[str], typer.Option("--chain", help="The chain; repeat it for one pack with a section per chain.")
    ],
    format: Annotated[StatementFormat, typer.Option("--format", help="csv, pdf, json or pack.")],
    out: Out,
    period: PeriodSelector = None,
    month: Month = None,
    quarter: Annotated[
        str | None, typer.Option("--quarter", help="A UTC quarter, e.g. 2025Q3.", callback=_quarter_shape)
    ] = None,
    from_month: Annotated[
        str | None, typer.Option("--from", help="First month (YYYY-MM), with --to.", callback=_month_shape)
    ] = None,
    to_month: Annotated[
        str | None, typer.Option("--to", help="Last month (YYYY-MM), with --from.", callback=_month_shape)
    ] = None,
) -> None:
    chosen = [x for x in (period, month, quarter) if x is not None] + (
        [from_month] if from_month or to_month else []
    )
    if len(chosen) != 1 or (from_month is None) != (to_month is None):
        raise UsageError("give exactly one of --period, --month, --quarter, or --from with --to.")
    if from_month is not None and to_month is not None and to_month < from_month:
        raise UsageError(f"--to {to_month} is before --from {from_month}: give the earlier month first.")
    issuer = rt.settings.issuer
    with rt.transaction() as session:
        result = exports.export_statement(
            session,
            partner=partner,
            chain_id=chain,
            period=period,
            month=month,
            quarter=quarter,
            from_month=from_month,
            to_month=to_month,
            fmt=format.value,
            out=_out_path(out),
            scope=rt.scope,
            issuer=exports.Issuer(
                name=rt.settings.issuer_name,
                legal_name=issuer.legal_name,
                address=issuer.address,
                contact_email=issuer.contact_email,
                statement_prefix=issuer.statement_prefix,
            ),
            audit=rt.trail,
        )
    _report_export(rt, result, f"the statement of {result.scope} ({result.rows} lines)")


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
            scope=rt.scope,
            audit=rt.trail,
        )
    _report_export(rt, result, f"the P&L of {result.scope} ({result.rows} rows)")
