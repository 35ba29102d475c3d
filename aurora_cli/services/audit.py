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

Since revision 010 `row_hash` is an HMAC-SHA256 keyed by a secret the database never holds (the data
dir's `audit.key`, created 0600 on first use, or AURORA_AUDIT_KEY; see `load_keyring`), so rows
cannot be rehashed by someone holding only the database. Rows older than 010 keep the keyless
scheme (`row_hash`, frozen in revision 002) as the chain's prefix. Deleting rows from the end leaves
a chain that is consistent in itself; a checkpoint file outside the database (the head's seq and
hash, appended by every invocation) and published anchors catch that. The key is never logged,
rendered or stored in a row: only its `key_id` fingerprint is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, select, text

from aurora_cli.db.engine import transaction
from aurora_cli.domain.canonical_json import jsonable
from aurora_cli.errors import AuroraError, InvalidInput, NotFound, param
from aurora_cli.settings import Settings, load_settings

if TYPE_CHECKING:  # the ORM models load only where rows are read back as objects (verify, list)
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    from aurora_cli.db.models import AuditLog

GENESIS = "0" * 64
_LOCK_KEY = 0x4155_4449  # 'AUDI'
KEYLESS = "sha256"  # revision 002's scheme: rows written before revision 010
KEYED = "hmac-sha256"
KEY_FILE = "audit.key"
CHECKPOINT_DIR = "audit-checkpoints"
MIN_KEY_CHARS = 32


# -- redaction ------------------------------------------------------------------------------------

# A URL's credentials, a `password=…`-style pair (libpq DSNs, query strings), an Aurora token.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@\s:]*):(?P<pw>[^@\s/]*)@")
_SECRET_PAIR = re.compile(
    r"(?P<name>\b(?:password|passwd|pwd|secret|token|api[_-]?key|audit[_-]?key|sslpassword)\b\s*[=:]\s*)"
    r"(?P<value>'[^']*'|\"[^\"]*\"|[^\s&;,]+)",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"\baur_[A-Za-z0-9_-]{8,}")
REDACTED = "***"


def redact_text(value: str, hidden: Iterable[str] = ()) -> str:
    """`value` without credentials: URL passwords, secret=… pairs, tokens, and each of `hidden`."""
    for secret in sorted((h for h in hidden if len(h) >= 3), key=len, reverse=True):
        value = value.replace(secret, REDACTED)
    value = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", value)
    value = _SECRET_PAIR.sub(lambda m: f"{m['name']}{REDACTED}", value)
    return _TOKEN.sub(REDACTED, value)


# -- the key ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditKey:
    """One HMAC key; `key_id` is its public fingerprint. The secret never appears in a repr."""

    secret: bytes = field(repr=False)

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"aurora-audit-key-id\0" + self.secret).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    """The key new rows are hashed with, and every key (current and retired) verify can check with."""

    current: AuditKey
    retired: tuple[AuditKey, ...] = ()

    def find(self, key_id: str | None) -> AuditKey | None:
        for key in (self.current, *self.retired):
            if key.key_id == key_id:
                return key
        return None


def load_keyring(settings: Settings | None = None) -> Keyring:
    """AURORA_AUDIT_KEY if set, else the first line of `<data_dir>/audit.key` (created 0600 on first use).

    Later lines of the key file are retired keys, kept so rows they hashed still verify (rotation:
    `rotate_key`). The file is refused if it is a symlink or readable by anyone but its owner.
    """
    settings = settings or load_settings()
    path = key_path(settings.data_dir)
    env_key = settings.audit_key.get_secret_value() if settings.audit_key is not None else ""
    if env_key:
        if len(env_key) < MIN_KEY_CHARS:
            raise InvalidInput(
                f"AURORA_AUDIT_KEY is too short: use at least {MIN_KEY_CHARS} characters "
                "(e.g. the output of `openssl rand -hex 32`)."
            )
        current = AuditKey(env_key.encode("utf-8"))
        file_keys = _read_key_file(path) if path.exists() or path.is_symlink() else []
        return Keyring(current, tuple(k for k in file_keys if k != current))
    if not path.exists() and not path.is_symlink():
        _create_key_file(path)
    keys = _read_key_file(path)
    if not keys:
        raise InvalidInput(
            f"the audit key file {path} is empty: restore it from your backup of the data dir."
        )
    return Keyring(keys[0], tuple(keys[1:]))


