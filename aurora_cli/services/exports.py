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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aurora_cli.db.models import CanonicalPeriod, Partner, PartnerCommissionLine, PartnerCommissionStatement
from aurora_cli.domain.money import money_context
from aurora_cli.errors import Conflict, InvalidInput, NotFound, PermissionDenied, write_failed
from aurora_cli.render.output import to_csv, to_json
from aurora_cli.render.statement import (
    PeriodStatus,
    StatementDocument,
    StatementLine,
    render_statement_pdf,
    statement_sha256,
    write_statement_csv,
    write_statement_json,
)
from aurora_cli.services import pnl
from aurora_cli.services.audit import Recorder
from aurora_cli.services.finance_errors import InvalidField
from aurora_cli.services.periods import get_chain
from aurora_cli.services.statements import (
    PARTNER_VISIBLE,
    StatementSelector,
    Viewer,
    get_partner,
    no_statement,
    scope_label,
    select_periods,
    stale_reason,
    statement_label,
    statement_rows,
)

STATEMENT_FORMATS = ("csv", "pdf", "json")
PNL_FORMATS = ("csv", "json")

_STATEMENT_WRITERS: dict[str, Callable[[StatementDocument, Path], None]] = {
    "csv": write_statement_csv,
    "json": write_statement_json,
    "pdf": render_statement_pdf,
}


@dataclass(frozen=True)
class ExportResult:
    """One written export. `path` is None when the content is returned for stdout instead."""

    kind: str  # "statement" | "pnl"
    format: str
    scope: str
    path: Path | None
    content: bytes
    # Statement: SHA-256 of the data shown (render.statement.statement_sha256; the PDF prints it and
    # the JSON carries it), the same whatever the format. P&L: SHA-256 of the file.
    sha256: str
    rows: int
    statement_ids: list[str] = field(default_factory=list)
    # Periods of the selection where the partner has commission lines but no statement yet.
    missing_periods: list[str] = field(default_factory=list)

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
            "missing_periods": self.missing_periods,
        }


# -- statements ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementSelection:
    document: StatementDocument
    statement_ids: list[str]
    missing_periods: list[str]


def statement_document(
    session: Session,
    *,
    partner: str,
    chain_id: str,
    period: str | None = None,
    month: str | None = None,
    viewer: Viewer,
    issuer_name: str,
    generated_at: datetime | None = None,
) -> StatementSelection:
    """The statement of one partner and chain for a period, or for a month (every per-period
    statement whose period starts in it), as the renderer's document."""
    partner_row = _visible_partner(session, partner, chain_id, viewer)
    chain = get_chain(session, chain_id)
    periods = select_periods(session, chain_id, period=period, month=month)
    scope = scope_label(period=period, month=month)
    statements = list(
        session.scalars(
            select(PartnerCommissionStatement).where(
                PartnerCommissionStatement.partner_id == partner_row.partner_id,
                PartnerCommissionStatement.chain_id == chain_id,
                PartnerCommissionStatement.period_id.in_([p.period_id for p in periods]),
            )
        )
    )
    # Row-level security shows a partner its RELEASED/PAID statements only: for a partner, none
    # visible is the one refusal below, whether a draft exists or nothing was generated yet.
    if not statements and not viewer.is_partner:
        raise no_statement(StatementSelector(partner=partner, chain_id=chain_id, period=period, month=month))
    if viewer.is_partner:
        statements = [s for s in statements if s.status in PARTNER_VISIBLE]
        if not statements:
            raise PermissionDenied(
                f"the statement of {partner} on {chain_id} for {scope.lower()} is not released yet: "
                "partners can export RELEASED or PAID statements only."
            )

    rows = statement_rows(session, statement_ids=[s.statement_id for s in statements])
    lines = _lines(session, partner_row.partner_id, chain_id, [s.period_id for s in statements])
    _check_totals(statements, rows, lines)
    document = StatementDocument(
        issuer_name=issuer_name,
        partner_name=partner_row.partner_name,
        partner_legal_entity=partner_row.legal_entity_name,
        partner_contact_email=partner_row.contact_email,
        chain_id=chain.chain_id,
        chain_name=chain.name,
        native_unit=chain.native_unit,
        display_unit=chain.display_unit or chain.native_unit,
        native_decimals=chain.native_decimals,
        scope=scope,
        periods=tuple(_period_status(row) for row in rows),
        lines=tuple(line for line, _ in lines),
        generated_at=generated_at or datetime.now(UTC),
    )
    missing: list[str] = []
    if not viewer.is_partner:
        covered = {s.period_id for s in statements}
        missing = sorted(
            set(
                session.scalars(
                    select(CanonicalPeriod.period_identifier)
                    .join(PartnerCommissionLine, PartnerCommissionLine.period_id == CanonicalPeriod.period_id)
                    .where(
                        PartnerCommissionLine.partner_id == partner_row.partner_id,
                        PartnerCommissionLine.chain_id == chain_id,
                        CanonicalPeriod.period_id.in_(
                            [p.period_id for p in periods if p.period_id not in covered]
                        ),
                    )
                )
            )
        )
    return StatementSelection(document, [str(r["statement_id"]) for r in rows], missing)


