"""`beacon`: an Ethereum beacon node's standard API (ethereum/beacon-APIs) → REWARDS and META of a UTC day.

Owns: the per-run prefetch of what all validators share, each validator's envelope, and reading the
envelope back into one validator-level reward row. Never touches the database or decides priority.

Period = UTC day D; its epochs are those whose first slot is in D (domain/ethereum_time.py), from
`GET eth/v1/beacon/genesis` `data.genesis_time` (unix s) and `GET eth/v1/config/spec`
`data.SECONDS_PER_SLOT`, `data.SLOTS_PER_EPOCH`, `data.EPOCHS_PER_SYNC_COMMITTEE_PERIOD`.
All amounts are Gwei (decimal strings, signed) and become wei × 10^9, as integers.

Field mapping (validator key = BLS pubkey `0x` + 96 hex):
- `GET eth/v1/beacon/states/{D's last slot}/validators?id=PK,…` (once per run, 64 pubkeys a
  request): `data[].index` ← `data[].validator.pubkey` (the validator index); for META,
  `data[].validator.effective_balance` (Gwei) → `total_stake_native`, and `active_stake_native` the
  same when `data[].status` is `active_*`, else 0; `commission_rate_bps` 0 (no protocol commission);
  `is_mev_enabled` is derived at normalization.
- `POST eth/v1/beacon/rewards/attestations/{epoch}` (body: every index of the run) for each epoch of
  D: `data.total_rewards[].head`, `.target`, `.source`, `.inclusion_delay` (when present),
  `.inactivity` — five figures per epoch.
- `GET eth/v1/beacon/states/{slot}/sync_committees?epoch=E` `data.validators[]` (once per sync
  committee period touching D) tells who is in the committee; for each slot of D in that period
  `POST eth/v1/beacon/rewards/sync_committee/{slot}` (body: the members among the run's indices)
  `data[].reward`. HTTP 404 = no block at that slot (missed): no figure.
- `GET eth/v1/validator/duties/proposer/{epoch}` `data[].pubkey`, `.slot` for each epoch of D; then,
  per proposed slot, `GET eth/v1/beacon/rewards/blocks/{slot}` `data.total` (`data.proposer_index`
  must be the validator's). HTTP 404 = missed proposal: no figure.
Each figure > 0 adds to `rewards_native`, each figure < 0 adds its absolute value to
`penalties_native`; nothing is netted, clipped or dropped. One row, `staker_address` NULL,
`commission_native` 0 (a beacon node does not know commission).

META envelope: the validators request alone, with this validator's entry.
REWARDS envelope (one per validator and day): `{"requests": [...], "responses": [...], "epochs": {"first",
"last"}}`. Requests are relative to the base URL. A request marked `"shared": true` was one request
for all the run's validators: its recorded `body`/`params` name only this validator and its response
keeps the response's top-level members as received but only this validator's entries (the full body
would make every validator's payload, and hash, depend on every other validator). A recorded
response `{"status": 404}` is a missed slot. Only the validator's own requests (block rewards) are
recorded whole. `to_canonical` needs nothing but the envelope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from aurora_cli.domain.ethereum_time import DayWindow, SlotClock, day_bounds
from aurora_cli.providers.base import (
    CanonicalRow,
    FetchTarget,
    MetaRow,
    PayloadInvalid,
    RewardRow,
    RunContext,
    register,
)
from aurora_cli.providers.http import FetchFailed, NotYetAvailable, ResponseInvalid

NAME = "beacon"
GWEI = 10**9
PUBKEY = re.compile(r"^0x[0-9a-fA-F]{96}$")
INDEX_LOOKUP_BATCH = 64  # pubkeys per `states/{slot}/validators` request (98 characters each in the URL)

SignedGwei = Annotated[str, StringConstraints(pattern=r"^-?[0-9]+$")]
Uint = Annotated[str, StringConstraints(pattern=r"^[0-9]+$")]

EP_GENESIS = "GET eth/v1/beacon/genesis"
EP_SPEC = "GET eth/v1/config/spec"
EP_VALIDATORS = "GET eth/v1/beacon/states/{state_id}/validators"
EP_ATTESTATIONS = "POST eth/v1/beacon/rewards/attestations/{epoch}"
EP_SYNC_MEMBERS = "GET eth/v1/beacon/states/{state_id}/sync_committees"
EP_SYNC_REWARDS = "POST eth/v1/beacon/rewards/sync_committee/{block_id}"
EP_DUTIES = "GET eth/v1/validator/duties/proposer/{epoch}"
EP_BLOCK_REWARDS = "GET eth/v1/beacon/rewards/blocks/{block_id}"
EP_VERSION = "GET eth/v1/node/version"


# -- the fields we read, exactly ------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class GenesisData(_Model):
    genesis_time: Uint


class Genesis(_Model):
    data: GenesisData


class SpecData(_Model):
    SECONDS_PER_SLOT: Uint
    SLOTS_PER_EPOCH: Uint
    EPOCHS_PER_SYNC_COMMITTEE_PERIOD: Uint


class Spec(_Model):
    data: SpecData


class ValidatorFields(_Model):
    pubkey: str
    effective_balance: Uint


class ValidatorEntry(_Model):
    index: Uint
    status: str
    validator: ValidatorFields


class Validators(_Model):
    data: list[ValidatorEntry]


class AttestationReward(_Model):
    validator_index: Uint
    head: SignedGwei
    target: SignedGwei
    source: SignedGwei
    inclusion_delay: SignedGwei | None = None  # phase0 only; absent after Altair
    inactivity: SignedGwei

    def figures(self) -> list[int]:
        values = [self.head, self.target, self.source, self.inclusion_delay, self.inactivity]
        return [int(v) for v in values if v is not None]


class AttestationRewardsData(_Model):
    total_rewards: list[AttestationReward]


class AttestationRewards(_Model):
    finalized: bool | None = None
    data: AttestationRewardsData


class SyncCommitteeMembers(_Model):
    validators: list[Uint]


class SyncCommittee(_Model):
    data: SyncCommitteeMembers


class SyncCommitteeReward(_Model):
    validator_index: Uint
    reward: SignedGwei


class SyncCommitteeRewards(_Model):
    data: list[SyncCommitteeReward]


class ProposerDuty(_Model):
    pubkey: str
    validator_index: Uint
    slot: Uint


class ProposerDuties(_Model):
    data: list[ProposerDuty]


class BlockRewardData(_Model):
    proposer_index: Uint
    total: SignedGwei


class BlockRewards(_Model):
    data: BlockRewardData


class NodeVersionData(_Model):
    version: str


class NodeVersion(_Model):
    data: NodeVersionData


def _field_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "the body"
    return f"field {where}: {error['msg']}"


def _parse(model: type[_Model], body: Any, endpoint: str) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise ResponseInvalid(NAME, endpoint, _field_problem(exc)) from None


# -- one run's shared data --------------------------------------------------------------------------


@dataclass
class BeaconRun:
    period: str
    window: DayWindow
    genesis_body: Any
    spec_part: dict[str, Any]
    index_of: dict[str, str] = field(default_factory=dict)  # lower-case pubkey -> index
    validators_path: str = ""  # the validators at D's last slot (indices, effective balance)
    validator_parts: dict[str, dict[str, Any]] = field(default_factory=dict)  # index -> entry as received
    validators_meta: dict[str, Any] = field(default_factory=dict)
    # epoch -> (top-level members but data, index -> total_rewards entry as received)
    attestations: dict[int, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)
    # (state slot, epoch) of each sync committee period -> (members among ours, top-level members)
    sync_committees: list[tuple[int, int, set[str], dict[str, Any]]] = field(default_factory=list)
    # slot -> None (missed, 404) or (top-level members, index -> entry)
    sync_rewards: dict[int, tuple[dict[str, Any], dict[str, Any]] | None] = field(default_factory=dict)
    # epoch -> (top-level members, duties of our validators as received)
    duties: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = field(default_factory=dict)


def _top(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "data"}


class BeaconAdapter:
    name = NAME
    data_types = ("REWARDS", "META")

    def __init__(self, clock: Any = None) -> None:
        self._now = clock or (lambda: datetime.now(UTC))

    def check(self, client: Any) -> str:
        body = client.get_json("eth/v1/node/version", endpoint=EP_VERSION)
        return _parse(NodeVersion, body, EP_VERSION).data.version

    # -- per run --

    def open_run(self, client: Any, ctx: RunContext) -> BeaconRun:
        genesis_body = client.get_json("eth/v1/beacon/genesis", endpoint=EP_GENESIS)
        genesis = _parse(Genesis, genesis_body, EP_GENESIS).data
        spec = _parse(Spec, client.get_json("eth/v1/config/spec", endpoint=EP_SPEC), EP_SPEC).data
        clock = SlotClock(int(genesis.genesis_time), int(spec.SECONDS_PER_SLOT), int(spec.SLOTS_PER_EPOCH))
        start, end = day_bounds(ctx.period, ctx.period_start, ctx.period_end)
        window = clock.day_window(start, end)
        # Attestation rewards of epoch E are settled at the end of epoch E + 1.
        ready_at = clock.epoch_start(window.last_epoch + 2)
        if self._now() < ready_at:
            raise NotYetAvailable(
                NAME, EP_ATTESTATIONS, f"the last epoch of {ctx.period} is settled at {ready_at.isoformat()}"
            )
        run = BeaconRun(
            period=ctx.period,
            window=window,
            genesis_body=genesis_body,
            spec_part={"data": spec.model_dump()},
            validators_path=f"eth/v1/beacon/states/{window.last_slot}/validators",
        )
        self._resolve_indices(client, run, ctx.targets)
        indices = sorted(run.validator_parts, key=int)
        if not indices:
            return run
        self._fetch_attestations(client, run, indices)
        self._fetch_sync_committee(client, run, indices, int(spec.EPOCHS_PER_SYNC_COMMITTEE_PERIOD))
        self._fetch_duties(client, run)
        ctx.count("epochs", len(window.epochs))
        ctx.count("missed_sync_slots", sum(1 for v in run.sync_rewards.values() if v is None))
        return run

    def _resolve_indices(self, client: Any, run: BeaconRun, targets: list[FetchTarget]) -> None:
        pubkeys = sorted({t.validator_key.lower() for t in targets if PUBKEY.match(t.validator_key)})
        for start in range(0, len(pubkeys), INDEX_LOOKUP_BATCH):
            chunk = pubkeys[start : start + INDEX_LOOKUP_BATCH]
            body = client.get_json(
                run.validators_path, params={"id": ",".join(chunk)}, endpoint=EP_VALIDATORS
            )
            parsed = _parse(Validators, body, EP_VALIDATORS)
            run.validators_meta = _top(body)
            for entry, raw in zip(parsed.data, body["data"], strict=True):
                run.index_of[entry.validator.pubkey.lower()] = entry.index
                run.validator_parts[entry.index] = raw

    def _fetch_attestations(self, client: Any, run: BeaconRun, indices: list[str]) -> None:
        for epoch in run.window.epochs:
            body = client.post_json(
                f"eth/v1/beacon/rewards/attestations/{epoch}", indices, endpoint=EP_ATTESTATIONS
            )
            parsed = _parse(AttestationRewards, body, EP_ATTESTATIONS)
            if parsed.finalized is False:
                raise NotYetAvailable(NAME, EP_ATTESTATIONS, f"epoch {epoch} is not finalized yet")
            by_index = {
                entry.validator_index: raw
                for entry, raw in zip(parsed.data.total_rewards, body["data"]["total_rewards"], strict=True)
            }
            run.attestations[epoch] = (_top(body), by_index)

    def _fetch_sync_committee(
        self, client: Any, run: BeaconRun, indices: list[str], period_epochs: int
    ) -> None:
        ours = set(indices)
        first_epoch_of_period: dict[int, int] = {}
        for epoch in run.window.epochs:
            first_epoch_of_period.setdefault(epoch // period_epochs, epoch)
        for period, epoch in sorted(first_epoch_of_period.items()):
            state_slot = epoch * run.window.slots_per_epoch
            body = client.get_json(
                f"eth/v1/beacon/states/{state_slot}/sync_committees",
                params={"epoch": epoch},
                endpoint=EP_SYNC_MEMBERS,
            )
            members = ours & set(_parse(SyncCommittee, body, EP_SYNC_MEMBERS).data.validators)
            run.sync_committees.append((state_slot, epoch, members, _top(body)))
            if not members:
                continue
            member_list = sorted(members, key=int)
            for e in run.window.epochs:
                if e // period_epochs != period:
                    continue
                for slot in run.window.slots_of(e):
                    run.sync_rewards[slot] = self._sync_rewards_at(client, slot, member_list)

    def _sync_rewards_at(self, client: Any, slot: int, members: list[str]) -> Any:
        try:
            body = client.post_json(
                f"eth/v1/beacon/rewards/sync_committee/{slot}", members, endpoint=EP_SYNC_REWARDS
            )
        except FetchFailed as exc:
            if exc.status == 404:
                return None
            raise
        parsed = _parse(SyncCommitteeRewards, body, EP_SYNC_REWARDS)
        return _top(body), {e.validator_index: raw for e, raw in zip(parsed.data, body["data"], strict=True)}

    def _fetch_duties(self, client: Any, run: BeaconRun) -> None:
        ours = set(run.index_of)
        for epoch in run.window.epochs:
            body = client.get_json(f"eth/v1/validator/duties/proposer/{epoch}", endpoint=EP_DUTIES)
            parsed = _parse(ProposerDuties, body, EP_DUTIES)
            mine = [
                raw
                for duty, raw in zip(parsed.data, body["data"], strict=True)
                if duty.pubkey.lower() in ours
            ]
            run.duties[epoch] = (_top(body), mine)

    # -- per validator --

    def fetch(self, client: Any, state: BeaconRun, target: FetchTarget, data_type: str) -> dict[str, Any]:
        if data_type not in self.data_types:
            raise FetchFailed(NAME, "-", f"{NAME} serves REWARDS and META, not {data_type}")
        key = target.validator_key
        if not PUBKEY.match(key):
            raise FetchFailed(
                NAME, EP_VALIDATORS, f"validator key {key} is not a BLS public key (0x + 96 hex)"
            )
        index = state.index_of.get(key.lower())
        if index is None:
            raise FetchFailed(NAME, EP_VALIDATORS, f"the beacon node does not know validator {key}")
        window = state.window
        requests: list[dict[str, Any]] = []
        responses: list[Any] = []

        def add(request: dict[str, Any], response: Any) -> None:
            requests.append(request)
            responses.append(response)

        validators_request = {
            "method": "GET",
            "path": state.validators_path,
            "params": {"id": key.lower()},
            "shared": True,
        }
        validators_part = {**state.validators_meta, "data": [state.validator_parts[index]]}
        if data_type == "META":
            return {"requests": [validators_request], "responses": [validators_part]}
        add({"method": "GET", "path": "eth/v1/beacon/genesis", "params": {}}, state.genesis_body)
        add({"method": "GET", "path": "eth/v1/config/spec", "params": {}, "shared": True}, state.spec_part)
        add(validators_request, validators_part)
        for epoch in window.epochs:
            top, by_index = state.attestations[epoch]
            entries = [by_index[index]] if index in by_index else []
            add(
                {
                    "method": "POST",
                    "path": f"eth/v1/beacon/rewards/attestations/{epoch}",
                    "body": [index],
                    "shared": True,
                },
                {**top, "data": {"total_rewards": entries}},
            )
        for state_slot, epoch, members, top in state.sync_committees:
            if index not in members:
                continue
            add(
                {
                    "method": "GET",
                    "path": f"eth/v1/beacon/states/{state_slot}/sync_committees",
                    "params": {"epoch": epoch},
                    "shared": True,
                },
                {**top, "data": {"validators": [index]}},
            )
            period_slots = [s for s in sorted(state.sync_rewards) if self._same_sync_period(state, s, epoch)]
            for slot in period_slots:
                answer = state.sync_rewards[slot]
                request = {
                    "method": "POST",
                    "path": f"eth/v1/beacon/rewards/sync_committee/{slot}",
                    "body": [index],
                    "shared": True,
                }
                if answer is None:
                    add(request, {"status": 404})
                    continue
                top_s, by_index = answer
                add(request, {**top_s, "data": [by_index[index]] if index in by_index else []})
        for epoch in window.epochs:
            top, duties = state.duties[epoch]
            mine = [d for d in duties if str(d.get("pubkey", "")).lower() == key.lower()]
            if not mine:
                continue
            add(
                {
                    "method": "GET",
                    "path": f"eth/v1/validator/duties/proposer/{epoch}",
                    "params": {},
                    "shared": True,
                },
                {**top, "data": mine},
            )
            for duty in mine:
                slot = duty["slot"]
                path = f"eth/v1/beacon/rewards/blocks/{slot}"
                try:
                    body = client.get_json(path, endpoint=EP_BLOCK_REWARDS)
                except FetchFailed as exc:
                    if exc.status != 404:
                        raise
                    add({"method": "GET", "path": path, "params": {}}, {"status": 404})
                    continue
                reward = _parse(BlockRewards, body, EP_BLOCK_REWARDS).data
                if reward.proposer_index != index:
                    raise ResponseInvalid(
                        NAME,
                        EP_BLOCK_REWARDS,
                        f"field data.proposer_index: {reward.proposer_index}, expected {index}",
                    )
                add({"method": "GET", "path": path, "params": {}}, body)
        return {
            "requests": requests,
            "responses": responses,
            "epochs": {"first": window.first_epoch, "last": window.last_epoch},
        }

    @staticmethod
    def _same_sync_period(state: BeaconRun, slot: int, period_first_epoch: int) -> bool:
        """Whether `slot` belongs to the sync committee period whose first epoch of D is given."""
        firsts = sorted(e for _, e, _, _ in state.sync_committees)
        epoch = slot // state.window.slots_per_epoch
        later = [e for e in firsts if e > period_first_epoch]
        return period_first_epoch <= epoch < (later[0] if later else state.window.last_epoch + 1)

    # -- reading an envelope --

    def to_canonical(self, data_type: str, validator_key: str, raw_payload: Any) -> list[CanonicalRow]:
        if data_type not in self.data_types:
            raise PayloadInvalid(f"{NAME} payloads hold REWARDS or META, not {data_type}")
        if not isinstance(raw_payload, dict):
            raise PayloadInvalid(f"{NAME} payload is not an envelope object")
        if data_type == "META":
            return [self._meta_row(validator_key, raw_payload.get("responses"))]
        requests, responses = raw_payload.get("requests"), raw_payload.get("responses")
        if (
            not isinstance(requests, list)
            or not isinstance(responses, list)
            or len(requests) != len(responses)
        ):
            raise PayloadInvalid(f"{NAME} envelope needs requests and responses lists of the same length")
        index: str | None = None
        figures: list[int] = []
        for position, (request, body) in enumerate(zip(requests, responses, strict=True)):
            path = str(request.get("path", "")) if isinstance(request, dict) else ""
            try:
                if path.endswith("/validators"):
                    parsed = Validators.model_validate(body)
                    for entry in parsed.data:
                        if entry.validator.pubkey.lower() == validator_key.lower():
                            index = entry.index
                elif "/rewards/attestations/" in path:
                    for entry in AttestationRewards.model_validate(body).data.total_rewards:
                        _check_own(entry.validator_index, index, path)
                        figures += entry.figures()
                elif "/rewards/sync_committee/" in path:
                    if body == {"status": 404}:
                        continue
                    for entry in SyncCommitteeRewards.model_validate(body).data:
                        _check_own(entry.validator_index, index, path)
                        figures.append(int(entry.reward))
                elif "/rewards/blocks/" in path:
                    if body == {"status": 404}:
                        continue
                    block = BlockRewards.model_validate(body).data
                    _check_own(block.proposer_index, index, path)
                    figures.append(int(block.total))
            except ValidationError as exc:
                raise PayloadInvalid(f"{NAME} response {position} ({path}): {_field_problem(exc)}") from None
        rewards = sum(f for f in figures if f > 0) * GWEI
        penalties = -sum(f for f in figures if f < 0) * GWEI
        return [RewardRow(None, Decimal(rewards), Decimal(0), Decimal(penalties))]

    @staticmethod
    def _meta_row(validator_key: str, responses: Any) -> MetaRow:
        try:
            entries = Validators.model_validate((responses or [None])[0]).data
        except ValidationError as exc:
            raise PayloadInvalid(f"{NAME} META response 0: {_field_problem(exc)}") from None
        mine = [e for e in entries if e.validator.pubkey.lower() == validator_key.lower()]
        if len(mine) != 1:
            raise PayloadInvalid(f"{NAME} META payload does not hold validator {validator_key} once")
        stake = Decimal(int(mine[0].validator.effective_balance) * GWEI)
        active = stake if mine[0].status.startswith("active") else Decimal(0)
        # Ethereum has no protocol commission; is_mev_enabled is derived at normalization.
        return MetaRow(0, False, stake, active, None, None)


def _check_own(entry_index: str, index: str | None, path: str) -> None:
    """An envelope holds only its validator's figures; anything else is a corrupted payload."""
    if index is None or entry_index != index:
        raise PayloadInvalid(
            f"{NAME} response of {path} holds validator index {entry_index},"
            f" not the validator's ({index or 'unknown'})"
        )


register(BeaconAdapter())
