"""`aurora audit list|verify` (ADMIN, AUDITOR)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy import select

from aurora_cli.cli.frame import Runtime, command
from aurora_cli.db.models import User
from aurora_cli.domain.permissions import Permission
from aurora_cli.errors import Conflict, NotFound
from aurora_cli.services import audit

app = typer.Typer(help="The audit trail.", no_args_is_help=True)
COLUMNS = [
    "log_id",
    "seq",
    "timestamp",
    "user_id",
    "username",
    "action",
    "resource_type",
    "resource_id",
    "correlation_id",
    "reason",
    "before_snapshot",
    "after_snapshot",
    "change_hash",
    "previous_hash",
    "row_hash",
]


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
    since: Annotated[datetime | None, typer.Option("--since", help="From this time (ISO 8601).")] = None,
    until: Annotated[datetime | None, typer.Option("--until", help="Before this time (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 100,
) -> None:
    with rt.transaction() as session:
        user_id = None
        if user:
            user_id = session.scalar(select(User.user_id).where(User.username == user))
            if user_id is None:
                raise NotFound(f"no user named {user!r}.")
        entries = audit.list_entries(
            session,
            user_id=user_id,
            action=action.upper() if action else None,
            resource_type=resource_type,
            resource_id=resource_id,
            correlation_id=uuid.UUID(correlation) if correlation else None,
            since=since,
            until=until,
            limit=limit,
        )
        names = dict(session.execute(select(User.user_id, User.username)).all())
        rows = [
            {**{c: getattr(e, c, None) for c in COLUMNS}, "username": names.get(e.user_id)} for e in entries
        ]
    rt.output.listing(
        rows,
        COLUMNS,
        title="Audit log",
        table_columns=["seq", "timestamp", "username", "action", "resource_type", "resource_id"],
    )


@command(
    app,
    "verify",
    path="audit verify",
    permission=Permission.READ_AUDIT,
    help="Walk the hash chain and report the first broken link.",
)
def verify(rt: Runtime) -> int:
    with rt.transaction() as session:
        verdict = audit.verify(session)
    result = {
        "intact": verdict.intact,
        "rows_checked": verdict.rows_checked,
        "broken_at_log_id": verdict.broken_at,
        "broken_at_seq": verdict.broken_seq,
        "reason": verdict.reason,
    }
    if not rt.output.is_machine:
        if verdict.intact:
            rt.output.say(f"Audit chain intact: {verdict.rows_checked} rows checked.")
            return 0
        raise Conflict(
            f"audit chain broken at row {verdict.broken_seq} ({verdict.broken_at}): {verdict.reason}."
        )
    rt.output.single(result)
    return 0 if verdict.intact else 5
