"""`aurora audit list|verify|anchor` (ADMIN, AUDITOR) and `rotate-key` (ADMIN): parse, call `services.audit`, render."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer

from aurora_cli.cli.exit_codes import ExitCode
from aurora_cli.cli.frame import Runtime, command
from aurora_cli.cli.options import moment_option
from aurora_cli.domain.permissions import Permission
from aurora_cli.errors import InvalidInput
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
    help="Walk the hash chain, compare it with the checkpoint outside the database, report the first "
    "broken link or missing tail.",
)
def verify(
    rt: Runtime,
    anchor: Annotated[
        list[Path] | None,
        typer.Option("--anchor", help="An anchor file from `audit anchor` the chain must still contain."),
    ] = None,
) -> int:
    verdict = audit.verify_here(rt.engine, rt.data_dir, rt.keyring, anchor or [])
    if not rt.output.is_machine:
        if not verdict.intact:
            raise audit.ChainBroken(audit.broken_sentence(verdict))
        where = (
            f"head seq {verdict.head_seq}, hash {verdict.head_row_hash}"
            if verdict.head_seq is not None
            else "no rows yet"
        )
        rt.output.say(f"Audit chain intact: {verdict.rows_checked} rows checked; {where}.")
        return ExitCode.OK
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
    return ExitCode.OK if verdict.intact else ExitCode.ERROR


@command(
    app,
    "anchor",
    path="audit anchor",
    permission=Permission.READ_AUDIT,
    help="Verify the chain and write its head (seq, hash, key id) to FILE, to keep somewhere else.",
)
def anchor(
    rt: Runtime,
    out: Annotated[Path, typer.Option("--out", help="The anchor file: a new path, or a regular file.")],
) -> None:
    document = audit.publish_anchor(rt.engine, rt.data_dir, rt.keyring, out)
    if rt.output.is_machine:
        rt.output.single(document)
        return
    rt.output.say(
        f"Anchored head seq {document['head_seq']}, hash {document['head_row_hash']} in {out}; keep a copy "
        "where whoever holds the database cannot change it, and check it with `aurora audit verify --anchor`."
    )


@command(
    app,
    "rotate-key",
    path="audit rotate-key",
    permission=Permission.ADMINISTER,
    help="Start hashing new audit rows with a new key; the old key stays in the key file for verify.",
)
def rotate_key(rt: Runtime) -> None:
    old, new = audit.rotate_key(rt.settings)
    rt.output.say(f"Audit key rotated: new rows use key {new}; key {old} is kept to verify older rows.")
