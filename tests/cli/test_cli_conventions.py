"""SPEC §13 conventions end to end: usage errors exit 2, --quiet is quiet, dates in plain words,
tables that never cut an amount, --version and shell completion, examples in the main commands' help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aurora_cli.render.output import short_key
from tests.validator_keys import solana_key

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


# -- --version, completion, help ------------------------------------------------------------------

AURORA = Path(sys.executable).with_name("aurora")
HEAVY = ("sqlalchemy", "pydantic", "httpx", "fpdf", "alembic", "rich.progress", "aurora_cli.services")


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AURORA), *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def test_version_prints_the_package_version() -> None:
    from importlib.metadata import version

    r = _run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"aurora {version('aurora-cli')}"


def test_the_root_help_and_version_import_nothing_heavy() -> None:
    probe = (
        "import sys\n"
        "from aurora_cli.cli.app import app\n"
        "from typer.testing import CliRunner\n"
        "for args in (['--help'], ['--version']):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0\n"
        f"heavy = [m for m in sys.modules if m.startswith({HEAVY!r})]\n"
        "print(heavy)\n"
    )
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_the_root_help_lists_every_command_with_the_line_its_module_gives(cli) -> None:
    from aurora_cli.cli.app import COMMANDS, load_command

    r = cli("--help")
    assert r.exit_code == 0
    for name, entry in COMMANDS.items():
        assert load_command(name) is not None, name
        assert name in r.stdout
        assert len(entry.line) <= 60, f"{name}: keep the root help's line short"


MAIN_COMMANDS = [
    ("ingest",), ("normalize",), ("compute-pnl",), ("run",), ("compute-commissions",),
    ("statements", "generate"), ("approve",), ("export", "statement"), ("pnl", "show"), ("agreements", "apply"),
]  # fmt: skip


@pytest.mark.parametrize("words", MAIN_COMMANDS, ids=" ".join)
def test_the_main_commands_help_shows_examples(cli, words) -> None:
    r = cli(*words, "--help")
    assert r.exit_code == 0, r
    examples = r.stdout.split("Examples:", 1)
    assert len(examples) == 2, r.stdout
    assert f"aurora {' '.join(words)} --" in examples[1] or f"aurora {' '.join(words)} " in examples[1]


def test_bash_completion_by_the_documented_eval_line_names_subcommands() -> None:
    script = (
        'eval "$(_AURORA_COMPLETE=source_bash aurora)"\n'
        "COMP_WORDS=(aurora stat); COMP_CWORD=1; _aurora_completion aurora\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
        "COMP_WORDS=(aurora statements ''); COMP_CWORD=2; _aurora_completion aurora\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{AURORA.parent}:{os.environ.get('PATH', '')}"}
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    words = r.stdout.split()
    assert "statements" in words and {"generate", "list", "show", "submit"} <= set(words)


def test_zsh_completion_script_and_answers_name_subcommands() -> None:
    script = _run(env={"_AURORA_COMPLETE": "source_zsh"})
    assert script.returncode == 0 and "#compdef aurora" in script.stdout
    answer = _run(env={"_AURORA_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "aurora statements ge"})
    assert '"generate"' in answer.stdout
    shown = _run("--show-completion", "zsh", env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert shown.returncode == 0 and "compdef aurora" in shown.stdout


# -- the data directory -----------------------------------------------------------------------------


def test_the_data_dir_defaults_to_the_users_data_directory_wherever_aurora_runs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURORA_")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"))
    for cwd in (tmp_path, REPO):
        r = subprocess.run(
            [str(AURORA), "db", "status", "--format", "json"], capture_output=True, text=True, env=env, cwd=cwd
        )
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["data_dir"] == str(home / ".local" / "share" / "aurora")
    chosen = subprocess.run(
        [str(AURORA), "whoami"], capture_output=True, text=True, cwd=tmp_path,
        env={**env, "AURORA_DATA_DIR": str(tmp_path / "elsewhere")},
    )  # fmt: skip
    assert chosen.returncode == 1
    said = " ".join(chosen.stderr.split())
    assert f"no database in the data directory {tmp_path / 'elsewhere'}" in said
    assert "AURORA_DATA_DIR" in said and "aurora db up" in said


def test_aurora_toml_chooses_the_data_dir(tmp_path: Path) -> None:
    settings_file = tmp_path / "aurora.toml"
    settings_file.write_text(f'data_dir = "{tmp_path / "from-toml"}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURORA_")}
    r = subprocess.run(
        [str(AURORA), "--config", str(settings_file), "db", "status", "--format", "json"],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["data_dir"] == str(tmp_path / "from-toml")


# -- tables never cut an amount; commissions show names its lines -----------------------------------

SOL = "solana-mainnet"
V1 = solana_key("V1")


@pytest.fixture
def big_commissions(admin_cli, tmp_path):
    """Epoch 850 with a 20-digit fee total and one partner at 10% of fees."""
    admin_cli.add_epoch_850()
    records = [
        {"data_type": "FEES", "validator_key": V1, "total_fees_native": "12345678901234567890", "fee_count": 1},
        {"data_type": "REWARDS", "validator_key": V1, "staker_address": "S1",
         "rewards_native": "100", "commission_native": "10"},
    ]  # fmt: skip
    imports = tmp_path / "epoch-850.jsonl"
    imports.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert admin_cli("run", "--chain", SOL, "--period", "850", "--file", str(imports)).exit_code == 0
    agreement = tmp_path / "acme.toml"
    agreement.write_text(
        '[partner]\nname = "Acme Staking Introductions International"\ncontact_email = "ops@acme.example"\n'
        '[agreement]\nname = "Acme referral"\nstatus = "ACTIVE"\neffective_from = "2025-01-01T00:00:00Z"\n'
        f'[[rules]]\norder = 1\nchain = "{SOL}"\ncomponent = "EXEC_FEES"\nattribution = "FIXED_SHARE"\n'
        "rate_bps = 1000\n"
    )
    assert admin_cli("agreements", "apply", str(agreement)).exit_code == 0
    assert admin_cli("compute-commissions", "--chain", SOL, "--period", "850").exit_code == 0
    return admin_cli


@pytest.mark.parametrize("columns", ["200", "80", "40"])
def test_commissions_show_keeps_every_amount_and_line_id_whole_at_any_width(big_commissions, columns) -> None:
    lines = big_commissions("--format", "json", "commissions", "show", "--chain", SOL, "--period", "850").json()
    assert lines
    r = big_commissions("commissions", "show", "--chain", SOL, "--period", "850", env={"COLUMNS": columns})
    assert r.exit_code == 0, r
    shown = r.stderr
    assert "…" not in shown.replace(short_key(V1), "")  # only the shortened validator key has one
    for line in lines:
        assert line["line_id"] in shown, f"COLUMNS={columns}: line id cut or missing"
        assert line["final_amount_native"] in shown and line["base_amount_native"] in shown
    assert max(len(text) for text in shown.splitlines()) <= int(columns)


def test_the_line_id_shown_is_the_one_override_takes(big_commissions) -> None:
    (line,) = big_commissions("--format", "json", "commissions", "show", "--chain", SOL, "--period", "850").json()
    r = big_commissions("override", line["line_id"], "--amount", "5", "--reason", "agreed with Acme")
    assert r.exit_code == 0, r


def test_quiet_silences_the_pipeline_and_finance_commands_too(big_commissions) -> None:
    for words in (
        ("config", "apply", "--dir", str(REPO / "config")),
        ("periods", "finalize", "--chain", SOL),
        ("compute-commissions", "--chain", SOL, "--period", "850"),
        ("commissions", "show", "--chain", SOL, "--period", "850"),
        ("pnl", "show", "--chain", SOL, "--period", "850"),
        ("statements", "generate", "--chain", SOL, "--period", "850", "--allow-unfinalized"),
        ("statements", "list"),
        ("whoami",),
    ):
        r = big_commissions("--quiet", *words)
        assert r.exit_code == 0, (words, r)
        assert r.stderr == "" and r.stdout == "", words
