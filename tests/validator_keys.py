"""Readable, well-formed validator keys for test data (the importer refuses malformed ones).

``solana_key("V1")`` is ``"V1Vote111…"``: the label, ``Vote``, then ``1`` padding, as long as base58
allows for exactly 32 bytes (like the sample data's ``AuroraVote1111…``). ``ethereum_key(1)`` is
``0x`` + 96 hex digits ending in the number, like the samples' ``0xa000…0001``.
"""

from __future__ import annotations

from aurora_cli.domain.validator_keys import SOLANA_KEY_BYTES, base58_decode


def solana_key(label: str) -> str:
    stem = f"{label}Vote"
    for length in (44, 43):
        key = stem + "1" * (length - len(stem))
        if len(base58_decode(key)) == SOLANA_KEY_BYTES:
            return key
    raise ValueError(f"no 32-byte base58 key starts with {stem!r}")


def ethereum_key(number: int) -> str:
    return "0x" + "b" + format(number, "095x")
