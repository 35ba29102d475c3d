"""Ingestion from HTTP providers (SPEC §4, issue 9): `aurora ingest` / `aurora run` without a file.

Owns the plan (which provider serves which (validator, data type) of a chain, from the active
mappings), one ingestion run per provider, per-item transactions (every good item is kept; an
unchanged payload is deduplicated by `ingest.stage_payload`), the list of failed and
not-yet-available items in the run's error message and metadata, the per-endpoint statistics, and
ending a run FAILED with what was staged kept when the process is interrupted.

It never prints (progress goes through a callback), never names a command-line flag, and never
lets a secret reach the database: clients redact, and only relative endpoint names are recorded.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from aurora_cli.db.engine import transaction
from aurora_cli.db.models import CanonicalValidatorIdentity, ChainProviderMapping, Provider
from aurora_cli.domain.canonical_json import canonical_json, sha256_hex
from aurora_cli.errors import AuroraError, InvalidInput, NotFound
from aurora_cli.providers.base import FetchTarget, RunContext, adapter_for, is_http_adapter
from aurora_cli.providers.http import (
    FetchFailed,
    NotYetAvailable,
    ProviderClient,
    ProviderSettings,
    ResponseInvalid,
    RetryPolicy,
)
from aurora_cli.services import ingest
from aurora_cli.services.audit import Recorder
from aurora_cli.services.periods import find_period, get_chain

# (provider, items done, items total, retries so far)
FetchProgress = Callable[[str, int, int, int], None]
MAX_LISTED = 10


@dataclass
class ItemProblem:
    validator_key: str
    data_type: str
    endpoint: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {
            "validator_key": self.validator_key,
            "data_type": self.data_type,
            "endpoint": self.endpoint,
            "reason": self.reason,
        }


@dataclass
class ProviderRun:
    provider: str
    run_id: uuid.UUID
    data_types: list[str]
    items: int = 0
    staged: int = 0
    unchanged: int = 0
    failed: list[ItemProblem] = field(default_factory=list)
    not_yet: list[ItemProblem] = field(default_factory=list)
    status: str = "RUNNING"
    endpoints: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def fetched(self) -> int:
        return self.staged + self.unchanged

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "provider": self.provider,
            "status": self.status,
            "data_types": self.data_types,
            "items": self.items,
            "staged": self.staged,
            "unchanged": self.unchanged,
            "failed": [p.to_json() for p in self.failed],
            "not_yet_available": [p.to_json() for p in self.not_yet],
            "requests": sum(e["requests"] for e in self.endpoints.values()),
            "retries": sum(e["retries"] for e in self.endpoints.values()),
        }

    def metadata(self) -> dict[str, Any]:
        return {
            "data_types": self.data_types,
            "items": self.items,
            "unchanged": self.unchanged,
            "failed_items": [p.to_json() for p in self.failed],
            "not_yet_available": [p.to_json() for p in self.not_yet],
            "endpoints": self.endpoints,
            "notes": self.notes,
        }

    def error_message(self) -> str | None:
        parts = []
        if self.failed:
            shown = "; ".join(f"{p.validator_key} {p.data_type} ({p.endpoint}): {p.reason}" for p in self.failed[:MAX_LISTED])
            more = len(self.failed) - MAX_LISTED
            parts.append(f"{len(self.failed)} item(s) failed: {shown}" + (f"; and {more} more" if more > 0 else ""))
        if self.not_yet:
            shown = ", ".join(f"{p.validator_key} {p.data_type}" for p in self.not_yet[:MAX_LISTED])
            parts.append(f"{len(self.not_yet)} item(s) not yet available from the provider: {shown}")
        return " | ".join(parts) or None


@dataclass
class FetchReport:
    chain_id: str
    period: str
    runs: list[ProviderRun] = field(default_factory=list)
    period_created: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "period_identifier": self.period,
            "period_created": self.period_created,
            "status": _overall(self.runs),
            "runs": [r.summary() for r in self.runs],
        }


def _overall(runs: list[ProviderRun]) -> str:
    statuses = {r.status for r in runs}
    if not runs:
        return "SUCCESS"
    if statuses == {"FAILED"}:
        return "FAILED"
    if statuses == {"SUCCESS"}:
        return "SUCCESS"
    return "PARTIAL"


# -- the plan ------------------------------------------------------------------------------------


@dataclass
class PlannedProvider:
    provider: Provider
    adapter: Any
    data_types: list[str]


def plan_providers(session: Session, chain_id: str, names: list[str] | None = None) -> list[PlannedProvider]:
    """The enabled HTTP providers the chain's active mappings name, each with the roles it serves."""
    rows = session.execute(
        select(ChainProviderMapping.provider_role, Provider)
        .join(Provider, Provider.provider_id == ChainProviderMapping.provider_id)
        .where(ChainProviderMapping.chain_id == chain_id, ChainProviderMapping.is_active.is_(True))
        .order_by(Provider.provider_name, ChainProviderMapping.priority)
    ).all()
    wanted = set(names or [])
    known = {p.provider_name for _, p in rows}
    unknown = sorted(wanted - known)
    if unknown:
        raise InvalidInput(
            f"provider {', '.join(unknown)} is not mapped to {chain_id}: add a mapping in providers.toml."
        )
    plan: dict[str, PlannedProvider] = {}
    for role, provider in rows:
        if wanted and provider.provider_name not in wanted:
            continue
        adapter = adapter_for(provider.provider_name)
        if adapter is None or not is_http_adapter(adapter) or role not in adapter.data_types:
            continue
        if not provider.is_enabled:
            if provider.provider_name in wanted:
                raise InvalidInput(f"provider {provider.provider_name!r} is disabled in providers.toml.")
            continue
        entry = plan.setdefault(provider.provider_name, PlannedProvider(provider, adapter, []))
        if role not in entry.data_types:
            entry.data_types.append(role)
    if not plan:
        raise InvalidInput(
            f"no enabled HTTP provider serves {chain_id}"
            + (f" among {', '.join(sorted(wanted))}" if wanted else "")
            + ": enable one in providers.toml, or import a file."
        )
    return list(plan.values())


