"""The scheduler files under deploy/ that the README embeds: valid units, the keys operations rely on."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
SERVICES = ["aurora-run.service", "aurora-run-ethereum.service", "aurora-run@.service"]
TIMERS = {"aurora-run.timer": "aurora-run.service", "aurora-run-ethereum.timer": "aurora-run-ethereum.service"}
AURORA = Path(sys.executable).with_name("aurora")


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string((DEPLOY / name).read_text(encoding="utf-8"))
    return parser


@pytest.mark.parametrize("name", SERVICES)
def test_each_pipeline_service_waits_for_the_network_and_has_a_timeout(name: str) -> None:
    unit = _unit(name)
    assert unit["Unit"]["After"] == "network-online.target"
    assert unit["Unit"]["Wants"] == "network-online.target"
    service = unit["Service"]
    assert service["Type"] == "oneshot"
    assert service["TimeoutStartSec"]
    assert service["SuccessExitStatus"] == "3"
    assert service["EnvironmentFile"].startswith("/etc/aurora/")
    assert " --quiet run --chain " in service["ExecStart"]


def test_the_daily_ethereum_variant_runs_the_previous_day() -> None:
    assert "--chain ethereum-mainnet --period previous" in _unit("aurora-run-ethereum.service")["Service"]["ExecStart"]


@pytest.mark.parametrize("timer,service", TIMERS.items())
def test_each_timer_starts_its_service_daily_and_catches_up(timer: str, service: str) -> None:
    unit = _unit(timer)
    assert unit["Timer"]["Unit"] == service and (DEPLOY / service).is_file()
    assert unit["Timer"]["OnCalendar"].startswith("*-*-* ")
    assert unit["Timer"]["Persistent"] == "true"
    assert unit["Install"]["WantedBy"] == "timers.target"


def test_the_crontab_runs_both_chains_quietly() -> None:
    lines = [
        line for line in (DEPLOY / "aurora-run.crontab").read_text().splitlines() if line[:1].isdigit()
    ]
    assert len(lines) == 2
    assert all("aurora --quiet run --chain" in line and "--period previous" in line for line in lines)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_every_unit(tmp_path: Path) -> None:
    # verify checks that ExecStart is executable: point the copies at this checkout's aurora.
    for name in [*SERVICES, *TIMERS]:
        text = (DEPLOY / name).read_text().replace("/opt/aurora/.venv/bin/aurora", str(AURORA))
        (tmp_path / name).write_text(text)
    units = [str(tmp_path / n) for n in [*TIMERS, "aurora-run.service", "aurora-run-ethereum.service"]]
    units.append(str(tmp_path / "aurora-run@850.service"))
    r = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    assert "Unknown key" not in r.stderr and "Unknown section" not in r.stderr, r.stderr
