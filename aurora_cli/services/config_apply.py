"""`aurora config apply`: load chains, providers, mappings and validators from TOML, idempotently.

Owns the registry tables' contents as code: each file row is created or updated to match; a second
apply with the same files changes nothing. Mappings absent from the file are deactivated (never
deleted: staged data points at providers). Secrets stay in the environment: only the *name* of the
variable holding an API key lives in the files, and it is not written to the database.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from aurora_cli.db.models import CanonicalValidatorIdentity, Chain, ChainProviderMapping, Provider
from aurora_cli.errors import InvalidInput

Role = Literal["FEES", "MEV", "REWARDS", "META", "RPC"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChainSpec(_Strict):
    chain_id: str = Field(max_length=50, min_length=1)
    name: str = Field(max_length=100, min_length=1)
    period_type: Literal["EPOCH", "BLOCK_WINDOW", "SLOT_RANGE"]
    native_unit: str = Field(max_length=20, min_length=1)
    display_unit: str = Field(max_length=20, min_length=1)
    native_decimals: int = Field(ge=0, le=18)
    finality_lag: int = Field(ge=0)
    is_active: bool = True


class ProviderSpec(_Strict):
    name: str = Field(max_length=50, min_length=1)
    type: Role
    base_url: str | None = None
    api_version: str | None = Field(default=None, max_length=20)
    api_key_env: str | None = None
    is_enabled: bool = True
    rate_limit_per_minute: int | None = Field(default=None, gt=0)
    timeout_seconds: int = Field(default=30, gt=0)


class MappingSpec(_Strict):
    chain: str
    provider: str
    role: Role
    priority: int = Field(default=1, ge=1)
    is_active: bool = True


class ValidatorSpec(_Strict):
    chain: str
    validator_key: str = Field(max_length=100, min_length=1)
    display_name: str | None = Field(default=None, max_length=200)
    vote_pubkey: str | None = Field(default=None, max_length=100)
    node_pubkey: str | None = Field(default=None, max_length=100)
    identity_pubkey: str | None = Field(default=None, max_length=100)
    fee_recipient: str | None = Field(default=None, max_length=100)
    is_active: bool = True


class ChainsFile(_Strict):
    chains: list[ChainSpec] = []


class ProvidersFile(_Strict):
    providers: list[ProviderSpec] = []
    mappings: list[MappingSpec] = []


class ValidatorsFile(_Strict):
    validators: list[ValidatorSpec] = []


@dataclass
class ApplyReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    deactivated: dict[str, int] = field(default_factory=dict)
    before: list[dict[str, Any]] = field(default_factory=list)
    after: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values()) or any(self.deactivated.values())

    def count(self, bucket: str, kind: str) -> None:
        counts = getattr(self, bucket)
        counts[kind] = counts.get(kind, 0) + 1

    def rows(self) -> list[dict[str, Any]]:
        kinds = ["chains", "providers", "mappings", "validators"]
        return [
            {
                "kind": k,
                "created": self.created.get(k, 0),
                "updated": self.updated.get(k, 0),
                "deactivated": self.deactivated.get(k, 0),
                "unchanged": self.unchanged.get(k, 0),
            }
            for k in kinds
        ]


def _load(path: Path, model: type[BaseModel]) -> Any:
    if not path.is_file():
        raise InvalidInput(f"{path} is missing: point --dir at a folder holding {path.name}.")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path} is not valid TOML: {exc}.") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        details = [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        raise InvalidInput(
            f"{path} has {len(details)} error(s); nothing was applied.", details=details
        ) from exc


@dataclass(frozen=True)
class ConfigFiles:
    chains: ChainsFile
    providers: ProvidersFile
    validators: ValidatorsFile


def read_config(directory: Path) -> ConfigFiles:
    files = ConfigFiles(
        chains=_load(directory / "chains.toml", ChainsFile),
        providers=_load(directory / "providers.toml", ProvidersFile),
        validators=_load(directory / "validators.toml", ValidatorsFile),
    )
    _check_references(files)
    return files


def _check_references(files: ConfigFiles) -> None:
    chains = {c.chain_id for c in files.chains.chains}
    providers = {p.name for p in files.providers.providers}
    errors: list[tuple[str, str]] = []
    seen: set[tuple[str, str, int]] = set()
    for i, m in enumerate(files.providers.mappings):
        if m.chain not in chains:
            errors.append((f"mappings.{i}.chain", f"unknown chain {m.chain!r}"))
        if m.provider not in providers:
            errors.append((f"mappings.{i}.provider", f"unknown provider {m.provider!r}"))
        key = (m.chain, m.role, m.priority)
        if key in seen:
            errors.append(
                (f"mappings.{i}.priority", f"priority {m.priority} is used twice for {m.chain} {m.role}")
            )
        seen.add(key)
    for i, v in enumerate(files.validators.validators):
        if v.chain not in chains:
            errors.append((f"validators.{i}.chain", f"unknown chain {v.chain!r}"))
    if errors:
        raise InvalidInput(
            f"the configuration has {len(errors)} error(s); nothing was applied.", details=errors
        )


def _sync(obj: Any, values: dict[str, Any]) -> dict[str, Any] | None:
    """Set changed attributes; return the old values of what changed (None when nothing did)."""
    old = {k: getattr(obj, k) for k, v in values.items() if getattr(obj, k) != v}
    for key in old:
        setattr(obj, key, values[key])
    if old and hasattr(obj, "updated_at"):
        obj.updated_at = datetime.now(UTC)
    return old or None


def apply_config(session: Session, files: ConfigFiles) -> ApplyReport:
    report = ApplyReport()

    def upsert(kind: str, existing: Any, values: dict[str, Any], make: Any, ident: str) -> Any:
        if existing is None:
            obj = make(**values)
            session.add(obj)
            report.count("created", kind)
            report.after.append({"kind": kind, "id": ident, **values})
            return obj
        old = _sync(existing, values)
        if old:
            report.count("updated", kind)
            report.before.append({"kind": kind, "id": ident, **old})
            report.after.append({"kind": kind, "id": ident, **{k: values[k] for k in old}})
        else:
            report.count("unchanged", kind)
        return existing

    for c in files.chains.chains:
        upsert("chains", session.get(Chain, c.chain_id), c.model_dump(), Chain, c.chain_id)
    session.flush()

    provider_ids: dict[str, Any] = {}
    for p in files.providers.providers:
        values = {
            "provider_name": p.name,
            "provider_type": p.type,
            "base_url": p.base_url,
            "api_version": p.api_version,
            "is_enabled": p.is_enabled,
            "rate_limit_per_minute": p.rate_limit_per_minute,
            "timeout_seconds": p.timeout_seconds,
        }
        existing = session.scalar(select(Provider).where(Provider.provider_name == p.name))
        obj = upsert("providers", existing, values, Provider, p.name)
        session.flush()
        provider_ids[p.name] = obj.provider_id

    wanted: set[tuple[str, Any, str]] = set()
    # Two passes: deactivate/reprioritise first so a priority freed by one mapping can be taken by another.
    all_mappings = list(session.scalars(select(ChainProviderMapping)))
    by_key = {(m.chain_id, m.provider_id, m.provider_role): m for m in all_mappings}
    for m in files.providers.mappings:
        wanted.add((m.chain, provider_ids[m.provider], m.role))
    for key, mapping in by_key.items():
        if key not in wanted and mapping.is_active:
            mapping.is_active = False
            mapping.updated_at = datetime.now(UTC)
            report.count("deactivated", "mappings")
            report.before.append({"kind": "mappings", "id": _mapping_id(key), "is_active": True})
            report.after.append({"kind": "mappings", "id": _mapping_id(key), "is_active": False})
    session.flush()
    for m in files.providers.mappings:
        key = (m.chain, provider_ids[m.provider], m.role)
        values = {
            "chain_id": m.chain,
            "provider_id": provider_ids[m.provider],
            "provider_role": m.role,
            "priority": m.priority,
            "is_active": m.is_active,
        }
        upsert("mappings", by_key.get(key), values, ChainProviderMapping, f"{m.chain}/{m.provider}/{m.role}")
    session.flush()

    for v in files.validators.validators:
        values = v.model_dump()
        values["chain_id"] = values.pop("chain")
        existing = session.scalar(
            select(CanonicalValidatorIdentity).where(
                CanonicalValidatorIdentity.chain_id == v.chain,
                CanonicalValidatorIdentity.validator_key == v.validator_key,
            )
        )
        upsert("validators", existing, values, CanonicalValidatorIdentity, f"{v.chain}/{v.validator_key}")
    session.flush()
    return report


def _mapping_id(key: tuple[str, Any, str]) -> str:
    return f"{key[0]}/{key[1]}/{key[2]}"
