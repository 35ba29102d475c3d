"""Validator keys per chain family: base58 32-byte Solana vote accounts, 0x + 96 hex Ethereum BLS keys."""

from __future__ import annotations

import os

import pytest

from aurora_cli.domain.validator_keys import (
    base58_decode,
    base58_encode,
    chain_family,
    validator_key_problem,
)


def test_chain_family_is_the_chain_id_prefix():
    assert [
        chain_family(c) for c in ("solana-mainnet", "solana-devnet", "ethereum-mainnet", "ethereum-holesky")
    ] == [
        "solana",
        "solana",
        "ethereum",
        "ethereum",
    ]
    assert chain_family("cosmoshub-4") is None and chain_family("x") is None


def test_base58_known_values_and_round_trip():
    # The System Program and the Vote Program ids, as Solana writes them.
    assert base58_decode("11111111111111111111111111111111") == bytes(32)
    assert len(base58_decode("Vote111111111111111111111111111111111111111")) == 32
    assert base58_decode("2g") == b"a" and base58_decode("") == b""
    assert base58_decode("1112") == b"\0\0\0\x01"
    for data in (bytes(32), b"\xff" * 32, b"\0\x01" + os.urandom(30), os.urandom(32)):
        assert base58_decode(base58_encode(data)) == data
    with pytest.raises(ValueError, match="'0' is not a base58 character"):
        base58_decode("AuroraVote0")


@pytest.mark.parametrize(
    "key",
    [
        "AuroraVote1111111111111111111111111111111111",  # the samples' keys: 44 characters, 32 bytes
        "Vote111111111111111111111111111111111111111",
        "11111111111111111111111111111111",
        base58_encode(b"\xff" * 32),
    ],
)
def test_well_formed_solana_keys(key):
    assert validator_key_problem("solana", key) is None


@pytest.mark.parametrize(
    "key",
    [
        "V1",  # decodes, but to 1 byte
        base58_encode(b"\x01" * 31),  # 31 bytes
        base58_encode(b"\x01" * 33),  # 33 bytes
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",  # 44 digits worth more than 2**256
        "AuroraVote0000000000000000000000000000000000",  # '0' is not base58
        "AuroraVoteIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIII",  # nor 'I', 'O', 'l'
        "0x" + "a" * 96,  # an Ethereum key on Solana
        "A" * 100,
    ],
)
def test_malformed_solana_keys_are_named_in_one_sentence(key):
    assert validator_key_problem("solana", key) == (
        f"validator_key {key!r} is not a Solana vote account key (base58, 32 bytes)"
    )


def test_ethereum_keys_are_0x_and_96_lowercase_hex_digits():
    good = "0x" + "a0" + "0" * 93 + "1"
    assert validator_key_problem("ethereum", good) is None
    sentence = "is not an Ethereum validator public key (0x + 96 lowercase hex digits)"
    for bad in (
        "0x" + "a" * 95,
        "0x" + "a" * 97,
        "a" * 98,
        "0X" + "a" * 96,
        "0x" + "A" * 96,  # matched byte-for-byte, so upper case would be a second identity
        "0x" + "g" * 96,
        "AuroraVote1111111111111111111111111111111111",
    ):
        assert validator_key_problem("ethereum", bad) == f"validator_key {bad!r} {sentence}"


def test_other_families_have_no_key_rule():
    assert validator_key_problem(None, "anything") is None
