"""The audit trail: append-only rows, each hash-chained to the one before (SPEC §12). Never prints.

One way to write audit rows. The CLI frame builds one `AuditTrail` per invocation (its correlation
id and acting user) and passes it to the service it calls; a service that changes something writes
its own row(s), with before/after snapshots, by calling `trail(session, action=..., ...)` inside the
transaction that makes the change, so the change and its record commit or roll back together. The
frame itself writes only the invocation's `COMMAND` row (`record_invocation`). Scripts and tests
build an `AuditTrail` themselves, or pass any callable with the same signature (`Recorder`).

`change_hash` is the seed's SHA-256 of user_id | action | resource_id | timestamp. Each row also
carries `previous_hash` (the prior row's `row_hash`) and its own `row_hash` over everything it holds,
so deleting or editing any row breaks the chain at that row. Appends serialize on one advisory lock.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from aurora_cli.db.engine import transaction
from aurora_cli.db.models import AuditAction, AuditLog, User
from aurora_cli.domain.canonical_json import jsonable
from aurora_cli.errors import InvalidInput, NotFound, param

GENESIS = "0" * 64
_LOCK_KEY = 0x4155_4449  # 'AUDI'


def change_hash(user_id: uuid.UUID | None, action: str, resource_id: str | None, timestamp: datetime) -> str:
    material = "|".join([str(user_id or ""), action, resource_id or "", _ts(timestamp)])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def row_hash(previous: str, row: AuditLog) -> str:
    body = {
        "log_id": str(row.log_id),
        "change_hash": row.change_hash,
        "resource_type": row.resource_type,
        "before_snapshot": row.before_snapshot,
        "after_snapshot": row.after_snapshot,
        "reason": row.reason,
        "correlation_id": str(row.correlation_id),
        "ip_address": str(row.ip_address) if row.ip_address else None,
        "user_agent": row.user_agent,
    }
    material = previous + json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _ts(timestamp: datetime) -> str:
    return timestamp.astimezone(UTC).isoformat(timespec="microseconds")


def record(
    session: Session,
    *,
    action: str,
    resource_type: str,
    correlation_id: uuid.UUID,
    user_id: uuid.UUID | None = None,
    resource_id: str | None = None,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
) -> AuditLog:
    """Append one audit row in the caller's transaction."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    previous = session.scalar(select(AuditLog.row_hash).order_by(AuditLog.seq.desc()).limit(1)) or GENESIS
    now = datetime.now(UTC)
    row = AuditLog(
        log_id=uuid.uuid4(),
        user_id=user_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        before_snapshot=jsonable(before) if before is not None else None,
        after_snapshot=jsonable(after) if after is not None else None,
        change_hash=change_hash(user_id, action, resource_id, now),
        reason=reason,
        correlation_id=correlation_id,
        timestamp=now,
        previous_hash=previous,
    )
    row.row_hash = row_hash(previous, row)
    session.add(row)
    session.flush()
    return row


# What a service writes its audit rows through: an `AuditTrail`, or in tests any callable with the
# signature of `AuditTrail.__call__`.
Recorder = Callable[..., object]


@dataclass(frozen=True)
class AuditTrail:
    """One invocation's audit identity: every row a service writes through it carries both ids."""

    correlation_id: uuid.UUID
    user_id: uuid.UUID | None = None

    def __call__(
        self,
        session: Session,
        *,
        action: str,
        resource_type: str,
        resource_id: str | None = None,
        before: Any = None,
        after: Any = None,
        reason: str | None = None,
    ) -> AuditLog:
        return record(
            session,
            action=action,
            resource_type=resource_type,
            correlation_id=self.correlation_id,
            user_id=self.user_id,
            resource_id=resource_id,
            before=before,
            after=after,
            reason=reason,
        )

    def acting_as(self, user_id: uuid.UUID | None) -> AuditTrail:
        """The same invocation, for a user identified by the service itself (login, logout)."""
        return AuditTrail(self.correlation_id, user_id)


def record_invocation(
    session: Session,
    *,
    correlation_id: uuid.UUID,
    user_id: uuid.UUID | None,
    command: str,
    argv: list[str],
    exit_code: int,
    outcome: str,
    error: str | None,
) -> AuditLog:
    """The invocation's own COMMAND row; `outcome` is the caller's word for `exit_code`."""
    return record(
        session,
        action="COMMAND",
        resource_type="command",
        resource_id=command,
        correlation_id=correlation_id,
        user_id=user_id,
        after={"argv": argv, "exit_code": exit_code, "outcome": outcome, "error": error},
    )


