"""Settings: committed defaults < user file (or --config) < AURORA_* environment < command-line options.

Owns where configuration comes from. Secrets (provider API keys) are never settings values here:
provider files name the environment variable that holds them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

COMMITTED_CONFIG = Path("config/aurora.toml")
USER_CONFIG = Path("~/.config/aurora/aurora.toml")


class IssuerSettings(BaseModel):
    """The `[issuer]` table: who issues partner statements (printed on each)."""

    legal_name: str | None = None  # unset: issuer_name
    address: str | None = None
    contact_email: str | None = None
    statement_prefix: str = "AUR"


def default_data_dir() -> Path:
    """The user's data directory for Aurora (~/.local/share/aurora on Linux): the same wherever the
    command runs from. AURORA_DATA_DIR or `data_dir` in aurora.toml choose another."""
    return platformdirs.user_data_path("aurora")


class Settings(BaseSettings):
    """Aurora settings. Every field can be set as AURORA_<NAME> in the environment."""

    model_config = SettingsConfigDict(env_prefix="AURORA_", extra="ignore")

    database_url: str | None = Field(
        default=None, description="External PostgreSQL URL; unset means the embedded cluster."
    )
    migration_database_url: str | None = Field(
        default=None,
        description="External PostgreSQL URL for migrations (the schema owner, aurora_migrate); "
        "unset means database_url.",
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where the embedded cluster lives (default: the user's data directory).",
    )
    config_dir: Path = Field(default=Path("config"), description="chains/providers/validators TOML files.")
    credentials: Path = Field(
        default=Path("~/.config/aurora/credentials"), description="Where `aurora login` keeps its token."
    )
    token: str | None = Field(
        default=None, description="A session or service token; beats the credentials file."
    )
    audit_key: SecretStr | None = Field(
        default=None,
        description="The audit chain's HMAC key; unset means <data_dir>/audit.key (created 0600).",
    )
    issuer_name: str = Field(default="Aurora Staking Operations", description="Our entity on statements.")
    issuer: IssuerSettings = Field(default_factory=IssuerSettings, description="Statement issuer details.")
    lock_timeout_seconds: int = Field(default=600, description="How long a run waits for another run's lock.")
    # Backups of the embedded cluster (aurora_cli.services.backup); unset backup_dir = <data_dir>/backups.
    backup_dir: Path | None = Field(default=None, description="Base backups and the WAL archive (wal/).")
    backup_retention_days: int = Field(default=30, ge=1, description="Keep base backups this many days.")
    wal_retention_days: int = Field(
        default=7, ge=0, description="Keep WAL older than the oldest kept base backup this many days more."
    )
    archive_timeout_seconds: int = Field(
        default=60, ge=0, description="Archive a WAL segment at least this often while there are writes."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_files = [p for p in _active_toml_files if p.is_file()]
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_files:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_files))
        return tuple(sources)

    @property
    def backup_path(self) -> Path:
        return (self.backup_dir or self.data_dir / "backups").expanduser().absolute()

    @property
    def credentials_path(self) -> Path:
        return self.credentials.expanduser()


_active_toml_files: list[Path] = []


def load_settings(config_path: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from the layered sources; `overrides` are command-line values (None = unset)."""
    _active_toml_files[:] = [COMMITTED_CONFIG, (config_path or USER_CONFIG).expanduser()]
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


# What an invocation needs to reach its database and audit itself, when the full settings cannot be
# built (a malformed config file, a bad AURORA_* value): those invocations are audited too.
_REACH_FIELDS = ("database_url", "data_dir", "audit_key")


def reach_settings(database_url: str | None = None) -> Settings:
    """Only the fields that locate the database and the audit key, from the option or the environment;
    nothing else is read or validated (the committed defaults fill the rest)."""
    env = {name: os.environ.get(f"AURORA_{name.upper()}") or None for name in _REACH_FIELDS}
    return Settings.model_construct(
        database_url=database_url or env["database_url"],
        data_dir=Path(env["data_dir"]) if env["data_dir"] else Path(".aurora"),
        audit_key=SecretStr(env["audit_key"]) if env["audit_key"] else None,
    )
