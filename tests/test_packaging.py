"""The wheel is the product: built, installed into a fresh venv, it migrates a database from anywhere.

Given the wheel built from this checkout, when it is installed into a new virtual environment and
`aurora --help`, `aurora db up`, `aurora db status --format json` and `aurora db stop` run from an
empty directory outside the repository, then each exits 0 and the database is at the head revision
shipped inside the wheel (the migrations are package data, not files next to the checkout).

Route, chosen to work offline on a clean machine after `make install` and to stay fast (~10-20 s):
- `pip wheel --no-deps --no-build-isolation` builds with the repo venv's setuptools + wheel (both in
  the dev extra), so no build environment is downloaded. It builds from a copy of the sources
  (`pyproject.toml`, `README.md`, `aurora_cli/`), so stale `build/` output of the checkout can never
  leak a deleted module into the wheel.
- The fresh venv is made without pip and the wheel is installed into it with the repo venv's pip
  (`pip --python`), `--no-deps --no-index`: nothing is fetched.
- The dependencies are the repo venv's, reached through a `.pth` line naming its site-packages. A
  directory named in a `.pth` file is appended to `sys.path` but its own `.pth` files are not run,
  so the repo's editable-install hook stays inert and `aurora_cli` is imported from the wheel (the
  test asserts where it was imported from). Installing the dependencies from wheels instead would
  need them downloaded (or a wheelhouse the machine does not have).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurora_cli.db.migrate import head_revision

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def workspace() -> Iterator[Path]:
    # Short and outside the repository: the cluster's Unix socket path must stay within 107 bytes.
    root = Path(tempfile.mkdtemp(prefix="aw-", dir="/tmp"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: int = 120):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(workspace: Path) -> Path:
    source = workspace / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(
        REPO / "aurora_cli", source / "aurora_cli", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    dist = workspace / "dist"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(source),
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "-w",
            str(dist),
        ],
        cwd=workspace,
        timeout=180,
    )
    (built,) = dist.glob("aurora_cli-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(workspace: Path, wheel: Path) -> Path:
    target = workspace / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(target)], cwd=workspace)
    python = target / "bin" / "python"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            str(wheel),
        ],
        cwd=workspace,
        timeout=180,
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "aurora-test-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    return target


@pytest.fixture(scope="module")
def outside_env(workspace: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AURORA_", "PYTHON"))}
    home = workspace / "home"
    home.mkdir()
    env.update(HOME=str(home), AURORA_DATA_DIR=str(workspace / "d"), AURORA_CREDENTIALS=str(home / "c"))
    return env


def test_the_wheel_ships_the_migrations(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "aurora_cli/migrations/env.py" in names
    assert "aurora_cli/migrations/script.py.mako" in names
    revisions = sorted(n for n in names if n.startswith("aurora_cli/migrations/versions/0"))
    shipped = sorted(
        p.relative_to(REPO).as_posix() for p in (REPO / "aurora_cli/migrations/versions").glob("0*.py")
    )
    assert revisions == shipped and len(revisions) >= 7
    assert not [n for n in names if n.startswith(("migrations/", "tests/", "scripts/"))]


def test_installed_wheel_runs_db_up_from_outside_the_repository(workspace: Path, venv: Path, outside_env):
    elsewhere = workspace / "work"
    elsewhere.mkdir()
    aurora = str(venv / "bin" / "aurora")

    where = _run(
        [str(venv / "bin" / "python"), "-c", "import aurora_cli; print(aurora_cli.__file__)"],
        cwd=elsewhere,
        env=outside_env,
    ).stdout.strip()
    assert where.startswith(str(venv)), f"aurora_cli was imported from {where}, not the installed wheel"

    help_text = _run([aurora, "--help"], cwd=elsewhere, env=outside_env).stdout
    assert "db" in help_text and "ingest" in help_text

    try:
        _run([aurora, "db", "up"], cwd=elsewhere, env=outside_env, timeout=180)
        status = json.loads(
            _run([aurora, "--format", "json", "db", "status"], cwd=elsewhere, env=outside_env).stdout
        )
        assert status["running"] is True
        assert status["revision"] == head_revision()
        assert Path(status["data_dir"]).resolve() == (workspace / "d").resolve()
    finally:
        subprocess.run(
            [aurora, "db", "stop"], cwd=elsewhere, env=outside_env, capture_output=True, timeout=120
        )
