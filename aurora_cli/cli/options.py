"""The command-line options more than one command takes, declared once (names, flags, help).

Parsing only: what an option means is the service's business.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Chain = Annotated[str, typer.Option("--chain", help="Chain id, e.g. solana-mainnet.")]
ChainFilter = Annotated[str | None, typer.Option("--chain", help="Only this chain.")]
# Optional where other options can stand in (a statement id selects its chain itself).
ChainSelector = Annotated[str | None, typer.Option("--chain", help="Chain id, e.g. solana-mainnet.")]

_PERIOD_HELP = "Epoch number (Solana) or UTC day YYYY-MM-DD (Ethereum)."
Period = Annotated[str, typer.Option("--period", help=_PERIOD_HELP)]
# The pipeline steps also take `previous`: the newest complete period, resolved from the provider.
PipelinePeriod = Annotated[
    str,
    typer.Option("--period", help=_PERIOD_HELP + " `previous`: the newest complete one (for timers)."),
]
PeriodSelector = Annotated[str | None, typer.Option("--period", help=_PERIOD_HELP)]
PeriodFilter = Annotated[str | None, typer.Option("--period", help="Only this period.")]
Month = Annotated[
    str | None, typer.Option("--month", help="UTC month YYYY-MM: every period that starts in it.")
]

Partner = Annotated[str | None, typer.Option("--partner", help="Partner name.")]
RequiredPartner = Annotated[str, typer.Option("--partner", help="Partner name.")]
Statement = Annotated[str | None, typer.Option("--statement", help="A statement id.")]
Out = Annotated[str, typer.Option("--out", help="File to write; - writes CSV or JSON to stdout.")]
AgreementPath = Annotated[
    Path, typer.Argument(help="The agreement TOML file.", exists=False, dir_okay=False, show_default=False)
]
AgreementPaths = Annotated[
    list[Path],
    typer.Argument(
        help="Agreement TOML files, or directories whose *.toml files are applied (in name order).",
        exists=False,
        show_default=False,
    ),
]
ValidatorFilter = Annotated[str | None, typer.Option("--validator", help="Only this validator key.")]

NoWait = Annotated[bool, typer.Option("--no-wait", help="Exit 5 at once if another run holds this period.")]
ImportFile = Annotated[
    Path | None,
    typer.Option(
        "--file", help="A JSON Lines import file (the `file` provider); without it, fetch from the HTTP providers."
    ),
]
FetchProviders = Annotated[
    list[str] | None,
    typer.Option("--provider", help="Without --file: fetch only from this provider (repeatable)."),
]
FetchValidators = Annotated[
    list[str] | None,
    typer.Option("--validator", help="Without --file: fetch only this validator key (repeatable)."),
]
SkipInvalid = Annotated[
    bool,
    typer.Option(
        "--skip-invalid/--strict",
        help="--strict (default) stages nothing when any line is bad; --skip-invalid keeps the good lines.",
    ),
]
AllowUnfinalized = Annotated[
    bool,
    typer.Option(
        "--allow-unfinalized",
        help="Generate statements even if the period is not final yet (recorded on them).",
    ),
]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin (for scripts)."),
]

