"""The command-line options more than one command takes, declared once (names, flags, help).

Parsing only: what an option means is the service's business.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aurora_cli.cli.exit_codes import UsageError

Chain = Annotated[str, typer.Option("--chain", help="Chain id, e.g. solana-mainnet.")]
ChainFilter = Annotated[str | None, typer.Option("--chain", help="Only this chain.")]

_PERIOD_HELP = "Epoch number (Solana) or UTC day YYYY-MM-DD (Ethereum)."
Period = Annotated[str, typer.Option("--period", help=_PERIOD_HELP)]
PeriodSelector = Annotated[str | None, typer.Option("--period", help=_PERIOD_HELP)]
PeriodFilter = Annotated[str | None, typer.Option("--period", help="Only this period.")]
Month = Annotated[
    str | None, typer.Option("--month", help="UTC month YYYY-MM: every period that starts in it.")
]

Partner = Annotated[str | None, typer.Option("--partner", help="Partner name.")]
ValidatorFilter = Annotated[str | None, typer.Option("--validator", help="Only this validator key.")]

NoWait = Annotated[bool, typer.Option("--no-wait", help="Exit 5 at once if another run holds this period.")]
ImportFile = Annotated[
    Path | None, typer.Option("--file", help="A JSON Lines import file (the `file` provider).")
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


def require_import_file(file: Path | None) -> Path:
    if file is None:
        raise UsageError("--file is required: only the `file` provider is available in this version.")
    return file
