"""A scripted Solana epoch served over loopback: JSON-RPC, Jito Kobe and Solana Beach shapes as
their public documentation gives them (field names, nesting, integer lamports).

Epoch 850 (first slot (850 − 14) × 432000 + 524256 = 361676256), worked by hand:
  V1 (identity ID1, vote VOTE1): leader offsets 0, 1, 2, 3, 100; offset 2 skipped (-32007).
     Fee rewards to ID1: 1000000 + 2500001 + 7 + 123456789 = 126956797 lamports, 4 blocks.
     Inflation: VOTE1 1001 (commission V); StakeA/B/C net 3333/3333/3334, StakeD null.
     c = 1001 pro rata: 333.63, 333.63, 333.73 → floors 333×3 = 999, 2 left: C (0.73), then A
     (tie with B → smaller address) → A 334, B 333, C 334; rewards = net + c: 3667, 3666, 3668.
     Jito 850: mev_rewards 1000000007 × 800 bps → floor(80000000.56) = 80000000.
     getVoteAccounts: commission 7 % → 700 bps, activatedStake 123456789012345.
  V2 (identity ID2, vote VOTE2): no leader slots → fees 0, 0 blocks; VOTE2 500, StakeE null →
     one validator-level row with commission 500; Jito 850 mev_rewards 0 → not yet available;
     commission 10 % → 1000 bps, activatedStake 5000000000.
"""

from __future__ import annotations

from typing import Any

from tests.providers.http_server import LoopbackServer, Reply, RpcFault

EPOCH = 850
FIRST_SLOT = (EPOCH - 14) * 432000 + 524256
V1, V2 = "ValidatorOne", "ValidatorTwo"
ID1, ID2 = "ID1identity1111111111111111111111111111111", "ID2identity2222222222222222222222222222222"
VOTE1, VOTE2 = "VOTE1vote111111111111111111111111111111111", "VOTE2vote222222222222222222222222222222222"
STAKES = {VOTE1: ["StakeC111", "StakeA111", "StakeD111", "StakeB111"], VOTE2: ["StakeE111"]}
INFLATION = {VOTE1: 1001, "StakeA111": 3333, "StakeB111": 3333, "StakeC111": 3334, VOTE2: 500}
LEADER = {ID1: [0, 1, 2, 3, 100], ID2: []}
FEES = {0: 1000000, 1: 2500001, 3: 7, 100: 123456789}
SKIPPED = {2}

EXPECTED_FEES = {V1: (126956797, 4), V2: (0, 0)}
EXPECTED_REWARDS = {
    V1: {"StakeA111": (3667, 334), "StakeB111": (3666, 333), "StakeC111": (3668, 334)},
    V2: {None: (0, 500)},
}
EXPECTED_MEV = {V1: 80000000}
EXPECTED_META = {V1: (700, 123456789012345, True), V2: (1000, 5000000000, False)}


def validators_toml() -> str:
    return f"""
[[validators]]
chain = "solana-mainnet"
validator_key = "{V1}"
vote_pubkey = "{VOTE1}"
identity_pubkey = "{ID1}"

[[validators]]
chain = "solana-mainnet"
validator_key = "{V2}"
vote_pubkey = "{VOTE2}"
identity_pubkey = "{ID2}"
"""


def block(offset: int) -> dict[str, Any]:
    identity = ID1
    return {
        "blockHeight": 340000000 + offset,
        "blockTime": 1756684800 + offset,
        "blockhash": f"hash{offset}",
        "parentSlot": FIRST_SLOT + offset - 1,
        "previousBlockhash": f"hash{offset - 1}",
        "rewards": [
            {"pubkey": identity, "lamports": FEES[offset], "postBalance": 10**12, "rewardType": "Fee", "commission": None},
            {"pubkey": "SomeoneElse", "lamports": 999, "postBalance": 5, "rewardType": "Rent", "commission": None},
        ],
    }


