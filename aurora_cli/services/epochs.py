"""Period discovery from the chain itself: Solana epochs with their real bounds, and `previous`.

Owns `periods sync` (getEpochSchedule → first slot of each epoch; getBlockTime of the first
produced slot of epoch E and of E+1 → [start, end)) and resolving the period word `previous`
(Solana: getEpochInfo's epoch − 1; block-window chains: yesterday UTC). Never prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aurora_cli.db.engine import transaction
from aurora_cli.db.models import CanonicalPeriod, Provider
from aurora_cli.errors import InvalidInput, NotFound
from aurora_cli.providers.http import FetchFailed, ProviderClient, RetryPolicy, RpcError
from aurora_cli.providers.solana_rpc import SKIPPED_SLOT_CODES, EpochSchedule
from aurora_cli.services.audit import Recorder
from aurora_cli.services.periods import find_period, get_chain, period_row

RPC_PROVIDER = "solana-rpc"
PREVIOUS = "previous"
MAX_SKIPPED_PROBE = 50  # slots tried after a skipped first slot when looking for a block time


@dataclass
class SyncResult:
    chain_id: str
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    current_epoch: int | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "created": self.created,
            "already_registered": self.existing,
            "current_epoch": self.current_epoch,
        }


def _rpc_client(session: Session, environ: dict[str, str] | None, policy: RetryPolicy | None) -> ProviderClient:
    from aurora_cli.services.fetch import open_client

    provider = session.scalar(select(Provider).where(Provider.provider_name == RPC_PROVIDER))
    if provider is None or not provider.is_enabled:
        raise InvalidInput(f"provider {RPC_PROVIDER} is not configured and enabled in providers.toml.")
    session.expunge(provider)
    return open_client(provider, policy=policy, environ=environ)


def _epoch_kind(session: Session, chain_id: str) -> str:
    chain = get_chain(session, chain_id)
    return str(getattr(chain.period_type, "value", chain.period_type))


def current_epoch(client: ProviderClient) -> int:
    info = client.rpc("getEpochInfo", [{"commitment": "finalized"}])
    epoch = info.get("epoch") if isinstance(info, dict) else None
    if not isinstance(epoch, int):
        from aurora_cli.providers.http import ResponseInvalid

        raise ResponseInvalid(client.name, "getEpochInfo", "field epoch is missing or not an integer")
    return epoch


def block_time_from(client: ProviderClient, slot: int) -> datetime:
    """The time of the first produced block at or after `slot` (a skipped slot has none)."""
    for probe in range(slot, slot + MAX_SKIPPED_PROBE):
        try:
            value = client.rpc("getBlockTime", [probe])
        except RpcError as exc:
            if exc.code in SKIPPED_SLOT_CODES:
                continue
            raise FetchFailed(client.name, "getBlockTime", f"slot {probe}: {exc}") from None
        if isinstance(value, int):
            return datetime.fromtimestamp(value, UTC)
    raise FetchFailed(client.name, "getBlockTime", f"no block time within {MAX_SKIPPED_PROBE} slots of {slot}")


def sync_epochs(
    engine: Engine,
    chain_id: str,
    *,
    first: int | None = None,
    last: int | None = None,
    environ: dict[str, str] | None = None,
    policy: RetryPolicy | None = None,
    trail: Recorder | None = None,
) -> SyncResult:
    """Register the completed epochs first..last (default: the newest complete one) with RPC bounds;
    each registered epoch is audited through `trail` in the transaction that adds it."""
    with transaction(engine) as session:
        if _epoch_kind(session, chain_id) != "EPOCH":
            raise InvalidInput(f"{chain_id} has no epochs: its periods are UTC days, created on first use.")
        client = _rpc_client(session, environ, policy)
    result = SyncResult(chain_id)
    with client:
        schedule = EpochSchedule.model_validate_rpc(client)
        result.current_epoch = current_epoch(client)
        newest_complete = result.current_epoch - 1
        last = newest_complete if last is None else last
        first = last if first is None else first
        if first > last:
            raise InvalidInput(f"epoch range {first}..{last} is empty: the first epoch is after the last.")
        if last > newest_complete:
            raise InvalidInput(
                f"epoch {last} is not complete yet (the current epoch is {result.current_epoch})."
            )
        for epoch in range(first, last + 1):
            with transaction(engine) as session:
                if find_period(session, chain_id, str(epoch)) is not None:
                    result.existing.append(str(epoch))
                    continue
            start = block_time_from(client, schedule.first_slot(epoch))
            end = block_time_from(client, schedule.first_slot(epoch + 1))
            with transaction(engine) as session:
                added = CanonicalPeriod(
                    chain_id=chain_id, period_identifier=str(epoch), period_start=start, period_end=end
                )
                session.add(added)
                session.flush()
                if trail is not None:
                    trail(
                        session,
                        action="CREATE_PERIOD",
                        resource_type="period",
                        resource_id=str(added.period_id),
                        after=period_row(added),
                    )
            result.created.append(str(epoch))
    return result


def resolve_previous(
    engine: Engine, chain_id: str, *, environ: dict[str, str] | None = None, policy: RetryPolicy | None = None
) -> str:
    """The newest complete period of the chain: Solana epoch − 1 from the RPC; yesterday (UTC)."""
    with transaction(engine) as session:
        kind = _epoch_kind(session, chain_id)
        if kind == "BLOCK_WINDOW":
            return (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
        if kind != "EPOCH":
            raise NotFound(f"{chain_id} has no notion of a previous period.")
        client = _rpc_client(session, environ, policy)
    with client:
        return str(current_epoch(client) - 1)


def resolve_period(engine: Engine, chain_id: str, period: str, *, trail: Recorder | None = None) -> str:
    """`previous` → the newest complete period of the chain, audited with what it resolved to; any
    other identifier is returned unchanged."""
    if period != PREVIOUS:
        return period
    resolved = resolve_previous(engine, chain_id)
    if trail is not None:
        with transaction(engine) as session:
            trail(
                session,
                action="COMMAND",
                resource_type="period",
                resource_id=f"{chain_id}/{resolved}",
                after={"period": PREVIOUS, "resolved": resolved},
            )
    return resolved
