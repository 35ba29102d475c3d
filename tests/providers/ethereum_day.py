"""One scripted Ethereum day served over loopback HTTP, built from the documented shapes.

The chain's spec is shrunk so a day is small and the spec is visibly read: SECONDS_PER_SLOT 3600,
SLOTS_PER_EPOCH 4, EPOCHS_PER_SYNC_COMMITTEE_PERIOD 4, genesis 2024-01-01T00:30:00Z. Day D =
2024-01-02: epochs 6..11 start in it (00:30 … 20:30), slots 24..47. Epochs 6-7 are sync committee
period 1, epochs 8-11 period 2.

Validator A (index 101): every epoch head 2000, target 4000, source 3000, inactivity 0 Gwei, except
epoch 8: head 2000, target -1500, source -800 (missed votes). In period 1's sync committee: slots
24..31 reward 350 each, slot 27 missed (404), slot 30 -350. Proposes slot 33: total 41234567.
  rewards   = 5×9000 + 2000 + 6×350 + 41234567 = 41283667 Gwei
  penalties = 1500 + 800 + 350                  = 2650 Gwei
Validator B (index 202): every epoch head 2100, target 4100, source 3100, inclusion_delay 500,
inactivity 0, except epoch 11 inactivity -10. Proposes slot 40 (total 39000000) and slot 41 (missed).
  rewards   = 6×9800 + 39000000 = 39058800 Gwei
  penalties = 10 Gwei
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

from tests.providers.http_server import Reply

SHAPES = Path(__file__).parent / "shapes" / "ethereum"
A = "0x" + "a1" * 48
B = "0x" + "b2" * 48
OTHER = "0x" + "c3" * 48
INDEX = {A: "101", B: "202", OTHER: "999"}
DAY = "2024-01-02"
GENESIS_TIME = int(datetime(2024, 1, 1, 0, 30, tzinfo=UTC).timestamp())
EPOCHS = range(6, 12)
SLOTS = range(24, 48)
GWEI = 10**9

A_REWARDS_GWEI, A_PENALTIES_GWEI = 41283667, 2650
B_REWARDS_GWEI, B_PENALTIES_GWEI = 39058800, 10


def shape(name: str):
    return json.loads((SHAPES / name).read_text())


def attestation_entry(index: str, epoch: int) -> dict:
    entry = copy.deepcopy(shape("attestation_rewards.json")["data"]["total_rewards"][0])
    entry["validator_index"] = index
    if index == "101":
        del entry["inclusion_delay"]  # post-Altair nodes leave it out
        entry.update(head="2000", target="4000", source="3000", inactivity="0")
        if epoch == 8:
            entry.update(target="-1500", source="-800")
    else:
        entry.update(head="2100", target="4100", source="3100", inclusion_delay="500", inactivity="0")
        if epoch == 11:
            entry["inactivity"] = "-10"
    return entry


def attestations_reply(epoch: int):
    def reply(request) -> Reply:
        body = shape("attestation_rewards.json")
        body["data"]["total_rewards"] = [attestation_entry(i, epoch) for i in request.body]
        return Reply(body=body)

    return reply


def sync_reward(slot: int) -> str:
    return "-350" if slot == 30 else "350"


def serve_day(server) -> None:
    genesis = shape("genesis.json")
    genesis["data"]["genesis_time"] = str(GENESIS_TIME)
    spec = shape("spec.json")
    spec["data"].update(SECONDS_PER_SLOT="3600", SLOTS_PER_EPOCH="4", EPOCHS_PER_SYNC_COMMITTEE_PERIOD="4")
    server.route("GET", "/eth/v1/beacon/genesis", Reply(body=genesis))
    server.route("GET", "/eth/v1/config/spec", Reply(body=spec))
    server.route("GET", "/eth/v1/node/version", Reply(body=shape("node_version.json")))

    def validators(request) -> Reply:
        body = shape("validators.json")
        template = body["data"][0]
        body["data"] = []
        for pubkey in request.query["id"][0].split(","):
            if pubkey in INDEX:
                entry = copy.deepcopy(template)
                entry["index"], entry["validator"]["pubkey"] = INDEX[pubkey], pubkey
                body["data"].append(entry)
        return Reply(body=body)

    server.route("GET", "/eth/v1/beacon/states/47/validators", validators)  # D's last slot
    for epoch in EPOCHS:
        server.route("POST", f"/eth/v1/beacon/rewards/attestations/{epoch}", attestations_reply(epoch))
        duties = shape("proposer_duties.json")
        template = duties["data"][0]
        duties["data"] = []
        for slot in range(epoch * 4, epoch * 4 + 4):
            proposer = {33: A, 40: B, 41: B}.get(slot, OTHER)
            duties["data"].append(
                {**template, "pubkey": proposer, "validator_index": INDEX[proposer], "slot": str(slot)}
            )
        server.route("GET", f"/eth/v1/validator/duties/proposer/{epoch}", Reply(body=duties))
    for state_slot, members in ((24, ["101", "999"]), (32, ["999"])):
        body = shape("sync_committees.json")
        body["data"]["validators"] = members
        server.route("GET", f"/eth/v1/beacon/states/{state_slot}/sync_committees", Reply(body=body))

    def sync_rewards(slot: int):
        def reply(request) -> Reply:
            if slot == 27:
                return Reply(
                    status=404,
                    body={**shape("not_found.json"), "message": f"NOT_FOUND: block at slot {slot}"},
                )
            body = shape("sync_committee_rewards.json")
            body["data"] = [{"validator_index": i, "reward": sync_reward(slot)} for i in request.body]
            return Reply(body=body)

        return reply

    for slot in range(24, 32):
        server.route("POST", f"/eth/v1/beacon/rewards/sync_committee/{slot}", sync_rewards(slot))
    for slot, index, total in ((33, "101", "41234567"), (40, "202", "39000000")):
        body = shape("block_rewards.json")
        body["data"].update(proposer_index=index, total=total)
        server.route("GET", f"/eth/v1/beacon/rewards/blocks/{slot}", Reply(body=body))
    server.route("GET", "/eth/v1/beacon/rewards/blocks/41", Reply(status=404, body=shape("not_found.json")))


def payload(slot: int, block_hash: str, value: str, proposer: str = A) -> dict:
    entry = copy.deepcopy(shape("relay_payloads_delivered.json")[0])
    entry.update(slot=str(slot), block_hash=block_hash, value=value, proposer_pubkey=proposer)
    return entry
