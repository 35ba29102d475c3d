"""The one set of exit codes and typed errors.

Services raise these; the CLI layer maps them to an exit code and one sentence, once, in
`aurora_cli.cli.frame`. Nothing here prints or touches the database.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """SPEC §13 exit codes."""

    OK = 0
    ERROR = 1
    USAGE = 2
    PARTIAL = 3
    PERMISSION_DENIED = 4
    CONFLICT = 5


class AuroraError(Exception):
    """A failure the user can act on; `str(error)` is one clear sentence."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, details: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        # (field path or item, reason) pairs, listed under the sentence.
        self.details: list[tuple[str, str]] = details or []


class InvalidInput(AuroraError):
    """Bad input: a file, an argument value, an agreement; `details` holds every field error."""


class UsageError(AuroraError):
    exit_code = ExitCode.USAGE


class NotFound(AuroraError):
    """A named thing (chain, period, partner, statement, line) does not exist."""


class NotAuthenticated(AuroraError):
    exit_code = ExitCode.PERMISSION_DENIED


class PermissionDenied(AuroraError):
    exit_code = ExitCode.PERMISSION_DENIED


class Conflict(AuroraError):
    """A refused transition, a locked statement, a lock held by another run."""

    exit_code = ExitCode.CONFLICT


class DatabaseUnavailable(AuroraError):
    """The database cannot be reached or is not initialised."""
