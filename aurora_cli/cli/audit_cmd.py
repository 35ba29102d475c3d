"""`aurora audit list|verify` (ADMIN, AUDITOR): parse, call `services.audit`, render."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from aurora_cli.cli.exit_codes import ExitCode
from aurora_cli.cli.frame import Runtime, command
from aurora_cli.cli.options import moment_option
from aurora_cli.domain.permissions import Permission
from aurora_cli.errors import Conflict, InvalidInput
from aurora_cli.services import audit

app = typer.Typer(help="The audit trail.", no_args_is_help=True)


def _correlation(value: str | None) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise InvalidInput(
            f"--correlation {value!r} is not a correlation id: give the UUID an error message or "
            "`audit list` shows, e.g. 6f2d1a52-3c1b-4a8e-9a55-0d7b1e2f3a4b."
        ) from None


@command(
    app, "list", path="audit list", permission=Permission.READ_AUDIT, help="List audit entries, newest first."
)
def list_entries(
    rt: Runtime,
    user: Annotated[str | None, typer.Option("--user", help="Username.")] = None,
    action: Annotated[str | None, typer.Option("--action", help="e.g. COMMAND, CONFIG_APPLY.")] = None,
    resource_type: Annotated[str | None, typer.Option("--resource-type", help="e.g. command, user.")] = None,
    resource_id: Annotated[
        str | None, typer.Option("--resource-id", help="Resource id or command name.")
    ] = None,
    correlation: Annotated[str | None, typer.Option("--correlation", help="Correlation id.")] = None,
    since: Annotated[str | None, moment_option("--since", "From this time")] = None,  # a datetime once parsed
    until: Annotated[str | None, moment_option("--until", "Before this time")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 100,
) -> None:
    if action is not None:
        action = audit.audit_action(action)  # refused before the database is reached
    correlation_id = _correlation(correlation)
    with rt.transaction() as session:
        rows = audit.list_entry_rows(
            session,
            username=user,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            correlation_id=correlation_id,
            since=since,
            until=until,
            limit=limit,
        )
    rt.output.listing(
        rows,
        audit.ENTRY_COLUMNS,
        title="Audit log",
        table_columns=["seq", "timestamp", "username", "action", "resource_type", "resource_id"],
    )


@command(
    app,
    "verify",
    path="audit verify",
    permission=Permission.READ_AUDIT,
    help="Walk the hash chain, report the first broken link, and print the head to anchor elsewhere.",
)
def verify(rt: Runtime) -> int:
    verdict = audit.verify(rt.engine)
    if not rt.output.is_machine:
        if verdict.intact:
            where = (
                f"head seq {verdict.head_seq}, hash {verdict.head_row_hash}"
                if verdict.head_seq is not None
                else "no rows yet"
            )
            rt.output.say(f"Audit chain intact: {verdict.rows_checked} rows checked; {where}.")
            return ExitCode.OK
        raise Conflict(
            f"audit chain broken at row {verdict.broken_seq} ({verdict.broken_at}): {verdict.reason}."
        )
    rt.output.single(
        {
            "intact": verdict.intact,
            "rows_checked": verdict.rows_checked,
            "broken_at_log_id": verdict.broken_at,
            "broken_at_seq": verdict.broken_seq,
            "reason": verdict.reason,
            "head_seq": verdict.head_seq,
            "head_row_hash": verdict.head_row_hash,
        }
    )
    # A broken chain is a conflict with what the log promises, like a refused transition.
    return ExitCode.OK if verdict.intact else ExitCode.CONFLICT
