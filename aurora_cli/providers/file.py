"""The `file` provider: the generic JSON Lines import format (SPEC §4).

Ingestion groups a file's records into one payload per (validator, data type), staged as
`{"records": [<line objects in file order>]}`. This adapter reads such a payload back with the
import format's own models, so staged data is validated twice by the same rules.
"""

from __future__ import annotations

from typing import Any

from aurora_cli.providers.base import (
    CanonicalRow,
    FeesRow,
    MetaRow,
    MevRow,
    PayloadInvalid,
    RewardRow,
    check_reward_set,
    register,
)
from aurora_cli.providers.file_format import (
    FeesRecord,
    InvalidRecord,
    MetaRecord,
    MevRecord,
    RewardsRecord,
    parse_payload,
)

NAME = "file"


def file_payload(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The staged payload for one (validator, data type) group of a file."""
    return {"records": records}


class FileAdapter:
    name = NAME

    def to_canonical(self, data_type: str, validator_key: str, raw_payload: Any) -> list[CanonicalRow]:
        if not isinstance(raw_payload, dict) or not isinstance(raw_payload.get("records"), list):
            raise PayloadInvalid("payload is not {'records': [...]}")
        records = raw_payload["records"]
        if not records:
            raise PayloadInvalid("payload has no records")
        parsed = []
        for index, obj in enumerate(records):
            try:
                record = parse_payload(obj)
            except InvalidRecord as exc:
                raise PayloadInvalid(f"record {index + 1}: {exc.reason}") from None
            if record.data_type != data_type or record.validator_key != validator_key:
                raise PayloadInvalid(
                    f"record {index + 1} is {record.data_type} for {record.validator_key}, "
                    f"expected {data_type} for {validator_key}"
                )
            parsed.append(record)
        if data_type != "REWARDS" and len(parsed) != 1:
            raise PayloadInvalid(f"{len(parsed)} {data_type} records for one validator; expected exactly one")
        rows = [_row(r) for r in parsed]
        if data_type == "REWARDS":
            check_reward_set(rows)  # type: ignore[arg-type]
        return rows


def _row(record: Any) -> CanonicalRow:
    if isinstance(record, FeesRecord):
        return FeesRow(record.total_fees_native, record.fee_count)
    if isinstance(record, MevRecord):
        return MevRow(record.total_mev_native, record.tip_count)
    if isinstance(record, RewardsRecord):
        return RewardRow(record.staker_address, record.rewards_native, record.commission_native)
    if isinstance(record, MetaRecord):
        return MetaRow(
            record.commission_rate_bps,
            record.is_mev_enabled,
            record.total_stake_native,
            record.active_stake_native,
            record.delegator_count,
            record.uptime_percentage,
        )
    raise PayloadInvalid(f"unsupported record {type(record).__name__}")


register(FileAdapter())
