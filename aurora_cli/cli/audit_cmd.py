"""`aurora audit list|verify` (ADMIN, AUDITOR)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy import select, text

from aurora_cli.cli.frame import Runtime, command
from aurora_cli.db.models import AuditAction, AuditLog, User
from aurora_cli.domain.permissions import Permission
from aurora_cli.errors import Conflict, InvalidInput, NotFound
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


def _action(value: str | None) -> str | None:
    """An AuditAction name, any case; anything else is refused before it reaches the database."""
    if value is None:
        return None
    name = value.strip().upper()
    if name not in AuditAction.__members__:
        raise InvalidInput(
            f"--action {value!r} is not an audit action; use one of: "
            f"{', '.join(a.value for a in AuditAction)}."
        )
    return AuditAction[name].value


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
    since: Annotated[datetime | None, typer.Option("--since", help="From this time (ISO 8601).")] = None,
    until: Annotated[datetime | None, typer.Option("--until", help="Before this time (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 100,
) -> None:
    action = _action(action)
    correlation_id = _correlation(correlation)
    with rt.transaction() as session:
        user_id = None
        if user:
            user_id = session.scalar(select(User.user_id).where(User.username == user))
            if user_id is None:
                raise NotFound(f"no user named {user!r}.")
        entries = audit.list_entries(
            session,
            user_id=user_id,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            correlation_id=correlation_id,
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
    help="Walk the hash chain, report the first broken link, and print the head to anchor elsewhere.",
)
def verify(rt: Runtime) -> int:
    with rt.transaction() as session:
        # One snapshot for the walk and the head, so the head reported is the last row walked even
        # while other commands append rows. Must be the transaction's first statement.
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        head = session.execute(
            select(AuditLog.seq, AuditLog.row_hash).order_by(AuditLog.seq.desc()).limit(1)
        ).first()
        verdict = audit.verify(session)
    head_seq, head_hash = (head.seq, head.row_hash) if head is not None else (None, None)
    result = {
        "intact": verdict.intact,
        "rows_checked": verdict.rows_checked,
        "broken_at_log_id": verdict.broken_at,
        "broken_at_seq": verdict.broken_seq,
        "reason": verdict.reason,
        # The last row's seq and row_hash: kept outside the database, they let a later verify prove
        # that no row up to here was dropped from the end or rewritten together with its successors.
        "head_seq": head_seq,
        "head_row_hash": head_hash,
    }
    if not rt.output.is_machine:
        if verdict.intact:
            where = f"head seq {head_seq}, hash {head_hash}" if head is not None else "no rows yet"
            rt.output.say(f"Audit chain intact: {verdict.rows_checked} rows checked; {where}.")
            return 0
        raise Conflict(
            f"audit chain broken at row {verdict.broken_seq} ({verdict.broken_at}): {verdict.reason}."
        )
    rt.output.single(result)
    return 0 if verdict.intact else 5
