"""The one HTTP layer every provider adapter fetches through (SPEC §4; issue 9).

Owns: the base URL as given (path prefix and query kept; requests are relative to it), `${ENV_VAR}`
expansion at run time, the API key from the variable named by `api_key_env`, connect/read timeouts,
a client-side token bucket, tenacity retries (exponential backoff + jitter) on connect/read
timeouts, HTTP 429 (honouring Retry-After, seconds or HTTP date) and 5xx, bounded by attempts and
by a total wait — never on other 4xx; JSON-RPC single calls and batches; per-endpoint statistics
for the run's metadata; and recording of every request and response body an item needed (the
staged envelope). Secrets never leave this module: error sentences, endpoint names, recorded
requests and statistics are built from relative paths and redacted.

It must never touch the database, print, or know what any provider's numbers mean.
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import tenacity

from aurora_cli.errors import AuroraError, Incomplete

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MASK = "***"

# JSON-RPC error codes that mean "slow down / overloaded": retried like HTTP 429.
# -32005: limit exceeded (EIP-1474, also used by hosted Solana RPCs); -32429: hosted RPC rate limit.
RETRYABLE_RPC_CODES = frozenset({-32005, -32429})


# -- errors ----------------------------------------------------------------------------------------


class FetchFailed(AuroraError):
    """An item could not be fetched after retries; the sentence names provider, endpoint and reason."""

    def __init__(self, provider: str, endpoint: str, reason: str, *, status: int | None = None) -> None:
        super().__init__(f"{provider} {endpoint}: {reason}")
        self.provider, self.endpoint, self.reason = provider, endpoint, reason
        self.status = status  # the HTTP status of a 4xx answer (a beacon 404 is a missed slot: data)


class NotYetAvailable(Incomplete):
    """The provider does not have this period's data yet (reported, never staged)."""

    def __init__(self, provider: str, endpoint: str, reason: str) -> None:
        super().__init__(f"{provider} {endpoint}: not yet available: {reason}")
        self.provider, self.endpoint, self.reason = provider, endpoint, reason


class ResponseInvalid(AuroraError):
    """A response that is not what the provider documents (truncated JSON, HTML page, changed field)."""

    def __init__(self, provider: str, endpoint: str, reason: str) -> None:
        super().__init__(f"{provider} {endpoint}: invalid response: {reason}")
        self.provider, self.endpoint, self.reason = provider, endpoint, reason


@dataclass(frozen=True)
class RpcError(Exception):
    """A JSON-RPC `error` member: adapters decide whether it is data (a skipped slot) or a failure."""

    code: int
    message: str

    def __str__(self) -> str:
        return f"JSON-RPC error {self.code}: {self.message}"


# -- configuration -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    initial_wait: float = 0.5  # seconds; doubles per retry, plus jitter
    max_wait: float = 30.0  # one wait at most
    max_total_wait: float = 120.0  # all waits of one request together at most


@dataclass(frozen=True)
class ProviderSettings:
    """What a provider run needs from its `providers` row (and config: `api_key_env`, extras)."""

    name: str
    base_url: str
    timeout_seconds: float = 30.0
    rate_limit_per_minute: int | None = None
    api_key_env: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, provider: Any, *, api_key_env: str | None = None, extra: dict | None = None) -> ProviderSettings:
        if not provider.base_url:
            raise InvalidConfig(f"provider {provider.provider_name} has no base URL in providers.toml.")
        return cls(
            name=provider.provider_name,
            base_url=provider.base_url,
            timeout_seconds=float(provider.timeout_seconds or 30),
            rate_limit_per_minute=provider.rate_limit_per_minute,
            api_key_env=api_key_env,
            extra=dict(extra or {}),
        )


class InvalidConfig(AuroraError):
    """A provider whose configuration cannot be used (missing base URL, unset environment variable)."""


