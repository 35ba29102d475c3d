"""The one exit-code enum (SPEC §13) and the one mapping from an error to its code.

CLI layer only: services raise `aurora_cli.errors` types and never see these codes.
"""

from __future__ import annotations

from enum import IntEnum

from aurora_cli.errors import (
    AuroraError,
    Conflict,
    Incomplete,
    MissingInput,
    NotAuthenticated,
    PermissionDenied,
)


class ExitCode(IntEnum):
    """SPEC §13 exit codes."""

    OK = 0
    ERROR = 1
    USAGE = 2
    PARTIAL = 3
    PERMISSION_DENIED = 4
    CONFLICT = 5


class UsageError(AuroraError):
    """The command line itself is wrong: a missing or contradictory option (exit 2)."""


_CODES: tuple[tuple[type[AuroraError], ExitCode], ...] = (
    (UsageError, ExitCode.USAGE),
    (MissingInput, ExitCode.USAGE),  # a required option left out
    (NotAuthenticated, ExitCode.PERMISSION_DENIED),
    (PermissionDenied, ExitCode.PERMISSION_DENIED),
    (Conflict, ExitCode.CONFLICT),
    (Incomplete, ExitCode.PARTIAL),
)

# How the audit log's COMMAND row names an invocation's result.
_OUTCOMES = {
    ExitCode.OK: "success",
    ExitCode.PARTIAL: "partial",
    ExitCode.PERMISSION_DENIED: "refused",
    ExitCode.CONFLICT: "refused",
}


def exit_code_for(error: AuroraError) -> ExitCode:
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    return ExitCode.ERROR


def outcome_of(code: int) -> str:
    return _OUTCOMES.get(code, "failed")  # IntEnum keys match plain ints
