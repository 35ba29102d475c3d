"""The canonical JSON encoding of a payload and its SHA-256 (SPEC §4: ``staging_payloads.response_hash``).

Owns: one byte-exact encoding of a JSON-able value (keys sorted, no insignificant whitespace,
non-ASCII kept as UTF-8, a ``Decimal`` written as the string ``money.to_plain_string`` gives: no
exponent, no trailing zeros) and the hex SHA-256 of it, so the same payload always hashes the same
whatever its key order or origin.

Never: accepts a ``float`` (its decimal rendering is not exact; decode JSON with
``parse_float=decimal.Decimal`` instead), NaN or infinities, or silently stringifies other types
(datetimes, UUIDs, bytes ...): the caller decides how those are spelt before hashing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aurora_cli.domain.money import to_plain_string


def _plain(value: Any) -> Any:
    """``value`` with every Decimal turned into its plain string, refusing what JSON cannot say exactly."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, Decimal):
        return to_plain_string(value)  # refuses NaN and infinities
    if isinstance(value, float):
        raise TypeError("canonical_json refuses float values; decode JSON with parse_float=decimal.Decimal")
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"canonical_json: object keys must be strings, got {type(key).__name__}")
            out[key] = _plain(item)
        return out
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    raise TypeError(f"canonical_json: cannot encode {type(value).__name__}")


def canonical_json(obj: Any) -> bytes:
    """The canonical UTF-8 encoding of ``obj``: sorted keys, ``,``/``:`` separators, no ASCII escaping."""
    text = json.dumps(_plain(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate, e.g. decoded from a "\\ud800" escape
        raise ValueError(f"canonical_json: string is not valid Unicode at position {exc.start}") from None


def sha256_hex(obj: Any) -> str:
    """Lower-case hex SHA-256 of ``canonical_json(obj)`` (64 characters, fits ``response_hash``)."""
    return hashlib.sha256(canonical_json(obj)).hexdigest()
