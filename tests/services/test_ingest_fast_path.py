"""The REWARDS fast paths only accept what Python's reader accepts, with the same record.

Given tricky lines, when the scan's regular expression (`file_format.FAST_REWARDS_LINE`) or
PostgreSQL (`FAST_REWARDS_SQL`) checks them, then every line either accepts is one `parse_line`
accepts with the same canonical record, and the common shapes are accepted (the fast paths are used).
"""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import text

from aurora_cli.db.engine import transaction
from aurora_cli.domain.canonical_json import canonical_json
from aurora_cli.providers.file_format import (
    FAST_REWARDS_LINE,
    InvalidRecord,
    fast_rewards_record,
    fast_rewards_sql,
    parse_line,
    record_payload,
)
from tests.validator_keys import solana_key

V1 = solana_key("V1")
V2 = solana_key("V2")
PLAIN = (
    '{"data_type": "REWARDS", "validator_key": "' + V1 + '", "staker_address": "S1", "rewards_native": "10",'
    ' "commission_native": "1"}'
)
TRICKY = [
    PLAIN,
    PLAIN.replace(" ", ""),
    "  " + PLAIN + "  ",
    PLAIN.replace('"S1"', "null"),
    PLAIN.replace('"10"', '"000120"'),
    PLAIN.replace('"10"', '"0.5"'),
    PLAIN.replace('"10"', '"1.0000000000000000001"'),
    PLAIN.replace('"10"', '"123456789012345678901"'),
    PLAIN.replace('"10"', '"00000000000000000000001"'),
    PLAIN.replace('"10"', '"-1"'),
    PLAIN.replace('"10"', '"1e3"'),
    PLAIN.replace('"10"', "10"),
    PLAIN.replace('"10"', '""'),
    PLAIN.replace('"S1"', '""'),
    PLAIN.replace('"S1"', '" S1"'),
    PLAIN.replace('"S1"', '"S1 "'),
    PLAIN.replace('"S1"', '"' + "x" * 100 + '"'),
    PLAIN.replace('"S1"', '"' + "x" * 101 + '"'),
    PLAIN.replace(f'"{V1}"', "null"),
    PLAIN.replace(f'"{V1}"', '"a b"'),
    PLAIN.replace('"data_type": "REWARDS"', '"data_type": "REWARDS", "data_type": "REWARDS"'),
    PLAIN.replace('"rewards_native": "10"', '"rewards_native": "9", "rewards_native": "10"'),
    PLAIN.replace('"rewards_native": "10", ', ""),
    PLAIN.replace("}", ', "extra": "x"}'),
    PLAIN.replace("}", ', "extra": null}'),
    PLAIN.replace('"staker_address": "S1", ', ""),
    PLAIN[:-1],
    PLAIN + ",",
    "[" + PLAIN + "]",
    PLAIN.replace('"REWARDS"', '"rewards"'),
    PLAIN.replace('"S1"', '"S\'1"'),
    PLAIN.replace('"S1"', '"{}"'),
    PLAIN.replace('"S1"', '"S1", "x": {"a": "b"}'),
    PLAIN.replace('"10"', '"0"'),
    PLAIN.replace('"10"', '"0.000000000000000001"'),
    PLAIN.replace('"10"', '"12345678901234567890.123456789012345678"'),
    PLAIN.replace('"10"', '"1.50"'),
    PLAIN.replace('"10"', '"01"'),
    PLAIN.replace('"10"', '"1."'),
    PLAIN.replace('"10"', '".5"'),
    PLAIN.replace('"10"', '"1.1234567890123456789"'),
    PLAIN.replace(", ", ",\t"),
    PLAIN.replace('"S1"', '"T\\u0031x"'),
    PLAIN.replace('"S1"', '"S1\u00e9"'),
    PLAIN.replace('"S1"', '"S 1"'),
    PLAIN.replace('"S1"', '"S1\\""'),
    PLAIN.replace('"S1"', '"' + "x" * 99 + '"'),
    PLAIN.replace(f'"{V1}"', '"' + "y" * 100 + '"'),
    PLAIN.replace(f'"{V1}"', '"' + "y" * 101 + '"'),
    PLAIN + "\r",
    PLAIN.replace('"commission_native": "1"', '"commission_native": "1", "commission_native": "1"'),
    PLAIN.replace('{"data_type": "REWARDS", ', '{').replace("}", ', "data_type": "REWARDS"}'),
]


