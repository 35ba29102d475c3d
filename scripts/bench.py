"""`make bench`: each pipeline stage against a reference measured in the same run on the same database.

For each scale (validators × delegators, one Solana epoch) it writes a synthetic import file
(`devtools.synthetic`, deterministic by seed), loads it into a throw-away embedded cluster and times
ingest → normalize → compute-pnl, each next to its reference ceiling: ingest vs a plain COPY of the
raw lines into a jsonb table; normalize vs one constrained INSERT … SELECT of the same typed rows
into a table with the indexes and foreign keys of `canonical_stake_rewards`; compute-pnl vs one
INSERT … SELECT … GROUP BY plus the CLI's start-up (`aurora --help`); the whole pipeline vs a
pandas script on the same file in its own venv. At the first scale it also applies A agreement
files in one transaction, computes commissions (A agreements × 3 rules) and generates statements.
Peak memory is the stage's peak resident set (VmHWM, reset before each stage). Because the ratios
compare figures of the same run, they hold on a loaded machine; the seconds do not. Writes
bench/results.json and bench/results.md; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from aurora_cli.db.cluster import DATABASE, EmbeddedCluster
from aurora_cli.db.engine import make_engine, transaction
from aurora_cli.db.migrate import upgrade
from aurora_cli.devtools.synthetic import write_agreements, write_period_file
from aurora_cli.domain.agreement_file import load_agreement_file
from aurora_cli.services import agreements, ingest, normalize, pnl
from aurora_cli.services.commissions import engine as commissions
from aurora_cli.services.config_apply import apply_config, read_config
from aurora_cli.services.statements.generation import generate_statements

REPO = Path(__file__).resolve().parents[1]
CHAIN = "solana-mainnet"


def _rss_high_water_mark() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def measure(work: Callable[[], object]) -> tuple[float, int, object]:
    """Seconds and peak resident memory of one stage (Linux: VmHWM, reset through clear_refs)."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak to the current RSS
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, _rss_high_water_mark(), result


