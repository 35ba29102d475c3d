"""`aurora override LINE`: set or clear a line's override via `services.overrides`, say so; no rules here."""

from __future__ import annotations

from typing import Annotated

import typer

from aurora_cli.cli.exit_codes import UsageError
from aurora_cli.cli.finance_words import in_flag_words
from aurora_cli.cli.frame import Runtime, command
from aurora_cli.domain.money import to_plain_string
from aurora_cli.domain.permissions import Permission
from aurora_cli.render.statement_table import statement_total
from aurora_cli.services import overrides, statements


@in_flag_words
def override(
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
            result = overrides.clear_override(
                session, line_id, reason=reason, actor_user_id=rt.user_id, audit=rt.trail
            )
        else:
            value = overrides.parse_override_amount(amount or "")
            result = overrides.set_override(
                session, line_id, value, reason=reason, actor_user_id=rt.user_id, audit=rt.trail
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
            f"DRAFT statement {statements.statement_label(row)} now totals {statement_total(row)} "
            f"over {row['line_count']} lines."
        )
    if rt.output.is_machine:
        rt.output.single(result.after)


def register(app: typer.Typer) -> None:
    command(
        app,
        "override",
        path="override",
        permission=Permission.MANAGE_COMMISSIONS,
        help="Override a commission line's amount (--amount X --reason TEXT) or remove it (--clear --reason TEXT).",
    )(override)