def targets(session: Session, chain_id: str, keys: list[str] | None = None) -> list[FetchTarget]:
    query = select(CanonicalValidatorIdentity).where(CanonicalValidatorIdentity.chain_id == chain_id)
    if keys:
        query = query.where(CanonicalValidatorIdentity.validator_key.in_(keys))
    else:
        query = query.where(CanonicalValidatorIdentity.is_active.is_(True))
    rows = list(session.scalars(query.order_by(CanonicalValidatorIdentity.validator_key)))
    missing = sorted(set(keys or []) - {r.validator_key for r in rows})
    if missing:
        raise NotFound(
            f"unknown validator {', '.join(missing)} of {chain_id}: add it to config/validators.toml "
            "and run `aurora config apply`."
        )
    if not rows:
        raise NotFound(f"no active validator of {chain_id}: add them to config/validators.toml.")
    return [
        FetchTarget(r.validator_key, r.vote_pubkey, r.identity_pubkey, r.node_pubkey, r.fee_recipient)
        for r in rows
    ]


def settings_for(provider: Provider) -> ProviderSettings:
    return ProviderSettings(
        name=provider.provider_name,
        base_url=provider.base_url or "",
        timeout_seconds=float(provider.timeout_seconds or 30),
        rate_limit_per_minute=provider.rate_limit_per_minute,
        api_key_env=getattr(provider, "api_key_env", None),
        extra=dict(getattr(provider, "settings", None) or {}),
    )


def policy_for(extra: dict[str, Any], default: RetryPolicy | None = None) -> RetryPolicy:
    base = default or RetryPolicy()
    return RetryPolicy(
        attempts=int(extra.get("retry_attempts", base.attempts)),
        initial_wait=float(extra.get("retry_initial_wait_seconds", base.initial_wait)),
        max_wait=float(extra.get("retry_max_wait_seconds", base.max_wait)),
        max_total_wait=float(extra.get("retry_max_total_wait_seconds", base.max_total_wait)),
    )


