"""The MEV-Boost relay adapter over two real loopback relays.

Given delivered payloads of the scripted day (slots 24..47, tests/providers/ethereum_day.py) spread
over two relays, when the adapter pages and reads its envelope, then Σ value is exact in wei, a
payload both relays report counts once and slots outside the day are left out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from aurora_cli.providers.base import FetchTarget, MevRow, RunContext, adapter_for
from aurora_cli.providers.http import (
    NotYetAvailable,
    ProviderClient,
    ProviderSettings,
    ResponseInvalid,
    RetryPolicy,
)
from aurora_cli.providers.mevboost_relay import MevBoostRelayAdapter
from tests.providers import ethereum_day as day
from tests.providers.http_server import LoopbackServer, Reply

FAST = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05, max_total_wait=5)
PATH = "/relay/v1/data/bidtraces/proposer_payload_delivered"
CLOCK = {"genesis_time": day.GENESIS_TIME, "seconds_per_slot": 3600, "slots_per_epoch": 4}


@pytest.fixture
def second_relay():
    server = LoopbackServer().start()
    yield server
    server.stop()


def paged(payloads: list[dict]):
    """A relay's listing: newest first, `slot <= cursor`, at most `limit` a page."""

    def reply(request) -> Reply:
        cursor = int(request.query.get("cursor", ["999999"])[0])
        limit = int(request.query.get("limit", ["200"])[0])
        key = request.query.get("proposer_pubkey", [None])[0]
        rows = [
            p for p in payloads if int(p["slot"]) <= cursor and (key is None or p["proposer_pubkey"] == key)
        ]
        rows.sort(key=lambda p: int(p["slot"]), reverse=True)
        return Reply(body=rows[:limit])

    return reply


def run(relays: list[str], key: str = day.A):
    settings = ProviderSettings(
        name="mevboost-relay", base_url=relays[0], timeout_seconds=5, extra={"base_urls": relays, **CLOCK}
    )
    client = ProviderClient(settings, policy=FAST)
    adapter = MevBoostRelayAdapter()
    ctx = RunContext(
        chain_id="ethereum-mainnet", period=day.DAY, extra=dict(settings.extra), targets=[FetchTarget(key)]
    )
    state = adapter.open_run(client, ctx)
    return adapter, client, adapter.fetch(client, state, FetchTarget(key), "MEV")


# 205 payloads of A on relay 1 in the day: 200 in slots 38..47 (a full first page), 5 in slots 24..28
# (the second, short page); one of them also on relay 2; one before and one after the day.
def day_payloads() -> tuple[list[dict], list[dict], int]:
    relay1 = [day.payload(47 - (i % 10), f"0x{i:064x}", str(10**16 + i)) for i in range(200)]
    relay1 += [day.payload(24 + j, f"0x{200 + j:064x}", str(10**16 + 200 + j)) for j in range(5)]
    relay1.append(day.payload(23, "0x" + "e" * 64, "5" * 17))  # the day before: excluded
    relay1.append(day.payload(48, "0x" + "f" * 64, "7" * 17))  # the day after: never asked for
    relay2 = [dict(relay1[3]), day.payload(30, "0x" + "ab" * 32, "123456789012345678")]
    relay2.append(
        day.payload(31, "0x" + "cd" * 32, "1", proposer=day.B)
    )  # another proposer: filtered by the relay
    expected = sum(10**16 + i for i in range(205)) + 123456789012345678
    return relay1, relay2, expected


