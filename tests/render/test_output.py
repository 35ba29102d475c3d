"""render.output: what scripts read on stdout and people read on stderr (SPEC §13; pure, no database)."""

from __future__ import annotations

import csv
import enum
import io
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from aurora_cli.render.output import (
    Output,
    display_amount,
    jsonable,
    native_and_display,
    native_over_display,
    short_key,
    to_csv,
    to_json,
)

LINE_ID = uuid.UUID("0b6f5a52-4c4b-4f7e-9a55-7a3d1c1f0e01")
AT = datetime(2025, 9, 1, 12, 30, tzinfo=UTC)


class Colour(enum.StrEnum):
    RED = "RED"


ROWS = [
    {"line_id": LINE_ID, "amount": Decimal("1E+21"), "at": AT, "status": Colour.RED, "note": None},
    {
        "line_id": LINE_ID,
        "amount": Decimal("0.000000000000000001"),
        "at": AT,
        "status": Colour.RED,
        "note": "x",
    },
]
COLUMNS = ["line_id", "amount", "at", "status", "note"]


def output(fmt: str, *, quiet: bool = False) -> tuple[Output, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Output(fmt, quiet=quiet, stdout=out, stderr=err), out, err


def test_json_values_follow_the_output_conventions():
    assert jsonable(ROWS[0]) == {
        "line_id": str(LINE_ID),
        "amount": "1000000000000000000000",
        "at": "2025-09-01T12:30:00+00:00",
        "status": "RED",
        "note": None,
    }
    assert jsonable({"ids": (LINE_ID,), "zero": Decimal("0E-18")}) == {"ids": [str(LINE_ID)], "zero": "0"}


def test_a_json_listing_is_an_array_of_the_columns_with_plain_decimal_strings():
    out_, stdout, stderr = output("json")
    out_.listing([{**r, "extra": "not a column"} for r in ROWS], COLUMNS, title="ignored")
    document = json.loads(stdout.getvalue())
    assert [row["amount"] for row in document] == ["1000000000000000000000", "0.000000000000000001"]
    assert list(document[0]) == COLUMNS
    assert "E+" not in stdout.getvalue() and "E-" not in stdout.getvalue()
    assert stderr.getvalue() == ""


def test_a_csv_listing_has_one_header_row_and_empty_cells_for_none():
    out_, stdout, _ = output("csv")
    out_.listing(ROWS, COLUMNS)
    rows = list(csv.reader(io.StringIO(stdout.getvalue())))
    assert rows[0] == COLUMNS
    assert rows[1] == [str(LINE_ID), "1000000000000000000000", "2025-09-01T12:30:00+00:00", "RED", ""]
    assert rows[2][1] == "0.000000000000000001"


def test_csv_cells_spell_booleans_and_nested_values_as_json():
    assert to_csv(
        [{"ok": True, "tags": ["a", "b"], "meta": {"k": Decimal("1.50")}}], ["ok", "tags", "meta"]
    ) == ('ok,tags,meta\ntrue,"[""a"", ""b""]","{""k"": ""1.5""}"\n')


def test_a_single_object_is_a_json_object_or_a_one_row_csv():
    doc = {"statement_id": LINE_ID, "total_native": Decimal("1500000000.000000000000000000")}
    json_out, stdout, _ = output("json")
    json_out.single(doc)
    assert json.loads(stdout.getvalue()) == {"statement_id": str(LINE_ID), "total_native": "1500000000"}
    csv_out, stdout, _ = output("csv")
    csv_out.single(doc)
    assert stdout.getvalue() == f"statement_id,total_native\n{LINE_ID},1500000000\n"


def test_tables_go_to_stderr_and_leave_stdout_empty():
    table, stdout, stderr = output("table")
    table.listing(
        ROWS, COLUMNS, title="Lines", table_columns=["amount"], headers={"amount": "amount (native)"}
    )
    assert stdout.getvalue() == ""
    shown = stderr.getvalue()
    assert "Lines" in shown and "amount (native)" in shown
    assert "1000000000000000000000" in shown and "line_id" not in shown
    assert not table.is_machine and output("json")[0].is_machine and output("csv")[0].is_machine


def test_quiet_mode_drops_sentences_but_keeps_machine_output():
    quiet, stdout, stderr = output("json", quiet=True)
    quiet.say("Wrote 3 lines.")
    quiet.single({"rows": 3})
    assert stderr.getvalue() == ""
    assert json.loads(stdout.getvalue()) == {"rows": 3}
    loud, _, stderr = output("table")
    loud.say("Wrote 3 lines.")
    assert "Wrote 3 lines." in stderr.getvalue()


def test_to_json_keeps_non_ascii_and_indents():
    assert to_json({"partner": "Ørsted"}) == '{\n  "partner": "Ørsted"\n}'


def test_amounts_are_said_in_native_units_with_their_display_value():
    assert display_amount(Decimal(1500000000), 9, "SOL", "lamports") == "1.5 SOL"
    assert display_amount(Decimal(7), 0, None, "units") == "7 units"
    assert native_and_display(Decimal(1500000000), 9, "SOL", "lamports") == "1500000000 lamports (1.5 SOL)"
    assert native_over_display(Decimal("1E+18"), 18, "ETH", "wei") == "1000000000000000000\n[dim]1 ETH[/dim]"


def test_long_keys_are_shortened_in_the_middle_only_when_long():
    assert short_key("V1") == "V1"
    assert short_key("AuroraVote1111111111111111111111111111111111") == "AuroraVote11…1111"
