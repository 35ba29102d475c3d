"""The generic JSON Lines import format (`file` provider, SPEC §4): its records and a streaming reader.

Owns: the four record models (FEES, MEV, REWARDS, META) as strict pydantic v2 models joined by a
discriminated union on ``data_type``; the rule that amounts are JSON strings (their text is then
parsed by ``domain.money.parse_amount``: non-negative plain decimals in native base units that fit
NUMERIC(38,18)); turning any bad line into one clear sentence with its 1-based line number; and
``record_payload``, the JSON-able dict of a record exactly as the file wrote it, which is what
ingestion stages (``parse_payload`` reads it back for normalization).

Never: reads a whole file into memory (the reader yields one line at a time), lets a ``float`` near
an amount (lines are decoded with ``parse_float=Decimal`` and amounts must be strings), touches the
database, or decides what to do with a bad line (``--strict`` / ``--skip-invalid`` is the ingest
service's call).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_serializer,
)
from pydantic_core import PydanticCustomError

from aurora_cli.domain.money import parse_amount, to_plain_string

DATA_TYPES: tuple[str, ...] = ("FEES", "MEV", "REWARDS", "META")

# Counts land in PostgreSQL INTEGER columns.
MAX_PG_INTEGER = 2_147_483_647
MAX_KEY_LENGTH = 100
# A legitimate record is a few hundred bytes; a longer line is refused rather than buffered.
MAX_LINE_BYTES = 1_048_576

_PLAIN_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class InvalidRecord(ValueError):
    """A line or staged payload that is not a valid import record; ``reason`` is one sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show(value: object) -> str:
    return _clip(repr(value))


