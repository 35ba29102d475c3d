"""JSON forms of values: the canonical encoding and its SHA-256 (SPEC §4), and the lenient output form.

Owns: one byte-exact encoding of a JSON-able value (keys sorted, no insignificant whitespace,
non-ASCII kept as UTF-8, a ``Decimal`` written as the string ``money.to_plain_string`` gives: no
exponent, no trailing zeros) and the hex SHA-256 of it, so the same payload always hashes the same
whatever its key order or origin.

`jsonable` is the lenient form of the same walk for output and audit snapshots (SPEC §13: UUIDs
as strings, timestamps ISO 8601); `render.output` and `services.audit` use it.

``canonical_json`` never: accepts a ``float`` (its decimal rendering is not exact; decode JSON with
``parse_float=decimal.Decimal`` instead), NaN or infinities, or silently stringifies other types
(datetimes, UUIDs, bytes ...): the caller decides how those are spelt before hashing.
"""

from __future__ import annotations

import enum
import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from aurora_cli.domain.money import to_plain_string


def jsonable(value: Any) -> Any:
    """``value`` in its JSON form under the SPEC §13 conventions, for output and audit snapshots.

    Lenient where `canonical_json` is strict: UUIDs become strings, datetimes and dates ISO 8601,
    enums their value, sets lists; anything else (floats included) passes through unchanged.
    """
    return _json_form(value, strict=False)


def _json_form(value: Any, *, strict: bool) -> Any:
    """The one walk over a value: every Decimal a plain string; `strict` refuses what is not exact JSON."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, Decimal):
        return to_plain_string(value)  # refuses NaN and infinities
    if isinstance(value, Mapping):
        if strict:
            for key in value:
                if not isinstance(key, str):
                    raise TypeError(f"canonical_json: object keys must be strings, got {type(key).__name__}")
        return {str(key): _json_form(item, strict=strict) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_form(item, strict=strict) for item in value]
    if strict:
        if isinstance(value, float):
            raise TypeError(
                "canonical_json refuses float values; decode JSON with parse_float=decimal.Decimal"
            )
        raise TypeError(f"canonical_json: cannot encode {type(value).__name__}")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return [_json_form(item, strict=False) for item in value]
    return value


def canonical_json(obj: Any) -> bytes:
    """The canonical UTF-8 encoding of ``obj``: sorted keys, ``,``/``:`` separators, no ASCII escaping."""
    text = json.dumps(
        _json_form(obj, strict=True),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate, e.g. decoded from a "\\ud800" escape
        raise ValueError(f"canonical_json: string is not valid Unicode at position {exc.start}") from None


def sha256_hex(obj: Any) -> str:
    """Lower-case hex SHA-256 of ``canonical_json(obj)`` (64 characters, fits ``response_hash``)."""
    return hashlib.sha256(canonical_json(obj)).hexdigest()
