"""`aurora dev`: synthetic datasets for tests, the benchmark and the committed samples (ADMIN or OPS).

Parses options, calls `devtools.synthetic`, lists what was written. Never writes to the database
(the frame's audit row aside).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aurora_cli.cli.frame import Runtime, command
from aurora_cli.devtools import synthetic
from aurora_cli.domain.permissions import Permission
from aurora_cli.errors import InvalidInput

app = typer.Typer(help="Developer tools: deterministic synthetic data (ADMIN or OPS).", no_args_is_help=True)

FILE_COLUMNS = ["path", "kind", "period", "lines", "bytes"]


@command(
    app,
    "generate",
    path="dev generate",
    permission=Permission.OPERATE,
    help="Write import files for K consecutive periods (N validators x M delegators) and A agreement files.",
)
def generate(
    rt: Runtime,
    out: Annotated[Path, typer.Option("--out", help="Folder for <chain>_<period>.jsonl and agreements/.")],
    validators: Annotated[int, typer.Option("--validators", min=0, help="Validators per period.")] = 5,
    delegators: Annotated[int, typer.Option("--delegators", min=0, help="Delegators per validator.")] = 200,
    periods: Annotated[int, typer.Option("--periods", min=1, help="How many consecutive periods.")] = 1,
    agreements: Annotated[int, typer.Option("--agreements", min=0, help="Partner agreement files.")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 7,
    chain: Annotated[
        str, typer.Option("--chain", help="solana-* or ethereum-* chain id.")
    ] = "solana-mainnet",
    first_period: Annotated[
        str | None,
        typer.Option("--first-period", help="First period (default: epoch 850 / day 2025-06-01)."),
    ] = None,
) -> None:
    try:
        dataset = synthetic.write_dataset(
            out,
            chain=chain,
            validators=validators,
            delegators_per_validator=delegators,
            periods=periods,
            agreements=agreements,
            seed=seed,
            first_period=first_period,
        )
    except (ValueError, OSError) as exc:
        raise InvalidInput(f"dev generate: {exc}") from exc
    rows = [_period_row(stats) for stats in dataset.periods]
    rows += [
        {"path": str(path), "kind": "agreement", "period": None, "lines": None, "bytes": path.stat().st_size}
        for path in dataset.agreement_files
    ]
    rt.output.listing(rows, FILE_COLUMNS, title=f"dev generate {out}")


@command(
    app,
    "samples",
    path="dev samples",
    permission=Permission.OPERATE,
    help="Rewrite the committed sample dataset (config/samples/) byte for byte.",
)
def samples(
    rt: Runtime,
    out: Annotated[Path, typer.Option("--out", help="Folder to write, e.g. config/samples.")],
) -> None:
    try:
        written = synthetic.write_samples(out)
    except (ValueError, OSError) as exc:
        raise InvalidInput(f"dev samples: {exc}") from exc
    rt.output.listing([_period_row(stats) for stats in written], FILE_COLUMNS, title=f"dev samples {out}")


def _period_row(stats: synthetic.PeriodFileStats) -> dict[str, object]:
    return {
        "path": str(stats.path),
        "kind": "period",
        "period": stats.period,
        "lines": stats.lines,
        "bytes": stats.bytes_written,
    }