def test_every_line_the_scan_matches_python_accepts_with_the_same_record():
    matched = 0
    for line in TRICKY:
        match = FAST_REWARDS_LINE.fullmatch(line.encode("utf-8").rstrip(b"\r\n"))
        try:
            record = parse_line(line.rstrip("\r\n"))
        except InvalidRecord:
            assert match is None, f"the scan matched a line Python refuses: {line}"
            continue
        if match is None:
            continue
        matched += 1
        key, staker, rewards, commission = match.groups()
        assert fast_rewards_record(key, staker, rewards, commission) == canonical_json(record_payload(record))
        assert key.decode() == record.validator_key
        assert (staker.decode() if staker is not None else None) == record.staker_address
        assert (Decimal(rewards.decode()), Decimal(commission.decode())) == (
            record.rewards_native,
            record.commission_native,
        )
        # Written as numeric prints it back, digit for digit (the staged record is rebuilt from the
        # numeric text; test_ingest_reports_exactly_what_the_python_reader_reports checks that in SQL).
        for amount in (rewards.decode(), commission.decode()):
            assert format(Decimal(amount), "f") == amount
    assert matched >= 8


def test_every_line_sql_accepts_python_accepts_with_the_same_record(engine):
    with transaction(engine) as session:
        session.execute(
            text(
                "CREATE TEMP TABLE import_raw (line_no integer, line text, validator_key text) ON COMMIT DROP"
            )
        )
        for n, line in enumerate(TRICKY, start=1):
            session.execute(text("INSERT INTO import_raw VALUES (:n, :l, NULL)"), {"n": n, "l": line})
        accepted = {
            row.line_no: row for row in session.execute(text(fast_rewards_sql(check_shape=True))).mappings()
        }
    for n, line in enumerate(TRICKY, start=1):
        try:
            record = parse_line(line)
        except InvalidRecord:
            assert n not in accepted, f"SQL accepted a line Python refuses: {line}"
            continue
        if n in accepted:
            row = accepted[n]
            assert row["record"] == canonical_json(record_payload(record)).decode()
            assert json.loads(row["record"]) == json.loads(line)
            assert row["validator_key"] == record.validator_key
            assert row["staker_address"] == record.staker_address
            assert row["rewards_native"] == record.rewards_native
            assert row["commission_native"] == record.commission_native
    assert {1, 2, 3, 4, 5, 6} <= set(accepted)


def test_ingest_reports_exactly_what_the_python_reader_reports(engine, repo, tmp_path):
    """Given a file of tricky lines (one not even JSON), when it is ingested with skip-invalid, then
    the invalid lines and reasons are those `read_import_file` gives (plus the one record whose
    validator key is not a Solana key), and the staged records are the other lines Python accepts,
    in file order, each as its canonical JSON."""
    from aurora_cli.domain.validator_keys import validator_key_problem
    from aurora_cli.providers.file_format import RecordLine, read_import_file
    from aurora_cli.services import ingest
    from aurora_cli.services.config_apply import apply_config, read_config

    with transaction(engine) as session:
        apply_config(session, read_config(repo / "config"))
        session.execute(
            text(
                "INSERT INTO canonical_periods (chain_id, period_identifier, period_start, period_end)"
                " VALUES ('solana-mainnet', '850', '2025-09-01T00:00:00Z', '2025-09-03T01:12:00Z')"
            )
        )
    # One staker per line so that the file-level duplicate rules stay out of the way.
    lines = [
        line.replace('"S1"', f'"S{n}"').replace('"commission_native": "1"', '"commission_native": "0"')
        for n, line in enumerate(TRICKY)
    ]
    lines = [lines[0].replace(f'"{V1}"', f'"{V2}"'), "", *lines, '{"data_type": "REWARDS", oops', "   "]
    path = tmp_path / "tricky.jsonl"
    path.write_text("\n".join(lines) + "\n")
    expected = list(read_import_file(path))
    result = ingest.ingest_file(engine, chain_id="solana-mainnet", period="850", path=path, strict=False)
    errors = sorted(
        [(e.line_no, e.reason) for e in expected if not isinstance(e, RecordLine)]
        + [
            (e.line_no, problem)
            for e in expected
            if isinstance(e, RecordLine)
            and (problem := validator_key_problem("solana", e.record.validator_key)) is not None
        ]
    )
    assert any("'a b' is not a Solana vote account key" in reason for _, reason in errors)
    assert result.invalid_lines == errors[:50] and result.invalid_count == len(errors)
    assert result.lines_read == len(expected)
    with transaction(engine) as session:
        staged = session.execute(
            text("SELECT validator_key, raw_payload->'records' FROM staging_payloads ORDER BY validator_key")
        ).all()
    good = [
        json.loads(canonical_json(record_payload(e.record)))
        for e in expected
        if isinstance(e, RecordLine) and e.record.validator_key in (V1, V2)
    ]
    by_validator = {v: records for v, records in staged}
    assert set(by_validator) == {V1, V2}
    assert by_validator[V1] == [r for r in good if r["validator_key"] == V1]
    assert by_validator[V2] == [r for r in good if r["validator_key"] == V2]
