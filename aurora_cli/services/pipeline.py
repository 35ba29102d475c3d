"""The period pipeline used by the step commands and by `aurora run`: each step is one service call in
its own transaction, audited under the invocation's correlation id. Never prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from aurora_cli.db.engine import transaction
from aurora_cli.errors import ExitCode
from aurora_cli.services import commissions, ingest, normalize, periods, pnl, statements

Audit = Callable[..., None]  # rt.audit(session, action=..., ...)
Progress = Callable[[int, int | None], None]


@dataclass
class StepReport:
    step: str
    exit_code: ExitCode
    summary: dict[str, Any]


@dataclass
class PipelineReport:
    steps: list[StepReport] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        return max((s.exit_code for s in self.steps), default=ExitCode.OK)


def run_ingest_file(
    engine: Engine,
    audit: Audit,
    *,
    chain_id: str,
    period: str,
    path: Path,
    strict: bool,
    on_progress: Progress | None = None,
) -> StepReport:
    def audit_run(session: Session, result: ingest.IngestResult) -> None:
        audit(
            session,
            action="INGESTION_RUN",
            resource_type="ingestion_run",
            resource_id=str(result.run_id),
            after=result.summary(),
        )

    result = ingest.ingest_file(
        engine,
        chain_id=chain_id,
        period=period,
        path=path,
        strict=strict,
        on_progress=on_progress,
        audit=audit_run,
    )
    code = ExitCode.PARTIAL if result.status == "PARTIAL" else ExitCode.OK
    summary = result.summary()
    summary["invalid"] = [{"line": n, "reason": r} for n, r in result.invalid_lines]
    return StepReport("ingest", code, summary)


def run_normalize(
    engine: Engine, audit: Audit, *, chain_id: str, period: str, on_progress: Progress | None = None
) -> StepReport:
    with transaction(engine) as session:
        result = normalize.normalize(session, chain_id, period, on_progress)
        audit(
            session,
            action="NORMALIZATION_RUN",
            resource_type="period",
            resource_id=f"{chain_id}/{period}",
            after=result.summary(),
        )
    return StepReport("normalize", ExitCode.PARTIAL if result.partial else ExitCode.OK, result.summary())


def run_compute_pnl(engine: Engine, audit: Audit, *, chain_id: str, period: str) -> StepReport:
    with transaction(engine) as session:
        result = pnl.compute_pnl(session, chain_id, period)
        audit(
            session,
            action="PNL_COMPUTE",
            resource_type="period",
            resource_id=f"{chain_id}/{period}",
            after=result.summary(),
        )
    return StepReport("compute-pnl", ExitCode.OK, result.summary())


def run_compute_commissions(engine: Engine, audit: Audit, *, chain_id: str, period: str) -> StepReport:
    result = commissions.run_compute_commissions(engine, audit, chain_id=chain_id, period=period)
    return StepReport("compute-commissions", ExitCode.OK, result.summary())


def run_generate_statements(
    engine: Engine, audit: Audit, *, chain_id: str, period: str, allow_unfinalized: bool, actor_user_id: Any
) -> StepReport:
    """Statements for the period; skipped (not refused) while the period is not final, since a
    scheduled run usually processes the newest period, which finalizes later."""
    with transaction(engine) as session:
        period_row = periods.get_period(session, chain_id, period)
        if not period_row.is_finalized and not allow_unfinalized:
            return StepReport(
                "statements generate",
                ExitCode.OK,
                {"chain_id": chain_id, "period_identifier": period, "skipped": "period not finalized"},
            )
        result = statements.generate_statements(
            session,
            chain_id,
            period=period,
            allow_unfinalized=allow_unfinalized,
            actor_user_id=actor_user_id,
            audit=audit,
        )
    return StepReport("statements generate", ExitCode.OK, result.summary())