def export_statement(
    session: Session,
    *,
    partner: str,
    chain_id: str,
    period: str | None = None,
    month: str | None = None,
    fmt: str,
    out: Path | None,
    viewer: Viewer,
    issuer_name: str,
    audit: Recorder | None = None,
) -> ExportResult:
    """Write the statement document as `fmt` to `out` (None: return the content, for stdout)."""
    if fmt not in STATEMENT_FORMATS:
        raise InvalidField("format", f"{fmt!r}: a statement exports as {', '.join(STATEMENT_FORMATS)}.")
    if out is None and fmt == "pdf":
        raise InvalidField("out", "- (stdout) works for csv and json; give a file path for a PDF.")
    selection = statement_document(
        session,
        partner=partner,
        chain_id=chain_id,
        period=period,
        month=month,
        viewer=viewer,
        issuer_name=issuer_name,
    )
    doc = selection.document
    path, content = write_atomically(out, lambda target: _STATEMENT_WRITERS[fmt](doc, target))
    result = ExportResult(
        kind="statement",
        format=fmt,
        scope=f"{doc.partner_name} / {chain_id} / {doc.scope}",
        path=path,
        content=content,
        sha256=statement_sha256(doc),
        rows=len(doc.lines),
        statement_ids=selection.statement_ids,
        missing_periods=selection.missing_periods,
    )
    if audit is not None:
        ids = result.statement_ids
        audit(
            session,
            action="EXPORT_STATEMENT",
            resource_type="statement",
            resource_id=ids[0] if len(ids) == 1 else result.scope[:100],
            after=result.audit_after(),
        )
    return result


def _visible_partner(session: Session, name: str, chain_id: str, viewer: Viewer) -> Partner:
    if viewer.allowed_chain_ids is not None and chain_id not in viewer.allowed_chain_ids:
        raise PermissionDenied(f"you may not see statements of {chain_id}.")
    if not viewer.is_partner:
        return get_partner(session, name)
    # A partner user learns nothing about other partners, not even whether the name exists.
    refused = PermissionDenied("PARTNER users may export only their own partner's statements.")
    try:
        partner = get_partner(session, name)
    except (NotFound, InvalidInput):
        raise refused from None
    if viewer.partner_id is None or str(partner.partner_id) != viewer.partner_id:
        raise refused
    return partner


def _lines(
    session: Session, partner_id: Any, chain_id: str, period_ids: list[Any]
) -> list[tuple[StatementLine, Any]]:
    """The statement lines with the period each belongs to (for the totals check)."""
    result = session.execute(
        select(PartnerCommissionLine, CanonicalPeriod.period_identifier, CanonicalPeriod.period_start)
        .join(CanonicalPeriod, CanonicalPeriod.period_id == PartnerCommissionLine.period_id)
        .where(
            PartnerCommissionLine.partner_id == partner_id,
            PartnerCommissionLine.chain_id == chain_id,
            PartnerCommissionLine.period_id.in_(period_ids),
        )
    )
    return [
        (
            StatementLine(
                period_identifier=identifier,
                period_start=start,
                validator_key=line.validator_key,
                revenue_component=str(line.revenue_component.value),
                attribution_method=str(line.attribution_method.value),
                base_amount_native=line.base_amount_native,
                commission_rate_bps=line.commission_rate_bps,
                pre_override_amount_native=line.pre_override_amount_native,
                final_amount_native=line.final_amount_native,
                override_reason=line.override_reason if line.override_amount_native is not None else None,
                line_id=str(line.line_id),
            ),
            line.period_id,
        )
        for line, identifier, start in result.all()
    ]


def _check_totals(
    statements: list[PartnerCommissionStatement],
    rows: list[dict[str, Any]],
    lines: list[tuple[StatementLine, Any]],
) -> None:
    """Refuse to show a statement whose lines were recomputed after it was generated."""
    labels = {r["statement_id"]: statement_label(r) for r in rows}
    sums: dict[Any, tuple[Decimal, int]] = {}
    with money_context():  # 38-digit amounts exceed the default 28-digit context
        for line, period_id in lines:
            total, count = sums.get(period_id, (Decimal(0), 0))
            sums[period_id] = (total + line.final_amount_native, count + 1)
    for statement in statements:
        total, count = sums.get(statement.period_id, (Decimal(0), 0))
        why = stale_reason(statement, total, count)
        if why is not None:
            raise Conflict(f"cannot export statement {labels[statement.statement_id]}: {why}.")


def _period_status(row: dict[str, Any]) -> PeriodStatus:
    return PeriodStatus(
        period_identifier=row["period_identifier"],
        statement_id=str(row["statement_id"]),
        status=row["status"],
        submitted_by=row["submitted_by_username"],
        submitted_at=row["submitted_at"],
        approved_by=row["approved_by_username"],
        approved_at=row["approved_at"],
        released_by=row["released_by_username"],
        released_at=row["released_at"],
        paid_at=row["paid_at"],
        paid_reference=row["paid_reference"],
        total_native=row["total_commission_native"],
        line_count=row["line_count"],
    )


# -- validator P&L ---------------------------------------------------------------------------------


def export_pnl(
    session: Session,
    chain_id: str,
    *,
    period: str | None = None,
    fmt: str,
    out: Path | None,
    allowed_validators: Sequence[str] | None = None,
    audit: Recorder | None = None,
) -> ExportResult:
    """Validator P&L rows (SPEC §6) as CSV (one header row, stable columns) or a JSON array."""
    if fmt not in PNL_FORMATS:
        raise InvalidField("format", f"{fmt!r}: P&L exports as {', '.join(PNL_FORMATS)}.")
    rows, _decimals = pnl.pnl_rows(session, chain_id, period, allowed_validators=allowed_validators)
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
