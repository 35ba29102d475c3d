"""`mevboost-relay`: the MEV-Boost relay data API of several relays → MEV of a UTC day.

Owns: paging each relay's delivered payloads of one proposer, the envelope, and reading it back into
one MEV row. Never touches the database or decides priority.

Period = UTC day D, as the slots of the epochs whose first slot is in D (domain/ethereum_time.py;
the same slots as `beacon`). Relays do not serve genesis, so the slot clock is mainnet's unless the
provider's extra settings give `genesis_time`, `seconds_per_slot`, `slots_per_epoch`.

Field mapping, per relay (`base_urls`, in configured order; else the provider's `base_url`):
`GET relay/v1/data/bidtraces/proposer_payload_delivered?proposer_pubkey=PK&cursor=SLOT&limit=200`
returns at most 200 payloads with `slot` <= cursor, newest first. The first page starts at D's last
slot; the next cursor is the lowest `slot` seen − 1; paging stops at a short or empty page, or once
a page reaches below D's first slot.
- `[].slot` (decimal string): kept when in D.
- `[].block_hash`: a payload reported by several relays counts once (the first relay's in
  configured order).
- `[].proposer_pubkey`: must be the validator's (a relay that ignores the filter fails the item).
- `[].value` (decimal string, wei): `total_mev_native` = Σ value; `tip_count` = payloads counted.

Envelope (one per validator and day): `{"requests": [...], "responses": [...], "slots": {"first",
"last"}}`; every page as received; each request names its relay by its masked base URL.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, StringConstraints, TypeAdapter, ValidationError

from aurora_cli.domain.ethereum_time import MAINNET, DayWindow, SlotClock, day_bounds
from aurora_cli.providers.base import (
    CanonicalRow,
    FetchTarget,
    MevRow,
    PayloadInvalid,
    RunContext,
    register,
)
from aurora_cli.providers.http import (
    FetchFailed,
    NotYetAvailable,
    ProviderClient,
    ResponseInvalid,
    mask_url,
)

NAME = "mevboost-relay"
PATH = "relay/v1/data/bidtraces/proposer_payload_delivered"
PAGE_LIMIT = 200
MAX_PAGES = 1000  # a relay that never ends a listing must not keep a run forever
PUBKEY = re.compile(r"^0x[0-9a-fA-F]{96}$")

Uint = Annotated[str, StringConstraints(pattern=r"^[0-9]+$")]


class BidTrace(BaseModel):
    model_config = ConfigDict(extra="ignore")

    slot: Uint
    block_hash: str
    proposer_pubkey: str
    value: Uint  # wei


PAGE = TypeAdapter(list[BidTrace])


def _field_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "the body"
    return f"field {where}: {error['msg']}"


@dataclass(frozen=True)
class Relay:
    shown: str  # the base URL as configured, masked: what envelopes and messages name
    endpoint: str  # stats / error name: host + path, no secret
    client: Any


@dataclass
class RelayRun:
    window: DayWindow
    relays: list[Relay]


def _base_urls(client: Any, ctx: RunContext | None) -> list[str]:
    for extra in ((ctx.extra if ctx else None), getattr(client.settings, "extra", None)):
        if extra and extra.get("base_urls"):
            return [str(u) for u in extra["base_urls"]]
    return [client.settings.base_url]


def _relay_clients(client: Any, urls: list[str]) -> list[Relay]:
    """One client per relay, sharing the provider run's statistics, rate limit and connection pool."""
    relays = []
    for url in urls:
        if url == client.settings.base_url:
            sub = client
        else:
            sub = ProviderClient(dataclasses.replace(client.settings, base_url=url), policy=client.policy)
            sub.stats, sub.bucket = client.stats, client.bucket
            sub._http.close()  # noqa: SLF001  the run's client owns (and closes) the one pool
            sub._http = client._http  # noqa: SLF001
        host = urlsplit(url).hostname or "relay"
        relays.append(Relay(mask_url(url) or "", f"GET {host} {PATH}", sub))
    return relays


def _clock(extra: dict[str, Any]) -> SlotClock:
    return SlotClock(
        int(extra.get("genesis_time", MAINNET.genesis_time)),
        int(extra.get("seconds_per_slot", MAINNET.seconds_per_slot)),
        int(extra.get("slots_per_epoch", MAINNET.slots_per_epoch)),
    )


