"""`statements verify`: is a statement file (a pack, statement.json or statement.pdf) authentic and current?

Authentic: every file hashes to what the pack's SHA256SUMS lists and Aurora recorded issuing a file
with that SHA-256 (`statement_document_files`, revision 013). Current: rebuilding the same statement
from the database now gives the same statement.json. The answer is one sentence; never prints.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from aurora_cli.db.models import Partner
from aurora_cli.db.models import StatementDocument as DocumentRow
from aurora_cli.errors import NotFound
from aurora_cli.render.statement import Party, read_statement_data, statement_sha256
from aurora_cli.services.finance_errors import InvalidField
from aurora_cli.services.statements.document import (
    build_document,
    issued_file,
    issued_json,
    number_document,
    statement_window,
)


@dataclass(frozen=True)
class Verdict:
    authentic: bool
    current: bool
    sentence: str
    statement_number: str | None = None

    @property
    def ok(self) -> bool:
        return self.authentic and self.current


def verify_statement_file(session: Session, path: Path) -> Verdict:
    """Check a pack folder, a statement.json or a statement.pdf against Aurora's records."""
    path = path.expanduser()
    if path.is_dir():
        return _verify_pack(session, path)
    if not path.is_file():
        raise InvalidField("path", f"{path} is neither a file nor a pack folder.")
    return _verify_file(session, path.name, path.read_bytes())


def _verify_pack(session: Session, folder: Path) -> Verdict:
    sums = folder / "SHA256SUMS"
    if not sums.is_file():
        raise InvalidField("path", f"{folder} has no SHA256SUMS: it is not a statement pack.")
    for entry in sums.read_text(encoding="utf-8").splitlines():
        expected, _, name = entry.partition("  ")
        target = folder / name
        if not target.is_file():
            return Verdict(False, False, f"The pack is incomplete: {name} is missing.")
        if hashlib.sha256(target.read_bytes()).hexdigest() != expected:
            return Verdict(
                False, False, f"The pack is not authentic: {name} does not match its SHA256SUMS entry."
            )
        if issued_file(session, expected) is None:
            return Verdict(False, False, f"The pack is not authentic: Aurora never issued this {name}.")
    return _verify_file(session, "statement.json", (folder / "statement.json").read_bytes())


def _verify_file(session: Session, name: str, content: bytes) -> Verdict:
    sha = hashlib.sha256(content).hexdigest()
    found = issued_file(session, sha)
    if found is None:
        return Verdict(
            False, False, f"{name} is not authentic: Aurora never issued a file with SHA-256 {sha}."
        )
    issued, row = found
    shown = row.statement_number if row.revision == 1 else f"{row.statement_number}-R{row.revision}"
    json_content = content if issued.file_name == "statement.json" else None
    if json_content is None:
        json_content = issued_json(session, issued.json_sha256)
    if json_content is None:
        return Verdict(
            True, False, f"{name} is authentic ({shown}), but its data is no longer on record.", shown
        )
    data = read_statement_data(json_content)
    current_sha, current_facts = _current(session, row, data)
    if current_sha == issued.json_sha256:
        return Verdict(
            True, True, f"{name} is authentic and current: statement {shown}, status {data['status']}.", shown
        )
    latest = latest_revision_of(session, row)
    if latest is not None and latest.revision > row.revision:
        why = f"revision {latest.revision} has replaced it after a change of figures"
    elif current_facts is not None and current_facts != row.facts_sha256:
        why = "its figures have changed since it was issued; the next export issues a new revision"
    elif current_facts is None:
        why = "the statement it shows no longer exists in that form; export it again"
    else:
        why = "its status or approvals have changed since it was issued; export it again"
    return Verdict(True, False, f"{name} is authentic (statement {shown}) but not current: {why}.", shown)


def latest_revision_of(session: Session, row: DocumentRow) -> DocumentRow | None:
    return session.scalar(
        select(DocumentRow)
        .where(
            DocumentRow.partner_id == row.partner_id,
            DocumentRow.chain_id == row.chain_id,
            DocumentRow.window_key == row.window_key,
        )
        .order_by(DocumentRow.revision.desc())
        .limit(1)
    )


def _current(session: Session, row: DocumentRow, data: dict) -> tuple[str | None, str | None]:
    """The statement.json hash and the facts hash the same statement has when rebuilt now."""
    kind, _, value = row.window_key.split("|")[0].partition(":")
    if kind == "months":
        first, _, last = value.partition("..")
        window = statement_window(from_month=first, to_month=last)
    else:
        window = statement_window(**{kind: value})
    partner = session.get(Partner, row.partner_id)
    issuer = data.get("issuer") or {}
    try:
        built = build_document(
            session,
            partner=partner,
            chain_ids=[c["chain_id"] for c in data["chains"]],
            window=window,
            issuer=Party(**issuer),
        )
    except NotFound:
        return None, None
    prefix = row.statement_number.split("-", 1)[0]
    return statement_sha256(number_document(session, built, prefix=prefix, persist=False)), built.facts_sha256
