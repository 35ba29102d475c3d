"""The beacon adapter over a real loopback beacon node: a scripted day (tests/providers/ethereum_day.py).

Given the day's recorded shapes, when the adapter fetches and reads its envelopes, then the rewards
and penalties are exact in wei, the shared data is fetched once per run, and faults fail with a
sentence naming provider, endpoint and field.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from aurora_cli.domain.ethereum_time import MAINNET, SlotClock
from aurora_cli.providers.base import FetchTarget, MetaRow, RewardRow, RunContext, adapter_for
from aurora_cli.providers.beacon import BeaconAdapter
from aurora_cli.providers.http import (
    NotYetAvailable,
    ProviderClient,
    ProviderSettings,
    ResponseInvalid,
    RetryPolicy,
)
from tests.providers import ethereum_day as day
from tests.providers.http_server import LoopbackServer, Reply

FAST = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05, max_total_wait=5)


def client_for(server) -> ProviderClient:
    return ProviderClient(
        ProviderSettings(name="beacon", base_url=server.url, timeout_seconds=5), policy=FAST
    )


def run_day(server, targets=(day.A, day.B)):
    adapter = BeaconAdapter()
    ctx = RunContext(chain_id="ethereum-mainnet", period=day.DAY, targets=[FetchTarget(k) for k in targets])
    client = client_for(server)
    state = adapter.open_run(client, ctx)
    envelopes = {k: adapter.fetch(client, state, FetchTarget(k), "REWARDS") for k in targets}
    return adapter, client, ctx, envelopes


def test_a_mainnet_day_is_225_epochs_that_start_in_it():
    start, end = datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC)
    window = MAINNET.day_window(start, end)
    assert len(window.epochs) == 225 and len(window.slots) == 7200
    assert MAINNET.epoch_start(window.first_epoch) >= start > MAINNET.epoch_start(window.first_epoch - 1)
    assert MAINNET.day_window(end, datetime(2024, 1, 4, tzinfo=UTC)).first_epoch == window.last_epoch + 1


def test_the_scripted_spec_gives_epochs_6_to_11():
    clock = SlotClock(day.GENESIS_TIME, 3600, 4)
    window = clock.day_window(datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC))
    assert (window.epochs, window.slots) == (day.EPOCHS, day.SLOTS)


def test_rewards_and_penalties_exact_in_wei_with_proposals_sync_duty_and_a_missed_slot(http_server):
    day.serve_day(http_server)
    adapter, _client, ctx, envelopes = run_day(http_server)

    assert adapter.to_canonical("REWARDS", day.A, envelopes[day.A]) == [
        RewardRow(
            None, Decimal(day.A_REWARDS_GWEI * day.GWEI), Decimal(0), Decimal(day.A_PENALTIES_GWEI * day.GWEI)
        )
    ]
    assert adapter.to_canonical("REWARDS", day.B, envelopes[day.B]) == [
        RewardRow(None, Decimal(39058800000000000), Decimal(0), Decimal(10000000000))
    ]
    assert ctx.notes == {"epochs": 6, "missed_sync_slots": 1}


def test_shared_data_is_fetched_once_per_run_and_each_validator_fetches_only_its_blocks(http_server):
    day.serve_day(http_server)
    run_day(http_server)

    posts = http_server.requests("POST")
    attestations = [r for r in posts if "/rewards/attestations/" in r.path]
    assert [r.body for r in attestations] == [["101", "202"]] * 6  # one request per epoch, both validators
    sync = [r for r in posts if "/rewards/sync_committee/" in r.path]
    assert [r.body for r in sync] == [["101"]] * 8  # period 1 only, only the member
    gets = [r.path for r in http_server.requests("GET")]
    assert gets.count("/eth/v1/beacon/states/47/validators") == 1
    assert len([p for p in gets if "/duties/proposer/" in p]) == 6
    assert sorted(p for p in gets if "/rewards/blocks/" in p) == [
        "/eth/v1/beacon/rewards/blocks/33",
        "/eth/v1/beacon/rewards/blocks/40",
        "/eth/v1/beacon/rewards/blocks/41",
    ]
    assert len(http_server.log) == 2 + 1 + 6 + 2 + 8 + 6 + 3


def test_the_envelope_is_the_validators_own_part_and_reads_back_alone(http_server):
    day.serve_day(http_server)
    _adapter, _client, _ctx, envelopes = run_day(http_server)
    a = envelopes[day.A]
    assert a["epochs"] == {"first": 6, "last": 11}
    for request, response in zip(a["requests"], a["responses"], strict=True):
        if "/rewards/attestations/" in request["path"]:
            assert request["shared"] and request["body"] == ["101"]
            assert [e["validator_index"] for e in response["data"]["total_rewards"]] == ["101"]
            assert response["finalized"] is True
    missed = [
        r
        for q, r in zip(a["requests"], a["responses"], strict=True)
        if q["path"].endswith("sync_committee/27")
    ]
    assert missed == [{"status": 404}]
    assert not any("/rewards/blocks/40" in q["path"] for q in a["requests"])
    # B's missed proposal is in its envelope as a 404, and counts nothing.
    b_blocks = [
        r
        for q, r in zip(envelopes[day.B]["requests"], envelopes[day.B]["responses"], strict=True)
        if "/rewards/blocks/" in q["path"]
    ]
    assert b_blocks[1] == {"status": 404} and b_blocks[0]["data"]["total"] == "39000000"


def test_a_500_then_success_is_retried_and_counted(http_server):
    day.serve_day(http_server)
    http_server.route(
        "POST", "/eth/v1/beacon/rewards/attestations/9", Reply(status=500), day.attestations_reply(9)
    )
    adapter, client, _ctx, envelopes = run_day(http_server)
    stats = client.stats.to_json()["POST eth/v1/beacon/rewards/attestations/{epoch}"]
    assert (stats["requests"], stats["retries"], stats["statuses"]) == (7, 1, {"200": 6, "500": 1})
    rows = adapter.to_canonical("REWARDS", day.A, envelopes[day.A])
    assert rows[0].rewards_native == Decimal(day.A_REWARDS_GWEI * day.GWEI)


def test_a_renamed_field_fails_with_provider_endpoint_and_field(http_server):
    day.serve_day(http_server)
    body = day.shape("attestation_rewards.json")
    body["data"]["total_rewards"][0]["head_reward"] = body["data"]["total_rewards"][0].pop("head")
    http_server.route("POST", "/eth/v1/beacon/rewards/attestations/7", Reply(body=body))
    with pytest.raises(ResponseInvalid) as exc:
        run_day(http_server)
    assert exc.value.message == (
        "beacon POST eth/v1/beacon/rewards/attestations/{epoch}: invalid response:"
        " field data.total_rewards.0.head: Field required"
    )


def test_a_figure_of_the_wrong_type_fails_naming_the_field(http_server):
    day.serve_day(http_server)
    body = day.shape("block_rewards.json")
    body["data"].update(proposer_index="101", total=41234567)  # a number, not the documented string
    http_server.route("GET", "/eth/v1/beacon/rewards/blocks/33", Reply(body=body))
    adapter, client = BeaconAdapter(), client_for(http_server)
    ctx = RunContext(chain_id="ethereum-mainnet", period=day.DAY, targets=[FetchTarget(day.A)])
    state = adapter.open_run(client, ctx)
    with pytest.raises(
        ResponseInvalid,
        match=r"beacon GET eth/v1/beacon/rewards/blocks/\{block_id\}: invalid response: field data.total",
    ):
        adapter.fetch(client, state, FetchTarget(day.A), "REWARDS")


def test_a_day_not_settled_yet_is_not_yet_available(http_server):
    day.serve_day(http_server)
    adapter = BeaconAdapter(clock=lambda: datetime(2024, 1, 2, 23, 0, tzinfo=UTC))
    ctx = RunContext(chain_id="ethereum-mainnet", period=day.DAY, targets=[FetchTarget(day.A)])
    with pytest.raises(NotYetAvailable):
        adapter.open_run(client_for(http_server), ctx)


def test_an_unknown_validator_fails_only_its_item(http_server):
    from aurora_cli.providers.http import FetchFailed

    day.serve_day(http_server)
    unknown = "0x" + "d4" * 48
    adapter, client = BeaconAdapter(), client_for(http_server)
    ctx = RunContext(
        chain_id="ethereum-mainnet", period=day.DAY, targets=[FetchTarget(day.A), FetchTarget(unknown)]
    )
    state = adapter.open_run(client, ctx)
    with pytest.raises(FetchFailed, match="does not know validator"):
        adapter.fetch(client, state, FetchTarget(unknown), "REWARDS")
    assert adapter.fetch(client, state, FetchTarget(day.A), "REWARDS")["epochs"] == {"first": 6, "last": 11}


def test_meta_is_the_effective_balance_at_the_days_last_slot(http_server):
    day.serve_day(http_server)
    adapter, client = BeaconAdapter(), client_for(http_server)
    ctx = RunContext(chain_id="ethereum-mainnet", period=day.DAY, targets=[FetchTarget(day.A)])
    state = adapter.open_run(client, ctx)
    envelope = adapter.fetch(client, state, FetchTarget(day.A), "META")
    assert envelope["requests"][0]["path"] == "eth/v1/beacon/states/47/validators"
    stake = Decimal(32 * 10**18)  # effective_balance "32000000000" Gwei
    assert adapter.to_canonical("META", day.A, envelope) == [MetaRow(0, False, stake, stake, None, None)]


def test_check_reports_the_node_version(http_server):
    day.serve_day(http_server)
    assert BeaconAdapter().check(client_for(http_server)).startswith("Lighthouse/")


def test_the_adapter_is_registered():
    assert isinstance(adapter_for("beacon"), BeaconAdapter)


# -- end to end: aurora ingest (beacon + two relays) → normalize → compute-pnl → pnl show --------

REPO = Path(__file__).resolve().parents[2]
ETH = "ethereum-mainnet"
RELAY_PATH = "/relay/v1/data/bidtraces/proposer_payload_delivered"


def ethereum_config(tmp_path: Path, beacon_url: str, relay_urls: list[str]) -> Path:
    target = tmp_path / "config"
    shutil.copytree(REPO / "config", target)
    text = (target / "providers.toml").read_text()
    text = text.replace('base_url = "http://localhost:5052"', f'base_url = "{beacon_url}"')
    relays = ", ".join(f'"{u}"' for u in relay_urls)
    # The committed relay list gives way to the two loopback relays; the test chain's clock follows.
    relay_list = re.compile(r'base_urls = \[[^\]]*\]\napi_version = "v1"\nrate_limit_per_minute = 60\ntimeout_seconds = 30\n')
    assert relay_list.search(text)
    text = relay_list.sub(
        f'base_urls = [{relays}]\napi_version = "v1"\nrate_limit_per_minute = 60\ntimeout_seconds = 30\n'
        f"\n[providers.options]\n"
        f"genesis_time = {day.GENESIS_TIME}\nseconds_per_slot = 3600\nslots_per_epoch = 4\n",
        text,
        count=1,
    )
    (target / "providers.toml").write_text(text)
    validators = (target / "validators.toml").read_text()
    validators = validators.replace("0x" + "a" + "0" * 94 + "1", day.A).replace(
        "0x" + "a" + "0" * 94 + "2", day.B
    )
    (target / "validators.toml").write_text(validators)
    return target


def test_ingest_normalize_compute_pnl_show_rewards_penalties_and_net_revenue_exact(
    http_server, tmp_path, admin_cli
):
    from tests.providers.test_mevboost_relay import paged

    day.serve_day(http_server)
    shared = day.payload(30, "0x" + "ab" * 32, "50000000000000000")
    http_server.route("GET", RELAY_PATH, paged([shared]))
    relay2 = LoopbackServer().start()
    try:
        relay2.route(
            "GET", RELAY_PATH, paged([dict(shared), day.payload(40, "0x" + "cd" * 32, "7", proposer=day.B)])
        )
        config = ethereum_config(tmp_path, http_server.url, [http_server.url, relay2.url])
        assert admin_cli("config", "apply", "--dir", str(config)).exit_code == 0
        r = admin_cli(
            "ingest", "--chain", ETH, "--period", day.DAY, "--validator", day.A, "--validator", day.B
        )
        assert r.exit_code == 0, r
        for step in ("normalize", "compute-pnl"):
            r = admin_cli(step, "--chain", ETH, "--period", day.DAY)
            assert r.exit_code == 0, r
        r = admin_cli("--format", "json", "pnl", "show", "--chain", ETH, "--period", day.DAY)
        assert r.exit_code == 0, r
    finally:
        relay2.stop()
    got = {
        row["validator_key"]: {
            k: row[k]
            for k in (
                "vote_rewards_native",
                "mev_tips_native",
                "commission_native",
                "total_revenue_native",
                "penalties_native",
                "net_revenue_native",
            )
        }
        for row in r.json()
    }
    assert {k: {c: Decimal(v) for c, v in row.items()} for k, row in got.items()} == {
        day.A: {
            "vote_rewards_native": Decimal(41283667000000000),
            "mev_tips_native": Decimal(50000000000000000),  # reported by both relays, counted once
            "commission_native": Decimal(0),
            "total_revenue_native": Decimal(91283667000000000),
            "penalties_native": Decimal(2650000000000),
            "net_revenue_native": Decimal(91281017000000000),
        },
        day.B: {
            "vote_rewards_native": Decimal(39058800000000000),
            "mev_tips_native": Decimal(7),
            "commission_native": Decimal(0),
            "total_revenue_native": Decimal(39058800000000007),
            "penalties_native": Decimal(10000000000),
            "net_revenue_native": Decimal(39058790000000007),
        },
    }