def key_path(data_dir: Path) -> Path:
    return data_dir.expanduser().absolute() / KEY_FILE


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return  # another invocation created it first: use theirs
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")


def _read_key_file(path: Path) -> list[AuditKey]:
    _refuse_unsafe_secret_file(path, what="the audit key file")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [AuditKey(line.strip().encode("utf-8")) for line in lines if line.strip()]


def _refuse_unsafe_secret_file(path: Path, *, what: str) -> None:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        raise InvalidInput(f"{what} {path} is a symbolic link: replace it with the file itself (mode 0600).")
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput(f"{what} {path} is not a regular file.")
    if info.st_mode & 0o077:
        raise InvalidInput(
            f"{what} {path} is readable by others (mode {stat.S_IMODE(info.st_mode):04o}): run chmod 600 on it."
        )


def rotate_key(settings: Settings) -> tuple[str, str]:
    """A new current key on the key file's first line, the old one kept below it; (old id, new id)."""
    if settings.audit_key is not None and settings.audit_key.get_secret_value():
        raise InvalidInput(
            "AURORA_AUDIT_KEY is set: rotate by giving it a new value, and keep the old one as a line of "
            f"{key_path(settings.data_dir)} so older rows still verify."
        )
    keyring = load_keyring(settings)
    path = key_path(settings.data_dir)
    new = AuditKey(secrets.token_hex(32).encode("ascii"))
    lines = [k.secret.decode("utf-8") for k in (new, keyring.current, *keyring.retired)]
    temporary = path.with_name(path.name + ".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    temporary.replace(path)
    return keyring.current.key_id, new.key_id


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


def keyed_row_hash(previous: str, row: AuditLog, key: AuditKey) -> str:
    """Revision 010's scheme: HMAC-SHA256 over every column a row is written with and the previous hash."""
    body = {
        "log_id": str(row.log_id),
        "user_id": str(row.user_id) if row.user_id else None,
        "action": _action(row),
        "resource_type": row.resource_type,
        "resource_id": row.resource_id,
        "before_snapshot": row.before_snapshot,
        "after_snapshot": row.after_snapshot,
        "change_hash": row.change_hash,
        "reason": row.reason,
        "correlation_id": str(row.correlation_id),
        "timestamp": _ts(row.timestamp),
        "ip_address": str(row.ip_address) if row.ip_address else None,
        "user_agent": row.user_agent,
        "previous_hash": previous,
        "hash_scheme": row.hash_scheme,
        "key_id": row.key_id,
    }
    material = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key.secret, material.encode("utf-8"), hashlib.sha256).hexdigest()


def _ts(timestamp: datetime) -> str:
    return timestamp.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass
class WrittenRow:
    """An audit row as `record` wrote it: the columns `keyed_row_hash` reads, and its `seq`."""

    log_id: uuid.UUID
    user_id: uuid.UUID | None
    action: str
    resource_type: str
    resource_id: str | None
    before_snapshot: Any
    after_snapshot: Any
    change_hash: str
    reason: str | None
    correlation_id: uuid.UUID
    timestamp: datetime
    previous_hash: str
    hash_scheme: str
    key_id: str | None
    ip_address: str | None = None
    user_agent: str | None = None
    row_hash: str | None = None
    seq: int | None = None


