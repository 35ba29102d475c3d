"""A statement pack's CSVs opened in LibreOffice Calc lose no digit.

Given Helios Capital's September pack (a 20-digit wei amount, a base of 30 significant digits, an
18-decimal base), when LibreOffice converts lines.csv and summary.csv headless the way the README
says to open them (CSV, UTF-8, "format quoted field as text"), then every amount cell -- native,
display and share -- reads back character for character as Aurora wrote it, and stays text.

Calc keeps 15 significant digits of a number; Aurora writes each amount as a quoted field, so the
import option keeps it as text, while unquoted counts (rule order, rate, line count) stay numbers.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.cli.test_exports_cli import BIG_AMOUNT, BIG_BASE, TINY_BASE, export, shop  # noqa: F401

SOFFICE = shutil.which("soffice")
pytestmark = pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice is not installed (apt-get install -y --no-install-recommends libreoffice-calc-nogui)",
)
# The import the README documents: comma, double quote, UTF-8 (76), from row 1, quoted field as text.
CSV_IMPORT = "CSV:44,34,76,1,,0,true"
NS = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}
AMOUNT = re.compile(r".*(_native|_display|share_of_rule_base)$")


def to_ods(csv_files: list[Path], out: Path, profile: Path) -> list[Path]:
    run = subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", f"--infilter={CSV_IMPORT}",
         "--convert-to", "ods", "--outdir", str(out), *map(str, csv_files)],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    return [out / f"{p.stem}.ods" for p in csv_files]


def ods_cells(path: Path) -> list[list[tuple[str, str]]]:
    """The first sheet's rows as (value type, shown text) per cell, repeated cells expanded."""
    root = ElementTree.fromstring(zipfile.ZipFile(path).read("content.xml"))
    sheet = root.find(".//table:table", NS)
    rows = []
    for row in sheet.iterfind("table:table-row", NS):
        cells = []
        for cell in row:
            repeat = int(cell.get(f"{{{NS['table']}}}number-columns-repeated", "1"))
            kind = cell.get(f"{{{NS['office']}}}value-type", "")
            shown = "".join("".join(p.itertext()) for p in cell.iterfind("text:p", NS))
            cells += [(kind, shown)] * min(repeat, 64)
        rows.append(cells)
    return [r for r in rows if any(shown for _, shown in r)]


def test_calc_keeps_every_digit_of_every_amount(shop, tmp_path):  # noqa: F811
    pack = tmp_path / "pack"
    assert export(shop, "pack", pack).exit_code == 0
    sources = [pack / "lines.csv", pack / "summary.csv"]
    converted = to_ods(sources, tmp_path / "ods", tmp_path / "lo-profile")
    checked, lost = set(), []
    for source, ods in zip(sources, converted, strict=True):
        written = list(csv.reader(source.open(newline="", encoding="utf-8")))
        opened = ods_cells(ods)
        assert len(opened) == len(written), ods
        header = written[0]
        assert [shown for _, shown in opened[0][: len(header)]] == header
        for row_written, row_opened in zip(written[1:], opened[1:], strict=True):
            for column, value, (kind, shown) in zip(header, row_written, row_opened, strict=False):
                if AMOUNT.match(column) and value:
                    checked.add(value)
                    if (shown, kind) != (value, "string"):
                        lost.append(f"{source.name} {column}: {value} became {shown} ({kind})")
                if column in ("rule_order", "line_count") and value:
                    assert kind == "float" and shown == value  # counts stay numbers
    assert not lost, f"{len(lost)} of the amount cells changed:\n" + "\n".join(lost)
    # The values that a 15-digit number could not hold were really among those checked.
    assert {BIG_AMOUNT, BIG_BASE, TINY_BASE} <= checked
    assert any(len(v.replace(".", "")) > 15 for v in checked)