def _json_kind(value: object) -> str:
    """How a decoded JSON value looked in the file, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {_show(value)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


_JSON_CONTEXT = {"decoded_json": True}


def _from_json(info: ValidationInfo) -> bool:
    """True when validating a decoded line or staged payload, where amounts must be JSON strings."""
    return bool(info.context and info.context.get("decoded_json"))


def _parse_amount(value: object, info: ValidationInfo) -> Decimal:
    """A non-negative plain decimal string -> Decimal (``money.parse_amount``); else one clear reason."""
    field = info.field_name
    if isinstance(value, int | Decimal) and not isinstance(value, bool) and not _from_json(info):
        # Records built in Python (not decoded from a line) may pass exact numbers directly.
        value = format(Decimal(value), "f")
    if not isinstance(value, str):
        raise PydanticCustomError(
            "aurora_amount",
            "amounts must be decimal strings: '{field}' is {kind}",
            {"field": field, "kind": _json_kind(value)},
        )
    try:
        return parse_amount(value)
    except ValueError as exc:
        detail = str(exc)
    # Name the common classes plainly; the rest keep money.parse_amount's explanation.
    try:
        number: Decimal | None = Decimal(value)
    except InvalidOperation:
        number = None
    if len(value) > 60:  # money's message quotes the whole text; keep the sentence readable
        detail = f"{_show(value)} is not a plain decimal number that fits NUMERIC(38,18)"
    context = {"field": field, "value": _show(value), "detail": detail}
    if value == "":
        raise PydanticCustomError("aurora_amount", "empty amount in '{field}'", context)
    no_digits = not any(char in "0123456789" for char in value)
    if (number is None and no_digits) or (number is not None and not number.is_finite()):
        raise PydanticCustomError("aurora_amount", "non-numeric amount in '{field}': {value}", context)
    if number is not None and value.lstrip().startswith("-"):
        raise PydanticCustomError("aurora_amount", "negative amount in '{field}'", context)
    raise PydanticCustomError("aurora_amount", "invalid amount in '{field}': {detail}", context)


def _printable(text: str) -> bool:
    """No control characters (PostgreSQL text refuses NUL) and no lone surrogates (category Cs)."""
    return text.isprintable()


def _name(field: str) -> str:
    return field if _printable(field) else ascii(field)


def _check_key(value: object, info: ValidationInfo) -> object:
    if isinstance(value, str) and value:
        # Keys are matched byte-for-byte against the registry; stray whitespace would make a new key.
        if value != value.strip():
            raise PydanticCustomError(
                "aurora_key", "'{field}' has leading or trailing whitespace", {"field": info.field_name}
            )
        if not _printable(value):
            raise PydanticCustomError(
                "aurora_key",
                "'{field}' contains a control character or invalid Unicode",
                {"field": info.field_name},
            )
    return value


def _parse_bps(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= 10_000:
        raise PydanticCustomError(
            "aurora_bps", "commission_rate_bps outside 0..10000 (got {value})", {"value": value}
        )
    return value


def _parse_uptime(value: object, info: ValidationInfo) -> object:
    if value is None:
        return None
    if isinstance(value, int | Decimal) and not isinstance(value, bool) and not _from_json(info):
        value = format(Decimal(value), "f")
    if not isinstance(value, str):
        raise PydanticCustomError(
            "aurora_uptime",
            'uptime_percentage must be a decimal string such as "99.87", not {kind}',
            {"kind": _json_kind(value)},
        )
    if _PLAIN_DECIMAL.fullmatch(value):
        if len(value.partition(".")[2]) > 2:
            raise PydanticCustomError(
                "aurora_uptime",
                "uptime_percentage has more than 2 decimal places: {value}",
                {"value": _show(value)},
            )
        parsed = Decimal(value)
        if parsed <= 100:
            return parsed
    elif not (value.startswith("-") and _PLAIN_DECIMAL.fullmatch(value[1:])):
        raise PydanticCustomError(
            "aurora_uptime",
            'uptime_percentage must be a decimal string such as "99.87", got {value}',
            {"value": _show(value)},
        )
    raise PydanticCustomError(
        "aurora_uptime", "uptime_percentage outside 0..100 (got {value})", {"value": _clip(value)}
    )


Amount = Annotated[Decimal, BeforeValidator(_parse_amount)]
ValidatorKey = Annotated[str, Field(min_length=1, max_length=MAX_KEY_LENGTH), BeforeValidator(_check_key)]
StakerAddress = Annotated[
    str | None, Field(min_length=1, max_length=MAX_KEY_LENGTH), BeforeValidator(_check_key)
]
Count = Annotated[int, Field(ge=0, le=MAX_PG_INTEGER)]
CommissionBps = Annotated[int, BeforeValidator(_parse_bps)]
Uptime = Annotated[Decimal | None, BeforeValidator(_parse_uptime)]


class _ImportRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    validator_key: ValidatorKey
    # The line's object as decoded from the file, kept so staging stores it unmodified.
    _source: dict[str, Any] | None = PrivateAttr(default=None)

    def __eq__(self, other: object) -> bool:
        # Records are values: "000120" and "120" in the file are the same amount. (Pydantic would also
        # compare the private source text.)
        if not isinstance(other, _ImportRecord):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    __hash__ = BaseModel.__hash__

    @field_serializer("*", when_used="json")
    def _plain_decimal(self, value: Any) -> Any:
        # Pydantic's default would write small or large Decimals with an exponent ("1E-7").
        return to_plain_string(value) if isinstance(value, Decimal) else value


class FeesRecord(_ImportRecord):
    """Execution fees a validator earned in the period (canonical_validator_fees)."""

    data_type: Literal["FEES"]
    total_fees_native: Amount
    fee_count: Count


class MevRecord(_ImportRecord):
    """MEV revenue the validator operator keeps in the period (canonical_validator_mev)."""

    data_type: Literal["MEV"]
    total_mev_native: Amount
    tip_count: Count


class RewardsRecord(_ImportRecord):
    """One stake-reward row: per delegator when ``staker_address`` is set, validator-level when null.

    ``staker_address`` must be present on every REWARDS line; an explicit ``null`` says "validator
    level" so a forgotten column cannot silently turn a delegator's reward into the operator's.
    """

    data_type: Literal["REWARDS"]
    staker_address: StakerAddress
    rewards_native: Amount
    commission_native: Amount


class MetaRecord(_ImportRecord):
    """Validator metadata for the period (canonical_validator_meta)."""

    data_type: Literal["META"]
    commission_rate_bps: CommissionBps
    is_mev_enabled: bool
    total_stake_native: Amount
    active_stake_native: Amount | None = None
    delegator_count: Count | None = None
    uptime_percentage: Uptime = None


AnyRecord = FeesRecord | MevRecord | RewardsRecord | MetaRecord
# The discriminated union: ``data_type`` picks the model, so errors name that model's fields only.
ImportRecord = Annotated[AnyRecord, Field(discriminator="data_type")]
_RECORD_ADAPTER: TypeAdapter[AnyRecord] = TypeAdapter(ImportRecord)


@dataclass(frozen=True, slots=True)
class RecordLine:
    """A valid line: its 1-based line number and the parsed record."""

    line_no: int
    record: AnyRecord


@dataclass(frozen=True, slots=True)
class LineError:
    """A rejected line: its 1-based line number and one sentence saying what is wrong."""

    line_no: int
    reason: str


ParsedLine = RecordLine | LineError


def _field_of(loc: tuple[int | str, ...]) -> str:
    # Union errors are located as (tag, field); the tag is not a field.
    names = [part for part in loc[1:] if isinstance(part, str)]
    return ".".join(names) if names else ".".join(str(part) for part in loc)


def _sentence(error: Mapping[str, Any], data_type: str, fields_missing: list[str]) -> str:
    kind = error["type"]
    field = _name(_field_of(tuple(error["loc"])))
    ctx = error.get("ctx") or {}
    if kind.startswith("aurora_"):
        return str(error["msg"])
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(field, fields_missing, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown field '{field}' for {data_type} records{hint}"
    if kind == "missing":
        return f"missing field '{field}'"
    if kind in ("string_type",):
        return f"'{field}' must be a string, not {_json_kind(error['input'])}"
    if kind == "string_too_short":
        return f"'{field}' must not be empty"
    if kind == "string_too_long":
        return f"'{field}' is longer than {ctx.get('max_length')} characters"
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return f"'{field}' must be a JSON integer, not {_json_kind(error['input'])}"
    if kind == "greater_than_equal":
        return f"'{field}' must be >= {ctx.get('ge')} (got {error['input']})"
    if kind == "less_than_equal":
        return f"'{field}' must be <= {ctx.get('le')} (got {error['input']})"
    if kind == "bool_type":
        return f"'{field}' must be true or false, not {_json_kind(error['input'])}"
    return f"'{field}': {error['msg']}"


def parse_payload(obj: object) -> AnyRecord:
    """Validate one decoded line (or a staged payload read back) into its record.

    Raises ``InvalidRecord`` with one sentence; when a line has several problems the first is named
    and the rest are counted.
    """
    if not isinstance(obj, dict):
        raise InvalidRecord(f"not a JSON object (found {_json_kind(obj)})")
    if "data_type" not in obj:
        raise InvalidRecord("missing field 'data_type'")
    for key in obj:
        if not _printable(key):
            raise InvalidRecord(f"unknown field {ascii(key)}")
    data_type = obj["data_type"]
    if not isinstance(data_type, str) or data_type not in DATA_TYPES:
        raise InvalidRecord(f"unknown data type {_show(data_type)} (valid: {', '.join(DATA_TYPES)})")
    try:
        record = _RECORD_ADAPTER.validate_python(obj, context=_JSON_CONTEXT)
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt field shows up as one unknown and one missing: name the unknown one, with a hint.
        errors.sort(key=lambda e: {"extra_forbidden": 0, "missing": 1}.get(e["type"], 2))
        missing = [_field_of(tuple(e["loc"])) for e in errors if e["type"] == "missing"]
        reason = _sentence(errors[0], data_type, missing)
        more = len(errors) - 1
        if more:
            reason += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise InvalidRecord(reason) from None
    record._source = dict(obj)
    return record


class _DuplicateKey(ValueError):
    pass


class _NonFiniteConstant(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            # json.loads would silently keep the last value; a finance file must not be ambiguous.
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def _refuse_constant(name: str) -> Any:
    raise _NonFiniteConstant(name)


# parse_float=Decimal: no float is ever created, not even for a value we then refuse.
_DECODER = json.JSONDecoder(
    parse_float=Decimal, parse_constant=_refuse_constant, object_pairs_hook=_refuse_duplicate_keys
)


def parse_line(text: str) -> AnyRecord:
    """Decode and validate one line of the import format; raises ``InvalidRecord``."""
    try:
        obj = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise InvalidRecord(f"invalid JSON: {exc.msg} at column {exc.pos + 1}") from None
    except _DuplicateKey as exc:
        raise InvalidRecord(f"duplicate field '{exc.args[0]}'") from None
    except _NonFiniteConstant as exc:
        raise InvalidRecord(f"invalid JSON: {exc.args[0]} is not a JSON value") from None
    except RecursionError:
        raise InvalidRecord("invalid JSON: nested too deeply") from None
    except ValueError:  # only an integer literal beyond Python's int-conversion limit gets here
        raise InvalidRecord("invalid JSON: a number has too many digits") from None
    return parse_payload(obj)


def _lines(handle: BinaryIO) -> Iterator[bytes | None]:
    """Yield the file's lines one at a time; ``None`` for a line longer than ``MAX_LINE_BYTES``.

    Never holds more than one (capped) line, so memory stays flat however long the file is.
    """
    while True:
        chunk = handle.readline(MAX_LINE_BYTES + 1)
        if not chunk:
            return
        if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
            while True:  # drain the rest of the oversize line without keeping it
                rest = handle.readline(MAX_LINE_BYTES)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        yield chunk


def read_import_file(path: str | Path) -> Iterator[ParsedLine]:
    """Stream an import file: one ``RecordLine`` or ``LineError`` per non-blank line, in file order.

    Line numbers are 1-based and count blank lines, so they match what an editor shows. A UTF-8
    byte-order mark at the start of the file is ignored. A missing or unreadable file raises
    ``OSError`` when iteration starts; bad content never raises, it becomes a ``LineError``.
    """
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(_lines(handle), start=1):
            if raw is None:
                yield LineError(line_no, f"line is longer than {MAX_LINE_BYTES} bytes")
                continue
            if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            parsed = _parsed_line(line_no, raw)
            if parsed is not None:
                yield parsed



def _parsed_line(line_no: int, raw: bytes) -> ParsedLine | None:
    """One line's record or its error; None for a blank line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return LineError(line_no, f"line is not valid UTF-8 (byte {exc.start + 1})")
    if not text.strip():
        return None
    try:
        return RecordLine(line_no, parse_line(text.rstrip("\r\n")))
    except InvalidRecord as exc:
        return LineError(line_no, exc.reason)

