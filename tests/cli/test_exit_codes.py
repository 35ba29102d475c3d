"""One mapping from a service error to what the user reads: the exit code, and inputs as flags."""

from __future__ import annotations

import pytest

from aurora_cli.cli.exit_codes import ExitCode, UsageError, exit_code_for, outcome_of
from aurora_cli.cli.frame import error_sentence
from aurora_cli.errors import (
    Conflict,
    DatabaseUnavailable,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    param,
)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidInput("x"), ExitCode.ERROR),
        (NotFound("x"), ExitCode.ERROR),
        (DatabaseUnavailable("x"), ExitCode.ERROR),
        (UsageError("x"), ExitCode.USAGE),
        (NotAuthenticated("x"), ExitCode.PERMISSION_DENIED),
        (PermissionDenied("x"), ExitCode.PERMISSION_DENIED),
        (Conflict("x"), ExitCode.CONFLICT),
    ],
)
def test_each_error_class_has_its_exit_code(error, code) -> None:
    assert exit_code_for(error) is code


def test_a_named_input_reads_as_a_word_in_services_and_as_a_flag_on_the_command_line() -> None:
    error = InvalidInput(
        f"{param('start')} must be before {param('end')}.",
        details=[(param("skip_invalid"), f"see {param('no_wait')}")],
    )
    assert error.message == str(error) == "start must be before end."
    assert error.details == [("skip invalid", "see no wait")]
    assert error_sentence(error) == ("--start must be before --end.", [("--skip-invalid", "see --no-wait")])


def test_the_audit_outcome_of_each_code() -> None:
    assert [outcome_of(c) for c in (0, 1, 2, 3, 4, 5, 99)] == [
        "success",
        "failed",
        "failed",
        "partial",
        "refused",
        "refused",
        "failed",
    ]


def test_the_usage_error_alias_in_errors_is_the_cli_class_until_statements_is_split() -> None:
    from aurora_cli import errors

    assert errors.UsageError is UsageError
