"""The `solana-rpc` provider: Solana JSON-RPC for FEES, REWARDS and (fallback) META of epoch E.

Every amount is in lamports (JSON integers, read exactly as Python ints). Staged payloads are
envelopes `{"requests": [...], "responses": [...]}` (providers/http.py `recording()`): each request
as sent (JSON-RPC body, relative to the base URL, no secret), each response body as received.
`to_canonical` reads them back with the pydantic models below, and `fetch` runs it once before
returning, so a payload that does not read is never staged.

FEES (validator needs `identity_pubkey`)
  getEpochSchedule → first_slot(E) = (E − firstNormalEpoch) × slotsPerEpoch + firstNormalSlot
  getLeaderSchedule(first_slot(E), {identity}) → {identity: [slot offsets in E]}
  getBlock(first_slot(E) + offset, {rewards: true, transactionDetails: "none",
           maxSupportedTransactionVersion: 0}) for each leader slot, JSON-RPC batches of
           `block_batch_size` (default 50)
  total_fees_native = Σ rewards[].lamports where rewardType == "Fee" and pubkey == identity
  fee_count         = blocks produced (leader slots that were not skipped)
  A skipped slot (-32007 "slot skipped", -32009 "slot missing in long-term storage") earns nothing:
  it is data, counted in the run metadata (`notes.skipped_slots`). -32004 (block not available
  yet) is not yet available.

REWARDS (validator needs `vote_pubkey`)
  stake accounts: the provider option `stake_accounts = {"<vote or validator key>" = [...]}`, else
  getProgramAccounts(Stake11111111111111111111111111111111111111, memcmp {offset 124: vote},
  dataSlice {0, 0}) — the accounts delegated to the vote account *now* (a stake account closed
  since E is missed; list it in the option to keep it).
  getInflationReward([vote, stake accounts sorted...], {epoch: E}) in calls of
  `inflation_reward_batch_size` (default 100) addresses; -32017 (rewards period still active) and
  -32004 mean not yet available.
  V     = amount of the vote account's reward (the commission the validator was paid), 0 if null
  net_i = amount of stake account i's reward (what the delegator received)
  c_i   = V allocated over the stake accounts pro rata to net_i, largest remainder in whole
          lamports, ties to the smaller address (domain/allocation.py) — Σ c_i = V exactly
  row   = staker_address i, commission_native c_i, rewards_native net_i + c_i (before commission)
  A null reward gives no row. V > 0 with no delegator reward: one validator-level row
  (staker_address NULL, rewards 0, commission V).

META (fallback when Solana Beach is disabled; validator needs `vote_pubkey`)
  getVoteAccounts({votePubkey}) → the entry in current or delinquent
  commission_rate_bps = commission (%) × 100; total_stake_native = active_stake_native =
  activatedStake (lamports); delegator_count and uptime unknown (NULL); is_mev_enabled is derived
  at normalization. getVoteAccounts reports the vote account as of the request, not as of E.

Requests per validator and epoch: FEES 1 + ⌈leader slots / 50⌉ (+1 getEpochSchedule per run);
REWARDS 1 + ⌈(stake accounts + 1) / 100⌉; META 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr

from aurora_cli.domain.allocation import allocate_largest_remainder
from aurora_cli.errors import InvalidInput
from aurora_cli.providers.base import (
    CanonicalRow,
    FeesRow,
    FetchTarget,
    MetaRow,
    PayloadInvalid,
    RewardRow,
    RunContext,
    check_reward_set,
    register,
)
from aurora_cli.providers.http import (
    FetchFailed,
    NotYetAvailable,
    ProviderClient,
    ResponseInvalid,
    RpcError,
    validate_response,
)

NAME = "solana-rpc"
STAKE_PROGRAM = "Stake11111111111111111111111111111111111111"
VOTER_PUBKEY_OFFSET = 124  # StakeStateV2::Stake: meta (4 + 120 bytes), then delegation.voter_pubkey
SKIPPED_SLOT_CODES = frozenset({-32007, -32009})
NOT_AVAILABLE_CODES = frozenset({-32004, -32017})
FINALIZED = {"commitment": "finalized"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class EpochSchedule(_Model):
    slotsPerEpoch: StrictInt
    firstNormalEpoch: StrictInt
    firstNormalSlot: StrictInt

    def first_slot(self, epoch: int) -> int:
        if epoch < self.firstNormalEpoch:  # warm-up epochs double from 32 slots
            return 32 * (2**epoch - 1)
        return (epoch - self.firstNormalEpoch) * self.slotsPerEpoch + self.firstNormalSlot

    @classmethod
    def model_validate_rpc(cls, client: ProviderClient) -> EpochSchedule:
        return validate_response(cls, client.rpc("getEpochSchedule"), client.name, "getEpochSchedule")


class BlockReward(_Model):
    pubkey: StrictStr
    lamports: StrictInt
    rewardType: StrictStr | None = None


class Block(_Model):
    rewards: list[BlockReward]


class InflationReward(_Model):
    epoch: StrictInt
    amount: StrictInt


class VoteAccount(_Model):
    votePubkey: StrictStr
    commission: StrictInt
    activatedStake: StrictInt


class VoteAccounts(_Model):
    current: list[VoteAccount]
    delinquent: list[VoteAccount]


class ProgramAccount(_Model):
    pubkey: StrictStr


@dataclass
class RunState:
    epoch: int
    schedule: EpochSchedule
    schedule_exchange: tuple[dict[str, Any], Any]
    ctx: RunContext


def _require(target: FetchTarget, field: str) -> str:
    value = getattr(target, field)
    if not value:
        raise InvalidInput(
            f"validator {target.validator_key} has no {field} in config/validators.toml: "
            f"{NAME} needs it; add it and run `aurora config apply`."
        )
    return value


def _rpc_items(request: Any, response: Any) -> list[tuple[dict, dict]]:
    """(call, answer) pairs of one recorded exchange, single or batch, matched by id."""
    calls = request if isinstance(request, list) else [request]
    answers = response if isinstance(response, list) else [response]
    by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
    out = []
    for call in calls:
        answer = by_id.get(call.get("id")) if len(calls) > 1 or len(answers) > 1 else answers[0]
        if not isinstance(answer, dict):
            raise PayloadInvalid(f"no answer to {call.get('method')} id {call.get('id')}")
        out.append((call, answer))
    return out


def _exchanges(raw: Any) -> list[tuple[dict, dict]]:
    if not isinstance(raw, dict) or not isinstance(raw.get("requests"), list) or not isinstance(raw.get("responses"), list):
        raise PayloadInvalid("payload is not an envelope {'requests': [...], 'responses': [...]}")
    if len(raw["requests"]) != len(raw["responses"]):
        raise PayloadInvalid("the envelope has a different number of requests and responses")
    pairs = []
    for request, response in zip(raw["requests"], raw["responses"], strict=True):
        body = request.get("body") if isinstance(request, dict) else None
        if body is None:
            raise PayloadInvalid("a recorded request has no JSON-RPC body")
        pairs += _rpc_items(body, response)
    return pairs


def _parse(model: Any, value: Any, what: str) -> Any:
    try:
        return validate_response(model, value, NAME, what)
    except ResponseInvalid as exc:
        raise PayloadInvalid(exc.reason) from None


class SolanaRpcAdapter:
    name = NAME
    data_types = ("FEES", "REWARDS", "META")

    # -- fetching --

    def check(self, client: ProviderClient) -> str:
        version = client.rpc("getVersion")
        return f"solana-core {version.get('solana-core')}" if isinstance(version, dict) else "answered"

    def open_run(self, client: ProviderClient, ctx: RunContext) -> RunState:
        with client.recording() as rec:
            schedule = EpochSchedule.model_validate_rpc(client)
        return RunState(int(ctx.period), schedule, (rec.requests[0], rec.responses[0]), ctx)

    def fetch(self, client: ProviderClient, state: RunState, target: FetchTarget, data_type: str) -> Any:
        with client.recording() as rec:
            if data_type == "FEES":
                rec.add(*state.schedule_exchange)
                self._fetch_fees(client, state, target)
            elif data_type == "REWARDS":
                self._fetch_rewards(client, state, target)
            elif data_type == "META":
                client.rpc("getVoteAccounts", [{"votePubkey": _require(target, "vote_pubkey"), **FINALIZED}])
            else:
                raise InvalidInput(f"{NAME} does not serve {data_type}.")
        envelope = rec.envelope()
        try:
            self.to_canonical(data_type, target.validator_key, envelope)
        except PayloadInvalid as exc:
            raise ResponseInvalid(NAME, data_type, str(exc)) from None
        return envelope

    def _fetch_fees(self, client: ProviderClient, state: RunState, target: FetchTarget) -> None:
        identity = _require(target, "identity_pubkey")
        first = state.schedule.first_slot(state.epoch)
        try:
            schedule = client.rpc("getLeaderSchedule", [first, {"identity": identity, **FINALIZED}])
        except RpcError as exc:
            raise FetchFailed(NAME, "getLeaderSchedule", str(exc)) from None
        if schedule is None:
            raise FetchFailed(NAME, "getLeaderSchedule", f"this node has no leader schedule for epoch {state.epoch}")
        if not isinstance(schedule, dict):
            raise ResponseInvalid(NAME, "getLeaderSchedule", "the result is not an object")
        offsets = schedule.get(identity, [])
        config = {"encoding": "json", "rewards": True, "transactionDetails": "none",
                  "maxSupportedTransactionVersion": 0, **FINALIZED}
        calls = [("getBlock", [first + int(o), config]) for o in offsets]
        results = client.rpc_batch(calls, batch_size=int(state.ctx.extra.get("block_batch_size", 50))) if calls else []
        skipped = 0
        for (_, params), result in zip(calls, results, strict=True):
            if isinstance(result, RpcError):
                if result.code in SKIPPED_SLOT_CODES:
                    skipped += 1
                elif result.code in NOT_AVAILABLE_CODES:
                    raise NotYetAvailable(NAME, "getBlock", f"slot {params[0]}: {result.message}")
                else:
                    raise FetchFailed(NAME, "getBlock", f"slot {params[0]}: {result}")
            elif result is None:
                skipped += 1
        notes = state.ctx.notes
        notes.setdefault("leader_slots", {})[target.validator_key] = len(offsets)
        notes.setdefault("skipped_slots", {})[target.validator_key] = skipped

    def _fetch_rewards(self, client: ProviderClient, state: RunState, target: FetchTarget) -> None:
        vote = _require(target, "vote_pubkey")
        configured = state.ctx.extra.get("stake_accounts") or {}
        stakes = configured.get(vote) or configured.get(target.validator_key)
        if stakes is None:
            config = {"encoding": "base64", "dataSlice": {"offset": 0, "length": 0},
                      "filters": [{"memcmp": {"offset": VOTER_PUBKEY_OFFSET, "bytes": vote}}], **FINALIZED}
            try:
                accounts = client.rpc("getProgramAccounts", [STAKE_PROGRAM, config])
            except RpcError as exc:
                raise FetchFailed(NAME, "getProgramAccounts", str(exc)) from None
            parsed = validate_response(_ProgramAccounts, {"items": accounts}, NAME, "getProgramAccounts")
            stakes = [a.pubkey for a in parsed.items]
        addresses = [vote, *sorted(set(stakes) - {vote})]
        size = int(state.ctx.extra.get("inflation_reward_batch_size", 100))
        for start in range(0, len(addresses), size):
            try:
                client.rpc("getInflationReward", [addresses[start : start + size], {"epoch": state.epoch, **FINALIZED}])
            except RpcError as exc:
                if exc.code in NOT_AVAILABLE_CODES:
                    raise NotYetAvailable(NAME, "getInflationReward", exc.message) from None
                raise FetchFailed(NAME, "getInflationReward", str(exc)) from None

    # -- reading staged envelopes --

    def to_canonical(self, data_type: str, validator_key: str, raw_payload: Any) -> list[CanonicalRow]:
        pairs = _exchanges(raw_payload)
        if data_type == "FEES":
            return [self._fees(pairs)]
        if data_type == "REWARDS":
            return self._rewards(pairs)
        if data_type == "META":
            return [self._meta(pairs)]
        raise PayloadInvalid(f"{NAME} does not serve {data_type}")

    def _fees(self, pairs: list[tuple[dict, dict]]) -> FeesRow:
        identity = None
        for call, _ in pairs:
            if call.get("method") == "getLeaderSchedule":
                identity = (call.get("params") or [None, {}])[1].get("identity")
        if not identity:
            raise PayloadInvalid("no getLeaderSchedule request with an identity in the payload")
        total, produced = 0, 0
        for call, answer in pairs:
            if call.get("method") != "getBlock":
                continue
            if "error" in answer:
                code = (answer["error"] or {}).get("code")
                if code not in SKIPPED_SLOT_CODES:
                    raise PayloadInvalid(f"getBlock of slot {call['params'][0]} failed with code {code}")
                continue
            if answer.get("result") is None:
                continue
            block = _parse(Block, answer["result"], "getBlock")
            produced += 1
            total += sum(r.lamports for r in block.rewards if r.rewardType == "Fee" and r.pubkey == identity)
        return FeesRow(Decimal(total), produced)

    def _rewards(self, pairs: list[tuple[dict, dict]]) -> list[RewardRow]:
        addresses: list[str] = []
        results: list[Any] = []
        for call, answer in pairs:
            if call.get("method") != "getInflationReward":
                continue
            asked = (call.get("params") or [[]])[0]
            got = answer.get("result")
            if not isinstance(got, list) or len(got) != len(asked):
                raise PayloadInvalid("field result of getInflationReward is not a list with one entry per address")
            addresses += asked
            results += got
        if not addresses:
            raise PayloadInvalid("no getInflationReward response in the payload")
        rewards = {a: (None if r is None else _parse(InflationReward, r, "getInflationReward")) for a, r in zip(addresses, results, strict=True)}
        vote = addresses[0]
        commission = rewards[vote].amount if rewards[vote] is not None else 0
        net = {a: Decimal(r.amount) for a, r in rewards.items() if a != vote and r is not None}
        rows: list[RewardRow] = []
        if commission > 0 and any(v > 0 for v in net.values()):
            shares = allocate_largest_remainder(Decimal(commission), net)
        else:
            shares = {a: Decimal(0) for a in net}
        for address in sorted(net):
            rows.append(RewardRow(address, net[address] + shares[address], shares[address]))
        if commission > 0 and not any(v > 0 for v in net.values()):
            rows.append(RewardRow(None, Decimal(0), Decimal(commission)))
        check_reward_set(rows)
        return rows

    def _meta(self, pairs: list[tuple[dict, dict]]) -> MetaRow:
        for call, answer in pairs:
            if call.get("method") != "getVoteAccounts":
                continue
            vote = (call.get("params") or [{}])[0].get("votePubkey")
            accounts = _parse(VoteAccounts, answer.get("result"), "getVoteAccounts")
            for entry in [*accounts.current, *accounts.delinquent]:
                if entry.votePubkey == vote:
                    if not 0 <= entry.commission <= 100:
                        raise PayloadInvalid(f"field commission {entry.commission} is not a percentage")
                    stake = Decimal(entry.activatedStake)
                    return MetaRow(entry.commission * 100, False, stake, stake, None, None)
            raise PayloadInvalid(f"vote account {vote} is not among the vote accounts returned")
        raise PayloadInvalid("no getVoteAccounts response in the payload")


class _ProgramAccounts(_Model):
    items: list[ProgramAccount]


register(SolanaRpcAdapter())
