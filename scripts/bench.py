"""`make bench`: each pipeline stage against a reference measured in the same run on the same database.

For each scale (validators × delegators, one Solana epoch) it writes a synthetic import file
(`devtools.synthetic`, deterministic by seed), loads it into a throw-away embedded cluster and times
ingest → normalize → compute-pnl, each next to its reference ceiling: ingest vs a plain COPY of the
raw lines into a jsonb table; normalize vs one constrained INSERT … SELECT of the same typed rows
into a table with the indexes and foreign keys of `canonical_stake_rewards`; compute-pnl vs one
INSERT … SELECT … GROUP BY plus the CLI's start-up (`aurora --version`); the whole pipeline vs a
pandas script on the same file in its own venv. At the first scale it also applies A agreement
files in one transaction, computes commissions (A agreements × 3 rules) and generates statements.

Aurora's stages run as the CLI runs them: as `aurora_app` (no ownership, row-level security forced,
the library's SYSTEM scope), on a database migrated as `aurora_migrate`. The references run as the
cluster's superuser (they create tables, and no RLS applies to them), which the tables say.

Each stage's time is split into its steps: every SQL statement is timed (SQLAlchemy cursor events)
and put in a step by what it does; what no statement accounts for is the COPY stream (ingest) or
Python and commit. Normalize's partition swap reports its own steps (revision 015). The hashing
inside ingest's one grouping statement is measured apart on the same payloads. CLI start-up is the
median of three runs of `aurora --help`, `aurora --version`, `aurora whoami` and `aurora periods
list` (after a login). Peak memory is the stage's peak resident set (VmHWM, reset before each
stage). Because the ratios compare figures of the same run, they hold on a loaded machine; the
seconds do not. Writes bench/results.json and bench/results.md; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event, text

from aurora_cli.db.cluster import APP_ROLE, DATABASE, MIGRATE_ROLE, EmbeddedCluster
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


STARTUP_COMMANDS = {
    "--help": ["--help"],
    "--version": ["--version"],
    "whoami": ["whoami"],
    "periods list": ["periods", "list", "--chain", CHAIN],
}


def cli_env(workdir: Path, app_url: str) -> dict:
    home = workdir / "cli-home"
    home.mkdir(exist_ok=True)
    return {
        **os.environ,
        "AURORA_DATA_DIR": str(home),
        "AURORA_DATABASE_URL": app_url,
        "AURORA_CREDENTIALS": str(home / "credentials"),
        "HOME": str(home),
    }


def cli_startup(workdir: Path, app_url: str) -> dict[str, float]:
    """Median of three runs of each start-up command, as the CLI user (aurora_app), after a login."""
    env = cli_env(workdir, app_url)
    aurora = str(Path(sys.executable).with_name("aurora"))
    password = "bench-password-123\n"
    for argv in (
        [
            "users",
            "bootstrap-admin",
            "--username",
            "bench-admin",
            "--email",
            "bench@example.com",
            "--password-stdin",
        ],
        ["login", "--username", "bench-admin", "--password-stdin"],
    ):
        subprocess.run([aurora, *argv], input=password, text=True, env=env, check=True, capture_output=True)
    return {
        name: statistics.median(child_peak([aurora, *argv], env)[0] for _ in range(3))
        for name, argv in STARTUP_COMMANDS.items()
    }


# -- where the time goes -----------------------------------------------------------------------

# A statement's step, by what it does (first match). The steps Aurora does that a pandas script does
# not are named for it: staging the raw payload, hashing, lineage (runs), constraints (FKs, indexes).
STEP_RULES = [
    (r"WITH groups AS", "group + hash + stage payloads"),
    (r"INSERT INTO validator_pnl", "P&L INSERT … SELECT … GROUP BY"),
    (r"aurora_refresh_summary", "refresh summary (MV)"),
    (r"canonical_validator_identities", "register validators"),
    (r"ingestion_runs", "run bookkeeping (lineage)"),
    (r"aurora_reward_swap_begin", "swap: begin (fresh table)"),
    (r"aurora_reward_swap_finish", "swap: finish"),
    (
        r'INSERT INTO "canonical_stake_rewards_',
        "extract + insert into the fresh partition (jsonb_to_recordset)",
    ),
    (r"CREATE TEMP TABLE norm_fast", "extract: check payloads (SQL rules)"),
    (r"INSERT INTO norm_rewards", "extract: jsonb_to_recordset into work table"),
    (r"CREATE TEMP TABLE norm_payloads|FROM norm_payloads", "select payloads (priority)"),
    (r"canonical_validator_(fees|mev|meta)", "fees / MEV / meta upsert"),
    (r"(DELETE FROM|INSERT INTO) canonical_stake_rewards", "parent path DELETE + INSERT"),
    (r"import_lines|import_raw|import_rule_errors", "check (SQL rules, typed extraction)"),
]
_STEP_PATTERNS = [(re.compile(pattern), step) for pattern, step in STEP_RULES]
REMAINDER = {
    "ingest": "COPY of the lines (+ Python scan, commit)",
    "normalize": "Python, commit",
    "compute-pnl": "Python, commit",
}
# Normalize's swap (aurora_reward_swap_finish) reports its own steps.
SWAP_STEPS = {
    "scope_check_seconds": "swap: scope check (RLS's rules, per validator)",
    "keep_seconds": "swap: keep other validators' rows",
    "detach_seconds": "swap: detach + drop the old partition",
    "index_seconds": "swap: build indexes (constraints)",
    "attach_seconds": "swap: ATTACH = FK + bound validation (constraints, lineage)",
    "analyze_seconds": "swap: ANALYZE",
}


# The steps a pandas script does not do at all, and what they buy.
AURORA_ONLY = {
    "group + stage raw payloads (GIN, TOAST)": "staging the raw payload",
    "sha256 hashing (measured apart)": "hashing",
    "run bookkeeping (lineage)": "lineage (runs)",
    "check (SQL rules, typed extraction)": "validation with line numbers",
    "register validators": "validator registry",
    "extract: check payloads (SQL rules)": "re-validation of staged payloads",
    "swap: build indexes (constraints)": "constraints (PK, indexes)",
    "swap: ATTACH = FK + bound validation (constraints, lineage)": "constraints (FKs: lineage to the payload)",
    "swap: scope check (RLS's rules, per validator)": "row-level security",
    "swap: ANALYZE": "planner statistics",
    "refresh summary (MV)": "reporting summary",
}


class StatementClock:
    """Times every statement the engine runs and adds it to the current stage's steps."""

    def __init__(self, engine) -> None:
        self.steps: dict[str, float] | None = None

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
            conn.info.setdefault("aurora_bench_started", []).append(time.perf_counter())

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
            elapsed = time.perf_counter() - conn.info["aurora_bench_started"].pop()
            if self.steps is not None:
                step = next((s for p, s in _STEP_PATTERNS if p.search(statement)), "other SQL")
                self.steps[step] = self.steps.get(step, 0.0) + elapsed

    def start(self) -> None:
        self.steps = {}

    def stop(self, stage: str, total: float) -> dict[str, float]:
        steps, self.steps = self.steps or {}, None
        steps[REMAINDER[stage]] = max(total - sum(steps.values()), 0.0)
        return steps


