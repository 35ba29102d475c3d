"""`aurora compute-commissions` and `aurora commissions show`: parse, call the service, render; no rules here.

`register` also adds the agreements group (`cli.agreements_cmd`). The engine's rules live in
`services.commissions`; this module only words its results.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from aurora_cli.cli import agreements_cmd
from aurora_cli.cli.finance_words import own_partner
from aurora_cli.cli.frame import Runtime, command
from aurora_cli.cli.options import Chain, NoWait, Partner, Period
from aurora_cli.domain.canonical_json import jsonable
from aurora_cli.domain.money import to_plain_string
from aurora_cli.domain.permissions import Permission
from aurora_cli.render.output import display_amount, short_key
from aurora_cli.services import commissions, periods

commissions_app = typer.Typer(help="Partner commission lines.", no_args_is_help=True)


def compute_commissions(
    rt: Runtime,
    chain: Chain,
    period: Period,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compute and show the difference; write nothing.")
    ] = False,
    no_wait: NoWait = False,
) -> None:
    with rt.period_lock(chain, period, no_wait=no_wait):
        result = commissions.run_compute_commissions(
            rt.engine, rt.trail, chain_id=chain, period=period, dry_run=dry_run
        )
    _report_compute(rt, result)


def _report_compute(rt: Runtime, result: commissions.CommissionResult) -> None:
    s = result.summary()
    counts = f"{s['lines_added']} added, {s['lines_updated']} updated, {s['lines_deleted']} deleted"
    rt.output.say(
        f"compute-commissions {result.chain_id} {result.period}: {s['agreements']} agreement(s), "
        f"{s['rules']} rule(s); "
        + (f"dry run, nothing written: lines would be {counts}" if result.dry_run else f"lines {counts}")
        + f", {s['lines_unchanged']} unchanged."
    )
    for locked in result.locked_partners:
        differs = (
            "the recompute differs: reopen the statement to apply it"
            if locked.recompute_differs
            else "the recompute matches them"
        )
        rt.output.say(
            f"[yellow]locked[/yellow] {locked.partner_name}: statement {locked.statement_status}, "
            f"{locked.stored_lines} stored line(s) left untouched ({differs})."
        )
    for dropped in result.dropped_overrides:
        rt.output.say(
            f"[yellow]override dropped[/yellow] {dropped.partner_name} / {dropped.agreement_name} rule "
            f"{dropped.rule_order} / {dropped.validator_key or '(floor)'}: the line no longer arises "
            f"(its override was {to_plain_string(dropped.override_amount)})."
        )
    if rt.output.format == "json":
        rt.output.single({**s, "changes": [jsonable(c.as_row()) for c in result.changes]})
        return
    if rt.output.format == "csv":
        rt.output.listing([c.as_row() for c in result.changes], CHANGE_COLUMNS)
        return
    if result.changes and (result.dry_run or rt.options.verbose):
        rt.output.listing(
            [_change_row(c) for c in result.changes],
            ["change", "partner_name", "agreement_name", "rule_order", "validator_key", "base", "amount"],
            title="Difference against the stored lines" + (" (dry run)" if result.dry_run else ""),
            headers={
                "partner_name": "partner",
                "agreement_name": "agreement",
                "rule_order": "rule",
                "validator_key": "validator",
                "amount": "amount (old → new)",
            },
            right_align=["base", "amount"],
        )
    rt.output.listing(
        [{**row, "locked": "locked" if row["locked"] else ""} for row in s["partner_totals"]],
        ["partner_name", "before_native", "after_native", "locked"],
        title=f"Commission per partner — {result.chain_id} {result.period} (native units)",
        headers={"partner_name": "partner", "before_native": "before", "after_native": "after"},
        right_align=["before_native", "after_native"],
    )


CHANGE_COLUMNS = [
    "change",
    "line_id",
    "partner_name",
    "agreement_name",
    "agreement_version",
    "rule_order",
    "validator_key",
    "revenue_component",
    "old_base_native",
    "new_base_native",
    "old_amount_native",
    "new_amount_native",
    "override_amount_native",
]


def _change_row(change: commissions.LineChange) -> dict[str, Any]:
    def amount(value: Any) -> str:
        return "—" if value is None else to_plain_string(value)

    return {
        "change": change.change,
        "partner_name": change.partner_name,
        "agreement_name": f"{change.agreement_name} v{change.agreement_version}",
        "rule_order": change.rule_order,
        "validator_key": short_key(change.validator_key) if change.validator_key else "(floor)",
        "base": amount(change.new_base if change.new_base is not None else change.old_base),
        "amount": f"{amount(change.old_amount)} → {amount(change.new_amount)}"
        + (" (override)" if change.override_amount is not None else ""),
    }


# -- commissions show ------------------------------------------------------------------------------

LINE_AMOUNTS = ["base_amount_native", "commission_rate_bps", "final_amount_native"]


@command(
    commissions_app,
    "show",
    path="commissions show",
    permission=Permission.READ_COMMISSIONS,
    help="The commission lines of one period, with totals per partner.",
)
def commissions_show(rt: Runtime, chain: Chain, period: Period, partner: Partner = None) -> None:
    with rt.transaction() as session:
        own_partner(rt)  # a PARTNER user without a partner is refused, not shown nothing
        lines = commissions.commission_lines(session, chain, period, partner_name=partner, scope=rt.scope)
        chain_row = periods.get_chain(session, chain)
    if rt.output.is_machine:
        rt.output.listing(lines, commissions.LINE_COLUMNS)
        return
    totals = commissions.partner_totals(lines)
    shown: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        shown.append(
            {
                "line_id": line["line_id"],  # what `aurora override LINE_ID` takes
                "partner_name": line["partner_name"],
                "agreement": f"{line['agreement_name']} v{line['agreement_version']}",
                "rule_order": line["rule_order"],
                "validator_key": short_key(line["validator_key"]) if line["validator_key"] else "(floor)",
                "revenue_component": line["revenue_component"],
                "attribution_method": line["attribution_method"],
                "base_amount_native": to_plain_string(line["base_amount_native"]),
                "commission_rate_bps": line["commission_rate_bps"],
                "final_amount_native": to_plain_string(line["final_amount_native"])
                + (" *" if line["override_amount_native"] is not None else ""),
            }
        )
        last_of_partner = index + 1 == len(lines) or lines[index + 1]["partner_name"] != line["partner_name"]
        if last_of_partner:
            total = totals[line["partner_name"]]
            shown.append(
                {
                    "partner_name": f"[bold]TOTAL {line['partner_name']}[/bold]",
                    "final_amount_native": f"[bold]{to_plain_string(total)}[/bold]\n[dim]"
                    + display_amount(
                        total, chain_row.native_decimals, chain_row.display_unit, chain_row.native_unit
                    )
                    + "[/dim]",
                }
            )
    rt.output.listing(
        shown,
        [
            "line_id",
            "partner_name",
            "agreement",
            "rule_order",
            "validator_key",
            "revenue_component",
            "attribution_method",
            "base_amount_native",
            "commission_rate_bps",
            "final_amount_native",
        ],
        title=f"Commission lines — {chain} {period} (native units; * = overridden)",
        headers={
            "line_id": "line id",
            "partner_name": "partner",
            "rule_order": "rule",
            "validator_key": "validator",
            "revenue_component": "component",
            "attribution_method": "attribution",
            "base_amount_native": "base",
            "commission_rate_bps": "rate bps",
            "final_amount_native": "amount",
        },
        right_align=LINE_AMOUNTS,
    )
    if not lines:
        rt.output.say(
            "No commission lines for this period"
            + (" that you may see (partners see released statements only)" if own_partner(rt) else "")
            + ": run `aurora compute-commissions`."
        )


def register(app: typer.Typer) -> None:
    app.add_typer(agreements_cmd.agreements_app, name="agreements")
    app.add_typer(commissions_app, name="commissions")
    command(
        app,
        "compute-commissions",
        path="compute-commissions",
        permission=Permission.MANAGE_COMMISSIONS,
        help="Compute partner commission lines for one period; --dry-run shows the difference.",
    )(compute_commissions)