def expand_env(template: str, environ: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """`${VAR}` replaced from the environment; returns (expanded, the values substituted)."""
    env = os.environ if environ is None else environ
    values: list[str] = []

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise InvalidConfig(f"environment variable {name} used in a provider base URL is not set.")
        values.append(env[name])
        return env[name]

    return _ENV_REF.sub(sub, template), values


def mask_url(url: str | None) -> str | None:
    """A base URL fit to show: `${VAR}` kept as written, passwords and query values masked."""
    if not url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    query = "&".join(f"{k}={MASK}" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# -- statistics ----------------------------------------------------------------------------------------


@dataclass
class EndpointStats:
    requests: int = 0  # attempts sent
    retries: int = 0
    statuses: dict[str, int] = field(default_factory=dict)  # "200", "429", "timeout", "connect-error"
    bytes: int = 0
    elapsed_ms: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "statuses": dict(sorted(self.statuses.items())),
            "bytes": self.bytes,
            "elapsed_ms": self.elapsed_ms,
        }


@dataclass
class ClientStats:
    endpoints: dict[str, EndpointStats] = field(default_factory=dict)

    def endpoint(self, name: str) -> EndpointStats:
        return self.endpoints.setdefault(name, EndpointStats())

    @property
    def requests(self) -> int:
        return sum(e.requests for e in self.endpoints.values())

    @property
    def retries(self) -> int:
        return sum(e.retries for e in self.endpoints.values())

    def to_json(self) -> dict[str, Any]:
        return {name: s.to_json() for name, s in sorted(self.endpoints.items())}


# -- rate limit -------------------------------------------------------------------------------------


class TokenBucket:
    """`rate_per_minute` requests a minute, bursts of at most one second's worth (at least one)."""

    def __init__(self, rate_per_minute: int | None) -> None:
        self.rate = (rate_per_minute / 60.0) if rate_per_minute else None
        self.capacity = max(1.0, self.rate or 1.0)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> None:
        if self.rate is None:
            return
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            time.sleep(wait)


# -- recording an item's requests -------------------------------------------------------------------


@dataclass
class Recorder:
    """Every request and response body of one item, in order, without secrets: the staged envelope."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)

    def add(self, request: dict[str, Any], response: Any) -> None:
        self.requests.append(request)
        self.responses.append(response)

    def envelope(self) -> dict[str, Any]:
        return {"requests": list(self.requests), "responses": list(self.responses)}


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# -- the client ---------------------------------------------------------------------------------------


class ProviderClient:
    """One provider's HTTP client for one run. Use as a context manager."""

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        policy: RetryPolicy | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.policy = policy or RetryPolicy()
        self.stats = ClientStats()
        self.bucket = TokenBucket(settings.rate_limit_per_minute)
        env = os.environ if environ is None else environ
        base, substituted = expand_env(settings.base_url, dict(env))
        self._secrets = [s for s in substituted if s]
        self.api_key: str | None = None
        if settings.api_key_env:
            self.api_key = env.get(settings.api_key_env) or None
            if self.api_key:
                self._secrets.append(self.api_key)
        parts = urlsplit(base)
        self._secrets += [v for _, v in parse_qsl(parts.query) if len(v) >= 4]
        self._base_query = parse_qsl(parts.query, keep_blank_values=True)
        # JSON-RPC posts to the base URL exactly as given; REST paths are joined below its path.
        self._rpc_url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        self._base = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        self._secrets.append(base)
        self._secrets.sort(key=len, reverse=True)
        timeout = settings.timeout_seconds
        self._http = httpx.Client(timeout=httpx.Timeout(timeout, connect=timeout), follow_redirects=False)
        self._recorder: Recorder | None = None
        self._rpc_id = 0
        self._lock = threading.Lock()

    def __enter__(self) -> ProviderClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    # -- recording --

    @contextmanager
    def recording(self) -> Iterator[Recorder]:
        """Record the bodies of the requests made inside the block (one item's envelope)."""
        previous, self._recorder = self._recorder, Recorder()
        try:
            yield self._recorder
        finally:
            self._recorder = previous

    def _record(self, request: dict[str, Any], response: Any) -> None:
        if self._recorder is not None:
            self._recorder.add(request, response)

    # -- REST --

    def get_json(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        *,
        endpoint: str | None = None,
    ) -> Any:
        """GET `path` relative to the base URL; `endpoint` names it in stats (default: the path)."""
        name = endpoint or "GET " + path.split("?", 1)[0]
        body = self._send("GET", path, name, params=params, headers=headers)
        self._record({"method": "GET", "path": path, "params": dict(params or {})}, body)
        return body

    def post_json(self, path: str, json_body: Any, *, endpoint: str | None = None, headers: dict[str, str] | None = None) -> Any:
        name = endpoint or "POST " + path.split("?", 1)[0]
        body = self._send("POST", path, name, json_body=json_body, headers=headers)
        self._record({"method": "POST", "path": path, "body": json_body}, body)
        return body

    # -- JSON-RPC --

    def _next_id(self) -> int:
        with self._lock:
            self._rpc_id += 1
            return self._rpc_id

    def rpc(self, method: str, params: Sequence[Any] | None = None) -> Any:
        """Call one JSON-RPC method; returns `result`, raises RpcError for an `error` member."""
        request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params or [])}

        def check(body: Any) -> None:
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                code = body["error"].get("code")
                if code in RETRYABLE_RPC_CODES:
                    raise _Retryable(f"node overloaded (JSON-RPC {code})")

        body = self._send("POST", "", method, json_body=request, check=check)
        self._record({"method": "POST", "body": request}, body)
        return self._rpc_result(method, body)

    def rpc_batch(
        self, calls: Sequence[tuple[str, Sequence[Any]]], batch_size: int = 100
    ) -> list[Any]:
        """JSON-RPC batches of at most `batch_size` calls; one result (or RpcError) per call, in order."""
        out: list[Any] = []
        for start in range(0, len(calls), max(1, batch_size)):
            chunk = calls[start : start + batch_size]
            request = [
                {"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)} for i, (m, p) in enumerate(chunk)
            ]
            name = chunk[0][0] if len({m for m, _ in chunk}) == 1 else "batch"

            def check(body: Any) -> None:
                items = body if isinstance(body, list) else [body]
                for item in items:
                    if isinstance(item, dict) and isinstance(item.get("error"), dict):
                        if item["error"].get("code") in RETRYABLE_RPC_CODES:
                            raise _Retryable(f"node overloaded (JSON-RPC {item['error'].get('code')})")

            body = self._send("POST", "", name, json_body=request, check=check)
            self._record({"method": "POST", "body": request}, body)
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                raise self._rpc_error(name, body["error"])
            if not isinstance(body, list):
                raise ResponseInvalid(self.name, name, "a JSON-RPC batch was answered by something other than a list")
            by_id = {item.get("id"): item for item in body if isinstance(item, dict)}
            for i, (method, _) in enumerate(chunk):
                item = by_id.get(i)
                if item is None:
                    raise ResponseInvalid(self.name, method, f"the batch response has no answer for id {i}")
                try:
                    out.append(self._rpc_result(method, item))
                except RpcError as exc:
                    out.append(exc)
        return out

    def _rpc_error(self, method: str, error: dict[str, Any]) -> RpcError:
        code, message = error.get("code"), error.get("message")
        if not isinstance(code, int):
            raise ResponseInvalid(self.name, method, "field error.code is missing or not an integer")
        return RpcError(code, self.redact(str(message or "")))

    def _rpc_result(self, method: str, body: Any) -> Any:
        if not isinstance(body, dict):
            raise ResponseInvalid(self.name, method, "the JSON-RPC response is not an object")
        if isinstance(body.get("error"), dict):
            raise self._rpc_error(method, body["error"])
        if "result" not in body:
            raise ResponseInvalid(self.name, method, "field result is missing")
        return body["result"]

    # -- the one request loop --

    def _url(self, path: str, params: dict[str, Any] | None) -> str:
        parts = urlsplit(path)
        url = self._base + parts.path.lstrip("/") if parts.path else self._rpc_url
        query = [*self._base_query, *parse_qsl(parts.query, keep_blank_values=True)]
        query += [(k, _param(v)) for k, v in (params or {}).items() if v is not None]
        return url + ("?" + urlencode(query) if query else "")

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "aurora-cli"}
        headers.update(extra or {})
        return headers

    def _send(
        self,
        method: str,
        path: str,
        endpoint: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        check: Any = None,
    ) -> Any:
        stats = self.stats.endpoint(endpoint)
        url = self._url(path, params)
        policy = self.policy

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            backoff = min(policy.max_wait, policy.initial_wait * 2 ** (state.attempt_number - 1))
            backoff += random.uniform(0, policy.initial_wait)
            after = getattr(exc, "retry_after", None)
            return float(after) if after is not None else backoff

        def stop(state: tenacity.RetryCallState) -> bool:
            if state.attempt_number >= policy.attempts:
                return True
            planned = wait(state)
            state.__dict__["_aurora_wait"] = planned
            return state.idle_for + planned > policy.max_total_wait

        def planned_wait(state: tenacity.RetryCallState) -> float:
            return state.__dict__.pop("_aurora_wait", None) or wait(state)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            stats.retries += 1

        def attempt() -> Any:
            self.bucket.take()
            stats.requests += 1
            started = time.monotonic()
            try:
                response = self._http.request(method, url, json=json_body, headers=self._headers(headers))
            except httpx.TimeoutException as exc:
                kind = "connect timeout" if isinstance(exc, httpx.ConnectTimeout) else "read timeout"
                _count(stats, "timeout")
                raise _Retryable(f"{kind} after {self.settings.timeout_seconds:g}s") from None
            except httpx.TransportError as exc:
                _count(stats, "connect-error")
                raise _Retryable(f"cannot connect ({type(exc).__name__})") from None
            finally:
                stats.elapsed_ms += int((time.monotonic() - started) * 1000)
            content = response.content
            stats.bytes += len(content)
            _count(stats, str(response.status_code))
            status = response.status_code
            if status == 429:
                raise _Retryable("HTTP 429 Too Many Requests", parse_retry_after(response.headers.get("Retry-After")))
            if status >= 500:
                raise _Retryable(f"HTTP {status}", parse_retry_after(response.headers.get("Retry-After")))
            if status >= 400:
                raise FetchFailed(
                    self.name, endpoint, f"HTTP {status} {response.reason_phrase}".strip(), status=status
                )
            if 300 <= status < 400:
                raise FetchFailed(self.name, endpoint, f"unexpected redirect (HTTP {status})")
            body = self._decode(endpoint, response)
            if check is not None:
                check(body)
            return body

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            stop=stop,
            wait=planned_wait,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Retryable as exc:
            raise FetchFailed(self.name, endpoint, self.redact(f"{exc.reason} (gave up after retries)")) from None

    def _decode(self, endpoint: str, response: httpx.Response) -> Any:
        kind = response.headers.get("Content-Type", "")
        text = response.content
        if "html" in kind.lower() or text.lstrip()[:1] == b"<":
            raise ResponseInvalid(self.name, endpoint, f"an HTML page instead of JSON (HTTP {response.status_code})")
        try:
            # Decimals, never floats: amounts and percentages stay exact (canonical_json refuses floats).
            return json.loads(text, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise ResponseInvalid(
                self.name, endpoint, f"the body is not valid JSON (truncated?) after {len(text)} bytes"
            ) from None


def _count(stats: EndpointStats, key: str) -> None:
    stats.statuses[key] = stats.statuses.get(key, 0) + 1


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def validate_response(model: Any, body: Any, provider: str, endpoint: str) -> Any:
    """`model.model_validate(body)`, a mismatch raised as ResponseInvalid naming the field."""
    from pydantic import ValidationError

    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the body"
        raise ResponseInvalid(provider, endpoint, f"field {where}: {first['msg'].lower()}") from None
