"""`aurora pnl show`: validator P&L per period, native units with display units in the table.

Parse, call `services.pnl`, render; the amounts are computed in the service.
"""

from __future__ import annotations

import typer

from aurora_cli.cli.frame import Runtime, command
from aurora_cli.cli.options import Chain, PeriodFilter, ValidatorFilter
from aurora_cli.domain.money import to_display, to_plain_string
from aurora_cli.domain.permissions import Permission
from aurora_cli.render.output import short_key
from aurora_cli.services import periods, pnl

app = typer.Typer(help="Validator P&L.", no_args_is_help=True)

PNL_AMOUNTS = list(pnl.AMOUNT_COLUMNS)


@command(
    app,
    "show",
    path="pnl show",
    permission=Permission.READ_PNL,
    help="Validator P&L per period, in native units (and display units in the table).",
)
def pnl_show(
    rt: Runtime,
    chain: Chain,
    period: PeriodFilter = None,
    validator: ValidatorFilter = None,
) -> None:
    with rt.transaction() as session:
        rows, decimals = pnl.pnl_rows(session, chain, period, validator, scope=rt.scope)
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