def child_peak(argv: list[str], env: dict | None = None) -> tuple[float, int, str]:
    """Like run_child, with the child's own peak RSS from wait4 (not the children's maximum)."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = child.stdout.read()  # type: ignore[union-attr]
    err = child.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if status:
        raise RuntimeError(f"{argv[0]} failed: {err.decode()[-500:]}")
    return elapsed, usage.ru_maxrss * 1024, out.decode()


def cli_startup(workdir: Path) -> float:
    """Median of three `aurora --help` runs (the CLI has no --version yet: issue 12)."""
    env = {**os.environ, "AURORA_DATA_DIR": str(workdir / "cli-home")}
    aurora = str(Path(sys.executable).with_name("aurora"))
    return statistics.median(child_peak([aurora, "--help"], env)[0] for _ in range(3))


def register_period(engine, epoch: int) -> str:
    period = str(epoch)
    day = epoch % 28 + 1
    with transaction(engine) as session:
        session.execute(
            text(
                "INSERT INTO canonical_periods (chain_id, period_identifier, period_start, period_end, is_finalized)"
                " VALUES (:c, :p, :s, :e, true)"
            ),
            {"c": CHAIN, "p": period, "s": f"2030-01-{day:02d}T00:00:00Z", "e": f"2030-01-{day:02d}T12:00:00Z"},
        )
    return period


def copy_raw_lines(engine, path: Path) -> None:
    """Reference: the file's lines COPY'd as they are into a jsonb column (CSV mode that quotes nothing)."""
    with transaction(engine) as session:
        session.execute(text("CREATE TEMP TABLE ref_raw_lines (line jsonb) ON COMMIT DROP"))
        driver = session.connection().connection.driver_connection
        with (
            driver.cursor() as cur,
            cur.copy("COPY ref_raw_lines FROM STDIN WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')") as copy,
            open(path, "rb") as handle,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)


def constrained_insert(engine, period_id) -> None:
    """Reference: the period's typed reward rows INSERT … SELECT'ed into a table with the same indexes and FKs."""
    with transaction(engine) as session:
        session.execute(text("CREATE TABLE ref_rewards (LIKE canonical_stake_rewards INCLUDING ALL)"))
        for column, target in (
            ("chain_id", "chains (chain_id)"),
            ("period_id", "canonical_periods (period_id)"),
            ("source_provider_id", "providers (provider_id)"),
            ("source_payload_id", "staging_payloads (payload_id)"),
        ):
            session.execute(text(f"ALTER TABLE ref_rewards ADD FOREIGN KEY ({column}) REFERENCES {target}"))
    started = time.perf_counter()
    with transaction(engine) as session:
        session.execute(
            text("INSERT INTO ref_rewards SELECT * FROM canonical_stake_rewards WHERE period_id = :p"), {"p": period_id}
        )
    elapsed = time.perf_counter() - started
    with transaction(engine) as session:
        session.execute(text("DROP TABLE ref_rewards"))
    return elapsed


def group_by(engine, period_id) -> None:
    with transaction(engine) as session:
        session.execute(
            text(
                "CREATE TEMP TABLE ref_pnl ON COMMIT DROP AS SELECT validator_key, sum(rewards_native) r,"
                " sum(commission_native) c FROM canonical_stake_rewards WHERE period_id = :p GROUP BY validator_key"
            ),
            {"p": period_id},
        )


def run_scale(engine, workdir: Path, epoch: int, validators: int, delegators: int, args, startup: float) -> list[dict]:
    path = workdir / f"epoch-{epoch}.jsonl"
    stats = write_period_file(path, CHAIN, str(epoch), validators, delegators, seed=epoch)
    period = register_period(engine, epoch)
    with transaction(engine) as session:
        period_id = session.execute(
            text("SELECT period_id FROM canonical_periods WHERE period_identifier = :p"), {"p": period}
        ).scalar()
    label = f"{validators}×{delegators}"
    rows: list[dict] = []

    def add(stage: str, count: int, seconds: float, peak: int, reference: str | None = None, ref_seconds=None):
        rows.append(
            {
                "scale": label,
                "stage": stage,
                "rows": count,
                "seconds": round(seconds, 3),
                "rows_per_second": round(count / seconds) if seconds else None,
                "peak_rss_mib": round(peak / 2**20, 1) if peak else None,
                "reference": reference,
                "reference_seconds": round(ref_seconds, 3) if ref_seconds is not None else None,
                "ratio": round(seconds / ref_seconds, 2) if ref_seconds else None,
            }
        )
        print(f"  {label:>12} {stage:<34} {count:>10,} {seconds:8.2f}s", file=sys.stderr, flush=True)

    copy_s, _, _ = measure(lambda: copy_raw_lines(engine, path))
    ingest_s, ingest_peak, _ = measure(
        lambda: ingest.ingest_file(engine, chain_id=CHAIN, period=period, path=path, strict=True)
    )
    add("ingest", stats.lines, ingest_s, ingest_peak, "COPY raw lines into jsonb", copy_s)

    def do_normalize():
        with transaction(engine) as session:
            return normalize.normalize(session, CHAIN, period)

    normalize_s, normalize_peak, result = measure(do_normalize)
    canonical = sum(result.written.values())
    insert_s = constrained_insert(engine, period_id)
    add("normalize", canonical, normalize_s, normalize_peak, "constrained INSERT … SELECT", insert_s)

    def do_pnl():
        with transaction(engine) as session:
            return pnl.compute_pnl(session, CHAIN, period)

    pnl_s, pnl_peak, _ = measure(do_pnl)
    group_s, _, _ = measure(lambda: group_by(engine, period_id))
    add("compute-pnl (+ CLI start-up)", canonical, pnl_s + startup, pnl_peak, "GROUP BY + CLI start-up", group_s + startup)

    pipeline_s = ingest_s + normalize_s + pnl_s
    if args.pandas_python and Path(args.pandas_python).exists():
        pandas_s, pandas_peak, _ = child_peak([args.pandas_python, str(REPO / "scripts" / "bench_pandas.py"), str(path)])
        add("pipeline vs pandas script", stats.lines, pipeline_s, max(ingest_peak, normalize_peak, pnl_peak),
            f"pandas script (peak {pandas_peak / 2**20:.0f} MiB)", pandas_s)
    else:
        add("pipeline (no pandas venv)", stats.lines, pipeline_s, max(ingest_peak, normalize_peak, pnl_peak))

    if args.agreements and epoch == args.first_epoch:
        files = write_agreements(workdir / "agreements", CHAIN, args.agreements, validators, delegators, seed=epoch)

        def do_apply():
            loaded = [(p.name, load_agreement_file(p)) for p in agreements.agreement_paths([workdir / "agreements"])]
            with transaction(engine) as session:
                return agreements.apply_agreements(session, loaded)

        apply_s, apply_peak, _ = measure(do_apply)
        add(f"agreements apply ({len(files)} files, + start-up)", len(files), apply_s + startup, apply_peak)

        def do_commissions():
            with transaction(engine) as session:
                return commissions.compute_commissions(session, CHAIN, period)

        comm_s, comm_peak, comm = measure(do_commissions)
        add(f"compute-commissions ({args.agreements} agreements)", canonical, comm_s, comm_peak)

        def do_statements():
            with transaction(engine) as session:
                return generate_statements(session, CHAIN, period=period)

        st_s, st_peak, _ = measure(do_statements)
        add("statements generate", args.agreements, st_s, st_peak)
    path.unlink(missing_ok=True)
    return rows


def markdown(results: dict) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {results['machine']}, {results['when']} (other processes were running: the",
        "seconds vary with load, the ratios compare figures of the same run). CLI start-up"
        f" (`aurora --help`): {results['cli_startup_seconds']:.2f} s.",
        "",
        "| scale | stage | rows | seconds | rows/s | peak RSS MiB | reference | ref. seconds | ratio |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in results["stages"]:
        ref = "" if r["reference_seconds"] is None else f"{r['reference_seconds']:.2f}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}×"
        lines.append(
            f"| {r['scale']} | {r['stage']} | {r['rows']:,} | {r['seconds']:.2f} | "
            f"{(r['rows_per_second'] or 0):,} | {r['peak_rss_mib'] or ''} | {r['reference'] or ''} | "
            f"{ref} | {ratio} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", default=["100x10000", "200x10000"], help="VALIDATORSxDELEGATORS")
    parser.add_argument("--agreements", type=int, default=1000, help="agreement files at the first scale")
    parser.add_argument("--pandas-python", default=str(REPO / ".venv-bench" / "bin" / "python"))
    parser.add_argument("--out", default=str(REPO / "bench"))
    args = parser.parse_args()
    args.first_epoch = 900

    root = Path(tempfile.mkdtemp(prefix="aurora-bench-"))
    root.chmod(0o711)
    cluster = EmbeddedCluster(root / "cluster")
    stages: list[dict] = []
    try:
        cluster.init()
        cluster.start()
        cluster.create_database(DATABASE)
        url = cluster.url(DATABASE, driver="postgresql+psycopg")
        upgrade(url)
        engine = make_engine(url)
        with transaction(engine) as session:
            apply_config(session, read_config(REPO / "config"))
        startup = cli_startup(root)
        for epoch, scale in enumerate(args.scales, start=args.first_epoch):
            validators, delegators = (int(n) for n in scale.lower().split("x"))
            print(f"scale {validators} validators × {delegators} delegators …", file=sys.stderr, flush=True)
            stages += run_scale(engine, root, epoch, validators, delegators, args, startup)
        engine.dispose()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)

    results = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, Python {platform.python_version()}",
        "cli_startup_seconds": round(startup, 3),
        "stages": stages,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
