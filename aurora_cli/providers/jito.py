"""The `jito` provider: Jito's public Kobe API for Solana MEV of epoch E (lamports).

Request (one per validator and epoch, no key): GET {base}/api/v1/validators/{vote_pubkey} — the
validator's per-epoch history, a JSON array of entries
`{"epoch": int, "mev_rewards": int (lamports, the epoch's total tips), "mev_commission_bps": int,
"running_jito": bool, ...}`. Staged as the envelope of that one request (the whole body as
received: the epoch's total tips and the bps stay visible).

MEV: the entry whose `epoch` is E.
  total_mev_native = floor(mev_rewards × mev_commission_bps / 10000) — the operator's share
  tip_count        = 0: Kobe reports the epoch's tip total, not a count of tips (documented choice)
  `mev_rewards` is 0 (or E has no entry yet) until Jito uploads the epoch's merkle root: the item
  is not yet available — reported, not staged as a zero. A zero here is never a canonical zero.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from aurora_cli.errors import InvalidInput
from aurora_cli.providers.base import CanonicalRow, FetchTarget, MevRow, PayloadInvalid, RunContext, register
from aurora_cli.providers.http import NotYetAvailable, ProviderClient, ResponseInvalid, validate_response

NAME = "jito"
ENDPOINT = "GET api/v1/validators/{vote_account}"


class EpochEntry(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    epoch: StrictInt
    mev_rewards: StrictInt = Field(ge=0)
    mev_commission_bps: StrictInt = Field(ge=0, le=10000)


class History(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    entries: list[dict[str, Any]]


def _entry_for(body: Any, epoch: int) -> EpochEntry | None:
    history = validate_response(History, {"entries": body}, NAME, ENDPOINT)
    for raw in history.entries:
        if raw.get("epoch") == epoch:
            return validate_response(EpochEntry, raw, NAME, ENDPOINT)
    return None


class JitoAdapter:
    name = NAME
    data_types = ("MEV",)

    def check(self, client: ProviderClient) -> str:
        client.get_json("api/v1/validators", endpoint="GET api/v1/validators")
        return "answered"

    def open_run(self, client: ProviderClient, ctx: RunContext) -> int:
        return int(ctx.period)

    def fetch(self, client: ProviderClient, epoch: int, target: FetchTarget, data_type: str) -> Any:
        if not target.vote_pubkey:
            raise InvalidInput(
                f"validator {target.validator_key} has no vote_pubkey in config/validators.toml: "
                f"{NAME} needs it; add it and run `aurora config apply`."
            )
        with client.recording() as rec:
            body = client.get_json(f"api/v1/validators/{target.vote_pubkey}", endpoint=ENDPOINT)
        entry = _entry_for(body, epoch)
        if entry is None or entry.mev_rewards == 0:
            raise NotYetAvailable(NAME, ENDPOINT, f"Jito has not published MEV rewards for epoch {epoch} yet")
        envelope = rec.envelope()
        envelope["requests"][0]["epoch"] = epoch  # which entry of the history this item is
        return envelope

    def to_canonical(self, data_type: str, validator_key: str, raw_payload: Any) -> list[CanonicalRow]:
        if data_type != "MEV":
            raise PayloadInvalid(f"{NAME} does not serve {data_type}")
        try:
            request, body = raw_payload["requests"][0], raw_payload["responses"][0]
            epoch = int(request["epoch"])
        except (KeyError, IndexError, TypeError, ValueError):
            raise PayloadInvalid("payload is not a jito envelope with the epoch of its request") from None
        try:
            entry = _entry_for(body, epoch)
        except ResponseInvalid as exc:
            raise PayloadInvalid(exc.reason) from None
        if entry is None or entry.mev_rewards == 0:
            raise PayloadInvalid(f"the history has no MEV rewards for epoch {epoch}")
        return [MevRow(Decimal(entry.mev_rewards * entry.mev_commission_bps // 10000), 0)]


register(JitoAdapter())
