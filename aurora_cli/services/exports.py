"""Exports (SPEC §10): statements as CSV/PDF/JSON, P&L as CSV/JSON; never formats amounts or prints.

This module owns turning the database's statements and lines into the renderer's
`StatementDocument` (partner, chain, the per-period statements of a period or a UTC month with who
submitted, approved and released them, and their lines with override reasons), who may export
what (PARTNER users: their own partner's RELEASED/PAID statements only), and writing files
atomically (a failed export never leaves a half-written file at the target path).

The layout of the documents belongs to `aurora_cli.render.statement` and `aurora_cli.render.output`;
this module never formats amounts itself and never prints. It records its own EXPORT_STATEMENT /
EXPORT_PNL audit row through the `audit` it is given.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from aurora_cli.db.models import Partner
from aurora_cli.domain.permissions import Scope
from aurora_cli.errors import InvalidInput, NotFound, PermissionDenied, write_failed
from aurora_cli.render.output import to_csv, to_json
from aurora_cli.render.statement import (
    Party,
    StatementDocument,
    render_statement_pdf,
    statement_json_bytes,
    write_lines_csv,
    write_statement_json,
    write_summary_csv,
)
from aurora_cli.services import pnl
from aurora_cli.services.audit import Recorder
from aurora_cli.services.finance_errors import InvalidField
from aurora_cli.services.statements import (
    PARTNER_VISIBLE,
    StatementSelector,
    get_partner,
    no_statement,
)
from aurora_cli.services.statements.document import (
    IssuedRevision,
    Window,
    build_document,
    issued_revision_files,
    number_document,
    record_issued_files,
    statement_window,
)

STATEMENT_FORMATS = ("csv", "pdf", "json", "pack")
PNL_FORMATS = ("csv", "json")
PACK_FILES = ("statement.pdf", "lines.csv", "summary.csv", "statement.json")

_STATEMENT_WRITERS: dict[str, Callable[[StatementDocument, Path], None]] = {
    "csv": write_lines_csv,
    "json": write_statement_json,
    "pdf": render_statement_pdf,
}
_PACK_WRITERS: dict[str, Callable[[StatementDocument, Path], None]] = {
    "statement.pdf": render_statement_pdf,
    "lines.csv": write_lines_csv,
    "summary.csv": write_summary_csv,
    "statement.json": write_statement_json,
}
_FILE_NAMES = {"csv": "lines.csv", "json": "statement.json", "pdf": "statement.pdf"}


@dataclass(frozen=True)
class ExportResult:
    """One written export. `path` is None when the content is returned for stdout instead."""

    kind: str  # "statement" | "pnl"
    format: str
    scope: str
    path: Path | None
    content: bytes
    # Statement: SHA-256 of its statement.json (RFC 8785), the hash the PDF prints. P&L: of the file.
    sha256: str
    rows: int
    statement_ids: list[str] = field(default_factory=list)
    statement_number: str | None = None
    provisional: bool = False
    files: dict[str, str] = field(default_factory=dict)  # pack: file name -> SHA-256

    @property
    def file_sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    def audit_after(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "format": self.format,
            "scope": self.scope,
            "path": str(self.path) if self.path is not None else "-",
            "sha256": self.sha256,
            "file_sha256": self.file_sha256,
            "rows": self.rows,
            "statement_ids": self.statement_ids,
            "statement_number": self.statement_number,
            "provisional": self.provisional,
            "files": self.files,
        }


# -- statements ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issuer:
    """Who issues statements (the `[issuer]` settings)."""

    name: str
    legal_name: str | None = None
    address: str | None = None
    contact_email: str | None = None
    statement_prefix: str = "AUR"

    def party(self) -> Party:
        return Party(
            name=self.name, legal_name=self.legal_name, address=self.address, contact_email=self.contact_email
        )


def statement_document(
    session: Session,
    *,
    partner: str,
    chain_ids: list[str],
    window: Window,
    scope: Scope,
    issuer: Issuer,
    persist: bool = True,
) -> tuple[StatementDocument, list[str]]:
    """The numbered statement of one partner on one or more chains (a section each) for a window."""
    partner_row = None
    for chain_id in chain_ids:
        partner_row = _visible_partner(session, partner, chain_id, scope)
    assert partner_row is not None
    try:
        built = build_document(
            session,
            partner=partner_row,
            chain_ids=chain_ids,
            window=window,
            issuer=issuer.party(),
            statuses=frozenset(s.value for s in PARTNER_VISIBLE) if scope.is_partner else None,
        )
    except NotFound:
        if scope.is_partner:
            raise PermissionDenied(
                f"the statement of {partner} for {window.label} is not released yet: "
                "partners can export RELEASED or PAID statements only."
            ) from None
        raise
    return number_document(
        session, built, prefix=issuer.statement_prefix, persist=persist
    ), built.statement_ids


def export_statement(
    session: Session,
    *,
    partner: str,
    chain_id: str | list[str],
    period: str | None = None,
    month: str | None = None,
    quarter: str | None = None,
    from_month: str | None = None,
    to_month: str | None = None,
    fmt: str,
    out: Path | None,
    scope: Scope,
    issuer: Issuer,
    audit: Recorder | None = None,
) -> ExportResult:
    """Write the statement as `fmt` to `out` (None: return the content, for stdout); a pack is a folder."""
    if fmt not in STATEMENT_FORMATS:
        raise InvalidField("format", f"{fmt!r}: a statement exports as {', '.join(STATEMENT_FORMATS)}.")
    if out is None and fmt in ("pdf", "pack"):
        raise InvalidField("out", "- (stdout) works for csv and json; give a path for a PDF or a pack.")
    chain_ids = [chain_id] if isinstance(chain_id, str) else list(chain_id)
    window = statement_window(
        period=period, month=month, quarter=quarter, from_month=from_month, to_month=to_month
    )
    try:
        doc, statement_ids = statement_document(
            session, partner=partner, chain_ids=chain_ids, window=window, scope=scope, issuer=issuer
        )
    except NotFound as exc:
        if period is not None or month is not None:
            raise no_statement(
                StatementSelector(partner=partner, chain_id=chain_ids[0], period=period, month=month)
            ) from exc
        raise
    json_bytes = statement_json_bytes(doc)
    json_sha = hashlib.sha256(json_bytes).hexdigest()
    files: dict[str, str] = {}
    issued: dict[str, bytes] = {"statement.json": json_bytes}  # every issued file's bytes are kept
    if fmt == "pack":
        path = _write_pack(doc, out, files, issued)  # type: ignore[arg-type]
        content = (path / "SHA256SUMS").read_bytes()
    else:
        path, content = write_atomically(out, lambda target: _STATEMENT_WRITERS[fmt](doc, target))
        files[_FILE_NAMES[fmt]] = hashlib.sha256(content).hexdigest()
        issued[_FILE_NAMES[fmt]] = content
    record_issued_files(
        session,
        doc,
        json_sha,
        {name: (hashlib.sha256(data).hexdigest(), data) for name, data in issued.items()},
    )
    result = ExportResult(
        kind="statement",
        format=fmt,
        scope=f"{doc.partner.name} / {'+'.join(chain_ids)} / {doc.window}",
        path=path,
        content=content,
        sha256=json_sha,
        rows=doc.line_count,
        statement_ids=statement_ids,
        statement_number=doc.statement_number,
        provisional=doc.provisional,
        files=files,
    )
    _audit_statement_export(session, audit, doc.statement_number, result.audit_after())
    return result


def _write_pack(doc: StatementDocument, out: Path, files: dict[str, str], issued: dict[str, bytes]) -> Path:
    folder = _pack_folder(out)
    for name, writer in _PACK_WRITERS.items():
        _, content = write_atomically(folder / name, lambda target, w=writer: w(doc, target))
        files[name] = hashlib.sha256(content).hexdigest()
        issued[name] = content
    _write_sums(folder, files)
    return folder


def export_issued_revision(
    session: Session,
    *,
    number: str,
    revision: int | None,
    out: Path,
    scope: Scope,
    audit: Recorder | None = None,
) -> tuple[ExportResult, IssuedRevision]:
    """Write one revision of a statement number into the folder `out`, byte for byte as it was
    issued (the kept files and a SHA256SUMS over them), so `sha256sum -c SHA256SUMS` passes."""
    chosen, issued = issued_revision_files(session, number, revision, scope)
    folder = _pack_folder(out)
    files: dict[str, str] = {}
    for name in PACK_FILES:
        if name in issued:
            write_atomically(folder / name, lambda target, data=issued[name]: target.write_bytes(data))
            files[name] = hashlib.sha256(issued[name]).hexdigest()
    sums = _write_sums(folder, files)
    result = ExportResult(
        kind="statement",
        format="pack",
        scope=f"{chosen.statement_number} (revision {chosen.revision}, as issued)",
        path=folder,
        content=sums,
        sha256=chosen.statement_json_sha256 or "",
        rows=0,
        statement_number=chosen.statement_number,
        provisional=bool(chosen.provisional),
        files=files,
    )
    _audit_statement_export(
        session, audit, chosen.statement_number, result.audit_after() | {"revision": chosen.revision, "retrieved": True}
    )
    return result, chosen


def _audit_statement_export(session: Session, audit: Recorder | None, number: str, after: dict[str, Any]) -> None:
    if audit is not None:
        audit(session, action="EXPORT_STATEMENT", resource_type="statement", resource_id=number[:100], after=after)


def _pack_folder(out: Path) -> Path:
    folder = out.expanduser().absolute()
    if folder.exists() and not folder.is_dir():
        raise InvalidField("out", f"{out} is a file: a pack is written into a folder.")
    if not folder.parent.is_dir():
        raise InvalidField("out", f"{out}: the folder {folder.parent} does not exist.")
    folder.mkdir(exist_ok=True)
    return folder


def _write_sums(folder: Path, files: dict[str, str]) -> bytes:
    sums = "".join(f"{files[name]}  {name}\n" for name in PACK_FILES if name in files).encode()
    write_atomically(folder / "SHA256SUMS", lambda target: target.write_bytes(sums))
    return sums


def _visible_partner(session: Session, name: str, chain_id: str, scope: Scope) -> Partner:
    if not scope.chain_allowed(chain_id):
        raise PermissionDenied(f"you may not see statements of {chain_id}.")
    if not scope.is_partner:
        return get_partner(session, name)
    # A partner user learns nothing about other partners, not even whether the name exists.
    refused = PermissionDenied("PARTNER users may export only their own partner's statements.")
    try:
        partner = get_partner(session, name)
    except (NotFound, InvalidInput):
        raise refused from None
    if str(partner.partner_id) != scope.partner_filter:
        raise refused
    return partner


# -- validator P&L ---------------------------------------------------------------------------------


def export_pnl(
    session: Session,
    chain_id: str,
    *,
    period: str | None = None,
    fmt: str,
    out: Path | None,
    scope: Scope | None = None,
    audit: Recorder | None = None,
) -> ExportResult:
    """Validator P&L rows (SPEC §6) as CSV (one header row, stable columns) or a JSON array, of the
    validators `scope` may see."""
    if fmt not in PNL_FORMATS:
        raise InvalidField("format", f"{fmt!r}: P&L exports as {', '.join(PNL_FORMATS)}.")
    rows, _decimals = pnl.pnl_rows(session, chain_id, period, scope=scope)
    if fmt == "csv":
        text = to_csv(rows, pnl.PNL_COLUMNS)
    else:
        text = to_json([{c: r.get(c) for c in pnl.PNL_COLUMNS} for r in rows]) + "\n"
    data = text.encode("utf-8")
    path, content = write_atomically(out, lambda target: target.write_bytes(data))
    result = ExportResult(
        kind="pnl",
        format=fmt,
        scope=f"{chain_id} / " + (f"Period {period}" if period is not None else "all periods"),
        path=path,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        rows=len(rows),
    )
    if audit is not None:
        audit(
            session,
            action="EXPORT_PNL",
            resource_type="pnl",
            resource_id=f"{chain_id}/{period or 'all'}",
            after=result.audit_after(),
        )
    return result


# -- files -------------------------------------------------------------------------------------------


def check_out_path(out: Path) -> Path:
    """`out` as an absolute path, if it is a new name in an existing folder or an existing regular
    file; anything else (a device such as /dev/full, a FIFO, a socket, a symlink, a folder) is refused,
    because replacing it would destroy something that is not ours."""
    target = out.expanduser().absolute()
    if not target.parent.is_dir():
        raise InvalidField("out", f"{out}: the folder {target.parent} does not exist.")
    try:
        info = target.lstat()
    except FileNotFoundError:
        return target
    if stat.S_ISLNK(info.st_mode):
        raise InvalidField("out", f"{out} is a symbolic link: give the real file's path, or a new one.")
    if stat.S_ISDIR(info.st_mode):
        raise InvalidField("out", f"{out} is a folder: give a file name.")
    if not stat.S_ISREG(info.st_mode):
        raise InvalidField("out", f"{out} is not a regular file (a device, pipe or socket): give a file name.")
    return target


def write_atomically(out: Path | None, write: Callable[[Path], None]) -> tuple[Path | None, bytes]:
    """Let `write` fill a temporary file, then move it onto `out` in one step; returns (path, bytes).

    With `out` None nothing is kept on disk: the bytes are returned (for stdout).
    """
    if out is None:
        with tempfile.TemporaryDirectory(prefix="aurora-export-") as folder:
            scratch = Path(folder) / "export"
            write(scratch)
            return None, scratch.read_bytes()
    target = check_out_path(out)
    try:
        handle, scratch_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise InvalidField("out", f"{out}: cannot write in {target.parent} ({exc.strerror}).") from exc
    os.close(handle)
    scratch = Path(scratch_name)
    try:
        # mkstemp makes the file private (0600) and it stays so: exports hold partners' money.
        write(scratch)
        content = scratch.read_bytes()
        check_out_path(out)  # still a regular file or nothing: never replace what appeared meanwhile
        os.replace(scratch, target)
    except OSError as exc:
        scratch.unlink(missing_ok=True)
        raise write_failed(exc, target) from exc
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    return target, content
