"""The option types of the finance commands (agreements … export), declared once; types only, no checks.

Declared once here; at merge they point at the shared `cli/options.py`. Types only: no parsing,
no checks (those are `cli.finance_words`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

_CHAIN_HELP = "Chain id, e.g. solana-mainnet."
_PERIOD_HELP = "Epoch number (Solana) or UTC day YYYY-MM-DD (Ethereum)."

Chain = Annotated[str, typer.Option("--chain", help=_CHAIN_HELP)]
ChainOpt = Annotated[str | None, typer.Option("--chain", help=_CHAIN_HELP)]
Period = Annotated[str, typer.Option("--period", help=_PERIOD_HELP)]
PeriodOpt = Annotated[str | None, typer.Option("--period", help=_PERIOD_HELP)]
MonthOpt = Annotated[
    str | None, typer.Option("--month", help="UTC month YYYY-MM: every period that starts in it.")
]
Partner = Annotated[str, typer.Option("--partner", help="Partner name.")]
PartnerOpt = Annotated[str | None, typer.Option("--partner", help="Partner name.")]


StatementOpt = Annotated[str | None, typer.Option("--statement", help="A statement id.")]
NoWait = Annotated[bool, typer.Option("--no-wait", help="Exit 5 at once if another run holds this period.")]
OutOpt = Annotated[str, typer.Option("--out", help="File to write; - writes CSV or JSON to stdout.")]
AgreementPath = Annotated[
    Path, typer.Argument(help="The agreement TOML file.", exists=False, dir_okay=False, show_default=False)
]
