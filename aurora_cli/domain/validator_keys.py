"""What a validator key looks like on each chain family, and which family a chain belongs to.

Owns: the chain family of a chain id (``solana-mainnet``, ``solana-devnet`` → ``solana``;
``ethereum-mainnet``, ``ethereum-holesky`` → ``ethereum``; the families are the prefixes the
configured chains and the synthetic data use), a base58 decoder (Bitcoin/Solana alphabet), and
``validator_key_problem``, the one sentence saying why a key is not well-formed for its family.

A Solana validator is keyed by its vote account: base58 text that decodes to exactly 32 bytes. An
Ethereum validator is keyed by its BLS public key: ``0x`` and 96 lowercase hex digits (48 bytes;
lowercase as the beacon API writes it, since keys are matched byte-for-byte and ``0xAB…`` would be a
second identity of ``0xab…``). A chain of another family has no key rule here.

Never: touches the database or decides what to do with a bad key (the importer's call).
"""

from __future__ import annotations

import re

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {char: index for index, char in enumerate(BASE58_ALPHABET)}
SOLANA_KEY_BYTES = 32
ETHEREUM_PUBKEY_HEX_DIGITS = 96
_ETHEREUM_PUBKEY = re.compile(r"0x[0-9a-f]{96}")

SOLANA = "solana"
ETHEREUM = "ethereum"
FAMILIES = (SOLANA, ETHEREUM)


def chain_family(chain_id: str) -> str | None:
    """``solana`` / ``ethereum`` for a chain id of that family (by its prefix), else None."""
    prefix = chain_id.split("-", 1)[0].lower()
    return prefix if prefix in FAMILIES else None


def base58_decode(text: str) -> bytes:
    """The bytes of base58 ``text`` (each leading ``1`` is a zero byte); ValueError outside the alphabet."""
    number = 0
    for char in text:
        index = _BASE58_INDEX.get(char)
        if index is None:
            raise ValueError(f"{char!r} is not a base58 character")
        number = number * 58 + index
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def base58_encode(data: bytes) -> str:
    """Base58 of ``data``; inverse of ``base58_decode``."""
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(BASE58_ALPHABET[rest])
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + "".join(reversed(digits))


def _shown(key: str) -> str:
    # Whole: the reader must find the key in the file (import keys are at most 100 characters).
    shown = repr(key)
    return shown if len(shown) <= 104 else shown[:101] + "..."


def validator_key_problem(family: str | None, key: str) -> str | None:
    """One sentence saying why ``key`` is not a validator key of ``family``; None when it is one."""
    if family == SOLANA:
        # 32 bytes are at most 44 base58 digits; a longer text is refused before any arithmetic.
        if len(key) <= 44:
            try:
                if len(base58_decode(key)) == SOLANA_KEY_BYTES:
                    return None
            except ValueError:
                pass
        return f"validator_key {_shown(key)} is not a Solana vote account key (base58, 32 bytes)"
    if family == ETHEREUM:
        if _ETHEREUM_PUBKEY.fullmatch(key):
            return None
        return (
            f"validator_key {_shown(key)} is not an Ethereum validator public key"
            f" (0x + {ETHEREUM_PUBKEY_HEX_DIGITS} lowercase hex digits)"
        )
    return None
