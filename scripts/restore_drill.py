"""`make restore-drill`: rehearse a restore on the demo data and print the figures.

Backs the embedded database up, restores that backup to the latest archived change into a
scratch data directory, compares rows and the audit head with the source, then stops and removes
the scratch cluster (`--keep` leaves it running). Runs `make demo`'s script first when there is
neither a login nor AURORA_TOKEN (so on a real installation it rehearses on the real data). Exit 0 only when every check holds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AURORA = str(REPO / ".venv" / "bin" / "aurora")


def aurora(*args: str, env: dict | None = None) -> dict | list:
    started = time.monotonic()
    result = subprocess.run(
        [AURORA, "--format", "json", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )
    if result.returncode != 0:
        sys.exit(f"aurora {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    doc = json.loads(result.stdout) if result.stdout.strip() else {}
    if isinstance(doc, dict):
        doc["_seconds"] = time.monotonic() - started
    return doc


def mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="leave the restored cluster running")
    options = parser.parse_args()
    credentials = Path(os.environ.get("AURORA_CREDENTIALS", "~/.config/aurora/credentials")).expanduser()
    if not credentials.is_file() and not os.environ.get("AURORA_TOKEN"):
        print("No demo login found: running the demo first (scripts/demo.sh).", file=sys.stderr)
        subprocess.run([str(REPO / "scripts" / "demo.sh")], check=True, cwd=REPO, stdout=subprocess.DEVNULL)

    backup = aurora("db", "backup")
    scratch = Path(tempfile.mkdtemp(prefix="aurora-drill-"))  # short: Unix socket paths are limited
    target = scratch / "restored"
    try:
        restore = aurora("db", "restore", "--from", backup["label"], "--to-latest", "--data-dir", str(target))
        source_verify = aurora("audit", "verify")
        restored_verify = aurora("audit", "verify", env={"AURORA_DATA_DIR": str(target)})
    finally:
        if not options.keep:
            subprocess.run([AURORA, "db", "stop"], env={**os.environ, "AURORA_DATA_DIR": str(target)},
                           capture_output=True, cwd=REPO)  # fmt: skip
            shutil.rmtree(scratch, ignore_errors=True)

    print(f"backup   {backup['label']}: {mib(backup['size_bytes'])} in {backup['duration_seconds']:.1f} s "
          f"(command {backup['_seconds']:.1f} s), verified: {backup['verified']}")  # fmt: skip
    print(f"restore  to latest: {restore['restore_seconds']:.1f} s (WAL replay {restore['recovery_seconds']:.1f} s, "
          f"command {restore['_seconds']:.1f} s)")  # fmt: skip
    failures = 0
    print(f"{'table':32} {'source':>10} {'restored':>10}")
    for table, counts in restore["row_counts"].items():
        same = counts["restored"] == counts["source"]
        failures += not same
        print(f"{table:32} {counts['source']:>10} {counts['restored']:>10} {'ok' if same else 'DIFFERENT'}")
    print(f"audit    restored: intact={restored_verify['intact']} head seq {restore['audit_head_seq']} "
          f"{restore['audit_head_row_hash']}; same row in source: {restore['audit_matches_source']}")  # fmt: skip
    print(f"audit    source now: intact={source_verify['intact']} head seq {source_verify['head_seq']} "
          f"(the restore's own rows come after the restored head)")  # fmt: skip
    print(f"not replayed: {restore['not_replayed_count']} audit rows")
    checks = [restore["audit_intact"], restore["audit_matches_source"], restored_verify["intact"], not failures]
    if options.keep:
        print(f"restored cluster left running: AURORA_DATA_DIR={target} .venv/bin/aurora …")
    return 0 if all(checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