def split_swap(steps: dict[str, float], swap: dict | None) -> dict[str, float]:
    if not swap or "swap: finish" not in steps:
        return steps
    finish = steps.pop("swap: finish")
    for key, name in SWAP_STEPS.items():
        steps[name] = float(swap.get(key, 0.0))
        finish -= steps[name]
    steps["swap: finish, rest (revoke grants)"] = max(finish, 0.0)
    return steps


def hashing_seconds(ref_engine, run_id) -> float:
    """sha256 over the run's payload text, measured apart: the same read with and without the hash
    (the read first, twice, so both hashed and plain passes find the payloads in cache)."""
    base = "FROM (SELECT raw_payload::text AS t FROM staging_payloads WHERE run_id = :r) s"
    timings = []
    for select in ("sum(length(t))", "sum(length(t))", "sum(length(sha256(convert_to(t, 'UTF8'))))"):
        with transaction(ref_engine) as session:
            started = time.perf_counter()
            session.execute(text(f"SELECT {select} {base}"), {"r": run_id}).scalar()
            timings.append(time.perf_counter() - started)
    return max(timings[2] - timings[1], 0.0)


def register_period(engine, epoch: int) -> str:
    period = str(epoch)
    day = epoch % 28 + 1
    with transaction(engine) as session:
        session.execute(
            text(
                "INSERT INTO canonical_periods (chain_id, period_identifier, period_start, period_end, is_finalized)"
                " VALUES (:c, :p, :s, :e, true)"
            ),
            {
                "c": CHAIN,
                "p": period,
                "s": f"2030-01-{day:02d}T00:00:00Z",
                "e": f"2030-01-{day:02d}T12:00:00Z",
            },
        )
    return period


def copy_raw_lines(engine, path: Path) -> None:
    """Reference: the file's lines COPY'd as they are into a jsonb column (CSV mode that quotes nothing)."""
    with transaction(engine) as session:
        session.execute(text("CREATE TEMP TABLE ref_raw_lines (line jsonb) ON COMMIT DROP"))
        driver = session.connection().connection.driver_connection
        with (
            driver.cursor() as cur,
            cur.copy(
                "COPY ref_raw_lines FROM STDIN WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
            ) as copy,
            open(path, "rb") as handle,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)


