"""`aurora agreements apply|validate|list|show`: parse, call `services.agreements`, render; no rules here."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from aurora_cli.cli.finance_words import in_flag_words, own_partner
from aurora_cli.cli.frame import Runtime, command
from aurora_cli.cli.options import AgreementPath, AgreementPaths, Partner
from aurora_cli.domain.agreement_file import load_agreement_file
from aurora_cli.domain.permissions import Permission
from aurora_cli.services import agreements

agreements_app = typer.Typer(help="Partner agreements as code (reviewed TOML files).", no_args_is_help=True)


@command(
    agreements_app,
    "apply",
    path="agreements apply",
    permission=Permission.MANAGE_COMMISSIONS,
    help="Create or update partner agreements from their TOML files (or every *.toml of a directory),"
    " in one transaction; applying them twice changes nothing.",
)
def agreements_apply(rt: Runtime, files: AgreementPaths) -> None:
    paths = agreements.agreement_paths(files)
    loaded = [(path.name, load_agreement_file(path)) for path in paths]
    with rt.transaction() as session:
        results = agreements.apply_agreements(session, loaded, user_id=rt.user_id, audit=rt.trail)
    if len(results) == 1:
        _report_apply(rt, results[0][1], planned=False)
        return
    changed = 0
    for name, result in results:
        for where, warning in result.warnings:
            rt.output.say(f"[yellow]warning[/yellow] {name} {where}: {warning}")
        if result.changed:
            changed += 1
            rt.output.say(f"{name}: " + "; ".join(result.describe()) + ".")
    rt.output.say(
        f"Applied {len(results)} agreement files: {changed} changed, {len(results) - changed} unchanged."
    )
    if rt.output.is_machine:
        rt.output.listing(
            [{"file": name, **result.summary()} for name, result in results],
            ["file", *results[0][1].summary().keys()],
            title="agreements apply",
        )


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
        result = agreements.plan_agreement(session, agreement_file, user_id=rt.user_id)
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
        rows = agreements.list_agreements(session, partner_id=own_partner(rt))
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
@in_flag_words
def agreements_show(
    rt: Runtime,
    name: Annotated[str, typer.Argument(help="The agreement's name.", show_default=False)],
    partner: Partner = None,
) -> None:
    with rt.transaction() as session:
        doc = agreements.agreement_details(session, name, partner_name=partner, partner_id=own_partner(rt))
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