def test_two_relays_two_pages_dedup_by_block_hash_and_the_day_only(http_server, second_relay):
    relay1, relay2, expected = day_payloads()
    http_server.route("GET", PATH, paged(relay1))
    second_relay.route("GET", PATH, paged(relay2))
    adapter, client, envelope = run([http_server.url, second_relay.url + "/"])

    assert adapter.to_canonical("MEV", day.A, envelope) == [MevRow(Decimal(expected), 206)]
    cursors = [r.query["cursor"][0] for r in http_server.requests("GET", PATH)]
    # Page 1 starts at the day's last slot; page 2 at the lowest slot of page 1 − 1; it is short.
    assert cursors == ["47", "37"]
    assert [r.query["limit"][0] for r in http_server.requests("GET", PATH)] == ["200"] * len(cursors)
    assert [r.query["cursor"][0] for r in second_relay.requests("GET", PATH)] == ["47"]
    assert envelope["slots"] == {"first": 24, "last": 47}
    assert [r["relay"] for r in envelope["requests"]][-1] == second_relay.url + "/"
    stats = client.stats.to_json()
    assert (
        stats["GET 127.0.0.1 relay/v1/data/bidtraces/proposer_payload_delivered"]["requests"]
        == len(cursors) + 1
    )


def test_a_full_page_that_reaches_the_days_first_slot_ends_the_listing(http_server):
    payloads = [
        day.payload(47 - (i % 24), f"0x{i:064x}", "1") for i in range(200)
    ]  # one full page, down to 24
    payloads += [
        day.payload(20, f"0x{900 + i:064x}", "1") for i in range(10)
    ]  # before the day: never asked for
    http_server.route("GET", PATH, paged(payloads))
    adapter, _client, envelope = run([http_server.url])
    assert [r.query["cursor"][0] for r in http_server.requests("GET", PATH)] == ["47"]
    assert adapter.to_canonical("MEV", day.A, envelope) == [MevRow(Decimal(200), 200)]


def test_a_500_then_success_is_retried(http_server):
    http_server.route("GET", PATH, Reply(status=500), paged([day.payload(30, "0x" + "1" * 64, "42")]))
    adapter, client, envelope = run([http_server.url])
    assert adapter.to_canonical("MEV", day.A, envelope) == [MevRow(Decimal(42), 1)]
    stats = next(iter(client.stats.to_json().values()))
    assert (stats["requests"], stats["retries"]) == (2, 1)


def test_a_schema_changed_payload_names_provider_endpoint_and_field(http_server):
    bad = day.payload(30, "0x" + "1" * 64, "42")
    bad["value_wei"] = bad.pop("value")
    http_server.route("GET", PATH, Reply(body=[bad]))
    with pytest.raises(ResponseInvalid) as exc:
        run([http_server.url])
    assert exc.value.message == (
        "mevboost-relay GET 127.0.0.1 relay/v1/data/bidtraces/proposer_payload_delivered:"
        " invalid response: field 0.value: Field required"
    )


def test_a_relay_ignoring_the_proposer_filter_fails_the_item(http_server):
    http_server.route("GET", PATH, Reply(body=[day.payload(30, "0x" + "1" * 64, "42", proposer=day.B)]))
    with pytest.raises(ResponseInvalid, match="another proposer"):
        run([http_server.url])


def test_a_day_not_over_is_not_yet_available(http_server):
    adapter = MevBoostRelayAdapter(clock=lambda: datetime(2024, 1, 2, 12, tzinfo=UTC))
    settings = ProviderSettings(name="mevboost-relay", base_url=http_server.url, extra=CLOCK)
    ctx = RunContext(chain_id="ethereum-mainnet", period=day.DAY, extra=CLOCK)
    with pytest.raises(NotYetAvailable):
        adapter.open_run(ProviderClient(settings, policy=FAST), ctx)


def test_check_asks_every_relay(http_server, second_relay):
    http_server.route("GET", PATH, Reply(body=[]))
    second_relay.route("GET", PATH, Reply(body=[]))
    settings = ProviderSettings(
        name="mevboost-relay",
        base_url=http_server.url,
        extra={"base_urls": [http_server.url, second_relay.url]},
    )
    assert MevBoostRelayAdapter().check(ProviderClient(settings, policy=FAST)) == "2 relay(s) answer"
    assert len(second_relay.requests("GET", PATH)) == 1


def test_the_adapter_is_registered():
    assert isinstance(adapter_for("mevboost-relay"), MevBoostRelayAdapter)