def record_payload(record: AnyRecord) -> dict[str, Any]:
    """The JSON-able dict to stage for ``record``: the line's object exactly as the file wrote it.

    For a record read from a file, amounts keep their original strings ("000120" stays "000120").
    For a record built in code, amounts are rendered as plain decimal strings (never exponents) and
    optional META fields that are unset are left out.
    """
    if record._source is not None:
        return dict(record._source)
    return record.model_dump(mode="json", exclude_unset=True)


# -- the set-based fast path ---------------------------------------------------------------------
#
# Ingesting a million lines through ``parse_line`` costs ~10 µs a line in Python. Almost every line
# of a real file is a REWARDS record of one plain shape, so ``scan_import_file`` hands such lines to
# PostgreSQL unparsed (``RawLine``) and ``FAST_REWARDS_SQL`` accepts, set-based, only the lines that
# ``parse_line`` would certainly accept with the same record. Anything the SQL does not accept comes
# back to ``parse_line``, so every error message and line number stays the one Python gives.

# Printable ASCII without a backslash: no escapes, no control characters, no non-ASCII, so every
# '"' delimits a string and the line's text is its own JSON encoding.
_PLAIN_ASCII = re.compile(rb"[\x20-\x5b\x5d-\x7e]*")


# The layout almost every REWARDS line of a real file has (the field order of SPEC §4, as json.dumps
# writes it), restated as one regular expression over the line's bytes: exactly these five fields in
# this order (so none twice), strings of printable ASCII without '"' or '\\' (so no escape: the text
# is its own value, and canonical JSON writes it back unchanged), keys of 1..100 characters without
# surrounding space (_check_key), amounts that are plain decimals certainly within NUMERIC(38,18)
# and written the way PostgreSQL's numeric prints them back (no leading zero: "000120" takes the
# other path), spaces only between tokens. A line it matches is one ``parse_line`` accepts, with the
# record ``fast_rewards_record`` spells; a line it does not match takes the other paths.
_FAST_KEY_BYTES = rb'"([!#-\[\]-~](?:[ !#-\[\]-~]{0,98}[!#-\[\]-~])?)"'
_FAST_AMOUNT_BYTES = rb'"((?:0|[1-9][0-9]{0,19})(?:\.[0-9]{1,18})?)"'
FAST_REWARDS_LINE = re.compile(
    rb' *\{ *"data_type" *: *"REWARDS" *, *"validator_key" *: *' + _FAST_KEY_BYTES
    + rb' *, *"staker_address" *: *(?:' + _FAST_KEY_BYTES + rb'|null)'
    + rb' *, *"rewards_native" *: *' + _FAST_AMOUNT_BYTES
    + rb' *, *"commission_native" *: *' + _FAST_AMOUNT_BYTES + rb' *\} *'
)  # fmt: skip

