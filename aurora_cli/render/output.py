"""Rendering results for people (Rich tables on stderr) and scripts (JSON/CSV on stdout).

Owns the SPEC §13 conventions: keys are column names, amounts are plain decimal strings in native
units, ids are UUID strings, timestamps ISO 8601 with offset.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

# `jsonable` is defined once in domain; importing it from here keeps working for older callers.
from aurora_cli.domain.canonical_json import jsonable
from aurora_cli.domain.money import to_display, to_plain_string


def display_amount(native: Decimal, decimals: int, display_unit: str | None, native_unit: str) -> str:
    """An amount in native units said in display units, e.g. "1.5 SOL" (the native unit when the chain has none)."""
    return f"{to_plain_string(to_display(native, decimals))} {display_unit or native_unit}"


def native_and_display(native: Decimal, decimals: int, display_unit: str | None, native_unit: str) -> str:
    """ "1500000000 lamports (1.5 SOL)": the exact native amount first, its display value beside it."""
    return f"{to_plain_string(native)} {native_unit} ({display_amount(native, decimals, display_unit, native_unit)})"


def native_over_display(native: Decimal, decimals: int, display_unit: str | None, native_unit: str) -> str:
    """A table cell: the native amount, its display value dimmed on the line below."""
    return (
        f"{to_plain_string(native)}\n[dim]{display_amount(native, decimals, display_unit, native_unit)}[/dim]"
    )


def short_key(key: str, *, head: int = 12, tail: int = 4, ellipsis: str = "…") -> str:
    """A long key (validator, staker) shortened in the middle for tables; full keys go to JSON/CSV.

    Twelve leading characters keep keys that share a vanity prefix apart (AuroraVote1… / AuroraVote2…).
    """
    return key if len(key) <= head + tail + len(ellipsis) else f"{key[:head]}{ellipsis}{key[-tail:]}"


def to_json(document: Any) -> str:
    return json.dumps(jsonable(document), indent=2, ensure_ascii=False)


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else _csv_cell(jsonable(row.get(c))) for c in columns])
    return buffer.getvalue()


def _csv_cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def rich_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    right_align: Sequence[str] = (),
) -> Table:
    table = Table(title=title, show_lines=False, header_style="bold")
    cells = [_cells(row, columns) for row in rows]
    for index, column in enumerate(columns):
        amount = column in right_align
        # Never an ellipsis. An amount or an id may move to the next line at a space ("1.5 SOL") but
        # is never broken inside: its column is at least as wide as its longest word (and
        # `Output.listing` goes vertical when that does not fit). Other cells fold, losing nothing.
        table.add_column(
            (headers or {}).get(column, column),
            justify="right" if amount else "left",
            overflow="fold",
            min_width=_longest_word([r[index] for r in cells]) if amount or column.endswith("_id") else None,
        )
    for row_cells in cells:
        table.add_row(*row_cells)
    return table


def _longest_word(cells: Sequence[str]) -> int:
    return max((cell_len(word) for c in cells for word in Text.from_markup(c).plain.split()), default=0)


def _cells(row: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    return ["" if row.get(c) is None else str(jsonable(row.get(c))) for c in columns]


def vertical_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Table:
    """The same rows for a narrow terminal: one block of `header  value` lines per row."""
    table = Table(title=title, show_header=False, box=None, padding=(0, 1))
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", no_wrap=True)
    for index, row in enumerate(rows):
        for column, cell in zip(columns, _cells(row, columns), strict=True):
            if cell:
                table.add_row((headers or {}).get(column, column), cell)
        if index + 1 < len(rows):
            table.add_row("", "")
    return table


def stacked_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Table:
    """Narrower still: each field's name on its own line, its value indented below it."""
    table = Table(title=title, show_header=False, box=None, padding=(0, 0))
    table.add_column("text", overflow="fold")
    for index, row in enumerate(rows):
        for column, cell in zip(columns, _cells(row, columns), strict=True):
            if cell:
                table.add_row(f"[bold]{escape((headers or {}).get(column, column))}[/bold]")
                table.add_row("\n".join("  " + part for part in cell.split("\n")))
        if index + 1 < len(rows):
            table.add_row("")
    return table


# Below this many characters a folded text column is unreadable: the table goes vertical instead.
MIN_TEXT_COLUMN = 10


def fits(console: Console, table: Table) -> bool:
    """Whether the table fits the console: every amount whole on its line, every other column at
    least MIN_TEXT_COLUMN wide (or its widest cell), plus the borders and padding."""
    needed = 1 + 3 * len(table.columns)
    for column in table.columns:
        widest = max(
            (Measurement.get(console, console.options, cell).maximum for cell in [column.header, *column.cells]),
            default=0,
        )
        if column.no_wrap:
            needed += widest
        elif column.min_width:
            needed += column.min_width
        else:
            needed += min(widest, MIN_TEXT_COLUMN)
    return needed <= console.width


class Output:
    """Where a command's results go, by the chosen --format."""

    def __init__(self, fmt: str, *, quiet: bool = False, stdout: Any = None, stderr: Any = None) -> None:
        self.format = fmt
        self.quiet = quiet
        self._stdout = stdout
        self.err = Console(file=stderr, stderr=stderr is None, highlight=False, emoji=False)

    def write(self, text: str) -> None:
        """Machine output, byte for byte: no markup, emoji codes or wrapping can touch it."""
        stream = self._stdout or sys.stdout
        stream.write(text)
        stream.flush()

    @property
    def is_machine(self) -> bool:
        return self.format in ("json", "csv")

    def say(self, message: str) -> None:
        """A human sentence on stderr (suppressed by --quiet)."""
        if not self.quiet:
            self.err.print(message)

    def listing(
        self,
        rows: Sequence[Mapping[str, Any]],
        columns: Sequence[str],
        *,
        title: str | None = None,
        table_columns: Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
        right_align: Sequence[str] = (),
    ) -> None:
        """A list of objects: JSON array, CSV with header, or a Rich table for people."""
        if self.format == "json":
            self.write(to_json([{c: r.get(c) for c in columns} for r in rows]) + "\n")
        elif self.format == "csv":
            self.write(to_csv(rows, columns))
        elif not self.quiet:  # a table is human output: --quiet drops it
            shown = table_columns or columns
            table = rich_table(rows, shown, title=title, headers=headers, right_align=right_align)
            if not fits(self.err, table):  # too narrow for every amount whole on its line: go vertical
                table = vertical_table(rows, shown, title=title, headers=headers)
                if not fits(self.err, table):
                    table = stacked_table(rows, shown, title=title, headers=headers)
            self.err.print(table)

    def single(self, document: Mapping[str, Any], *, title: str | None = None) -> None:
        """One result object: a JSON object, a one-row CSV, or a key/value table."""
        if self.format == "json":
            self.write(to_json(document) + "\n")
        elif self.format == "csv":
            self.write(to_csv([document], list(document)))
        elif not self.quiet:
            table = Table(title=title, show_header=False)
            table.add_column("field", style="bold")
            table.add_column("value")
            for key, value in document.items():
                table.add_row(key, "" if value is None else str(jsonable(value)))
            self.err.print(table)
