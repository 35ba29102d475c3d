"""`aurora config apply`: parse, call `services.config_apply`, render what changed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aurora_cli.cli.frame import Runtime, command
from aurora_cli.domain.permissions import Permission
from aurora_cli.services import config_apply

app = typer.Typer(help="Configuration as code (ADMIN).", no_args_is_help=True)


@command(
    app,
    "apply",
    path="config apply",
    permission=Permission.ADMINISTER,
    help="Load chains.toml, providers.toml and validators.toml; a second apply changes nothing.",
)
def apply(
    rt: Runtime,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Folder with the TOML files (default: config/).")
    ] = None,
) -> None:
    folder = directory or rt.settings.config_dir
    files = config_apply.read_config(folder)  # a bad file is refused before the database is reached
    with rt.transaction() as session:
        report = config_apply.apply_files(session, rt.trail, files, folder=folder)
    rt.output.listing(
        report.rows(),
        ["kind", "created", "updated", "deactivated", "unchanged"],
        title=f"config apply {folder}",
    )
    rt.output.say(
        "Configuration applied." if report.changed else "Nothing changed: the database already matches."
    )
