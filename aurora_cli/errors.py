"""The typed errors services raise, in domain words; never exit codes, flags or output.

A message names the caller's inputs with `param("start")` instead of writing a flag: read as
`error.message` it says "start"; the CLI frame (`aurora_cli.cli.frame`) renders the same marker as
`--start` and maps each error class to an exit code (`aurora_cli.cli.exit_codes`), once.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_PARAM = re.compile(r"\{param:([a-z_]+)\}")


def param(name: str) -> str:
    """Name the caller's input `name` (a service argument) inside an error message."""
    return "{param:" + name + "}"


def fill_params(text: str, spell: Callable[[str], str]) -> str:
    """`text` with every `param(...)` marker spelled by `spell(name)`."""
    return _PARAM.sub(lambda match: spell(match.group(1)), text)


def in_words(name: str) -> str:
    return name.replace("_", " ")


class AuroraError(Exception):
    """A failure the user can act on; `message` is one clear sentence."""

    def __init__(self, message: str, *, details: list[tuple[str, str]] | None = None) -> None:
        self.template = message
        # (field path or item, reason) pairs, listed under the sentence; may hold param() markers.
        self.detail_templates: list[tuple[str, str]] = details or []
        super().__init__(self.message)

    def spelled(self, spell: Callable[[str], str]) -> tuple[str, list[tuple[str, str]]]:
        """The sentence and the details with each named input spelled by `spell`."""
        details = [(fill_params(w, spell), fill_params(r, spell)) for w, r in self.detail_templates]
        return fill_params(self.template, spell), details

    @property
    def message(self) -> str:
        return fill_params(self.template, in_words)

    @property
    def details(self) -> list[tuple[str, str]]:
        return self.spelled(in_words)[1]


class InvalidInput(AuroraError):
    """Bad input: a file, an argument value, an agreement; `details` holds every field error."""


class MissingInput(InvalidInput):
    """A required input was not given (the CLI reads it as a usage error: exit 2)."""


class NotFound(AuroraError):
    """A named thing (chain, period, partner, statement, line) does not exist."""


class NotAuthenticated(AuroraError):
    """No valid session or service token was presented."""


class PermissionDenied(AuroraError):
    """The acting user's role or scope does not allow the action."""


class Conflict(AuroraError):
    """A refused transition, a locked statement, a lock held by another run."""


class DatabaseUnavailable(AuroraError):
    """The database cannot be reached or is not initialised."""



class Incomplete(AuroraError):
    """Part of what was asked for is not available yet (a provider's period not published): the
    rest was done and a later run fills the gap."""


class WriteFailed(AuroraError):
    """A file could not be written: the disk is full, the file system is read-only, no permission."""


def write_failed(exc: OSError, path: object) -> WriteFailed:
    """One sentence for an operating-system error while writing `path` (ENOSPC: the disk is full)."""
    import errno

    where = f" writing {path}" if path else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return WriteFailed(f"the disk is full{where}: free some space and rerun; nothing was kept.")
    if exc.errno == errno.EROFS:
        return WriteFailed(f"the file system is read-only{where}: choose another place.")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return WriteFailed(f"permission denied{where}: choose a place you may write to.")
    return WriteFailed(f"{exc.strerror or exc}{f' ({path})' if path else ''}: check the path and rerun.")