def serve_solana(server: LoopbackServer, *, epoch_now: int = 852) -> None:
    server.rpc("getVersion", lambda p: {"solana-core": "2.0.15", "feature-set": 1})
    server.rpc("getHealth", lambda p: "ok")
    server.rpc(
        "getEpochSchedule",
        lambda p: {"firstNormalEpoch": 14, "firstNormalSlot": 524256, "leaderScheduleSlotOffset": 432000,
                   "slotsPerEpoch": 432000, "warmup": True},
    )
    server.rpc(
        "getEpochInfo",
        lambda p: {"absoluteSlot": FIRST_SLOT + 2 * 432000 + 5, "blockHeight": 1, "epoch": epoch_now,
                   "slotIndex": 5, "slotsInEpoch": 432000, "transactionCount": 1},
    )

    def block_time(params):
        slot = params[0]
        if slot == FIRST_SLOT + 432000:  # epoch 851's first slot was skipped
            return RpcFault(-32009, f"Slot {slot} was skipped, or missing in long-term storage")
        return 1756684800 + (slot - FIRST_SLOT) * 2 // 5

    server.rpc("getBlockTime", block_time)

    def leader(params):
        slot, config = params[0], params[1]
        if slot != FIRST_SLOT:
            return None
        return {config["identity"]: LEADER.get(config["identity"], [])}

    server.rpc("getLeaderSchedule", leader)

    def get_block(params):
        offset = params[0] - FIRST_SLOT
        assert params[1]["rewards"] is True and params[1]["transactionDetails"] == "none"
        assert params[1]["maxSupportedTransactionVersion"] == 0
        if offset in SKIPPED:
            return RpcFault(-32007, f"Slot {params[0]} was skipped, or missing due to ledger jump to recent snapshot")
        return block(offset)

    server.rpc("getBlock", get_block)

    def program_accounts(params):
        assert params[0] == "Stake11111111111111111111111111111111111111"
        vote = params[1]["filters"][0]["memcmp"]["bytes"]
        assert params[1]["filters"][0]["memcmp"]["offset"] == 124
        return [{"account": {"data": ["", "base64"], "executable": False, "lamports": 1, "owner": params[0],
                             "rentEpoch": 0, "space": 200}, "pubkey": s} for s in STAKES.get(vote, [])]

    server.rpc("getProgramAccounts", program_accounts)

    def inflation(params):
        addresses, config = params[0], params[1]
        assert config["epoch"] == EPOCH
        return [
            {"amount": INFLATION[a], "commission": 7, "effectiveSlot": FIRST_SLOT + 432000, "epoch": EPOCH,
             "postBalance": 10**12} if a in INFLATION else None
            for a in addresses
        ]

    server.rpc("getInflationReward", inflation)

    accounts = [
        {"votePubkey": VOTE1, "nodePubkey": ID1, "activatedStake": 123456789012345, "epochVoteAccount": True,
         "commission": 7, "lastVote": 1, "epochCredits": [[850, 100, 50]], "rootSlot": 1},
        {"votePubkey": VOTE2, "nodePubkey": ID2, "activatedStake": 5000000000, "epochVoteAccount": True,
         "commission": 10, "lastVote": 1, "epochCredits": [[850, 100, 50]], "rootSlot": 1},
    ]

    def vote_accounts(params):
        vote = (params or [{}])[0].get("votePubkey")
        return {"current": [a for a in accounts if vote in (None, a["votePubkey"])], "delinquent": []}

    server.rpc("getVoteAccounts", vote_accounts)

    def kobe(vote, entries):
        server.route("GET", f"/api/v1/validators/{vote}", Reply(body=entries))

    kobe(VOTE1, [
        {"epoch": 849, "mev_commission_bps": 800, "mev_rewards": 5, "running_jito": True, "active_stake": 1},
        {"epoch": 850, "mev_commission_bps": 800, "mev_rewards": 1000000007, "running_jito": True, "active_stake": 1},
    ])
    kobe(VOTE2, [{"epoch": 850, "mev_commission_bps": 1000, "mev_rewards": 0, "running_jito": True, "active_stake": 1}])
    server.route("GET", "/api/v1/validators", Reply(body={"validators": []}))
