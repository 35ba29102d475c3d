"""Statements on the terminal: the statements table and a total's native (display) wording; never queries.

Owns the columns and headers of the statements table and the "native (display)" wording of a
statement's total; it never queries the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aurora_cli.render.output import Output, native_and_display, native_over_display


def statement_total(row: Mapping[str, Any], value: Any = None) -> str:
    """A statement's total (or `value`) as "1500000000 lamports (1.5 SOL)"."""
    native = row["total_commission_native"] if value is None else value
    return native_and_display(native, row["native_decimals"], row["display_unit"], row["native_unit"])


def emit_statements(
    output: Output, rows: list[dict[str, Any]], columns: Sequence[str], *, title: str, one: bool = False
) -> None:
    """Statement rows (`columns`: the services' STATEMENT_COLUMNS): one object, a list, or the table."""
    if one and rows and output.is_machine:
        output.single({c: rows[0].get(c) for c in columns})
        return
    if output.is_machine:
        output.listing(rows, columns)
        return
    shown = [
        {
            **row,
            "total": native_over_display(
                row["total_commission_native"],
                row["native_decimals"],
                row["display_unit"],
                row["native_unit"],
            ),
        }
        for row in rows
    ]
    output.listing(
        shown,
        columns,
        title=title,
        table_columns=[
            "partner_name",
            "chain_id",
            "period_identifier",
            "status",
            "total",
            "line_count",
            "submitted_by_username",
            "approved_by_username",
            "paid_reference",
            "statement_id",
        ],
        headers={
            "partner_name": "partner",
            "chain_id": "chain",
            "period_identifier": "period",
            "total": "total (native units, display below)",
            "line_count": "lines",
            "submitted_by_username": "submitted by",
            "approved_by_username": "approved by",
            "paid_reference": "payment ref",
            "statement_id": "statement",
        },
        right_align=["total", "line_count"],
    )