def open_client(
    provider: Provider, *, policy: RetryPolicy | None = None, environ: dict[str, str] | None = None
) -> ProviderClient:
    settings = settings_for(provider)
    if not settings.base_url and not settings.extra.get("base_urls"):
        raise InvalidInput(f"provider {provider.provider_name} has no base URL in providers.toml.")
    if not settings.base_url:
        settings = ProviderSettings(**{**settings.__dict__, "base_url": settings.extra["base_urls"][0]})
    return ProviderClient(settings, policy=policy or policy_for(settings.extra), environ=environ)


# -- fetching ------------------------------------------------------------------------------------


def fetch_period(
    engine: Engine,
    *,
    chain_id: str,
    period: str,
    providers: list[str] | None = None,
    validators: list[str] | None = None,
    on_progress: FetchProgress | None = None,
    audit: Recorder | None = None,
    policy: RetryPolicy | None = None,
    environ: dict[str, str] | None = None,
) -> FetchReport:
    """Fetch and stage every planned (validator, data type) of the period; see the module docstring."""
    env = dict(os.environ if environ is None else environ)
    with transaction(engine) as session:
        get_chain(session, chain_id)
        plan = plan_providers(session, chain_id, providers)
        fetch_targets = targets(session, chain_id, validators)
    period_row, created = ensure_period(engine, chain_id, period, environ=env, policy=policy)
    report = FetchReport(chain_id, period, period_created=created)
    for planned in plan:
        report.runs.append(
            _fetch_provider(
                engine, planned, chain_id, period, period_row, fetch_targets, on_progress, audit, policy, env
            )
        )
    return report


def ensure_period(
    engine: Engine, chain_id: str, period: str, *, environ: dict[str, str] | None = None, policy: RetryPolicy | None = None
) -> tuple[Any, bool]:
    """The period row: registered, derived (Ethereum days), or registered from the Solana RPC."""
    from aurora_cli.services.periods import resolve_period

    with transaction(engine) as session:
        try:
            return resolve_period(session, chain_id, period)
        except NotFound:
            chain = get_chain(session, chain_id)
            if str(getattr(chain.period_type, "value", chain.period_type)) != "EPOCH":
                raise
    from aurora_cli.services import epochs

    epochs.sync_epochs(engine, chain_id, first=int(period), last=int(period), environ=environ, policy=policy)
    with transaction(engine) as session:
        found = find_period(session, chain_id, period)
        if found is None:
            raise NotFound(f"unknown period {period} of {chain_id}: the RPC has no bounds for it yet.")
        return found, True


def _fetch_provider(
    engine: Engine,
    planned: PlannedProvider,
    chain_id: str,
    period: str,
    period_row: Any,
    fetch_targets: list[FetchTarget],
    on_progress: FetchProgress | None,
    audit: Recorder | None,
    policy: RetryPolicy | None,
    environ: dict[str, str],
) -> ProviderRun:
    provider = planned.provider
    name = provider.provider_name
    with transaction(engine) as session:
        run = ingest.start_run(
            session,
            chain_id,
            period_row.period_id,
            session.merge(provider),
            {"source": "http", "data_types": planned.data_types, "validators": len(fetch_targets)},
        )
        run_id = run.run_id
    result = ProviderRun(name, run_id, planned.data_types)
    items = [(t, dt) for t in fetch_targets for dt in planned.data_types]
    result.items = len(items)
    ctx = RunContext(
        chain_id=chain_id,
        period=period,
        period_start=period_row.period_start,
        period_end=period_row.period_end,
        extra=dict(getattr(provider, "settings", None) or {}),
        targets=list(fetch_targets),
    )
    client: ProviderClient | None = None
    try:
        client = open_client(provider, policy=policy, environ=environ)
        if on_progress:
            on_progress(name, 0, len(items), 0)
        opened = False
        try:
            state = planned.adapter.open_run(client, ctx)
            opened = True
        except (FetchFailed, ResponseInvalid, NotYetAvailable) as exc:
            bucket = result.not_yet if isinstance(exc, NotYetAvailable) else result.failed
            for target, data_type in items:
                bucket.append(ItemProblem(target.validator_key, data_type, exc.endpoint, client.redact(exc.reason)))
        if opened:
            for done, (target, data_type) in enumerate(items, start=1):
                _fetch_item(engine, client, planned, state, target, data_type, result, run_id, provider.provider_id)
                if on_progress:
                    on_progress(name, done, len(items), client.stats.retries)
    except AuroraError as exc:  # configuration: no base URL, an unset variable
        result.failed.append(ItemProblem("*", "*", "configuration", exc.message))
    except BaseException as exc:
        # Ctrl-C / SIGTERM (raised as KeyboardInterrupt) or a bug: the run ends FAILED, the staged
        # items stay (each was its own transaction).
        result.status = "FAILED"
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}"
        _finish(engine, result, client, ctx, message=f"{reason}: the run stopped before every item was fetched")
        raise
    finally:
        if client is not None:
            client.close()
    if result.failed and result.fetched == 0:
        result.status = "FAILED"
    elif result.failed or result.not_yet:
        result.status = "PARTIAL"
    else:
        result.status = "SUCCESS"
    _finish(engine, result, client, ctx, audit=audit)
    return result