class MevBoostRelayAdapter:
    name = NAME
    data_types = ("MEV",)

    def __init__(self, clock: Any = None) -> None:
        self._now = clock or (lambda: datetime.now(UTC))

    def check(self, client: Any) -> str:
        relays = _relay_clients(client, _base_urls(client, None))
        for relay in relays:
            body = relay.client.get_json(PATH, params={"limit": 1}, endpoint=relay.endpoint)
            try:
                PAGE.validate_python(body)
            except ValidationError as exc:
                raise ResponseInvalid(NAME, relay.endpoint, _field_problem(exc)) from None
        return f"{len(relays)} relay(s) answer"

    def open_run(self, client: Any, ctx: RunContext) -> RelayRun:
        extra = {**(getattr(client.settings, "extra", None) or {}), **ctx.extra}
        clock = _clock(extra)
        start, end = day_bounds(ctx.period, ctx.period_start, ctx.period_end)
        window = clock.day_window(start, end)
        ready_at = clock.slot_time(window.last_slot + 1)
        if self._now() < ready_at:
            raise NotYetAvailable(
                NAME, f"GET {PATH}", f"the last slot of {ctx.period} ends at {ready_at.isoformat()}"
            )
        return RelayRun(window, _relay_clients(client, _base_urls(client, ctx)))

    def fetch(self, client: Any, state: RelayRun, target: FetchTarget, data_type: str) -> dict[str, Any]:
        if data_type != "MEV":
            raise FetchFailed(NAME, "-", f"{NAME} serves MEV only, not {data_type}")
        pubkey = target.validator_key
        if not PUBKEY.match(pubkey):
            raise FetchFailed(
                NAME, f"GET {PATH}", f"validator key {pubkey} is not a BLS public key (0x + 96 hex)"
            )
        window = state.window
        requests: list[dict[str, Any]] = []
        responses: list[Any] = []
        for relay in state.relays:
            cursor = window.last_slot
            for _ in range(MAX_PAGES):
                params = {"proposer_pubkey": pubkey, "cursor": cursor, "limit": PAGE_LIMIT}
                body = relay.client.get_json(PATH, params=params, endpoint=relay.endpoint)
                try:
                    page = PAGE.validate_python(body)
                except ValidationError as exc:
                    raise ResponseInvalid(NAME, relay.endpoint, _field_problem(exc)) from None
                for position, trace in enumerate(page):
                    if trace.proposer_pubkey.lower() != pubkey.lower():
                        raise ResponseInvalid(
                            NAME,
                            relay.endpoint,
                            f"field {position}.proposer_pubkey: a payload of another proposer",
                        )
                requests.append({"relay": relay.shown, "method": "GET", "path": PATH, "params": params})
                responses.append(body)
                if len(page) < PAGE_LIMIT:
                    break
                lowest = min(int(t.slot) for t in page)
                if lowest > cursor:
                    raise ResponseInvalid(
                        NAME, relay.endpoint, f"field slot: {lowest} is above the cursor {cursor}"
                    )
                if lowest <= window.first_slot:
                    break
                cursor = lowest - 1
            else:
                raise FetchFailed(NAME, relay.endpoint, f"more than {MAX_PAGES} pages of delivered payloads")
        return {
            "requests": requests,
            "responses": responses,
            "slots": {"first": window.first_slot, "last": window.last_slot},
        }

    def to_canonical(self, data_type: str, validator_key: str, raw_payload: Any) -> list[CanonicalRow]:
        if data_type != "MEV":
            raise PayloadInvalid(f"{NAME} payloads hold MEV, not {data_type}")
        if not isinstance(raw_payload, dict) or not isinstance(raw_payload.get("responses"), list):
            raise PayloadInvalid(f"{NAME} payload is not an envelope with a responses list")
        slots = raw_payload.get("slots")
        if not isinstance(slots, dict) or not all(isinstance(slots.get(k), int) for k in ("first", "last")):
            raise PayloadInvalid(f"{NAME} envelope has no slots.first / slots.last")
        first, last = slots["first"], slots["last"]
        value_of: dict[str, int] = {}
        for position, body in enumerate(raw_payload["responses"]):
            try:
                page = PAGE.validate_python(body)
            except ValidationError as exc:
                raise PayloadInvalid(f"{NAME} response {position}: {_field_problem(exc)}") from None
            for trace in page:
                in_day = first <= int(trace.slot) <= last
                if in_day and trace.proposer_pubkey.lower() == validator_key.lower():
                    value_of.setdefault(trace.block_hash.lower(), int(trace.value))
        return [MevRow(Decimal(sum(value_of.values())), len(value_of))]


register(MevBoostRelayAdapter())
