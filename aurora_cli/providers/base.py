"""The provider layer's shared shape: a registry of adapters, each turning its staged payloads into
canonical rows with its own pydantic models.

An adapter never writes to the database and never decides priority; ingestion stages what it
fetches, normalization picks the payload and asks the payload's adapter to read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    penalties_native: Decimal = Decimal(0)  # negative consensus figures, as a positive amount


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


@dataclass(frozen=True)
class FetchTarget:
    """One validator as a fetching adapter sees it (from canonical_validator_identities)."""

    validator_key: str
    vote_pubkey: str | None = None
    identity_pubkey: str | None = None
    node_pubkey: str | None = None
    fee_recipient: str | None = None


@dataclass
class RunContext:
    """What one provider run fetches for: the chain, the period, the provider's extra settings.

    `notes` collects counters an adapter wants in the run's metadata (e.g. skipped slots).
    """

    chain_id: str
    period: str
    period_start: Any = None
    period_end: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    targets: list[FetchTarget] = field(default_factory=list)  # every validator this run fetches for

    def count(self, key: str, n: int = 1) -> None:
        self.notes[key] = self.notes.get(key, 0) + n


class HttpAdapter(ProviderAdapter, Protocol):
    """The fetching side of an HTTP provider (providers/http.py is the one client they use).

    - `data_types`: the roles it can serve.
    - `open_run(client, ctx)`: per-run prefetch (epoch schedule, genesis/spec, leader schedule);
      returns a state object passed to every `fetch`. May raise FetchFailed / NotYetAvailable, which
      fail the whole run.
    - `fetch(client, state, target, data_type)`: the payload to stage for one (validator, data type):
      the envelope `{"requests": [...], "responses": [...]}` of `client.recording()`, every body as
      received and no secret in it (requests are recorded relative to the base URL, headers are
      not). Raises FetchFailed, ResponseInvalid or NotYetAvailable for that item only.
    - `check(client)`: one cheap request proving the provider answers (providers check).
    """

    data_types: tuple[str, ...]

    def open_run(self, client: Any, ctx: RunContext) -> Any: ...

    def fetch(self, client: Any, state: Any, target: FetchTarget, data_type: str) -> Any: ...

    def check(self, client: Any) -> str: ...


def is_http_adapter(adapter: Any) -> bool:
    return all(hasattr(adapter, a) for a in ("data_types", "open_run", "fetch", "check"))


_REGISTRY: dict[str, ProviderAdapter] = {}


def register(adapter: ProviderAdapter) -> ProviderAdapter:
    _REGISTRY[adapter.name] = adapter
    return adapter


def adapter_for(provider_name: str) -> ProviderAdapter | None:
    _load_builtin_adapters()
    return _REGISTRY.get(provider_name)


def _load_builtin_adapters() -> None:
    # HTTP adapters register themselves on import; one missing module must not hide the others.
    import importlib

    from aurora_cli.providers import file  # noqa: F401  (registers itself)

    for module in ("solana_rpc", "jito", "solanabeach", "beacon", "mevboost_relay"):
        try:
            importlib.import_module(f"aurora_cli.providers.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"aurora_cli.providers.{module}":
                raise


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
