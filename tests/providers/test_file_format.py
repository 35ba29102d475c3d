"""The generic JSON Lines import format: records, bad-line reasons with line numbers, streaming."""

from __future__ import annotations

import inspect
import json
import tracemalloc
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from aurora_cli.domain.canonical_json import sha256_hex
from aurora_cli.providers import file_format
from aurora_cli.providers.file_format import (
    DATA_TYPES,
    FeesRecord,
    ImportRecord,
    InvalidRecord,
    LineError,
    MetaRecord,
    MevRecord,
    RecordLine,
    RewardsRecord,
    parse_line,
    parse_payload,
    read_import_file,
    record_payload,
)

REPO = Path(__file__).resolve().parents[2]

# The SPEC §4 example, verbatim.
SPEC_EXAMPLE = [
    '{"data_type": "FEES", "validator_key": "V1", "total_fees_native": "1250000000", "fee_count": 412}',
    '{"data_type": "MEV", "validator_key": "V1", "total_mev_native": "830000000", "tip_count": 97}',
    '{"data_type": "REWARDS", "validator_key": "V1", "staker_address": "S1", "rewards_native": "1000000000", '
    '"commission_native": "50000000"}',
    '{"data_type": "REWARDS", "validator_key": "V1", "staker_address": null, "rewards_native": "200000000", '
    '"commission_native": "0"}',
    '{"data_type": "META", "validator_key": "V1", "commission_rate_bps": 500, "is_mev_enabled": true, '
    '"total_stake_native": "900000000000000", "active_stake_native": "890000000000000", '
    '"delegator_count": 1234, "uptime_percentage": "99.87"}',
]

FEES = {"data_type": "FEES", "validator_key": "V1", "total_fees_native": "1250000000", "fee_count": 412}
MEV = {"data_type": "MEV", "validator_key": "V1", "total_mev_native": "830000000", "tip_count": 97}
REWARDS = {
    "data_type": "REWARDS",
    "validator_key": "V1",
    "staker_address": "S1",
    "rewards_native": "1000000000",
    "commission_native": "50000000",
}
META = {
    "data_type": "META",
    "validator_key": "V1",
    "commission_rate_bps": 500,
    "is_mev_enabled": True,
    "total_stake_native": "900000000000000",
}


def line(base: dict, **changes: object) -> str:
    """A JSON line from `base` with fields changed (value ...) or removed (value `DROP`)."""
    obj = {k: v for k, v in {**base, **changes}.items() if v is not DROP}
    return json.dumps(obj)


DROP = object()


