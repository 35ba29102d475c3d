"""The period pipeline: ingest (a file, or a fetch from the HTTP providers) → normalize → compute-pnl → compute-commissions → statements generate.

Owns the step order, the permission gate between P&L and commissions, and each step's summary, for
the step commands, `aurora run` and any script or scheduler (`run_period`). Each step is one service
call in its own transaction that writes its audit row through the invocation's trail. Never prints,
never maps an outcome to an exit code.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from aurora_cli.db.engine import transaction
from aurora_cli.domain.permissions import Permission, allows
from aurora_cli.services import commissions, fetch, ingest, normalize, periods, pnl, statements
from aurora_cli.services.audit import Recorder
from aurora_cli.services.fetch import FetchProgress
from aurora_cli.services.locks import period_lock
from aurora_cli.services.progress import Progress

# track(description) opens a progress display for one step and yields its callback.
Track = Callable[[str], AbstractContextManager[Progress | None]]
# track_fetch() opens the per-provider progress display of a fetch and yields its callback.
TrackFetch = Callable[[], AbstractContextManager[FetchProgress | None]]


@contextmanager
def untracked(_description: str) -> Iterator[Progress | None]:
    yield None


@contextmanager
def untracked_fetch() -> Iterator[FetchProgress | None]:
    yield None


class StepOutcome(StrEnum):
    OK = "ok"
    PARTIAL = "partial"  # some items failed (bad lines skipped, invalid payloads): the rerun fills in
    FAILED = "failed"  # nothing could be fetched: the steps after it have nothing new to work on


@dataclass
class StepReport:
    step: str
    outcome: StepOutcome
    summary: dict[str, Any]


@dataclass(frozen=True)
class PeriodWork:
    """What every step of one period's pipeline works on."""

    engine: Engine
    trail: Recorder
    chain_id: str
    period: str
    file: Path | None = None  # None: fetch from the chain's HTTP providers instead
    strict: bool = True
    providers: tuple[str, ...] | None = None  # fetch only from these (default: every mapped one)
    validators: tuple[str, ...] | None = None  # fetch only these validator keys
    allow_unfinalized: bool = False
    actor_user_id: uuid.UUID | None = None
    track: Track = untracked
    track_fetch: TrackFetch = untracked_fetch


def ingest_step(work: PeriodWork) -> StepReport:
    if work.file is None:
        return fetch_step(work)
    with work.track(f"ingest {work.file.name}") as on_progress:
        result = ingest.ingest_file(
            work.engine,
            chain_id=work.chain_id,
            period=work.period,
            path=work.file,
            strict=work.strict,
            on_progress=on_progress,
            trail=work.trail,
        )
    summary = result.summary()
    summary["invalid"] = [{"line": n, "reason": r} for n, r in result.invalid_lines]
    return StepReport("ingest", _partial_if(result.status == "PARTIAL"), summary)


def fetch_step(work: PeriodWork) -> StepReport:
    """Ingest from the HTTP providers: one ingestion run per provider (services.fetch)."""
    with work.track_fetch() as on_progress:
        report = fetch.fetch_period(
            work.engine,
            chain_id=work.chain_id,
            period=work.period,
            providers=list(work.providers) if work.providers else None,
            validators=list(work.validators) if work.validators else None,
            on_progress=on_progress,
            audit=work.trail,
        )
    summary = report.summary()
    outcome = {"FAILED": StepOutcome.FAILED, "PARTIAL": StepOutcome.PARTIAL}.get(summary["status"], StepOutcome.OK)
    return StepReport("fetch", outcome, summary)


def normalize_step(work: PeriodWork) -> StepReport:
    with work.track("normalize") as on_progress, transaction(work.engine) as session:
        result = normalize.normalize(session, work.chain_id, work.period, on_progress)
        _audit_period_step(work, session, "NORMALIZATION_RUN", result.summary())
    return StepReport("normalize", _partial_if(result.partial), result.summary())


def compute_pnl_step(work: PeriodWork) -> StepReport:
    with transaction(work.engine) as session:
        result = pnl.compute_pnl(session, work.chain_id, work.period)
        _audit_period_step(work, session, "PNL_COMPUTE", result.summary())
    return StepReport("compute-pnl", StepOutcome.OK, result.summary())


def compute_commissions_step(work: PeriodWork) -> StepReport:
    result = commissions.run_compute_commissions(
        work.engine, work.trail, chain_id=work.chain_id, period=work.period
    )
    return StepReport("compute-commissions", StepOutcome.OK, result.summary())


