"""Canonical JSON and its SHA-256: the identity of a staged payload (SPEC §4)."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aurora_cli.domain.canonical_json import canonical_json, sha256_hex

PAYLOAD = {
    "data_type": "META",
    "validator_key": "V1",
    "commission_rate_bps": 500,
    "is_mev_enabled": True,
    "total_stake_native": "900000000000000",
    "active_stake_native": None,
    "uptime_percentage": "99.87",
}


def test_keys_sorted_no_whitespace_utf8():
    assert canonical_json({"b": 1, "a": [True, None, "x"], "é": {"z": 0, "y": "ü"}}) == (
        '{"a":[true,null,"x"],"b":1,"é":{"y":"ü","z":0}}'.encode()
    )


def test_exact_bytes_of_a_payload():
    assert canonical_json(PAYLOAD) == (
        b'{"active_stake_native":null,"commission_rate_bps":500,"data_type":"META","is_mev_enabled":true,'
        b'"total_stake_native":"900000000000000","uptime_percentage":"99.87","validator_key":"V1"}'
    )


def test_hash_is_sha256_of_the_canonical_bytes():
    assert sha256_hex(PAYLOAD) == hashlib.sha256(canonical_json(PAYLOAD)).hexdigest()
    assert len(sha256_hex(PAYLOAD)) == 64
    assert sha256_hex({}) == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


def test_hash_is_stable_under_key_order():
    reordered = dict(reversed(list(PAYLOAD.items())))
    assert list(reordered) != list(PAYLOAD)
    assert sha256_hex(reordered) == sha256_hex(PAYLOAD)


def test_hash_changes_when_any_value_changes():
    assert sha256_hex(PAYLOAD | {"total_stake_native": "900000000000001"}) != sha256_hex(PAYLOAD)
    # A string amount and a number are different payloads.
    assert sha256_hex({"n": 1}) != sha256_hex({"n": "1"})


def test_decimals_are_written_as_plain_decimal_strings():
    assert canonical_json({"a": Decimal("1E+3"), "b": Decimal("0.0000001"), "c": [Decimal("1.50")]}) == (
        b'{"a":"1000","b":"0.0000001","c":["1.5"]}'
    )


@pytest.mark.parametrize("value", [1.5, {"x": 0.1}, [2.0]])
def test_floats_are_refused(value):
    with pytest.raises(TypeError, match="float"):
        canonical_json(value)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity")])
def test_non_finite_decimals_are_refused(value):
    with pytest.raises(ValueError):
        canonical_json({"x": value})


@pytest.mark.parametrize("value", [{1: "x"}, {"x": object()}, {"x": b"bytes"}])
def test_values_json_cannot_spell_are_refused(value):
    with pytest.raises(TypeError):
        canonical_json(value)


def test_lone_surrogate_is_refused_cleanly():
    with pytest.raises(ValueError, match="not valid Unicode"):
        canonical_json({"x": json.loads('"\\ud800"')})


text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)


@given(json_values)
def test_round_trips_and_is_idempotent(value):
    encoded = canonical_json(value)
    decoded = json.loads(encoded.decode("utf-8"))
    assert decoded == value
    assert canonical_json(decoded) == encoded
