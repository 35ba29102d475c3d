"""Command-line words of the finance commands: option checks, selectors, flags in errors; no database.

Owns the checks of option combinations ("give exactly one of --period or --month"), turning the
options into the services' `StatementSelector`, who a PARTNER user is scoped to, and rewording the
services' typed errors (which name fields, never flags) into the sentences users see. It never
touches the database.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from aurora_cli.cli.exit_codes import UsageError
from aurora_cli.cli.frame import Runtime
from aurora_cli.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from aurora_cli.services.finance_errors import (
    AmbiguousAgreement,
    AmbiguousPartner,
    InvalidField,
    UnfinalizedPeriods,
)
from aurora_cli.services.overrides import LineLocked, NoLine
from aurora_cli.services.statements import NoStatement, StatementSelector, Transition, TransitionRefused

# How a refusal offers each workflow step: by the command that takes it.
COMMAND_OFFERS = {
    "submit": "submitted for approval (`aurora statements submit`)",
    "approve": "approved by a user other than its submitter (`aurora approve`)",
    "release": "released (`aurora statements release`)",
    "mark-paid": "marked paid (`aurora statements mark-paid --reference TXID`)",
    "reopen": "reopened by an ADMIN (`aurora statements reopen --reason TEXT`)",
}


def command_offer(transition: Transition) -> str:
    return COMMAND_OFFERS[transition.name]


def require_period_or_month(period: str | None, month: str | None) -> None:
    if (period is None) == (month is None):
        raise UsageError("give exactly one of --period P or --month YYYY-MM.")


def statement_selector(
    *,
    statement: str | None,
    partner: str | None,
    chain: str | None,
    period: str | None,
    month: str | None,
) -> StatementSelector:
    """`--statement ID`, or `--partner NAME --chain C (--period P | --month YYYY-MM)`."""
    if statement is not None:
        if partner or chain or period or month:
            raise UsageError(
                "--statement selects one statement: leave out --partner/--chain/--period/--month."
            )
        try:
            statement_id = uuid.UUID(statement)
        except ValueError as exc:
            raise InvalidInput(f"--statement {statement!r} is not a statement id (a UUID).") from exc
        return StatementSelector(statement_id=statement_id)
    if not (partner and chain) or (period is None) == (month is None):
        raise UsageError(
            "select statements with --statement ID, or with --partner NAME --chain C and one of "
            "--period P or --month YYYY-MM."
        )
    return StatementSelector(partner=partner, chain_id=chain, period=period, month=month)


def own_partner(rt: Runtime) -> str | None:
    """PARTNER users see only their own partner's rows; None for everyone else. Read from the scope
    (`rt.scope`), the one value row-level security reads too."""
    scope = rt.scope
    if not scope.is_partner:
        return None
    if not scope.partner_id:
        raise PermissionDenied(
            f"permission denied: {scope.username} is a PARTNER user without a partner; ask an ADMIN."
        )
    return scope.partner_id


def in_flag_words(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command body, saying the services' field errors with the command line's flags."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InvalidField as exc:
            raise InvalidInput(f"--{exc.field.replace('_', '-')} {exc.reason}", details=exc.details) from exc
        except AmbiguousPartner as exc:
            raise InvalidInput(
                f"{exc.count} partners are named {exc.name!r}: select the statement with --statement ID instead."
            ) from exc
        except AmbiguousAgreement as exc:
            raise InvalidInput(
                f"several partners have an agreement named {exc.name!r} ({', '.join(exc.partners)}): "
                "add --partner NAME."
            ) from exc
        except TransitionRefused as exc:
            message, details = exc.wording(command_offer)
            raise Conflict(message, details=details) from exc
        except LineLocked as exc:
            raise Conflict(
                exc.sentence(
                    "an ADMIN can reopen it "
                    f"(`aurora statements reopen --statement {exc.statement_id} --reason TEXT`)"
                )
            ) from exc
        except NoLine as exc:
            raise NotFound(
                f"no commission line {exc.line_id}: list lines with `aurora commissions show --chain C --period P`."
            ) from exc
        except NoStatement as exc:
            chosen = exc.selector
            which = f"--period {chosen.period}" if chosen.period is not None else f"--month {chosen.month}"
            raise NotFound(
                f"there is no statement of {chosen.describe()}: generate it with "
                f"`aurora statements generate --chain {chosen.chain_id} {which}`."
            ) from exc
        except UnfinalizedPeriods as exc:
            raise Conflict(
                f"period(s) {', '.join(exc.periods)} of {exc.chain_id} are not finalized, so their commissions "
                f"may still change: run `aurora periods finalize --chain {exc.chain_id}` once they are final, "
                "or pass --allow-unfinalized (recorded on each statement)."
            ) from exc

    return run
