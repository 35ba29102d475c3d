"""The `solanabeach` provider: Solana Beach API for Solana validator META (needs an API key).

Request (one per validator and period): GET {base}/validator/{vote_pubkey} with
`Authorization: Bearer <key from api_key_env>` (the header is never recorded). Staged as the
envelope of that one request, the body as received.

META:
  commission_rate_bps = commission (percent, 0..100, may be fractional) × 100, exact
  total_stake_native  = active_stake_native = activatedStake (lamports)
  delegator_count     = delegatorCount when given, else NULL; uptime_percentage NULL
  is_mev_enabled      = false here: derived at normalization from the period's MEV row (Jito)
Solana Beach reports the validator as of the request, not as of the epoch.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from aurora_cli.errors import InvalidInput
from aurora_cli.providers.base import CanonicalRow, FetchTarget, MetaRow, PayloadInvalid, RunContext, register
from aurora_cli.providers.http import FetchFailed, ProviderClient, ResponseInvalid, validate_response

NAME = "solanabeach"
ENDPOINT = "GET validator/{vote_pubkey}"


class Validator(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    votePubkey: StrictStr
    commission: Decimal = Field(ge=0, le=100)
    activatedStake: StrictInt = Field(ge=0)
    delegatorCount: StrictInt | None = None


class SolanaBeachAdapter:
    name = NAME
    data_types = ("META",)

    def _headers(self, client: ProviderClient) -> dict[str, str]:
        if not client.api_key:
            raise FetchFailed(NAME, "authorization", f"the API key variable {client.settings.api_key_env} is not set")
        return {"Authorization": f"Bearer {client.api_key}"}

    def check(self, client: ProviderClient) -> str:
        client.get_json("health", headers=self._headers(client), endpoint="GET health")
        return "answered"

    def open_run(self, client: ProviderClient, ctx: RunContext) -> None:
        self._headers(client)

    def fetch(self, client: ProviderClient, state: Any, target: FetchTarget, data_type: str) -> Any:
        if not target.vote_pubkey:
            raise InvalidInput(
                f"validator {target.validator_key} has no vote_pubkey in config/validators.toml: "
                f"{NAME} needs it; add it and run `aurora config apply`."
            )
        with client.recording() as rec:
            body = client.get_json(f"validator/{target.vote_pubkey}", headers=self._headers(client), endpoint=ENDPOINT)
        validate_response(Validator, body, NAME, ENDPOINT)
        return rec.envelope()

    def to_canonical(self, data_type: str, validator_key: str, raw_payload: Any) -> list[CanonicalRow]:
        if data_type != "META":
            raise PayloadInvalid(f"{NAME} does not serve {data_type}")
        try:
            body = raw_payload["responses"][0]
        except (KeyError, IndexError, TypeError):
            raise PayloadInvalid("payload is not a solanabeach envelope") from None
        try:
            v = validate_response(Validator, body, NAME, ENDPOINT)
        except ResponseInvalid as exc:
            raise PayloadInvalid(exc.reason) from None
        bps = v.commission * 100
        if bps != bps.to_integral_value():
            raise PayloadInvalid(f"field commission {v.commission}% is finer than one basis point")
        stake = Decimal(v.activatedStake)
        return [MetaRow(int(bps), False, stake, stake, v.delegatorCount, None)]


register(SolanaBeachAdapter())