def generate_statements_step(work: PeriodWork) -> StepReport:
    """Statements for the period; skipped (not refused) while the period is not final, since a
    scheduled run usually processes the newest period, which finalizes later."""
    with transaction(work.engine) as session:
        period_row = periods.get_period(session, work.chain_id, work.period)
        if not period_row.is_finalized and not work.allow_unfinalized:
            return StepReport(
                "statements generate",
                StepOutcome.OK,
                {
                    "chain_id": work.chain_id,
                    "period_identifier": work.period,
                    "skipped": "period not finalized",
                },
            )
        result = statements.generate_statements(
            session,
            work.chain_id,
            period=work.period,
            allow_unfinalized=work.allow_unfinalized,
            actor_user_id=work.actor_user_id,
            audit=work.trail,
        )
    return StepReport("statements generate", StepOutcome.OK, result.summary())


def _partial_if(partial: bool) -> StepOutcome:
    return StepOutcome.PARTIAL if partial else StepOutcome.OK


def _audit_period_step(work: PeriodWork, session: Any, action: str, summary: dict[str, Any]) -> None:
    work.trail(
        session,
        action=action,
        resource_type="period",
        resource_id=f"{work.chain_id}/{work.period}",
        after=summary,
    )


@dataclass(frozen=True)
class Step:
    name: str
    permission: Permission
    run: Callable[[PeriodWork], StepReport]


INGEST = Step("ingest", Permission.OPERATE, ingest_step)
NORMALIZE = Step("normalize", Permission.OPERATE, normalize_step)
COMPUTE_PNL = Step("compute-pnl", Permission.OPERATE, compute_pnl_step)
COMPUTE_COMMISSIONS = Step("compute-commissions", Permission.MANAGE_COMMISSIONS, compute_commissions_step)
GENERATE_STATEMENTS = Step("statements generate", Permission.MANAGE_COMMISSIONS, generate_statements_step)
# Least privilege: an OPS service token loads data; commissions need FINANCE or ADMIN.
PERIOD_STEPS = (INGEST, NORMALIZE, COMPUTE_PNL, COMPUTE_COMMISSIONS, GENERATE_STATEMENTS)


@dataclass
class PeriodRun:
    reports: list[StepReport] = field(default_factory=list)
    # The first step the role may not run, when the run stopped there; the steps before it ran.
    withheld: Step | None = None

    @property
    def outcome(self) -> StepOutcome:
        outcomes = {r.outcome for r in self.reports}
        if StepOutcome.FAILED in outcomes:
            return StepOutcome.FAILED
        return _partial_if(StepOutcome.PARTIAL in outcomes)


def run_period(
    work: PeriodWork,
    *,
    role: str,
    steps: tuple[Step, ...] = PERIOD_STEPS,
    wait: bool = True,
    lock_timeout_seconds: int,
) -> PeriodRun:
    """Run `steps` in order under the period's advisory lock; stop before a step `role` may not run,
    and after a step that failed whole (a fetch that got nothing)."""
    run = PeriodRun()
    with period_lock(
        work.engine, work.chain_id, work.period, wait=wait, timeout_seconds=lock_timeout_seconds
    ):
        for step in steps:
            if not allows(role, step.permission):
                run.withheld = step
                break
            run.reports.append(step.run(work))
            if run.reports[-1].outcome is StepOutcome.FAILED:
                break
    return run


# -- the single steps by their long-standing names (tests and scripts call these) ---------------


def run_ingest_file(
    engine: Engine,
    audit: Recorder,
    *,
    chain_id: str,
    period: str,
    path: Path,
    strict: bool,
    on_progress: Progress | None = None,
) -> StepReport:
    return ingest_step(
        PeriodWork(engine, audit, chain_id, period, file=path, strict=strict, track=_fixed(on_progress))
    )


def run_normalize(
    engine: Engine, audit: Recorder, *, chain_id: str, period: str, on_progress: Progress | None = None
) -> StepReport:
    return normalize_step(PeriodWork(engine, audit, chain_id, period, track=_fixed(on_progress)))


def run_compute_pnl(engine: Engine, audit: Recorder, *, chain_id: str, period: str) -> StepReport:
    return compute_pnl_step(PeriodWork(engine, audit, chain_id, period))


def _fixed(on_progress: Progress | None) -> Track:
    @contextmanager
    def track(_description: str) -> Iterator[Progress | None]:
        yield on_progress

    return track
