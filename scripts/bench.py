"""`make bench`: throughput and peak memory of each pipeline stage at growing scales.

For each scale it writes a synthetic import file (validators × delegators for one Solana epoch),
loads it into a throw-away embedded cluster, and times ingest → normalize → compute-pnl. Next to each
stage it measures a reference ceiling on the same database in the same run: a plain COPY of the
file's lines into a scratch table, and one INSERT … SELECT … GROUP BY over the
canonical reward rows. Peak memory is the process's peak resident set during the stage (VmHWM,
reset before each stage); it should stay flat as the input grows. Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from aurora_cli.db.cluster import DATABASE, EmbeddedCluster
from aurora_cli.db.engine import make_engine, transaction
from aurora_cli.db.migrate import upgrade
from aurora_cli.devtools.synthetic import write_period_file
from aurora_cli.services import ingest, normalize, pnl
from aurora_cli.services.config_apply import apply_config, read_config

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
    elapsed = time.perf_counter() - started
    return elapsed, _rss_high_water_mark(), result


def run_scale(engine, workdir: Path, epoch: int, validators: int, delegators: int) -> list[dict]:
    period = str(epoch)
    path = workdir / f"epoch-{period}.jsonl"
    stats = write_period_file(path, CHAIN, period, validators, delegators, seed=epoch)
    with transaction(engine) as session:
        session.execute(
            text(
                "INSERT INTO canonical_periods (chain_id, period_identifier, period_start, period_end)"
                " VALUES (:c, :p, :s, :e)"
            ),
            {
                "c": CHAIN,
                "p": period,
                "s": f"2030-01-{epoch % 28 + 1:02d}T00:00:00Z",
                "e": f"2030-01-{epoch % 28 + 1:02d}T12:00:00Z",
            },
        )
    rows: list[dict] = []
    label = f"{validators}×{delegators}"

    def ceiling_copy() -> int:
        with transaction(engine) as session:
            session.execute(text("CREATE TEMP TABLE raw_lines (line text) ON COMMIT DROP"))
            driver = session.connection().connection.driver_connection
            with (
                driver.cursor() as cur,
                cur.copy("COPY raw_lines (line) FROM STDIN") as copy,
                open(path) as fh,
            ):
                for line in fh:
                    copy.write_row((line.rstrip("\n"),))
        return stats.lines

    seconds, peak, _ = measure(ceiling_copy)
    rows.append(
        {
            "scale": label,
            "stage": "reference: COPY lines",
            "rows": stats.lines,
            "seconds": seconds,
            "peak": peak,
        }
    )

    seconds, peak, _ = measure(
        lambda: ingest.ingest_file(engine, chain_id=CHAIN, period=period, path=path, strict=True)
    )
    rows.append(
        {
            "scale": label,
            "stage": "ingest (parse, COPY, group, hash)",
            "rows": stats.lines,
            "seconds": seconds,
            "peak": peak,
        }
    )

    def do_normalize():
        with transaction(engine) as session:
            return normalize.normalize(session, CHAIN, period)

    seconds, peak, result = measure(do_normalize)
    canonical = sum(result.written.values())
    rows.append({"scale": label, "stage": "normalize", "rows": canonical, "seconds": seconds, "peak": peak})

    def do_pnl():
        with transaction(engine) as session:
            return pnl.compute_pnl(session, CHAIN, period)

    seconds, peak, _ = measure(do_pnl)
    rows.append({"scale": label, "stage": "compute-pnl", "rows": canonical, "seconds": seconds, "peak": peak})

    def ceiling_group_by() -> None:
        with transaction(engine) as session:
            session.execute(
                text(
                    "CREATE TEMP TABLE pnl_ref ON COMMIT DROP AS SELECT validator_key, sum(rewards_native) r,"
                    " sum(commission_native) c FROM canonical_stake_rewards r JOIN canonical_periods p"
                    " USING (period_id) WHERE p.period_identifier = :p GROUP BY validator_key"
                ),
                {"p": period},
            )

    seconds, peak, _ = measure(ceiling_group_by)
    rows.append(
        {
            "scale": label,
            "stage": "reference: INSERT…SELECT GROUP BY",
            "rows": canonical,
            "seconds": seconds,
            "peak": peak,
        }
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validators", type=int, default=20)
    parser.add_argument(
        "--delegators",
        type=int,
        nargs="+",
        default=[1000, 5000, 20000],
        help="delegators per validator at each scale",
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="aurora-bench-"))
    root.chmod(0o711)
    cluster = EmbeddedCluster(root / "cluster")
    console = Console(stderr=True)
    try:
        cluster.init()
        cluster.start()
        cluster.create_database(DATABASE)
        url = cluster.url(DATABASE, driver="postgresql+psycopg")
        upgrade(url)
        engine = make_engine(url)
        with transaction(engine) as session:
            apply_config(session, read_config(REPO / "config"))
        results: list[dict] = []
        for epoch, delegators in enumerate(args.delegators, start=900):
            console.print(f"scale {args.validators} validators × {delegators} delegators …")
            results += run_scale(engine, root, epoch, args.validators, delegators)
        engine.dispose()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)

    table = Table(title="Aurora pipeline benchmark (one Solana epoch per scale; fsync on)")
    for column in ("scale", "stage", "rows", "seconds", "rows/s", "peak RSS MiB"):
        table.add_column(column, justify="left" if column in ("scale", "stage") else "right")
    for r in results:
        table.add_row(
            r["scale"],
            r["stage"],
            f"{r['rows']:,}",
            f"{r['seconds']:.3f}",
            f"{r['rows'] / r['seconds']:,.0f}",
            f"{r['peak'] / 2**20:.1f}",
        )
    Console(width=130).print(table)


if __name__ == "__main__":
    main()
