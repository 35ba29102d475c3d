"""Statement commands: `aurora override`, `aurora statements …`, `aurora approve`, `aurora export …`.

Each command parses its options, calls one service (services.overrides, services.statements,
services.exports), records the audit rows from what the service returns, and renders the result.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from aurora_cli.cli.frame import Runtime, command
from aurora_cli.domain.money import to_display, to_plain_string
from aurora_cli.domain.permissions import Permission
from aurora_cli.errors import NotFound, UsageError
from aurora_cli.services import exports, overrides, statements
from aurora_cli.services.statements import StatementSelector, Viewer

statements_app = typer.Typer(help="Partner commission statements and their workflow.", no_args_is_help=True)
export_app = typer.Typer(help="Export statements (CSV, PDF, JSON) and P&L (CSV, JSON).", no_args_is_help=True)

StatementOpt = Annotated[str | None, typer.Option("--statement", help="A statement id.")]
PartnerOpt = Annotated[str | None, typer.Option("--partner", help="Partner name.")]
ChainOpt = Annotated[str | None, typer.Option("--chain", help="Chain id, e.g. solana-mainnet.")]
PeriodOpt = Annotated[
    str | None, typer.Option("--period", help="Epoch number (Solana) or UTC day YYYY-MM-DD (Ethereum).")
]
MonthOpt = Annotated[
    str | None, typer.Option("--month", help="UTC month YYYY-MM: every period that starts in it.")
]
Chain = Annotated[str, typer.Option("--chain", help="Chain id, e.g. solana-mainnet.")]


class StatementFormat(StrEnum):
    CSV = "csv"
    PDF = "pdf"
    JSON = "json"


class PnlFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


# -- rendering ---------------------------------------------------------------------------------------


def _amount(row: dict[str, Any], value: Any = None) -> str:
    """An amount in native units with its display-unit value, e.g. "1500000000 lamports (1.5 SOL)"."""
    native = row["total_commission_native"] if value is None else value
    shown = to_plain_string(to_display(native, row["native_decimals"]))
    return f"{to_plain_string(native)} {row['native_unit']} ({shown} {row['display_unit'] or row['native_unit']})"


def _emit_statements(rt: Runtime, rows: list[dict[str, Any]], *, title: str, one: bool = False) -> None:
    if one and rows and rt.output.is_machine:
        rt.output.single({c: rows[0].get(c) for c in statements.STATEMENT_COLUMNS})
        return
    if rt.output.is_machine:
        rt.output.listing(rows, statements.STATEMENT_COLUMNS)
        return
    shown = [
        {
            **row,
            "total": f"{to_plain_string(row['total_commission_native'])}\n[dim]"
            f"{to_plain_string(to_display(row['total_commission_native'], row['native_decimals']))} "
            f"{row['display_unit']}[/dim]",
        }
        for row in rows
    ]
    rt.output.listing(
        shown,
        statements.STATEMENT_COLUMNS,
        title=title,
        table_columns=[
            "partner_name",
            "chain_id",
            "period_identifier",
            "status",
            "total",
            "line_count",
            "submitted_by_username",
            "approved_by_username",
            "paid_reference",
            "statement_id",
        ],
        headers={
            "partner_name": "partner",
            "chain_id": "chain",
            "period_identifier": "period",
            "total": "total (native units, display below)",
            "line_count": "lines",
            "submitted_by_username": "submitted by",
            "approved_by_username": "approved by",
            "paid_reference": "payment ref",
            "statement_id": "statement",
        },
        right_align=["total", "line_count"],
    )


# -- override ----------------------------------------------------------------------------------------


def _override(
    rt: Runtime,
    line_id: Annotated[str, typer.Argument(help="The commission line's id (see `aurora commissions show`).")],
    reason: Annotated[str, typer.Option("--reason", help="Why; shown on the partner's statement.")],
    amount: Annotated[
        str | None,
        typer.Option(
            "--amount", help="The new amount in native units, a plain decimal string (e.g. 1500000000)."
        ),
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Remove the override: back to the computed amount.")
    ] = False,
) -> None:
    if (amount is None) == (not clear):
        raise UsageError("give either --amount X or --clear.")
    with rt.transaction() as session:
        if clear:
            result = overrides.clear_override(session, line_id, reason=reason, actor_user_id=rt.user_id)
        else:
            value = overrides.parse_override_amount(amount or "")
            result = overrides.set_override(session, line_id, value, reason=reason, actor_user_id=rt.user_id)
        if result.changed:
            rt.audit(
                session,
                action=result.action,
                resource_type="commission_line",
                resource_id=str(result.line_id),
                before=result.before,
                after=result.after,
                reason=reason,
            )
        if result.statement is not None:
            rt.audit(
                session,
                action="GENERATE_STATEMENT",
                resource_type="statement",
                resource_id=str(result.statement.statement_id),
                before=result.statement.before,
                after=result.statement.after,
                reason=f"totals refreshed after {result.action} on line {result.line_id}",
            )
        row = (
            statements.statement_rows(session, statement_ids=[result.statement.statement_id])[0]
            if result.statement is not None
            else None
        )
    before = to_plain_string(result.before["final_amount_native"])
    after = to_plain_string(result.after["final_amount_native"])
    if not result.changed:
        rt.output.say(f"Nothing changed: line {result.line_id} already is as asked (final amount {after}).")
    elif clear:
        rt.output.say(f"Cleared the override of line {result.line_id}: final amount {before} → {after}.")
    else:
        rt.output.say(f"Overrode line {result.line_id}: final amount {before} → {after}.")
    if row is not None:
        rt.output.say(
            f"DRAFT statement {statements.statement_label(row)} now totals {_amount(row)} "
            f"over {row['line_count']} lines."
        )
    if rt.output.is_machine:
        rt.output.single(result.after)


# -- statements ----------------------------------------------------------------------------------------


@command(
    statements_app,
    "generate",
    path="statements generate",
    permission=Permission.MANAGE_COMMISSIONS,
    help="One DRAFT statement per partner and period from its commission lines; statements past DRAFT are left alone.",
)
def generate(
    rt: Runtime,
    chain: Chain,
    period: PeriodOpt = None,
    month: MonthOpt = None,
    allow_unfinalized: Annotated[
        bool,
        typer.Option(
            "--allow-unfinalized", help="Also for periods not yet final (recorded on the statement)."
        ),
    ] = False,
) -> None:
    if (period is None) == (month is None):
        raise UsageError("give exactly one of --period P or --month YYYY-MM.")
    with rt.transaction() as session:
        result = statements.generate_statements(
            session,
            chain,
            period=period,
            month=month,
            allow_unfinalized=allow_unfinalized,
            actor_user_id=rt.user_id,
            audit=rt.audit,
        )
    s = result.summary()
    rt.output.say(
        f"Statements for {chain} {', '.join(result.periods)}: {s['created']} created, {s['updated']} updated, "
        f"{s['unchanged']} unchanged, {s['removed']} removed (no lines left)."
    )
    if not (s["created"] or s["updated"] or s["unchanged"] or s["removed"] or result.locked):
        rt.output.say(
            f"No commission lines for {chain} {', '.join(result.periods)}: run `aurora compute-commissions` first."
        )
    if result.unfinalized_periods:
        rt.output.say(
            f"[yellow]Not finalized:[/yellow] {', '.join(result.unfinalized_periods)} "
            "(--allow-unfinalized is recorded in those statements' metadata)."
        )
    for item in result.locked:
        rt.output.say(
            f"Left untouched: {item['partner_name']} {item['period_identifier']} is {item['status']} "
            f"(statement {item['statement_id']}); an ADMIN can reopen it to regenerate."
        )
    if rt.output.is_machine:
        rt.output.single(s)


@command(
    statements_app,
    "list",
    path="statements list",
    permission=Permission.READ_COMMISSIONS,
    help="List statements (PARTNER users: their own RELEASED and PAID ones).",
)
def list_statements(
    rt: Runtime,
    chain: ChainOpt = None,
    period: PeriodOpt = None,
    month: MonthOpt = None,
    partner: PartnerOpt = None,
    status: Annotated[
        str | None, typer.Option("--status", help="DRAFT, PENDING_APPROVAL, APPROVED, RELEASED or PAID.")
    ] = None,
) -> None:
    if period is not None and month is not None:
        raise UsageError("give at most one of --period or --month.")
    with rt.transaction() as session:
        rows = statements.statement_rows(
            session,
            chain_id=chain,
            period=period,
            month=month,
            partner=partner,
            status=status,
            viewer=Viewer.of(rt.user),
        )
    _emit_statements(rt, rows, title="Partner commission statements")
    if not rows:
        rt.output.say("No statements match: generate them with `aurora statements generate`.")


@command(
    statements_app,
    "show",
    path="statements show",
    permission=Permission.READ_COMMISSIONS,
    help="Show one statement: by --statement ID or by --partner, --chain and --period.",
)
def show(
    rt: Runtime,
    statement: StatementOpt = None,
    partner: PartnerOpt = None,
    chain: ChainOpt = None,
    period: PeriodOpt = None,
) -> None:
    selector = StatementSelector.from_options(
        statement=statement, partner=partner, chain=chain, period=period, month=None
    )
    viewer = Viewer.of(rt.user)
    with rt.transaction() as session:
        if selector.statement_id is not None:
            rows = statements.statement_rows(session, statement_ids=[selector.statement_id], viewer=viewer)
        else:
            rows = statements.statement_rows(
                session, chain_id=chain, period=period, partner=partner, viewer=viewer
            )
    if not rows:
        which = selector.statement_id or f"of {selector.describe()}"
        raise NotFound(
            f"there is no statement {which} that you may see: list them with `aurora statements list`."
        )
    row = rows[0]
    if rt.output.is_machine:
        rt.output.single({c: row.get(c) for c in statements.STATEMENT_COLUMNS})
        return
    shown = {c: row.get(c) for c in statements.STATEMENT_COLUMNS}
    shown["total_commission_native"] = _amount(row)
    rt.output.single(shown, title=f"Statement {statements.statement_label(row)}")
    rt.output.say(
        f"Lines: `aurora commissions show --chain {row['chain_id']} --period {row['period_identifier']} "
        f"--partner {row['partner_name']!r}`."
    )


def _transition(
    rt: Runtime,
    name: str,
    *,
    statement: str | None,
    partner: str | None,
    chain: str | None,
    period: str | None,
    month: str | None,
    reference: str | None = None,
    reason: str | None = None,
) -> None:
    selector = StatementSelector.from_options(
        statement=statement, partner=partner, chain=chain, period=period, month=month
    )
    with rt.transaction() as session:
        result = statements.apply_transition(
            session,
            selector,
            name,
            actor_user_id=rt.user_id,
            actor_role=rt.user.role,
            reference=reference,
            reason=reason,
        )
        for change in result.changes:
            rt.audit(
                session,
                action=result.transition.audit_action,
                resource_type="statement",
                resource_id=str(change.statement_id),
                before=change.before,
                after=change.after,
                reason=reason,
            )
        rows = statements.statement_rows(session, statement_ids=result.statement_ids)
    for row in rows:
        rt.output.say(
            f"{result.transition.past.capitalize()} statement {statements.statement_label(row)}: "
            f"now {row['status']}, total {_amount(row)}."
        )
    _emit_statements(rt, rows, title="Statements", one=not selector.is_many)


def _selecting_transition(name: str) -> Callable[..., None]:
    """A workflow command whose only options select the statements it moves."""

    def run(
        rt: Runtime,
        statement: StatementOpt = None,
        partner: PartnerOpt = None,
        chain: ChainOpt = None,
        period: PeriodOpt = None,
        month: MonthOpt = None,
    ) -> None:
        _transition(rt, name, statement=statement, partner=partner, chain=chain, period=period, month=month)

    return run


command(
    statements_app,
    "submit",
    path="statements submit",
    permission=Permission.MANAGE_COMMISSIONS,
    help="DRAFT → PENDING_APPROVAL: submit for approval (its lines are locked from now on).",
)(_selecting_transition("submit"))

command(
    statements_app,
    "release",
    path="statements release",
    permission=Permission.APPROVE,
    help="APPROVED → RELEASED: the partner may now see and export it.",
)(_selecting_transition("release"))


@command(
    statements_app,
    "mark-paid",
    path="statements mark-paid",
    permission=Permission.APPROVE,
    help="RELEASED → PAID, with the payment's reference (transaction id).",
)
def mark_paid(
    rt: Runtime,
    reference: Annotated[str, typer.Option("--reference", help="The payment's transaction id or reference.")],
    statement: StatementOpt = None,
    partner: PartnerOpt = None,
    chain: ChainOpt = None,
    period: PeriodOpt = None,
    month: MonthOpt = None,
) -> None:
    _transition(
        rt,
        "mark-paid",
        statement=statement,
        partner=partner,
        chain=chain,
        period=period,
        month=month,
        reference=reference,
    )


@command(
    statements_app,
    "reopen",
    path="statements reopen",
    permission=Permission.REOPEN,
    help="Any status → DRAFT (ADMIN): clears submission, approval, release and payment; the audit log keeps them.",
)
def reopen(
    rt: Runtime,
    reason: Annotated[str, typer.Option("--reason", help="Why the statement goes back to DRAFT.")],
    statement: StatementOpt = None,
    partner: PartnerOpt = None,
    chain: ChainOpt = None,
    period: PeriodOpt = None,
    month: MonthOpt = None,
) -> None:
    _transition(
        rt,
        "reopen",
        statement=statement,
        partner=partner,
        chain=chain,
        period=period,
        month=month,
        reason=reason,
    )


# -- export --------------------------------------------------------------------------------------------

OutOpt = Annotated[str, typer.Option("--out", help="File to write; - writes CSV or JSON to stdout.")]


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
def export_statement(
    rt: Runtime,
    partner: Annotated[str, typer.Option("--partner", help="Partner name.")],
    chain: Chain,
    format: Annotated[StatementFormat, typer.Option("--format", help="csv, pdf or json.")],
    out: OutOpt,
    period: PeriodOpt = None,
    month: MonthOpt = None,
) -> None:
    if (period is None) == (month is None):
        raise UsageError("give exactly one of --period P or --month YYYY-MM.")
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
        )
        ids = result.statement_ids
        rt.audit(
            session,
            action="EXPORT_STATEMENT",
            resource_type="statement",
            resource_id=ids[0] if len(ids) == 1 else result.scope[:100],
            after=result.audit_after(),
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
def export_pnl(
    rt: Runtime,
    chain: Chain,
    format: Annotated[PnlFormat, typer.Option("--format", help="csv or json.")],
    out: OutOpt,
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
        )
        rt.audit(
            session,
            action="EXPORT_PNL",
            resource_type="pnl",
            resource_id=f"{chain}/{period or 'all'}",
            after=result.audit_after(),
        )
    _report_export(rt, result, f"the P&L of {result.scope} ({result.rows} rows)")


def register(app: typer.Typer) -> None:
    app.add_typer(statements_app, name="statements")
    app.add_typer(export_app, name="export")
    command(
        app,
        "override",
        path="override",
        permission=Permission.MANAGE_COMMISSIONS,
        help="Override a commission line's amount (--amount X --reason TEXT) or remove it (--clear --reason TEXT).",
    )(_override)
    command(
        app,
        "approve",
        path="approve",
        permission=Permission.APPROVE,
        help="PENDING_APPROVAL → APPROVED, by a user other than the submitter (four eyes).",
    )(_selecting_transition("approve"))
