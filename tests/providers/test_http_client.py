"""The shared HTTP layer over real loopback HTTP: retries, limits, JSON-RPC, redaction, stats."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from aurora_cli.providers.http import (
    FetchFailed,
    ProviderClient,
    ProviderSettings,
    ResponseInvalid,
    RetryPolicy,
    RpcError,
    mask_url,
    parse_retry_after,
)
from tests.providers.http_server import Reply, RpcFault

FAST = RetryPolicy(attempts=5, initial_wait=0.01, max_wait=0.05, max_total_wait=5)


def client(server, base=None, **kw) -> ProviderClient:
    policy = kw.pop("policy", FAST)
    settings = ProviderSettings(name="t", base_url=base or server.url, timeout_seconds=kw.pop("timeout", 2), **kw)
    return ProviderClient(settings, policy=policy)


def test_500_then_success_is_retried_and_counted(http_server):
    http_server.route("GET", "/a", Reply(status=500), Reply(status=503), Reply(body={"ok": 1}))
    with client(http_server) as c:
        assert c.get_json("a") == {"ok": 1}
        stats = c.stats.to_json()["GET a"]
    assert stats["requests"] == 3 and stats["retries"] == 2
    assert stats["statuses"] == {"200": 1, "500": 1, "503": 1}
    assert stats["bytes"] > 0


def test_500_forever_is_bounded_by_attempts(http_server):
    http_server.route("GET", "/a", Reply(status=500))
    with client(http_server) as c, pytest.raises(FetchFailed) as exc:
        c.get_json("a")
    assert len(http_server.requests("GET", "/a")) == 5
    assert "t GET a: HTTP 500" in exc.value.message


def test_other_4xx_is_never_retried(http_server):
    http_server.route("GET", "/a", Reply(status=404))
    with client(http_server) as c, pytest.raises(FetchFailed, match="HTTP 404"):
        c.get_json("a")
    assert len(http_server.requests("GET", "/a")) == 1


def test_429_honours_retry_after_seconds_and_http_date(http_server):
    http_server.route("GET", "/a", Reply(status=429, headers={"Retry-After": "1"}), Reply(body=[1]))
    with client(http_server) as c:
        started = time.monotonic()
        assert c.get_json("a") == [1]
        assert time.monotonic() - started >= 0.95
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 28 <= parse_retry_after(when) <= 30
    assert parse_retry_after("7") == 7.0 and parse_retry_after("soon") is None


def test_retry_after_beyond_the_total_wait_gives_up_at_once(http_server):
    http_server.route("GET", "/a", Reply(status=429, headers={"Retry-After": "3600"}))
    with client(http_server) as c, pytest.raises(FetchFailed, match="429"):
        c.get_json("a")
    assert len(http_server.requests("GET", "/a")) == 1


def test_read_timeout_is_retried_then_fails(http_server):
    http_server.route("GET", "/slow", Reply(delay=1.5, body={}))
    policy = RetryPolicy(attempts=2, initial_wait=0.01, max_wait=0.01, max_total_wait=1)
    with client(http_server, timeout=1, policy=policy) as c, pytest.raises(FetchFailed, match="read timeout"):
        c.get_json("slow")
    assert c.stats.to_json()["GET slow"]["statuses"] == {"timeout": 2}


def test_truncated_json_and_html_are_invalid_responses(http_server):
    http_server.route("GET", "/cut", Reply(body={"long": "x" * 100}, truncate=20))
    http_server.route("GET", "/html", Reply(body="<html>Bad gateway</html>", content_type="text/html"))
    with client(http_server) as c:
        with pytest.raises(Exception) as cut:
            c.get_json("cut")
        with pytest.raises(ResponseInvalid, match="HTML"):
            c.get_json("html")
    # A body shorter than its Content-Length is a transport error (retried), or invalid JSON.
    assert isinstance(cut.value, FetchFailed | ResponseInvalid)


def test_base_url_path_prefix_query_token_and_env_expansion(http_server, monkeypatch):
    monkeypatch.setenv("T_RPC_TOKEN", "sekrit-token-123")
    base = http_server.url + "/${T_RPC_TOKEN}/?api-key=QUERYSECRET"
    http_server.rpc_path = "/sekrit-token-123/"
    http_server.rpc("getHealth", lambda params: "ok")
    http_server.route("GET", "/sekrit-token-123/v1/x", Reply(body={"x": 1}))
    with client(http_server, base=base) as c:
        with c.recording() as rec:
            assert c.rpc("getHealth") == "ok"
            assert c.get_json("v1/x", params={"epoch": 5}) == {"x": 1}
        envelope = rec.envelope()
        assert c.redact(f"GET {http_server.url}/sekrit-token-123/?api-key=QUERYSECRET") == "GET ***"
    assert http_server.log[0].query == {"api-key": ["QUERYSECRET"]}
    assert http_server.log[1].query == {"api-key": ["QUERYSECRET"], "epoch": ["5"]}
    text = str(envelope) + str(c.stats.to_json())
    assert "sekrit" not in text and "QUERYSECRET" not in text
    assert mask_url(base) == http_server.url + "/${T_RPC_TOKEN}/?api-key=***"


def test_rpc_errors_are_typed_and_not_retried_except_overload(http_server):
    calls = {"n": 0}

    def block(params):
        calls["n"] += 1
        return RpcFault(-32005, "limit") if calls["n"] == 1 else {"slot": params[0]}

    http_server.rpc("getBlock", block)
    http_server.rpc("getSlot", lambda params: RpcFault(-32009, "Slot 5 was skipped"))
    with client(http_server) as c:
        assert c.rpc("getBlock", [7]) == {"slot": 7}
        with pytest.raises(RpcError) as exc:
            c.rpc("getSlot")
    assert exc.value.code == -32009
    assert len(http_server.requests(rpc="getSlot")) == 1


def test_rpc_batch_splits_and_returns_errors_in_place(http_server):
    http_server.rpc("getBlock", lambda p: RpcFault(-32007, "skipped") if p[0] == 3 else {"s": p[0]})
    with client(http_server) as c:
        out = c.rpc_batch([("getBlock", [i]) for i in range(5)], batch_size=2)
    assert [o if not isinstance(o, RpcError) else o.code for o in out] == [
        {"s": 0}, {"s": 1}, {"s": 2}, -32007, {"s": 4}
    ]
    assert len(http_server.requests(rpc="getBlock")) == 3


def test_rate_limit_spaces_requests(http_server):
    http_server.route("GET", "/a", Reply(body={}))
    with client(http_server, rate_limit_per_minute=120) as c:  # 2 a second, bursts of 2
        started = time.monotonic()
        for _ in range(4):
            c.get_json("a")
        assert time.monotonic() - started >= 0.9