@dataclass(frozen=True)
class ChainVerdict:
    rows_checked: int
    broken_at: uuid.UUID | None
    broken_seq: int | None
    reason: str | None
    # The last row's seq and row_hash: kept outside the database, they let a later verify prove
    # that no row up to here was dropped from the end or rewritten together with its successors.
    head_seq: int | None = None
    head_row_hash: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify(engine: Engine, *, batch: int = 5000) -> ChainVerdict:
    """Walk the whole chain, report the first row whose hashes do not hold, and the chain's head."""
    with transaction(engine) as session:
        # One snapshot for the walk and the head, so the head reported is the last row walked even
        # while other commands append rows. Must be the transaction's first statement.
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        head = session.execute(
            select(AuditLog.seq, AuditLog.row_hash).order_by(AuditLog.seq.desc()).limit(1)
        ).first()
        verdict = _walk(session, batch)
    if head is None:
        return verdict
    return dataclasses.replace(verdict, head_seq=head.seq, head_row_hash=head.row_hash)


def _walk(session: Session, batch: int) -> ChainVerdict:
    previous = GENESIS
    checked = 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditLog).where(AuditLog.seq > last_seq).order_by(AuditLog.seq).limit(batch)
        ).all()
        if not rows:
            return ChainVerdict(checked, None, None, None)
        for row in rows:
            if row.previous_hash != previous:
                return ChainVerdict(checked, row.log_id, row.seq, "a row before it was deleted or altered")
            expected_change = change_hash(row.user_id, _action(row), row.resource_id, row.timestamp)
            if row.change_hash != expected_change:
                return ChainVerdict(
                    checked, row.log_id, row.seq, "its user, action, resource or time was edited"
                )
            if row.row_hash != row_hash(previous, row):
                return ChainVerdict(checked, row.log_id, row.seq, "its content was edited")
            previous = row.row_hash
            checked += 1
            last_seq = row.seq
        session.expunge_all()


def _action(row: AuditLog) -> str:
    return row.action.value if hasattr(row.action, "value") else str(row.action)


ENTRY_COLUMNS = [
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


def audit_action(value: str) -> str:
    """An AuditAction name, any case; anything else is refused before it reaches the database."""
    name = value.strip().upper()
    if name not in AuditAction.__members__:
        raise InvalidInput(
            f"{param('action')} {value!r} is not an audit action; use one of: "
            f"{', '.join(a.value for a in AuditAction)}."
        )
    return AuditAction[name].value


def list_entry_rows(
    session: Session,
    *,
    username: str | None = None,
    action: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    correlation_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Entries newest first, as `ENTRY_COLUMNS` rows with the acting user's name."""
    user_id = None
    if username:
        user_id = session.scalar(select(User.user_id).where(User.username == username))
        if user_id is None:
            raise NotFound(f"no user named {username!r}.")
    entries = list_entries(
        session,
        user_id=user_id,
        action=audit_action(action) if action is not None else None,
        resource_type=resource_type,
        resource_id=resource_id,
        correlation_id=correlation_id,
        since=since,
        until=until,
        limit=limit,
    )
    names = dict(session.execute(select(User.user_id, User.username)).all())
    return [
        {**{c: getattr(e, c, None) for c in ENTRY_COLUMNS}, "username": names.get(e.user_id)} for e in entries
    ]


def list_entries(
    session: Session,
    *,
    user_id: uuid.UUID | None = None,
    action: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    correlation_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[AuditLog]:
    query = select(AuditLog)
    if user_id is not None:
        query = query.where(AuditLog.user_id == user_id)
    if action is not None:
        query = query.where(AuditLog.action == action)
    if resource_type is not None:
        query = query.where(AuditLog.resource_type == resource_type)
    if resource_id is not None:
        query = query.where(AuditLog.resource_id == resource_id)
    if correlation_id is not None:
        query = query.where(AuditLog.correlation_id == correlation_id)
    if since is not None:
        query = query.where(AuditLog.timestamp >= since)
    if until is not None:
        query = query.where(AuditLog.timestamp < until)
    return list(session.scalars(query.order_by(AuditLog.seq.desc()).limit(limit)))


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditLog)) or 0
