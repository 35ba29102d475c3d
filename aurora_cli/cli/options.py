"""The command-line options more than one command takes, declared once (names, flags, help).

Parsing only: what an option means is the service's business.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

# Shapes only (a bad shape is a usage error, exit 2, before anything runs); whether a period exists or
# suits its chain is the service's business. Messages name the accepted forms in words.
_DAY_LIKE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _period_shape(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip():
        raise typer.BadParameter("is empty: give an epoch number such as 850 or a UTC day such as 2025-10-01.")
    if _DAY_LIKE.fullmatch(value):
        try:
            if len(value) != 10:
                raise ValueError
            date.fromisoformat(value)
        except ValueError:
            raise typer.BadParameter(
                f"{value!r} is not a calendar day: write the year, a two-digit month and a two-digit day "
                "joined by hyphens, e.g. 2025-10-01 (or give an epoch number such as 850)."
            ) from None
    return value


def _month_shape(value: str | None) -> str | None:
    if value is None:
        return None
    match = _MONTH.fullmatch(value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise typer.BadParameter(
            f"{value!r} is not a month: write the year and a two-digit month joined by a hyphen, e.g. 2025-09."
        )
    return value


def parse_moment(value: str) -> datetime:
    """A point in time from the command line: a UTC day (midnight UTC), or a date and time with an
    optional offset (none means UTC). Raises ValueError with the accepted forms in words."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text else text)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a date or time: give a day such as 2025-10-01 (midnight UTC), or a day and "
            "time such as 2025-10-01T06:00:00Z, optionally with an offset such as +02:00 (UTC when none)."
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _moment_option(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_moment(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


Chain = Annotated[str, typer.Option("--chain", help="Chain id, e.g. solana-mainnet.")]
ChainFilter = Annotated[str | None, typer.Option("--chain", help="Only this chain.")]
# Optional where other options can stand in (a statement id selects its chain itself).
ChainSelector = Annotated[str | None, typer.Option("--chain", help="Chain id, e.g. solana-mainnet.")]

_PERIOD_HELP = "Epoch number (Solana) or UTC day YYYY-MM-DD (Ethereum)."
Period = Annotated[str, typer.Option("--period", help=_PERIOD_HELP, callback=_period_shape)]
# The pipeline steps also take `previous`: the newest complete period, resolved from the provider.
PipelinePeriod = Annotated[
    str,
    typer.Option(
        "--period",
        help=_PERIOD_HELP + " `previous`: the newest complete one (for timers).",
        callback=_period_shape,
    ),
]
PeriodSelector = Annotated[str | None, typer.Option("--period", help=_PERIOD_HELP, callback=_period_shape)]
PeriodFilter = Annotated[str | None, typer.Option("--period", help="Only this period.", callback=_period_shape)]
Month = Annotated[
    str | None,
    typer.Option(
        "--month", help="UTC month, e.g. 2025-09: every period that starts in it.", callback=_month_shape
    ),
]
# A point in time: 2025-10-01 (midnight UTC) or 2025-10-01T06:00:00Z / …+02:00 (UTC when no offset).
_MOMENT_HELP = "a day such as 2025-10-01 (midnight UTC) or a time such as 2025-10-01T06:00:00Z"


def moment_option(name: str, help: str) -> typer.models.OptionInfo:
    """An option holding a point in time, parsed by `parse_moment` (help says the accepted forms)."""
    return typer.Option(name, help=f"{help}: {_MOMENT_HELP}.", callback=_moment_option, metavar="WHEN")

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

