"""Typed errors of the finance services, carrying the facts; they name fields and steps, never a flag.

The CLI (`cli.finance_words`) words them for the command line (`--month '2025-13' is not a month
…`); a script or test reads their attributes. Nothing here touches the database or the terminal.
Errors that need a service's own types live beside it (`statements.NoStatement`,
`statements.TransitionRefused`, `overrides.LineLocked`, `overrides.NoLine`).
"""

from __future__ import annotations

from aurora_cli.errors import Conflict, InvalidInput


class InvalidField(InvalidInput):
    """`field` (a service argument: "month", "reference", "amount", "out" …) was refused for `reason`.

    `reason` is the sentence's tail after the field's name, e.g. "'2025-13' is not a month: write it
    as YYYY-MM, e.g. 2025-09." or "is required: give the payment's reference (transaction id)."
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field} {reason}")
        self.field = field
        self.reason = reason


class AmbiguousPartner(InvalidInput):
    """More than one partner carries the name; the statement must be selected by its id."""

    def __init__(self, name: str, count: int) -> None:
        super().__init__(f"{count} partners are named {name!r}: select the statement by its id instead.")
        self.name = name
        self.count = count


class UnfinalizedPeriods(Conflict):
    """Statements were asked for periods that are not final, without allowing it."""

    def __init__(self, chain_id: str, periods: list[str]) -> None:
        super().__init__(
            f"period(s) {', '.join(periods)} of {chain_id} are not finalized, so their commissions may "
            "still change: finalize them once they are final, or allow unfinalized periods (recorded on "
            "each statement)."
        )
        self.chain_id = chain_id
        self.periods = periods


class AmbiguousAgreement(InvalidInput):
    """Several partners have an agreement of the name; the partner must be named too."""

    def __init__(self, name: str, partners: list[str]) -> None:
        super().__init__(
            f"several partners have an agreement named {name!r} ({', '.join(partners)}): name the partner too."
        )
        self.name = name
        self.partners = partners
