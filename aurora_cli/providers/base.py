"""The provider layer's shared shape: a registry of adapters, each turning its staged payloads into
canonical rows with its own pydantic models.

An adapter never writes to the database and never decides priority; ingestion stages what it
fetches, normalization picks the payload and asks the payload's adapter to read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

DATA_TYPES = ("FEES", "MEV", "REWARDS", "META")


class PayloadInvalid(ValueError):
    """A staged payload that does not parse as its provider says it should; one sentence."""


@dataclass(frozen=True)
class FeesRow:
    total_fees_native: Decimal
    fee_count: int


@dataclass(frozen=True)
class MevRow:
    total_mev_native: Decimal
    tip_count: int


@dataclass(frozen=True)
class RewardRow:
    staker_address: str | None
    rewards_native: Decimal
    commission_native: Decimal


@dataclass(frozen=True)
class MetaRow:
    commission_rate_bps: int
    is_mev_enabled: bool
    total_stake_native: Decimal
    active_stake_native: Decimal | None
    delegator_count: int | None
    uptime_percentage: Decimal | None


CanonicalRow = FeesRow | MevRow | RewardRow | MetaRow


class ProviderAdapter(Protocol):
    """What every provider supplies to the pipeline."""

    name: str

    def to_canonical(self, data_type: str, validator_key: str, raw_payload: Any) -> list[CanonicalRow]:
        """Parse one staged payload into canonical rows (one row, or the reward set); raise PayloadInvalid."""
        ...


_REGISTRY: dict[str, ProviderAdapter] = {}


def register(adapter: ProviderAdapter) -> ProviderAdapter:
    _REGISTRY[adapter.name] = adapter
    return adapter


def adapter_for(provider_name: str) -> ProviderAdapter | None:
    _load_builtin_adapters()
    return _REGISTRY.get(provider_name)


def _load_builtin_adapters() -> None:
    from aurora_cli.providers import file  # noqa: F401  (registers itself)


def check_reward_set(rows: list[RewardRow]) -> None:
    """Rules every adapter's reward set obeys (SPEC §5)."""
    seen: set[str | None] = set()
    for row in rows:
        if row.staker_address in seen:
            who = "the validator-level row" if row.staker_address is None else f"staker {row.staker_address}"
            raise PayloadInvalid(f"{who} appears more than once")
        seen.add(row.staker_address)
    per_delegator = any(r.staker_address is not None and r.commission_native > 0 for r in rows)
    aggregate = any(r.staker_address is None and r.commission_native > 0 for r in rows)
    if per_delegator and aggregate:
        raise PayloadInvalid(
            "commission is given both per delegator and as an aggregate; give one or the other"
        )
