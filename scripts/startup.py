"""Start-up figures of the `aurora` command: median wall and CPU time of `--version`, `--help`, `whoami`.

`make bench` prints them through `startup_figures()`; run alone: `.venv/bin/python scripts/startup.py`.
Each command runs as a fresh process (nothing cached in-process), many times, and the median is
reported: one run on a shared machine says little. `whoami` runs against a data directory with no
database, so it measures start-up and the frame, not a query.
"""

from __future__ import annotations

import collections
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AURORA = Path(sys.executable).with_name("aurora")
COMMANDS: tuple[tuple[str, ...], ...] = (("--version",), ("--help",), ("whoami",))


def _one_run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def startup_figures(runs: int = 15, aurora: Path = AURORA) -> list[dict[str, object]]:
    """One row per command: `command`, `runs`, `median_wall_s`, `median_cpu_s`, `min_wall_s`."""
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="aurora-startup-") as empty:
        env = {**os.environ, "AURORA_DATA_DIR": empty, "AURORA_CREDENTIALS": f"{empty}/credentials"}
        env.pop("AURORA_DATABASE_URL", None)
        env.pop("AURORA_TOKEN", None)
        for args in COMMANDS:
            _one_run([str(aurora), *args], env)  # warm the page cache
            samples = [_one_run([str(aurora), *args], env) for _ in range(runs)]
            walls = [w for w, _ in samples]
            rows.append(
                {
                    "command": "aurora " + " ".join(args),
                    "runs": runs,
                    "median_wall_s": round(statistics.median(walls), 3),
                    "median_cpu_s": round(statistics.median(c for _, c in samples), 3),
                    "min_wall_s": round(min(walls), 3),
                }
            )
    return rows


def import_profile(*args: str, top: int = 8) -> list[tuple[str, float]]:
    """Where `aurora ARGS` spends its import time (`python -X importtime`): (package, ms), largest first.
    aurora_cli modules are grouped by layer (aurora_cli.db, aurora_cli.services, ...)."""
    code = "import sys; sys.argv[0] = 'aurora'; from aurora_cli.cli.app import main; main()"
    with tempfile.TemporaryDirectory(prefix="aurora-startup-") as empty:
        env = {**os.environ, "AURORA_DATA_DIR": empty, "AURORA_CREDENTIALS": f"{empty}/credentials"}
        env.pop("AURORA_DATABASE_URL", None)
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code, *args], env=env, capture_output=True, text=True
        )
    per_package: collections.Counter[str] = collections.Counter()
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line.split(":", 1)[1].split("|")
        parts = name.strip().split(".")
        package = ".".join(parts[:2]) if parts[0] == "aurora_cli" else parts[0]
        per_package[package] += int(self_us)
    return [(name, us / 1000) for name, us in per_package.most_common(top)]


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    print(f"{'command':<18} {'median wall':>12} {'median CPU':>11} {'min wall':>9}  (n={count})")
    for row in startup_figures(count):
        print(
            f"{row['command']:<18} {row['median_wall_s']:>11.3f}s {row['median_cpu_s']:>10.3f}s "
            f"{row['min_wall_s']:>8.3f}s"
        )
    for args in COMMANDS:
        profile = import_profile(*args)
        print(f"imports of aurora {' '.join(args)}: " + ", ".join(f"{name} {ms:.0f} ms" for name, ms in profile))