def write(tmp_path: Path, lines: list[str], name: str = "import.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- valid files ---------------------------------------------------------------------------------


def test_spec_example_reads_as_five_records_of_all_four_types(tmp_path):
    results = list(read_import_file(write(tmp_path, SPEC_EXAMPLE)))

    assert [type(r) for r in results] == [RecordLine] * 5
    assert [r.line_no for r in results] == [1, 2, 3, 4, 5]
    fees, mev, delegator, validator_level, meta = (r.record for r in results)
    assert isinstance(fees, FeesRecord) and fees.total_fees_native == Decimal("1250000000")
    assert fees.fee_count == 412
    assert isinstance(mev, MevRecord) and mev.total_mev_native == Decimal("830000000") and mev.tip_count == 97
    assert isinstance(delegator, RewardsRecord) and delegator.staker_address == "S1"
    assert delegator.rewards_native == Decimal("1000000000")
    assert delegator.commission_native == Decimal("50000000")
    assert isinstance(validator_level, RewardsRecord) and validator_level.staker_address is None
    assert isinstance(meta, MetaRecord)
    assert meta.commission_rate_bps == 500 and meta.is_mev_enabled is True
    assert meta.total_stake_native == Decimal("900000000000000")
    assert meta.active_stake_native == Decimal("890000000000000")
    assert meta.delegator_count == 1234 and meta.uptime_percentage == Decimal("99.87")
    assert {r.record.data_type for r in results} == set(DATA_TYPES)


def test_amounts_are_decimals_never_floats(tmp_path):
    for result in read_import_file(write(tmp_path, SPEC_EXAMPLE)):
        for value in result.record.model_dump().values():
            assert not isinstance(value, float)


def test_meta_optional_fields_may_be_absent_or_null():
    absent = parse_line(line(META))
    null = parse_line(line(META, active_stake_native=None, delegator_count=None, uptime_percentage=None))
    for meta in (absent, null):
        assert isinstance(meta, MetaRecord)
        assert (meta.active_stake_native, meta.delegator_count, meta.uptime_percentage) == (None, None, None)


def test_blank_and_whitespace_lines_are_skipped_but_counted(tmp_path):
    path = write(tmp_path, ["", SPEC_EXAMPLE[0], "   ", "\t", SPEC_EXAMPLE[1], ""])
    assert [(type(r), r.line_no) for r in read_import_file(path)] == [(RecordLine, 2), (RecordLine, 5)]


def test_crlf_line_endings_and_a_utf8_bom_are_accepted(tmp_path):
    path = tmp_path / "windows.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(SPEC_EXAMPLE) + "\r\n").encode("utf-8"))
    results = list(read_import_file(path))
    assert [type(r) for r in results] == [RecordLine] * 5


def test_a_file_without_final_newline_reads_its_last_line(tmp_path):
    path = tmp_path / "no-newline.jsonl"
    path.write_text("\n".join(SPEC_EXAMPLE[:2]), encoding="utf-8")
    assert [r.line_no for r in read_import_file(path)] == [1, 2]


def test_fractional_amounts_and_leading_zeros_are_exact():
    record = parse_line(line(FEES, total_fees_native="000120.500000000000000001"))
    assert record.total_fees_native == Decimal("120.500000000000000001")


def test_largest_amount_that_fits_numeric_38_18_is_accepted():
    biggest = "9" * 20 + "." + "9" * 18
    assert parse_line(line(FEES, total_fees_native=biggest)).total_fees_native == Decimal(biggest)


@pytest.mark.parametrize("bps", [0, 10_000])
def test_commission_rate_bounds_are_inclusive(bps):
    assert parse_line(line(META, commission_rate_bps=bps)).commission_rate_bps == bps


@pytest.mark.parametrize("uptime", ["0", "100", "100.00", "99.9", "99.87"])
def test_uptime_percentage_in_range_with_up_to_two_places(uptime):
    assert parse_line(line(META, uptime_percentage=uptime)).uptime_percentage == Decimal(uptime)


# --- every bad-line class: its line number and one-sentence reason ------------------------------

V = "valid: FEES, MEV, REWARDS, META"
BAD_LINES = [
    # (id, the line, the reason)
    (
        "invalid-json",
        '{"data_type": "FEES", "validator_key": "V1"',
        "invalid JSON: Expecting ',' delimiter at column 44",
    ),
    (
        "invalid-json-trailing-comma",
        '{"data_type": "FEES",}',
        "invalid JSON: Expecting property name enclosed in double quotes at column 22",
    ),
    ("nan-literal", '{"data_type": "FEES", "x": NaN}', "invalid JSON: NaN is not a JSON value"),
    (
        "infinity-literal",
        '{"data_type": "FEES", "x": -Infinity}',
        "invalid JSON: -Infinity is not a JSON value",
    ),
    ("not-object-array", "[1, 2]", "not a JSON object (found an array)"),
    ("not-object-string", '"FEES"', "not a JSON object (found the string 'FEES')"),
    ("not-object-number", "42", "not a JSON object (found the number 42)"),
    ("not-object-null", "null", "not a JSON object (found null)"),
    ("unknown-data-type", line(FEES, data_type="TIPS"), f"unknown data type 'TIPS' ({V})"),
    ("data-type-case", line(FEES, data_type="fees"), f"unknown data type 'fees' ({V})"),
    ("data-type-not-string", line(FEES, data_type=7), f"unknown data type 7 ({V})"),
    ("missing-data-type", line(FEES, data_type=DROP), "missing field 'data_type'"),
    ("unknown-field", line(MEV, source="jito"), "unknown field 'source' for MEV records"),
    (
        "misspelt-field",
        line(FEES, total_fees_native=DROP, total_fee_native="1"),
        "unknown field 'total_fee_native' for FEES records (did you mean 'total_fees_native'?) "
        "(and 1 more problem)",
    ),
    (
        "duplicate-field",
        '{"data_type": "FEES", "validator_key": "V1", "total_fees_native": "1", '
        '"total_fees_native": "2", "fee_count": 1}',
        "duplicate field 'total_fees_native'",
    ),
    ("missing-field", line(MEV, tip_count=DROP), "missing field 'tip_count'"),
    (
        "missing-two-fields",
        line(MEV, tip_count=DROP, total_mev_native=DROP),
        "missing field 'total_mev_native' (and 1 more problem)",
    ),
    ("missing-staker-address", line(REWARDS, staker_address=DROP), "missing field 'staker_address'"),
    ("negative-amount", line(REWARDS, rewards_native="-1000"), "negative amount in 'rewards_native'"),
    ("negative-zero", line(REWARDS, commission_native="-0"), "negative amount in 'commission_native'"),
    (
        "non-numeric-amount",
        line(REWARDS, rewards_native="n/a"),
        "non-numeric amount in 'rewards_native': 'n/a'",
    ),
    ("nan-string", line(FEES, total_fees_native="NaN"), "non-numeric amount in 'total_fees_native': 'NaN'"),
    (
        "infinity-string",
        line(MEV, total_mev_native="Infinity"),
        "non-numeric amount in 'total_mev_native': 'Infinity'",
    ),
    ("empty-amount", line(FEES, total_fees_native=""), "empty amount in 'total_fees_native'"),
    (
        "float-amount",
        line(FEES, total_fees_native=1.5),
        "amounts must be decimal strings: 'total_fees_native' is the number 1.5",
    ),
    (
        "integer-amount",
        line(FEES, total_fees_native=1250000000),
        "amounts must be decimal strings: 'total_fees_native' is the number 1250000000",
    ),
    (
        "null-amount",
        line(META, total_stake_native=None),
        "amounts must be decimal strings: 'total_stake_native' is null",
    ),
    (
        "exponent-amount",
        line(REWARDS, rewards_native="1e9"),
        "invalid amount in 'rewards_native': '1e9' uses exponent notation; write all the digits out",
    ),
    (
        "separator-amount",
        line(FEES, total_fees_native="1,250,000"),
        "invalid amount in 'total_fees_native': '1,250,000' contains separators; write the digits without them",
    ),
    (
        "spaces-amount",
        line(FEES, total_fees_native=" 12"),
        "invalid amount in 'total_fees_native': ' 12' has surrounding spaces",
    ),
    (
        "too-many-decimals",
        line(FEES, total_fees_native="0." + "1" * 19),
        "invalid amount in 'total_fees_native': '0.1111111111111111111' has more than 18 decimal places",
    ),
    (
        "too-many-digits",
        line(FEES, total_fees_native="1" + "0" * 20),
        "invalid amount in 'total_fees_native': '100000000000000000000' has more than 20 integer digits "
        "(NUMERIC(38,18))",
    ),
    ("bps-above", line(META, commission_rate_bps=10_001), "commission_rate_bps outside 0..10000 (got 10001)"),
    ("bps-below", line(META, commission_rate_bps=-1), "commission_rate_bps outside 0..10000 (got -1)"),
    (
        "bps-string",
        line(META, commission_rate_bps="500"),
        "'commission_rate_bps' must be a JSON integer, not the string '500'",
    ),
    (
        "bps-fraction",
        '{"data_type": "META", "validator_key": "V1", "commission_rate_bps": 500.0, '
        '"is_mev_enabled": true, "total_stake_native": "1"}',
        "'commission_rate_bps' must be a JSON integer, not the number 500.0",
    ),
    ("count-negative", line(FEES, fee_count=-1), "'fee_count' must be >= 0 (got -1)"),
    ("count-too-big", line(MEV, tip_count=2**31), "'tip_count' must be <= 2147483647 (got 2147483648)"),
    ("count-bool", line(FEES, fee_count=True), "'fee_count' must be a JSON integer, not true"),
    (
        "mev-flag-not-bool",
        line(META, is_mev_enabled="yes"),
        "'is_mev_enabled' must be true or false, not the string 'yes'",
    ),
    ("uptime-above", line(META, uptime_percentage="100.5"), "uptime_percentage outside 0..100 (got 100.5)"),
    ("uptime-negative", line(META, uptime_percentage="-1"), "uptime_percentage outside 0..100 (got -1)"),
    (
        "uptime-three-places",
        line(META, uptime_percentage="99.875"),
        "uptime_percentage has more than 2 decimal places: '99.875'",
    ),
    (
        "uptime-number",
        line(META, uptime_percentage=99),
        'uptime_percentage must be a decimal string such as "99.87", not the number 99',
    ),
    (
        "uptime-word",
        line(META, uptime_percentage="high"),
        "uptime_percentage must be a decimal string such as \"99.87\", got 'high'",
    ),
    ("empty-validator-key", line(FEES, validator_key=""), "'validator_key' must not be empty"),
    (
        "long-validator-key",
        line(FEES, validator_key="k" * 101),
        "'validator_key' is longer than 100 characters",
    ),
    (
        "validator-key-number",
        line(FEES, validator_key=5),
        "'validator_key' must be a string, not the number 5",
    ),
    (
        "validator-key-spaces",
        line(FEES, validator_key="V1 "),
        "'validator_key' has leading or trailing whitespace",
    ),
    (
        "validator-key-nul",
        line(FEES, validator_key="V\u00001"),
        "'validator_key' contains a control character or invalid Unicode",
    ),
    ("empty-staker-address", line(REWARDS, staker_address=""), "'staker_address' must not be empty"),
    (
        "long-staker-address",
        line(REWARDS, staker_address="s" * 101),
        "'staker_address' is longer than 100 characters",
    ),
]


@pytest.mark.parametrize(("bad", "reason"), [pytest.param(b, r, id=i) for i, b, r in BAD_LINES])
def test_bad_line_is_reported_with_its_line_number_and_reason(tmp_path, bad, reason):
    path = write(tmp_path, [SPEC_EXAMPLE[0], "", bad, SPEC_EXAMPLE[1]])

    results = list(read_import_file(path))

    assert results[0] == RecordLine(1, results[0].record)
    assert results[1] == LineError(3, reason)
    assert isinstance(results[2], RecordLine) and results[2].line_no == 4


@pytest.mark.parametrize(("bad", "reason"), [pytest.param(b, r, id=i) for i, b, r in BAD_LINES])
def test_every_reason_is_one_sentence(bad, reason):
    with pytest.raises(InvalidRecord) as caught:
        parse_line(bad)
    assert caught.value.reason == reason
    assert reason and "\n" not in reason and not reason.endswith(".")


def test_invalid_utf8_line(tmp_path):
    path = tmp_path / "latin1.jsonl"
    latin1 = b'{"validator_key": "caf\xe9"}'
    path.write_bytes(SPEC_EXAMPLE[0].encode() + b"\n" + latin1 + b"\n" + SPEC_EXAMPLE[1].encode())
    results = list(read_import_file(path))
    assert results[1] == LineError(2, "line is not valid UTF-8 (byte 23)")
    assert [r.line_no for r in results] == [1, 2, 3]


def test_overlong_line_is_refused_without_buffering_it(tmp_path, monkeypatch):
    monkeypatch.setattr(file_format, "MAX_LINE_BYTES", 200)
    overlong = '{"data_type": "FEES", "pad": "' + "x" * 1000 + '"}'
    path = write(tmp_path, [SPEC_EXAMPLE[0], overlong, SPEC_EXAMPLE[1]])
    results = list(read_import_file(path))
    assert results[1] == LineError(2, "line is longer than 200 bytes")
    assert isinstance(results[2], RecordLine) and results[2].line_no == 3


def test_a_huge_integer_literal_is_a_line_error_not_a_crash():
    with pytest.raises(InvalidRecord, match="invalid JSON: a number has too many digits"):
        parse_line('{"data_type": "FEES", "fee_count": 1' + "0" * 5000 + "}")


def test_committed_bad_lines_sample_gives_one_error_per_class():
    results = list(read_import_file(REPO / "config/samples/bad/bad-lines.jsonl"))
    outcome = [(r.line_no, r.reason if isinstance(r, LineError) else r.record.data_type) for r in results]
    assert outcome == [
        (1, "FEES"),
        (2, "invalid JSON: Expecting ',' delimiter at column 139"),
        (3, "not a JSON object (found an array)"),
        (5, "unknown data type 'TIPS' (valid: FEES, MEV, REWARDS, META)"),
        (6, "unknown field 'source' for MEV records"),
        (7, "missing field 'tip_count'"),
        (8, "negative amount in 'rewards_native'"),
        (9, "non-numeric amount in 'rewards_native': 'n/a'"),
        (10, "amounts must be decimal strings: 'rewards_native' is the number 1000000000.5"),
        (11, "invalid amount in 'rewards_native': '1e9' uses exponent notation; write all the digits out"),
        (12, "missing field 'staker_address'"),
        (13, "commission_rate_bps outside 0..10000 (got 12000)"),
        (14, "uptime_percentage outside 0..100 (got 100.5)"),
        (15, "duplicate field 'total_fees_native'"),
        (16, "'validator_key' must not be empty"),
        (17, "MEV"),
        (18, "META"),
        (19, "REWARDS"),
        (20, "REWARDS"),
        # Well-formed records whose meaning the importer refuses (commission above the rewards; a
        # key that is not base58): tests/cli/test_pipeline_cli.py ingests the file.
        (21, "REWARDS"),
        (22, "REWARDS"),
    ]


# --- record_payload: what gets staged ------------------------------------------------------------


def test_payload_is_the_line_exactly_as_written(tmp_path):
    text = '{"validator_key": "V1", "data_type": "FEES", "total_fees_native": "000120.50", "fee_count": 3}'
    (result,) = read_import_file(write(tmp_path, [text]))
    payload = record_payload(result.record)
    assert payload == {
        "validator_key": "V1",
        "data_type": "FEES",
        "total_fees_native": "000120.50",
        "fee_count": 3,
    }
    assert list(payload) == ["validator_key", "data_type", "total_fees_native", "fee_count"]
    assert json.dumps(payload) == text


def test_payload_holds_only_json_scalars_and_round_trips(tmp_path):
    for result in read_import_file(write(tmp_path, SPEC_EXAMPLE)):
        payload = record_payload(result.record)
        assert all(v is None or isinstance(v, str | bool | int) for v in payload.values())
        # What normalization does with a staged payload read back from the database.
        assert parse_payload(json.loads(json.dumps(payload))) == result.record


def test_payload_hash_does_not_depend_on_key_order():
    forward = parse_line(SPEC_EXAMPLE[0])
    backward = parse_line(json.dumps(dict(reversed(list(json.loads(SPEC_EXAMPLE[0]).items())))))
    assert sha256_hex(record_payload(forward)) == sha256_hex(record_payload(backward))


def test_payload_of_a_record_built_in_code_uses_plain_decimal_strings():
    record = RewardsRecord(
        data_type="REWARDS",
        validator_key="V1",
        staker_address=None,
        rewards_native=Decimal("1E+3"),
        commission_native=Decimal("0.0000001"),
    )
    assert record_payload(record) == {
        "data_type": "REWARDS",
        "validator_key": "V1",
        "staker_address": None,
        "rewards_native": "1000",
        "commission_native": "0.0000001",
    }


def test_records_built_in_code_still_refuse_floats_and_negatives():
    with pytest.raises(ValidationError, match="amounts must be decimal strings"):
        FeesRecord(data_type="FEES", validator_key="V1", total_fees_native=1.5, fee_count=1)
    with pytest.raises(ValidationError, match="negative amount in 'total_fees_native'"):
        FeesRecord(data_type="FEES", validator_key="V1", total_fees_native=Decimal(-1), fee_count=1)


def test_records_compare_by_value_while_payloads_keep_the_spelling():
    from_file = parse_line(line(FEES, total_fees_native="000120", fee_count=1))
    in_code = FeesRecord(data_type="FEES", validator_key="V1", total_fees_native=Decimal(120), fee_count=1)
    assert from_file == in_code and hash(from_file) == hash(in_code)
    assert record_payload(from_file)["total_fees_native"] == "000120"
    assert record_payload(in_code)["total_fees_native"] == "120"


def test_records_are_immutable():
    record = parse_line(SPEC_EXAMPLE[0])
    with pytest.raises(ValidationError):
        record.fee_count = 1


def test_import_record_is_a_discriminated_union():
    adapter = TypeAdapter(ImportRecord)
    assert isinstance(adapter.validate_python(MEV | {"total_mev_native": "1"}), MevRecord)
    assert isinstance(adapter.validate_python(REWARDS), RewardsRecord)


@given(
    st.decimals(min_value=0, max_value=Decimal("9" * 20), places=18, allow_nan=False, allow_infinity=False)
)
def test_any_amount_that_fits_numeric_38_18_is_read_exactly(amount):
    text = format(amount, "f")
    record = parse_line(line(FEES, total_fees_native=text))
    assert record.total_fees_native == amount
    assert record_payload(record)["total_fees_native"] == text


# --- streaming ----------------------------------------------------------------------------------


def test_reader_is_a_lazy_generator(tmp_path):
    path = write(tmp_path, [SPEC_EXAMPLE[0]])
    reader = read_import_file(path)
    assert inspect.isgenerator(reader)

    first = next(reader)
    # Lines appended after the first record was read are still seen: nothing was read ahead eagerly.
    with open(path, "a", encoding="utf-8") as out:
        out.write(SPEC_EXAMPLE[1] + "\n")
    second = next(reader)

    assert (first.line_no, second.line_no) == (1, 2)
    assert isinstance(second.record, MevRecord)
    with pytest.raises(StopIteration):
        next(reader)


def test_memory_stays_flat_while_reading_a_large_file(tmp_path):
    path = tmp_path / "large.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for index in range(20_000):
            out.write(line(REWARDS, staker_address=f"S{index}") + "\n")
    size = path.stat().st_size

    tracemalloc.start()
    try:
        count = sum(1 for result in read_import_file(path) if isinstance(result, RecordLine))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 20_000
    assert size > 2_500_000
    assert peak < 512 * 1024, f"peak {peak} bytes while reading a {size}-byte file"