def constrained_insert(engine, period_id) -> None:
    """Reference: the period's typed reward rows INSERT … SELECT'ed into a table with the same indexes and FKs."""
    with transaction(engine) as session:
        session.execute(text("CREATE TABLE ref_rewards (LIKE canonical_stake_rewards INCLUDING ALL)"))
        # The real table's foreign keys, read from the catalogue, so the reference keeps up with the schema.
        foreign_keys = session.execute(
            text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = 'canonical_stake_rewards'::regclass AND contype = 'f' ORDER BY conname"
            )
        ).scalars()
        for definition in list(foreign_keys):
            session.execute(text(f"ALTER TABLE ref_rewards ADD {definition}"))
    started = time.perf_counter()
    with transaction(engine) as session:
        session.execute(
            text("INSERT INTO ref_rewards SELECT * FROM canonical_stake_rewards WHERE period_id = :p"),
            {"p": period_id},
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


def run_scale(
    engine,
    ref_engine,
    clock: StatementClock,
    workdir: Path,
    epoch: int,
    validators: int,
    delegators: int,
    args,
    startup: float,
    breakdown: list[dict],
) -> list[dict]:
    path = workdir / f"epoch-{epoch}.jsonl"
    stats = write_period_file(path, CHAIN, str(epoch), validators, delegators, seed=epoch)
    period = register_period(engine, epoch)
    with transaction(engine) as session:
        period_id = session.execute(
            text("SELECT period_id FROM canonical_periods WHERE period_identifier = :p"), {"p": period}
        ).scalar()
    label = f"{validators}×{delegators}"
    rows: list[dict] = []

    def add(
        stage: str, count: int, seconds: float, peak: int, reference: str | None = None, ref_seconds=None
    ):
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

    copy_s, _, _ = measure(lambda: copy_raw_lines(ref_engine, path))
    clock.start()
    ingest_s, ingest_peak, ingested = measure(
        lambda: ingest.ingest_file(engine, chain_id=CHAIN, period=period, path=path, strict=True)
    )
    ingest_steps = clock.stop("ingest", ingest_s)
    hash_s = hashing_seconds(ref_engine, ingested.run_id)
    if "group + hash + stage payloads" in ingest_steps:
        grouped = ingest_steps.pop("group + hash + stage payloads")
        ingest_steps["group + stage raw payloads (GIN, TOAST)"] = max(grouped - hash_s, 0.0)
        ingest_steps["sha256 hashing (measured apart)"] = min(hash_s, grouped)
    add("ingest", stats.lines, ingest_s, ingest_peak, "COPY raw lines into jsonb (superuser)", copy_s)

    def do_normalize():
        with transaction(engine) as session:
            return normalize.normalize(session, CHAIN, period)

    clock.start()
    normalize_s, normalize_peak, result = measure(do_normalize)
    normalize_steps = split_swap(clock.stop("normalize", normalize_s), result.reward_swap)
    canonical = sum(result.written.values())
    insert_s = constrained_insert(ref_engine, period_id)
    add(
        "normalize",
        canonical,
        normalize_s,
        normalize_peak,
        "constrained INSERT … SELECT (superuser)",
        insert_s,
    )

    def do_pnl():
        with transaction(engine) as session:
            return pnl.compute_pnl(session, CHAIN, period)

    clock.start()
    pnl_s, pnl_peak, _ = measure(do_pnl)
    pnl_steps = clock.stop("compute-pnl", pnl_s)
    group_s, _, _ = measure(lambda: group_by(ref_engine, period_id))
    add(
        "compute-pnl (+ CLI start-up)",
        canonical,
        pnl_s + startup,
        pnl_peak,
        "GROUP BY (superuser) + CLI start-up",
        group_s + startup,
    )

    pipeline_s = ingest_s + normalize_s + pnl_s
    for stage, steps in (
        ("ingest", ingest_steps),
        ("normalize", normalize_steps),
        ("compute-pnl", pnl_steps),
    ):
        for step, seconds in sorted(steps.items(), key=lambda item: -item[1]):
            breakdown.append(
                {
                    "scale": label,
                    "stage": stage,
                    "step": step,
                    "seconds": round(seconds, 3),
                    "share_of_stage": round(
                        seconds / {"ingest": ingest_s, "normalize": normalize_s, "compute-pnl": pnl_s}[stage],
                        4,
                    ),
                    "share_of_pipeline": round(seconds / pipeline_s, 4),
                    "aurora_only": AURORA_ONLY.get(step),
                }
            )
    if args.pandas_python and Path(args.pandas_python).exists():
        pandas_s, pandas_peak, _ = child_peak(
            [args.pandas_python, str(REPO / "scripts" / "bench_pandas.py"), str(path)]
        )
        add(
            "pipeline vs pandas script",
            stats.lines,
            pipeline_s,
            max(ingest_peak, normalize_peak, pnl_peak),
            f"pandas script (peak {pandas_peak / 2**20:.0f} MiB)",
            pandas_s,
        )
    else:
        add("pipeline (no pandas venv)", stats.lines, pipeline_s, max(ingest_peak, normalize_peak, pnl_peak))

    if args.agreements and epoch == args.first_epoch:
        files = write_agreements(
            workdir / "agreements", CHAIN, args.agreements, validators, delegators, seed=epoch
        )

        def do_apply():
            loaded = [
                (p.name, load_agreement_file(p)) for p in agreements.agreement_paths([workdir / "agreements"])
            ]
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
    startup = results["cli_startup_seconds"]
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {results['machine']}, {results['when']} (other processes were running: the",
        "seconds vary with load, the ratios compare figures of the same run). Aurora's stages run as",
        "`aurora_app` under forced row-level security, like the CLI; the references as the superuser.",
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
    lines += [
        "",
        "CLI start-up, median of 3 (as aurora_app, after a login):",
        "",
        "| command | seconds |",
        "|---|---:|",
        *(f"| `aurora {name}` | {seconds:.2f} |" for name, seconds in startup.items()),
        "",
        "Where the pipeline's time goes (ingest + normalize + compute-pnl; each statement timed):",
        "",
        "| scale | stage | step | seconds | share of stage | share of pipeline | pandas does not: |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in results["steps"]:
        lines.append(
            f"| {r['scale']} | {r['stage']} | {r['step']} | {r['seconds']:.2f} | "
            f"{100 * r['share_of_stage']:.1f}% | {100 * r['share_of_pipeline']:.1f}% | {r['aurora_only'] or ''} |"
        )
    for scale in dict.fromkeys(r["scale"] for r in results["steps"]):
        only = [r for r in results["steps"] if r["scale"] == scale and r["aurora_only"]]
        share = sum(r["share_of_pipeline"] for r in only)
        lines.append("")
        lines.append(
            f"{scale}: the steps a pandas script does not do take {sum(r['seconds'] for r in only):.2f} s,"
            f" {100 * share:.1f}% of the pipeline."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scales", nargs="+", default=["100x10000", "200x10000"], help="VALIDATORSxDELEGATORS"
    )
    parser.add_argument("--agreements", type=int, default=1000, help="agreement files at the first scale")
    parser.add_argument("--pandas-python", default=str(REPO / ".venv-bench" / "bin" / "python"))
    parser.add_argument("--out", default=str(REPO / "bench"))
    args = parser.parse_args()
    args.first_epoch = 900

    root = Path(tempfile.mkdtemp(prefix="aurora-bench-"))
    root.chmod(0o711)
    cluster = EmbeddedCluster(root / "cluster")
    stages: list[dict] = []
    breakdown: list[dict] = []
    try:
        cluster.init()
        cluster.start()
        cluster.create_database(DATABASE)
        # As `aurora db up` leaves it: the schema owned and migrated by aurora_migrate, the
        # application connecting as aurora_app.
        cluster.ensure_login_roles()
        cluster.hand_schema_to_migrate_role(DATABASE)
        upgrade(cluster.role_url(MIGRATE_ROLE, DATABASE, driver="postgresql+psycopg"))
        app_url = cluster.role_url(APP_ROLE, DATABASE, driver="postgresql+psycopg")
        engine = make_engine(app_url)
        ref_engine = make_engine(cluster.url(DATABASE, driver="postgresql+psycopg"))
        clock = StatementClock(engine)
        with transaction(engine) as session:
            apply_config(session, read_config(REPO / "config"))
        startup = cli_startup(root, app_url)
        for epoch, scale in enumerate(args.scales, start=args.first_epoch):
            validators, delegators = (int(n) for n in scale.lower().split("x"))
            print(f"scale {validators} validators × {delegators} delegators …", file=sys.stderr, flush=True)
            stages += run_scale(
                engine,
                ref_engine,
                clock,
                root,
                epoch,
                validators,
                delegators,
                args,
                startup["--version"],
                breakdown,
            )
        engine.dispose()
        ref_engine.dispose()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)

    results = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, Python {platform.python_version()}",
        "runs_as": {"aurora": APP_ROLE, "references": "superuser"},
        "cli_startup_seconds": {name: round(seconds, 3) for name, seconds in startup.items()},
        "stages": stages,
        "steps": breakdown,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
