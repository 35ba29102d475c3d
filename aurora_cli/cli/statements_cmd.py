"""`aurora statements …` and `aurora approve`: parse, call `services.statements`, render; no rules here.

`register` also adds `aurora override` (`cli.override_cmd`) and `aurora export …` (`cli.export_cmd`).
The workflow's rules (who may move which statement where) live in `services.statements.workflow`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from aurora_cli.cli import export_cmd, override_cmd
from aurora_cli.cli.exit_codes import ExitCode, UsageError
from aurora_cli.cli.finance_words import in_flag_words, require_period_or_month, statement_selector
from aurora_cli.cli.frame import Runtime, command
from aurora_cli.cli.options import Chain, ChainSelector, Month, Partner, PeriodSelector, Statement
from aurora_cli.domain.permissions import Permission
from aurora_cli.errors import NotFound
from aurora_cli.render.statement_table import emit_statements, statement_total
from aurora_cli.services import exports, statements
from aurora_cli.services.statements.document import REVISION_COLUMNS, statement_revisions
from aurora_cli.services.statements.verify import verify_statement_file

statements_app = typer.Typer(help="Partner commission statements and their workflow.", no_args_is_help=True)


@command(
    statements_app,
    "generate",
    path="statements generate",
    permission=Permission.MANAGE_COMMISSIONS,
    help="One DRAFT statement per partner and period from its commission lines; statements past DRAFT are left alone.",
)
@in_flag_words
def generate(
    rt: Runtime,
    chain: Chain,
    period: PeriodSelector = None,
    month: Month = None,
    allow_unfinalized: Annotated[
        bool,
        typer.Option(
            "--allow-unfinalized", help="Also for periods not yet final (recorded on the statement)."
        ),
    ] = False,
) -> None:
    require_period_or_month(period, month)
    with rt.transaction() as session:
        result = statements.generate_statements(
            session,
            chain,
            period=period,
            month=month,
            allow_unfinalized=allow_unfinalized,
            actor_user_id=rt.user_id,
            audit=rt.trail,
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
@in_flag_words
def list_statements(
    rt: Runtime,
    chain: ChainSelector = None,
    period: PeriodSelector = None,
    month: Month = None,
    partner: Partner = None,
    status: Annotated[
        str | None, typer.Option("--status", help="DRAFT, PENDING_APPROVAL, APPROVED, RELEASED or PAID.")
    ] = None,
) -> None:
    if period is not None and month is not None:
        raise UsageError("give at most one of --period or --month.")
    if period is not None and chain is None:
        raise UsageError("--period needs --chain.")
    with rt.transaction() as session:
        rows = statements.statement_rows(
            session,
            chain_id=chain,
            period=period,
            month=month,
            partner=partner,
            status=status,
            scope=rt.scope,
        )
    emit_statements(rt.output, rows, statements.STATEMENT_COLUMNS, title="Partner commission statements")
    if not rows:
        rt.output.say("No statements match: generate them with `aurora statements generate`.")


@command(
    statements_app,
    "show",
    path="statements show",
    permission=Permission.READ_COMMISSIONS,
    help="Show one statement: by --statement ID or by --partner, --chain and --period.",
)
@in_flag_words
def show(
    rt: Runtime,
    statement: Statement = None,
    partner: Partner = None,
    chain: ChainSelector = None,
    period: PeriodSelector = None,
) -> None:
    selector = statement_selector(
        statement=statement, partner=partner, chain=chain, period=period, month=None
    )
    with rt.transaction() as session:
        row = statements.one_statement(
            session,
            scope=rt.scope,
            statement_id=selector.statement_id,
            chain_id=chain,
            period=period,
            partner=partner,
        )
    if row is None:
        which = selector.statement_id or f"of {selector.describe()}"
        raise NotFound(
            f"there is no statement {which} that you may see: list them with `aurora statements list`."
        )
    if rt.output.is_machine:
        rt.output.single({c: row.get(c) for c in statements.STATEMENT_COLUMNS})
        return
    shown = {c: row.get(c) for c in statements.STATEMENT_COLUMNS}
    shown["total_commission_native"] = statement_total(row)
    rt.output.single(shown, title=f"Statement {statements.statement_label(row)}")
    rt.output.say(
        f"Lines: `aurora commissions show --chain {row['chain_id']} --period {row['period_identifier']} "
        f"--partner {row['partner_name']!r}`."
    )


@in_flag_words
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
    selector = statement_selector(
        statement=statement, partner=partner, chain=chain, period=period, month=month
    )
    with rt.transaction() as session:
        result = statements.apply_transition(
            session,
            selector,
            name,
            actor_user_id=rt.user_id,
            actor_role=rt.scope.role,
            reference=reference,
            reason=reason,
            audit=rt.trail,
        )
        rows = statements.statement_rows(session, statement_ids=result.statement_ids)
    for row in rows:
        rt.output.say(
            f"{result.transition.past.capitalize()} statement {statements.statement_label(row)}: "
            f"now {row['status']}, total {statement_total(row)}."
        )
    emit_statements(
        rt.output, rows, statements.STATEMENT_COLUMNS, title="Statements", one=not selector.is_many
    )


def _selecting_transition(name: str) -> Callable[..., None]:
    """A workflow command whose only options select the statements it moves."""

    def run(
        rt: Runtime,
        statement: Statement = None,
        partner: Partner = None,
        chain: ChainSelector = None,
        period: PeriodSelector = None,
        month: Month = None,
    ) -> None:
        _transition(rt, name, statement=statement, partner=partner, chain=chain, period=period, month=month)

    return run


submit = command(
    statements_app,
    "submit",
    path="statements submit",
    permission=Permission.MANAGE_COMMISSIONS,
    help="DRAFT → PENDING_APPROVAL: submit for approval (its lines are locked from now on).",
)(_selecting_transition("submit"))

release = command(
    statements_app,
    "release",
    path="statements release",
    permission=Permission.APPROVE,
    help="APPROVED → RELEASED: the partner may now see and export it.",
)(_selecting_transition("release"))

# Registered on the root command (`aurora approve`) by `register`.
approve = _selecting_transition("approve")


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
    statement: Statement = None,
    partner: Partner = None,
    chain: ChainSelector = None,
    period: PeriodSelector = None,
    month: Month = None,
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
    statement: Statement = None,
    partner: Partner = None,
    chain: ChainSelector = None,
    period: PeriodSelector = None,
    month: Month = None,
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


@command(
    statements_app,
    "verify",
    path="statements verify",
    permission=Permission.READ_COMMISSIONS,
    help="Is this statement (a pack folder, statement.json or statement.pdf) authentic and current? Exit 0 / 1.",
)
def verify(
    rt: Runtime,
    path: Annotated[Path, typer.Argument(help="A pack folder, a statement.json or a statement.pdf.")],
) -> ExitCode:
    with rt.transaction() as session:
        verdict = verify_statement_file(session, path)
    rt.output.say(verdict.sentence)
    if rt.output.is_machine:
        rt.output.single(
            {
                "authentic": verdict.authentic,
                "current": verdict.current,
                "statement_number": verdict.statement_number,
            }
        )
    return ExitCode.OK if verdict.ok else ExitCode.ERROR


StatementNumber = Annotated[
    str,
    typer.Argument(
        metavar="NUMBER", help="The statement number printed on it, e.g. AUR-ETH-2025-09-HELIOS-01 (or …-01-R2)."
    ),
]


@command(
    statements_app,
    "revisions",
    path="statements revisions",
    permission=Permission.READ_COMMISSIONS,
    help="The revisions of a statement number: status as issued, facts hash, dates, which one replaced it.\n\n"
    "\b\nExamples:\n  aurora statements revisions AUR-ETH-2025-09-HELIOS-01\n"
    "  aurora --format json statements revisions AUR-ETH-2025-09-HELIOS-01-R2",
)
def revisions(rt: Runtime, number: StatementNumber) -> None:
    with rt.transaction() as session:
        found = statement_revisions(session, number, rt.scope)
    rt.output.listing(
        [r.as_row() for r in found],
        REVISION_COLUMNS,
        title=f"Revisions of {found[0].statement_number}",
        table_columns=[
            "statement_number",
            "status",
            "facts_sha256",
            "created_at",
            "last_issued_at",
            "issues",
            "superseded_by",
        ],
    )
    newest = found[-1]
    rt.output.say(
        f"Retrieve one as issued: `aurora statements get {newest.statement_number.rsplit('-R', 1)[0]} "
        f"--revision {newest.revision} --out DIR`."
    )


@command(
    statements_app,
    "get",
    path="statements get",
    permission=Permission.READ_COMMISSIONS,
    help="Write a statement revision into a folder byte for byte as it was issued (statement.pdf, lines.csv, "
    "summary.csv, statement.json and SHA256SUMS; `sha256sum -c SHA256SUMS` passes on it).\n\n"
    "\b\nExamples:\n  aurora statements get AUR-ETH-2025-09-HELIOS-01 --revision 1 --out helios-r1\n"
    "  (cd helios-r1 && sha256sum -c SHA256SUMS)\n"
    "  aurora statements verify helios-r1   # authentic; exit 1 if a later revision replaced it",
)
def get(
    rt: Runtime,
    number: StatementNumber,
    out: Annotated[Path, typer.Option("--out", help="The folder to write the files into (created if new).")],
    revision: Annotated[
        int | None,
        typer.Option("--revision", min=1, help="Which revision (1, 2, …); default: the number's suffix, else the newest."),
    ] = None,
) -> None:
    with rt.transaction() as session:
        result, chosen = exports.export_issued_revision(
            session, number=number, revision=revision, out=out, scope=rt.scope, audit=rt.trail
        )
    rt.output.say(
        f"Wrote statement {chosen.statement_number} (revision {chosen.revision}, {chosen.status} as issued) to "
        f"{result.path}: {', '.join(result.files)} and SHA256SUMS."
    )
    if chosen.superseded_by is not None:
        rt.output.say(f"Revision {chosen.superseded_by} has replaced it.")
    rt.output.say(f"statement.json SHA-256: {result.sha256}")
    if rt.output.is_machine:
        rt.output.single(result.audit_after() | {"revision": chosen.revision, "superseded_by": chosen.superseded_by})


def register(app: typer.Typer) -> None:
    app.add_typer(statements_app, name="statements")
    app.add_typer(export_cmd.export_app, name="export")
    override_cmd.register(app)
    command(
        app,
        "approve",
        path="approve",
        permission=Permission.APPROVE,
        help="PENDING_APPROVAL → APPROVED, by a user other than the submitter (four eyes).",
    )(approve)
