"""Commission commands: `aurora agreements apply|validate|list|show`, `aurora compute-commissions`,
`aurora commissions show`.

Parse options, authorize, call one service, render. The rules of agreements and of the commission
engine live in `services.agreements` and `services.commissions`; this module only words the results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from aurora_cli.cli.frame import Runtime, command
from aurora_cli.cli.pipeline_cmd import Chain, NoWait, PeriodOpt
from aurora_cli.domain.agreement_file import load_agreement_file
from aurora_cli.domain.money import to_display, to_plain_string
from aurora_cli.domain.permissions import Permission
from aurora_cli.errors import PermissionDenied
from aurora_cli.render.output import jsonable, short_key
from aurora_cli.services import agreements, commissions, periods

agreements_app = typer.Typer(help="Partner agreements as code (reviewed TOML files).", no_args_is_help=True)
commissions_app = typer.Typer(help="Partner commission lines.", no_args_is_help=True)

AgreementPath = Annotated[
    Path, typer.Argument(help="The agreement TOML file.", exists=False, dir_okay=False, show_default=False)
]
PartnerOpt = Annotated[str | None, typer.Option("--partner", help="The partner's name.")]


def _own_partner(rt: Runtime) -> str | None:
    """PARTNER users see only their own partner's rows; None for everyone else."""
    if rt.user is None or rt.user.role != "PARTNER":
        return None
    if not rt.user.partner_id:
        raise PermissionDenied(
            f"permission denied: {rt.user.username} is a PARTNER user without a partner; ask an ADMIN."
        )
    return rt.user.partner_id


# -- agreements ------------------------------------------------------------------------------------


@command(
    agreements_app,
    "apply",
    path="agreements apply",
    permission=Permission.MANAGE_COMMISSIONS,
    help="Create or update one partner agreement from its TOML file; applying it twice changes nothing.",
)
def agreements_apply(rt: Runtime, file: AgreementPath) -> None:
    agreement_file = load_agreement_file(file)
    with rt.transaction() as session:
        result = agreements.apply_agreement(session, agreement_file, user_id=rt.user_id)
        for entry in result.audit_entries:
            rt.audit(session, **entry, reason=f"agreements apply {file.name}")
    _report_apply(rt, result, planned=False)


@command(
    agreements_app,
    "validate",
    path="agreements validate",
    permission=Permission.MANAGE_COMMISSIONS,
    help="Check an agreement file (and that its chains exist) without writing anything.",
)
def agreements_validate(rt: Runtime, file: AgreementPath) -> None:
    agreement_file = load_agreement_file(file)
    with rt.transaction() as session:
        # Plan the apply inside a savepoint that is always rolled back: what it would do, exactly.
        savepoint = session.begin_nested()
        result = agreements.apply_agreement(session, agreement_file, user_id=rt.user_id)
        savepoint.rollback()
    rt.output.say(f"{file} is valid.")
    _report_apply(rt, result, planned=True)


def _report_apply(rt: Runtime, result: agreements.ApplyResult, *, planned: bool) -> None:
    for where, warning in result.warnings:
        rt.output.say(f"[yellow]warning[/yellow] {where}: {warning}")
    if not result.changed:
        rt.output.say(
            "Applying it would change nothing: the database already matches."
            if planned
            else "Nothing changed: the database already matches the file."
        )
    elif planned:
        rt.output.say("Applying it would " + "; ".join(result.describe(planned=True)) + ".")
    else:
        for sentence in result.describe():
            rt.output.say(sentence[:1].upper() + sentence[1:] + ".")
    if rt.output.is_machine:
        rt.output.single(result.summary())


@command(
    agreements_app,
    "list",
    path="agreements list",
    permission=Permission.READ_COMMISSIONS,
    help="List agreements with their partner, status and current version.",
)
def agreements_list(rt: Runtime) -> None:
    with rt.transaction() as session:
        rows = agreements.list_agreements(session, partner_id=_own_partner(rt))
    rt.output.listing(
        rows,
        agreements.AGREEMENT_LIST_COLUMNS,
        title="Agreements",
        table_columns=[c for c in agreements.AGREEMENT_LIST_COLUMNS if c != "agreement_id"],
        headers={"current_version": "version"},
    )
    if not rows:
        rt.output.say("No agreements yet: add one with `aurora agreements apply FILE.toml`.")


