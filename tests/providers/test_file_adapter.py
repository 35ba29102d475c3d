"""The `file` adapter: a staged `{"records": [...]}` payload read back into canonical rows (SPEC §4, §5).

Given a payload as ingestion stages it, when `to_canonical` reads it, then the rows carry the
record's exact values (Decimal amounts, ints, booleans) or it raises `PayloadInvalid` with the reason.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from aurora_cli.providers.base import FeesRow, MetaRow, MevRow, PayloadInvalid, RewardRow, adapter_for
from aurora_cli.providers.file import NAME, FileAdapter, file_payload

V1 = "V1"
ADAPTER = FileAdapter()


def fees(**extra):
    return {
        "data_type": "FEES",
        "validator_key": V1,
        "total_fees_native": "1250000000",
        "fee_count": 412,
        **extra,
    }


def reward(staker, rewards, commission):
    return {
        "data_type": "REWARDS",
        "validator_key": V1,
        "staker_address": staker,
        "rewards_native": rewards,
        "commission_native": commission,
    }


def test_registered_under_its_name():
    assert NAME == "file"
    assert isinstance(adapter_for("file"), FileAdapter)
    assert adapter_for("no-such-provider") is None


def test_file_payload_wraps_the_records():
    assert file_payload([fees()]) == {"records": [fees()]}


def test_fees():
    assert ADAPTER.to_canonical("FEES", V1, file_payload([fees()])) == [FeesRow(Decimal("1250000000"), 412)]


def test_mev():
    record = {"data_type": "MEV", "validator_key": V1, "total_mev_native": "830000000", "tip_count": 97}
    (row,) = ADAPTER.to_canonical("MEV", V1, file_payload([record]))
    assert row == MevRow(Decimal("830000000"), 97)
    assert isinstance(row.total_mev_native, Decimal)


def test_meta_with_every_field():
    record = {
        "data_type": "META",
        "validator_key": V1,
        "commission_rate_bps": 500,
        "is_mev_enabled": True,
        "total_stake_native": "900000000000000",
        "active_stake_native": "890000000000000",
        "delegator_count": 1234,
        "uptime_percentage": "99.87",
    }
    assert ADAPTER.to_canonical("META", V1, file_payload([record])) == [
        MetaRow(500, True, Decimal("900000000000000"), Decimal("890000000000000"), 1234, Decimal("99.87"))
    ]


def test_rewards_set_keeps_file_order_and_exact_amounts():
    payload = file_payload(
        [
            reward("S1", "1000000000", "50000000"),
            reward(None, "200000000", "0"),
            reward("S2", "0.000000000000000001", "0"),
        ]
    )
    assert ADAPTER.to_canonical("REWARDS", V1, payload) == [
        RewardRow("S1", Decimal("1000000000"), Decimal("50000000")),
        RewardRow(None, Decimal("200000000"), Decimal("0")),
        RewardRow("S2", Decimal("1E-18"), Decimal("0")),
    ]


def test_validator_level_aggregate_commission_alone_is_accepted():
    rows = ADAPTER.to_canonical(
        "REWARDS", V1, file_payload([reward(None, "7", "3"), reward("S1", "10", "0")])
    )
    assert rows == [RewardRow(None, Decimal(7), Decimal(3)), RewardRow("S1", Decimal(10), Decimal(0))]


@pytest.mark.parametrize(
    ("data_type", "payload", "reason"),
    [
        ("FEES", [fees()], "payload is not {'records': [...]}"),
        ("FEES", {"rows": [fees()]}, "payload is not {'records': [...]}"),
        ("FEES", {"records": "x"}, "payload is not {'records': [...]}"),
        ("FEES", {"records": []}, "payload has no records"),
        ("FEES", file_payload([fees(), fees()]), "2 FEES records for one validator; expected exactly one"),
        ("FEES", file_payload([reward("S1", "1", "0")]), "record 1 is REWARDS for V1, expected FEES for V1"),
        (
            "FEES",
            file_payload([{**fees(), "validator_key": "V2"}]),
            "record 1 is FEES for V2, expected FEES for V1",
        ),
        ("FEES", file_payload([{**fees(), "total_fees_native": "-1"}]), "record 1: "),
        ("FEES", file_payload([fees(colour="red")]), "record 1: unknown field 'colour'"),
        ("FEES", file_payload([{"validator_key": V1}]), "record 1: missing field 'data_type'"),
        ("FEES", file_payload(["not an object"]), "record 1: not a JSON object"),
        (
            "REWARDS",
            file_payload([reward("S1", "1", "0"), reward("S1", "2", "0")]),
            "staker S1 appears more than once",
        ),
        (
            "REWARDS",
            file_payload([reward(None, "1", "0"), reward(None, "2", "0")]),
            "the validator-level row appears more than once",
        ),
        (
            "REWARDS",
            file_payload([reward("S1", "10", "1"), reward(None, "5", "2")]),
            "commission is given both per delegator and as an aggregate; give one or the other",
        ),
    ],
)
def test_payload_invalid_reasons(data_type, payload, reason):
    with pytest.raises(PayloadInvalid) as raised:
        ADAPTER.to_canonical(data_type, V1, payload)
    assert str(raised.value).startswith(reason), str(raised.value)


def test_negative_amount_reason_names_the_field():
    with pytest.raises(PayloadInvalid) as raised:
        ADAPTER.to_canonical("FEES", V1, file_payload([{**fees(), "total_fees_native": "-1"}]))
    assert "total_fees_native" in str(raised.value)


def test_second_record_is_numbered():
    with pytest.raises(PayloadInvalid, match=r"^record 2: .*commission_native"):
        ADAPTER.to_canonical("REWARDS", V1, file_payload([reward("S1", "1", "0"), reward("S2", "1", "x")]))
