"""README.md says what the commands and files say: the command table is generated from --help, the
scheduler files are embedded verbatim, the snippets run, and nothing points outside the repository."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
AURORA = Path(sys.executable).with_name("aurora")


def _generator():
    spec = importlib.util.spec_from_file_location("gen_command_table", REPO / "scripts" / "gen_command_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_command_table_and_embedded_files_match_the_commands_and_deploy() -> None:
    text = README.read_text(encoding="utf-8")
    assert text == _generator().generated_readme(text), (
        "README.md drifted from `aurora --help` or deploy/: run `.venv/bin/python scripts/gen_command_table.py --write`"
    )


def test_every_command_of_the_root_help_is_in_the_table(cli) -> None:
    listed = cli("--help").stdout.split("Commands:", 1)[1]
    names = [line.split()[0] for line in listed.splitlines() if line.startswith("  ") and line.split()]
    table = README.read_text(encoding="utf-8").split("<!-- commands:start -->", 1)[1]
    assert names and all(f"| `aurora {name}" in table for name in names)


def test_the_readme_points_at_nothing_outside_the_repository() -> None:
    text = README.read_text(encoding="utf-8")
    for outside in ("/work/", "SPEC.md", "SPEC §", "seed-schema", "STYLE.md"):
        assert outside not in text
    for link in re.findall(r"\]\(([^)#]+)\)", text):
        if not link.startswith(("http://", "https://")):
            assert (REPO / link).exists(), link


def _snippet_after(marker: str) -> str:
    text = README.read_text(encoding="utf-8")
    return text.split(marker, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]


def test_the_service_user_snippet_runs_without_a_terminal(admin_cli, tmp_path: Path) -> None:
    env_file = tmp_path / "aurora.env"
    snippet = _snippet_after("Create a service user and its token once.").replace(
        "/etc/aurora/aurora.env", str(env_file)
    )
    env = {
        **os.environ,
        "PATH": f"{AURORA.parent}:{os.environ['PATH']}",
        "AURORA_DATABASE_URL": admin_cli.db_url,
        "AURORA_CREDENTIALS": str(admin_cli.credentials),
        "HOME": str(admin_cli.home),
    }
    env.pop("AURORA_TOKEN", None)
    r = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", snippet], env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=120, start_new_session=True,  # no controlling terminal
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    (line,) = env_file.read_text().splitlines()
    assert line.startswith("AURORA_TOKEN=") and len(line) > len("AURORA_TOKEN=") + 20
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    whoami = admin_cli("whoami", token=line.split("=", 1)[1])
    assert whoami.exit_code == 0 and "cron-ops" in whoami.stderr + whoami.stdout