# Core SQL rather than the ORM model: every invocation writes a row, most need no model otherwise.
_HEAD_HASH = text("SELECT row_hash FROM audit_log ORDER BY seq DESC LIMIT 1")
_INSERT_ROW = text(
    """
    INSERT INTO audit_log (log_id, user_id, action, resource_type, resource_id, before_snapshot,
                           after_snapshot, change_hash, reason, correlation_id, timestamp, previous_hash,
                           row_hash, hash_scheme, key_id)
    VALUES (:log_id, :user_id, CAST(:action AS audit_action), :resource_type, :resource_id,
            CAST(:before_snapshot AS jsonb), CAST(:after_snapshot AS jsonb), :change_hash, :reason,
            :correlation_id, :timestamp, :previous_hash, :row_hash, :hash_scheme, :key_id)
    RETURNING seq
    """
)


def _jsonb(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def record(
    session: Session | Connection,
    *,
    action: str,
    resource_type: str,
    correlation_id: uuid.UUID,
    user_id: uuid.UUID | None = None,
    resource_id: str | None = None,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
    key: AuditKey | None = None,
) -> WrittenRow:
    """Append one audit row in the caller's transaction, hashed with `key` (default: the keyring's)."""
    key = key or load_keyring().current
    # What AUDITORs read never holds a credential, whoever wrote the row.
    resource_id = redact_text(resource_id)[:100] if resource_id is not None else None
    reason = redact_text(reason) if reason is not None else None
    flush = getattr(session, "flush", None)
    if flush is not None:  # an ORM session: the rows this one records (a new user, …) go in first
        flush()
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    previous = session.scalar(_HEAD_HASH) or GENESIS
    now = datetime.now(UTC)
    row = WrittenRow(
        log_id=uuid.uuid4(),
        user_id=user_id,
        action=str(getattr(action, "value", action)),
        resource_type=resource_type,
        resource_id=resource_id,
        before_snapshot=jsonable(before) if before is not None else None,
        after_snapshot=jsonable(after) if after is not None else None,
        change_hash=change_hash(user_id, action, resource_id, now),
        reason=reason,
        correlation_id=correlation_id,
        timestamp=now,
        previous_hash=previous,
        hash_scheme=KEYED,
        key_id=key.key_id,
    )
    row.row_hash = keyed_row_hash(previous, row, key)
    values = dataclasses.asdict(row)
    del values["ip_address"], values["user_agent"], values["seq"]
    values["before_snapshot"] = _jsonb(row.before_snapshot)
    values["after_snapshot"] = _jsonb(row.after_snapshot)
    row.seq = session.execute(_INSERT_ROW, values).scalar_one()
    return row


# What a service writes its audit rows through: an `AuditTrail`, or in tests any callable with the
# signature of `AuditTrail.__call__`.
Recorder = Callable[..., object]


@dataclass(frozen=True)
class AuditTrail:
    """One invocation's audit identity: every row a service writes through it carries both ids."""

    correlation_id: uuid.UUID
    user_id: uuid.UUID | None = None
    key: AuditKey | None = field(default=None, repr=False)

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
    ) -> WrittenRow:
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
            key=self.key,
        )

    def acting_as(self, user_id: uuid.UUID | None) -> AuditTrail:
        """The same invocation, for a user identified by the service itself (login, logout)."""
        return AuditTrail(self.correlation_id, user_id, self.key)


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
    key: AuditKey | None = None,
) -> WrittenRow:
    """The invocation's own COMMAND row; `outcome` is the caller's word for `exit_code`.

    `command` and `argv` must already be redacted (`redact_words`): the row is readable by AUDITORs.
    """
    return record(
        session,
        action="COMMAND",
        resource_type="command",
        resource_id=command,
        correlation_id=correlation_id,
        user_id=user_id,
        after={"argv": argv, "exit_code": exit_code, "outcome": outcome, "error": error},
        key=key,
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
        return self.reason is None


@dataclass(frozen=True)
class HeadMark:
    """A (seq, row_hash) the chain once had, remembered outside the database."""

    seq: int
    row_hash: str
    source: str  # "the checkpoint" or an anchor file's name


def verify(
    engine: Engine,
    *,
    keyring: Keyring | None = None,
    marks: Iterable[HeadMark] = (),
    batch: int = 5000,
) -> ChainVerdict:
    """Walk the whole chain, report the first row whose hashes do not hold, and the chain's head.

    `marks` are heads recorded outside the database (`read_checkpoint`, `read_anchor`): a row that
    differs from one, or a log that ends before one, is reported too (rehashed or truncated tails).
    """
    from aurora_cli.db.models import AuditLog
    keyring = keyring or load_keyring()
    expected = {}
    for mark in marks:
        expected.setdefault(mark.seq, mark)
    # One snapshot for the walk and the head, so the head reported is the last row walked even
    # while other commands append rows.
    snapshot = engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    with transaction(snapshot) as session:
        head = session.execute(
            select(AuditLog.seq, AuditLog.row_hash).order_by(AuditLog.seq.desc()).limit(1)
        ).first()
        seen: set[int] = set()
        verdict = _walk(session, batch, keyring, expected, seen)
    head_seq, head_hash = (head.seq, head.row_hash) if head is not None else (None, None)
    verdict = dataclasses.replace(verdict, head_seq=head_seq, head_row_hash=head_hash)
    missing = sorted((m for m in expected.values() if m.seq not in seen), key=lambda m: m.seq)
    if not verdict.intact or not missing:
        return verdict
    last = max(expected.values(), key=lambda m: m.seq)
    if head_seq is None or head_seq < last.seq:
        ends = f"ends at row {head_seq}" if head_seq is not None else "is empty"
        return dataclasses.replace(
            verdict,
            broken_seq=(head_seq or 0) + 1,
            reason=(
                f"it and the rows after it were deleted: {last.source} outside the database records row "
                f"{last.seq}, but the log {ends}"
            ),
        )
    gone = missing[0]
    return dataclasses.replace(
        verdict,
        broken_seq=gone.seq,
        reason=f"it was deleted (and the rows after it rechained): {gone.source} outside the database records it",
    )


def _walk(
    session: Session, batch: int, keyring: Keyring, expected: dict[int, HeadMark], seen: set[int]
) -> ChainVerdict:
    from aurora_cli.db.models import AuditLog
    previous = GENESIS
    checked = 0
    last_seq = 0
    keyed_seen = False
    while True:
        rows = session.scalars(
            select(AuditLog).where(AuditLog.seq > last_seq).order_by(AuditLog.seq).limit(batch)
        ).all()
        if not rows:
            return ChainVerdict(checked, None, None, None)
        for row in rows:
            reason = _row_fault(row, previous, keyring, keyed_seen)
            mark = expected.get(row.seq)
            if mark is not None:
                seen.add(row.seq)
            if reason is None and mark is not None and mark.row_hash != row.row_hash:
                reason = f"it differs from {mark.source} outside the database (rewritten and rehashed)"
            if reason is not None:
                return ChainVerdict(checked, row.log_id, row.seq, reason)
            keyed_seen = keyed_seen or row.hash_scheme == KEYED
            previous = row.row_hash
            checked += 1
            last_seq = row.seq
        session.expunge_all()


def _row_fault(row: AuditLog, previous: str, keyring: Keyring, keyed_seen: bool) -> str | None:
    """Why this row breaks the chain, or None."""
    if row.previous_hash != previous:
        return "a row before it was deleted or altered"
    if row.change_hash != change_hash(row.user_id, _action(row), row.resource_id, row.timestamp):
        return "its user, action, resource or time was edited"
    if row.hash_scheme == KEYED:
        key = keyring.find(row.key_id)
        if key is None:
            return (
                f"it was hashed with audit key {row.key_id}, which is not in this machine's keyring "
                "(restore the key file, or add the retired key to it)"
            )
        if not hmac.compare_digest(row.row_hash or "", keyed_row_hash(previous, row, key)):
            return "its content was edited, or it was rehashed without the audit key"
        return None
    if row.hash_scheme != KEYLESS:
        return f"it names an unknown hash scheme {row.hash_scheme!r}"
    if keyed_seen:
        return "it claims the keyless scheme after the chain switched to the keyed one (rehashed without the key)"
    if row.row_hash != row_hash(previous, row):
        return "its content was edited"
    return None


class ChainBroken(AuroraError):
    """`audit verify` found a row that does not hold, or a tail missing against a checkpoint (exit 1)."""


def broken_sentence(verdict: ChainVerdict) -> str:
    return f"the audit chain is broken at row {verdict.broken_seq}: {verdict.reason}."


def verify_here(
    engine: Engine, data_dir: Path, keyring: Keyring, anchors: Iterable[Path] = ()
) -> ChainVerdict:
    """Verify against this data dir's checkpoint of `engine`'s database and any anchor files."""
    marks = read_checkpoint(checkpoint_path(data_dir, engine)) + [read_anchor(a) for a in anchors]
    return verify(engine, keyring=keyring, marks=marks)


def publish_anchor(engine: Engine, data_dir: Path, keyring: Keyring, out: Path) -> dict[str, Any]:
    """Verify, then write the head to `out` (a new file or a regular one); a broken chain is refused."""
    from aurora_cli.services.exports import write_atomically  # exports audits through this module

    verdict = verify_here(engine, data_dir, keyring)
    if not verdict.intact:
        raise ChainBroken(broken_sentence(verdict) + " Nothing was anchored.")
    document = anchor_document(verdict, keyring.current.key_id)
    body = json.dumps(document, indent=2, default=str) + "\n"
    write_atomically(out, lambda path: path.write_text(body, encoding="utf-8"))
    return document


# -- the checkpoint and anchors outside the database --------------------------------------------


def checkpoint_path(data_dir: Path, engine: Engine) -> Path:
    """One checkpoint file per database (server and name, not the role connecting), in the data dir."""
    url = engine.url
    where = f"{url.host or ''}|{url.port or ''}|{url.database or ''}|{url.query.get('host', '')}"
    name = hashlib.sha256(where.encode("utf-8")).hexdigest()[:16]
    return data_dir.expanduser().absolute() / CHECKPOINT_DIR / name


def append_checkpoint(path: Path, seq: int, row_hash_value: str) -> None:
    """Remember one head outside the database: one line `seq row_hash`, appended (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, f"{seq} {row_hash_value}\n".encode("ascii"))
    finally:
        os.close(fd)


def retire_checkpoint(path: Path) -> Path | None:
    """Rename a checkpoint aside (`<name>.retired-<UTC time>`, kept for inspection): a downgrade below
    the keyed chain rewrote the log it described. None if there was none."""
    if not path.exists() and not path.is_symlink():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    retired = path.with_name(f"{path.name}.retired-{stamp}")
    os.rename(path, retired)
    return retired


def read_checkpoint(path: Path) -> list[HeadMark]:
    if not path.exists() and not path.is_symlink():
        return []
    _refuse_unsafe_secret_file(path, what="the audit checkpoint")
    marks = []
    for line in path.read_text(encoding="ascii", errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and len(parts[1]) == 64:
            marks.append(HeadMark(int(parts[0]), parts[1], "the checkpoint"))
    return marks


def anchor_document(verdict: ChainVerdict, key_id: str) -> dict[str, Any]:
    """What `audit anchor` publishes: the head, when, and which key hashed it (never the key)."""
    return {
        "head_seq": verdict.head_seq,
        "head_row_hash": verdict.head_row_hash,
        "rows_checked": verdict.rows_checked,
        "key_id": key_id,
        "anchored_at": datetime.now(UTC).isoformat(),
    }


def read_anchor(path: Path) -> HeadMark:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return HeadMark(int(document["head_seq"]), str(document["head_row_hash"]), f"the anchor {path.name}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(
            f"{param('anchor')} {path}: not an anchor written by `aurora audit anchor` ({exc})."
        ) from None


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
    from aurora_cli.db.models import AuditAction
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
    from aurora_cli.db.models import User
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
    from aurora_cli.db.models import AuditLog
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
    from aurora_cli.db.models import AuditLog
    return session.scalar(select(func.count()).select_from(AuditLog)) or 0
