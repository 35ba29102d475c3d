"""SPEC §13 conventions end to end: usage errors exit 2, --quiet is quiet, dates in plain words,
tables that never cut an amount, --version and shell completion, examples in the main commands' help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


# -- usage errors are exit 2 ------------------------------------------------------------------------


def test_periods_add_without_start_is_a_usage_error(admin_cli) -> None:
    r = admin_cli("periods", "add", "--chain", "solana-mainnet", "--period", "850")
    assert r.exit_code == 2, r
    assert "--start" in r.stderr and "--end" in r.stderr


def test_a_month_written_without_its_leading_zero_is_a_usage_error_that_says_how_to_write_it(admin_cli) -> None:
    r = admin_cli("statements", "list", "--month", "2025-9")
    assert r.exit_code == 2, r
    assert "two-digit month" in r.stderr and "2025-09" in r.stderr


def test_a_day_that_does_not_exist_is_a_usage_error(admin_cli) -> None:
    r = admin_cli("periods", "add", "--chain", "ethereum-mainnet", "--period", "2025-13-01")
    assert r.exit_code == 2, r
    assert "not a calendar day" in r.stderr


def test_dates_accept_a_plain_day_and_errors_name_the_forms_in_words(admin_cli) -> None:
    r = admin_cli(
        "periods", "add", "--chain", "solana-mainnet", "--period", "850",
        "--start", "2025-09-01", "--end", "2025-09-03T01:12:00+00:00", "--format", "json",
    )  # fmt: skip
    assert r.exit_code == 0, r
    assert r.json()["period_start"].startswith("2025-09-01T00:00:00")
    bad = admin_cli("periods", "add", "--chain", "solana-mainnet", "--period", "851", "--start", "1.10.2025")
    assert bad.exit_code == 2, bad
    assert "such as 2025-10-01" in bad.stderr
    assert "%Y" not in bad.stderr


def test_quiet_silences_human_output_of_periods_add(admin_cli) -> None:
    r = admin_cli(
        "--quiet", "periods", "add", "--chain", "solana-mainnet", "--period", "850",
        "--start", "2025-09-01", "--end", "2025-09-03",
    )  # fmt: skip
    assert r.exit_code == 0, r
    assert r.stderr == "" and r.stdout == ""
    listed = admin_cli("periods", "list", "--quiet")
    assert listed.exit_code == 0 and listed.stderr == "" and listed.stdout == ""
    machine = admin_cli("periods", "list", "--quiet", "--format", "json")
    assert [p["period_identifier"] for p in machine.json()] == ["850"]