# A line ``FAST_REWARDS_LINE`` matched: (line_no, validator_key, staker_address or None,
# rewards_native, commission_native), the values as the file's bytes. A plain tuple, not a
# dataclass: there is one per line of a million-line file.
FastRewards = tuple[int, bytes, bytes | None, bytes, bytes]


def fast_rewards_record(validator_key: bytes, staker: bytes | None, rewards: bytes, commission: bytes) -> bytes:
    """``canonical_json(record_payload(parse_line(line)))`` of a line ``FAST_REWARDS_LINE`` matched."""
    return b'{"commission_native":"%s","data_type":"REWARDS","rewards_native":"%s","staker_address":%s,"validator_key":"%s"}' % (
        commission,
        rewards,
        b'"%s"' % staker if staker is not None else b"null",
        validator_key,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class RawLine:
    """A candidate REWARDS line left to ``FAST_REWARDS_SQL``: its line number and its bytes (no newline)."""

    line_no: int
    text: bytes


def scan_import_file(path: str | Path) -> Iterator[FastRewards | RawLine | ParsedLine]:
    """``read_import_file``, except for REWARDS lines: those of the common layout come back as their
    fields (``FastRewards``, matched by ``FAST_REWARDS_LINE``), other plain-ASCII lines naming REWARDS
    unparsed (``RawLine``).

    Same line numbers, BOM, blank-line and line-length rules; a ``RawLine`` that the SQL check does
    not accept must be given to ``parse_line`` (``explain_raw_line``).
    """
    fullmatch = _PLAIN_ASCII.fullmatch
    fast = FAST_REWARDS_LINE.fullmatch
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(_lines(handle), start=1):
            if raw is None:
                yield LineError(line_no, f"line is longer than {MAX_LINE_BYTES} bytes")
                continue
            if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            body = raw.rstrip(b"\r\n")
            match = fast(body)
            if match is not None:
                yield (line_no, *match.groups())  # type: ignore[misc]
                continue
            if b'"REWARDS"' in body and fullmatch(body):
                if body.strip(b" "):
                    yield RawLine(line_no, body)
                continue
            parsed = _parsed_line(line_no, raw)
            if parsed is not None:
                yield parsed


def explain_raw_line(line: RawLine) -> ParsedLine:
    """What ``read_import_file`` says of a line the SQL fast path did not accept."""
    try:
        return RecordLine(line.line_no, parse_line(line.text.decode("ascii")))
    except InvalidRecord as exc:
        return LineError(line.line_no, exc.reason)


# A flat JSON object whose values are strings or null (the line is plain ASCII, see above).
FAST_SHAPE = r'^ *\{ *"[^"]*" *: *("[^"]*"|null) *(, *"[^"]*" *: *("[^"]*"|null) *)*\} *$'
# (PostgreSQL's regex engine is slow on bounded repeats such as {0,98}: lengths are checked apart.)
_FAST_KEY = r"^[!-~]([ -~]*[!-~])?$"  # printable characters, no surrounding space


def fast_key(value: str) -> str:
    return f"({value}) ~ '{_FAST_KEY}' AND length({value}) <= {MAX_KEY_LENGTH}"


def fast_amount(value: str) -> str:
    """Plain decimals that certainly fit NUMERIC(38,18) (money.parse_amount also takes more leading zeros)."""
    return (
        f"({value}) ~ '^[0-9]+([.][0-9]+)?$' AND length(split_part({value}, '.', 1)) <= 20"
        f" AND length(split_part({value}, '.', 2)) <= 18"
    )


# RewardsRecord restated over ``j`` (the line as jsonb) and ``line`` (its text): exactly the five
# fields, each of its JSON type and rule; the quote count proves there was no duplicate field
# (jsonb keeps the last one silently; json.loads here refuses it). Yields the record as
# canonical_json(record_payload(record)) would encode it: keys sorted, no whitespace.
FAST_REWARDS_SQL = f"""
    SELECT line_no, j->>'validator_key' AS validator_key, 'REWARDS' AS data_type,
           '{{"commission_native":"' || (j->>'commission_native') || '","data_type":"REWARDS","rewards_native":"'
           || (j->>'rewards_native') || '","staker_address":'
           || coalesce('"' || (j->>'staker_address') || '"', 'null')
           || ',"validator_key":"' || (j->>'validator_key') || '"}}' AS record,
           j->>'staker_address' AS staker_address, (j->>'rewards_native')::numeric AS rewards_native,
           (j->>'commission_native')::numeric AS commission_native
    FROM (
        SELECT line_no, line, CASE WHEN {{shape_check}} THEN line::jsonb END AS j
        FROM import_raw WHERE validator_key IS NULL OFFSET 0
    ) candidate
    WHERE j IS NOT NULL AND jsonb_typeof(j) = 'object'
      AND j ?& '{{data_type,validator_key,staker_address,rewards_native,commission_native}}'
      AND j - '{{data_type,validator_key,staker_address,rewards_native,commission_native}}'::text[] = '{{}}'
      AND j->>'data_type' = 'REWARDS' AND jsonb_typeof(j->'data_type') = 'string'
      AND jsonb_typeof(j->'validator_key') = 'string' AND {fast_key("j->>'validator_key'")}
      AND (jsonb_typeof(j->'staker_address') = 'null' OR ({fast_key("j->>'staker_address'")}))
      AND jsonb_typeof(j->'rewards_native') = 'string' AND {fast_amount("j->>'rewards_native'")}
      AND jsonb_typeof(j->'commission_native') = 'string' AND {fast_amount("j->>'commission_native'")}
      AND length(line) - length(replace(line, '"', ''))
          = CASE WHEN jsonb_typeof(j->'staker_address') = 'null' THEN 18 ELSE 20 END
"""


def fast_rewards_sql(*, check_shape: bool, table: str = "import_raw") -> str:
    """``FAST_REWARDS_SQL`` over ``table``'s candidate lines (``validator_key`` null); without
    ``check_shape`` it casts every candidate line to jsonb unchecked.

    That is the fast try for a file whose lines all parse (the common case): it raises on the first
    line that is not JSON, and the caller then reruns it with the shape check.
    """
    return FAST_REWARDS_SQL.replace("{shape_check}", f"line ~ '{FAST_SHAPE}'" if check_shape else "true").replace(
        "FROM import_raw WHERE", f"FROM {table} WHERE"
    )