def _fetch_item(
    engine: Engine,
    client: ProviderClient,
    planned: PlannedProvider,
    state: Any,
    target: FetchTarget,
    data_type: str,
    result: ProviderRun,
    run_id: uuid.UUID,
    provider_id: uuid.UUID,
) -> None:
    try:
        payload = planned.adapter.fetch(client, state, target, data_type)
    except NotYetAvailable as exc:
        result.not_yet.append(ItemProblem(target.validator_key, data_type, exc.endpoint, exc.reason))
        return
    except (FetchFailed, ResponseInvalid) as exc:
        result.failed.append(ItemProblem(target.validator_key, data_type, exc.endpoint, client.redact(exc.reason)))
        return
    except InvalidInput as exc:  # e.g. a validator without the identity the adapter needs
        result.failed.append(ItemProblem(target.validator_key, data_type, "configuration", exc.message))
        return
    with transaction(engine) as session:
        stored = _stage(session, run_id, provider_id, target.validator_key, data_type, payload)
    if stored:
        result.staged += 1
    else:
        result.unchanged += 1


_INSERT_PAYLOAD = text(
    """
    INSERT INTO staging_payloads
        (run_id, chain_id, period_id, validator_key, provider_id, data_type, response_hash, raw_payload)
    SELECT r.run_id, r.chain_id, r.period_id, :validator_key, :provider_id, CAST(:data_type AS data_type),
           :response_hash, CAST(:body AS jsonb)
    FROM ingestion_runs r WHERE r.run_id = :run_id
    """
)


def _stage(session: Session, run_id: uuid.UUID, provider_id: uuid.UUID, validator_key: str, data_type: str, payload: Any) -> bool:
    """`ingest.stage_payload`'s rule (skip when equal to the latest staged hash), written from the
    canonical JSON text so decimals in a body (parsed exactly, never as floats) stay exact."""
    from aurora_cli.db.models import IngestionRun

    run = session.get(IngestionRun, run_id)
    body = canonical_json(payload)
    digest = sha256_hex(payload)
    if ingest.latest_hash(session, run.chain_id, run.period_id, validator_key, data_type, provider_id) == digest:
        return False
    session.execute(
        _INSERT_PAYLOAD,
        {"run_id": run_id, "validator_key": validator_key, "provider_id": provider_id, "data_type": data_type,
         "response_hash": digest, "body": body.decode("utf-8")},
    )
    return True


def _finish(
    engine: Engine,
    result: ProviderRun,
    client: ProviderClient | None,
    ctx: RunContext,
    *,
    message: str | None = None,
    audit: Recorder | None = None,
) -> None:
    if client is not None:
        result.endpoints = client.stats.to_json()
    result.notes = dict(ctx.notes)
    error = result.error_message()
    if message:
        error = message + (f" | {error}" if error else "")
    with transaction(engine) as session:
        ingest.finish_run(
            session,
            result.run_id,
            status=result.status,
            fetched=result.fetched,
            staged=result.staged,
            error_message=error,
            metadata={**result.metadata(), "finished_at": datetime.now(UTC).isoformat()},
        )
        if audit is not None:
            audit(
                session,
                action="INGESTION_RUN",
                resource_type="ingestion_run",
                resource_id=str(result.run_id),
                after=result.summary(),
            )