@command(
    agreements_app,
    "show",
    path="agreements show",
    permission=Permission.READ_COMMISSIONS,
    help="One agreement: its versions, the current version's rules and clients.",
)
def agreements_show(
    rt: Runtime,
    name: Annotated[str, typer.Argument(help="The agreement's name.", show_default=False)],
    partner: PartnerOpt = None,
) -> None:
    with rt.transaction() as session:
        doc = agreements.agreement_details(session, name, partner_name=partner, partner_id=_own_partner(rt))
    if rt.output.is_machine:
        rt.output.single(doc)
        return
    head = {k: v for k, v in doc.items() if k not in ("partner", "versions", "rules", "clients")}
    head["legal_entity_name"] = doc["partner"]["legal_entity_name"]
    head["contact_email"] = doc["partner"]["contact_email"]
    rt.output.single(head, title=f"Agreement {doc['agreement_name']!r}")
    rt.output.listing(
        doc["versions"],
        ["version_number", "effective_from", "effective_until", "created_at"],
        title="Versions",
        headers={"version_number": "version"},
    )
    rt.output.listing(
        [{**rule, "tier_config": _tiers_text(rule["tier_config"])} for rule in doc["rules"]],
        [
            "rule_order",
            "chain_id",
            "validator_key",
            "revenue_component",
            "attribution_method",
            "commission_rate_bps",
            "tier_config",
            "floor_amount_native",
            "cap_amount_native",
        ],
        title=f"Rules of version {doc['current_version']}",
        headers={
            "rule_order": "order",
            "chain_id": "chain",
            "validator_key": "validator",
            "revenue_component": "component",
            "attribution_method": "attribution",
            "commission_rate_bps": "rate bps",
            "tier_config": "tiers",
            "floor_amount_native": "floor",
            "cap_amount_native": "cap",
        },
        right_align=["commission_rate_bps", "floor_amount_native", "cap_amount_native"],
    )
    rt.output.listing(
        doc["clients"],
        ["chain_id", "staker_address", "validator_key"],
        title="Clients (referred stakers)",
        headers={"validator_key": "validator (blank: any)"},
    )


def _tiers_text(config: dict[str, Any] | None) -> str | None:
    if not config:
        return None
    steps = ", ".join(f"≥{step['from_native']}: {step['rate_bps']} bps" for step in config["steps"])
    return f"{config['mode']} ({steps})"


# -- compute-commissions ---------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    app.add_typer(agreements_app, name="agreements")
    app.add_typer(commissions_app, name="commissions")

    @command(
        app,
        "compute-commissions",
        path="compute-commissions",
        permission=Permission.MANAGE_COMMISSIONS,
        help="Compute partner commission lines for one period (SPEC §8); --dry-run shows the difference.",
    )
    def compute_commissions_cmd(
        rt: Runtime,
        chain: Chain,
        period: PeriodOpt,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Compute and show the difference; write nothing.")
        ] = False,
        no_wait: NoWait = False,
    ) -> None:
        with rt.period_lock(chain, period, no_wait=no_wait):
            result = commissions.run_compute_commissions(
                rt.engine, rt.audit, chain_id=chain, period=period, dry_run=dry_run
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
def commissions_show(rt: Runtime, chain: Chain, period: PeriodOpt, partner: PartnerOpt = None) -> None:
    with rt.transaction() as session:
        lines = commissions.commission_lines(
            session, chain, period, partner_name=partner, own_partner_id=_own_partner(rt)
        )
        chain_row = periods.get_chain(session, chain)
    if rt.output.is_machine:
        rt.output.listing(lines, commissions.LINE_COLUMNS)
        return
    unit = chain_row.display_unit or "display"
    totals = commissions.partner_totals(lines)
    shown: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        shown.append(
            {
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
                    "final_amount_native": f"[bold]{to_plain_string(total)}[/bold]\n"
                    f"[dim]{to_plain_string(to_display(total, chain_row.native_decimals))} {unit}[/dim]",
                }
            )
    rt.output.listing(
        shown,
        [
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
            + (" that you may see (partners see released statements only)" if _own_partner(rt) else "")
            + ": run `aurora compute-commissions`."
        )
