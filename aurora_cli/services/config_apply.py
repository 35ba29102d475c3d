"""`aurora config apply`: load chains, providers, mappings and validators from TOML, idempotently.

Owns the registry tables' contents as code: each file row is created or updated to match; a second
apply with the same files changes nothing. Mappings absent from the file are deactivated (never
deleted: staged data points at providers); one that must give its priority to another mapping of
the same chain and role is parked on a negative priority (see `_apply_mappings`). Secrets stay in
the environment: only the *name* of the variable holding an API key lives in the files and in
`providers.api_key_env`; a base URL may reference variables as `${VAR}` and is stored unexpanded.
`apply_files` audits what it changed through the caller's trail; `apply_config` alone (fixtures,
the bench) writes no audit row. Never prints or names a flag.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from aurora_cli.db.models import CanonicalValidatorIdentity, Chain, ChainProviderMapping, Provider
from aurora_cli.errors import InvalidInput, param
from aurora_cli.services.audit import Recorder

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
    # Several base URLs of one provider (mevboost-relay: one per relay); base_url may then be omitted.
    base_urls: list[str] | None = None
    # Adapter options (retry_attempts, retry_max_total_wait_seconds, batch sizes, stake_accounts ...).
    options: dict[str, Any] = Field(default_factory=dict)


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
        raise InvalidInput(f"{path} is missing: point {param('dir')} at a folder holding {path.name}.")
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
            "api_key_env": p.api_key_env,
            "settings": {**p.options, **({"base_urls": p.base_urls} if p.base_urls else {})},
        }
        existing = session.scalar(select(Provider).where(Provider.provider_name == p.name))
        obj = upsert("providers", existing, values, Provider, p.name)
        session.flush()
        provider_ids[p.name] = obj.provider_id

    _apply_mappings(session, files, provider_ids, report, upsert)

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


def apply_files(session: Session, trail: Recorder, files: ConfigFiles, *, folder: Path) -> ApplyReport:
    """Apply the files read from `folder`; a change is audited with its before/after rows."""
    report = apply_config(session, files)
    if report.changed:
        trail(
            session,
            action="CONFIG_APPLY",
            resource_type="config",
            resource_id=str(folder),
            before=report.before,
            after=report.after,
        )
    return report


def _apply_mappings(
    session: Session,
    files: ConfigFiles,
    provider_ids: dict[str, Any],
    report: ApplyReport,
    upsert: Any,
) -> None:
    """Bring chain_provider_mappings in line with the file, whatever order the priorities move in.

    UNIQUE(chain_id, provider_role, priority) holds for inactive rows too and is checked per
    statement, so a swap (1<->10) or a priority taken over from a removed mapping cannot be written
    row by row. Instead: work out every existing row's final priority, move each row whose priority
    changes to a temporary one that no row holds or will hold (one statement each), then write the
    final values, then insert new rows.

    A mapping absent from the file is deactivated and keeps its priority, unless the file gives that
    priority to another provider of the same chain and role: then it is *parked* on a negative
    priority (below every priority its chain/role group holds). File priorities are >= 1, so a parked
    priority can never be claimed by a file; inactive mappings are never read for their priority.
    A second apply of the same files finds nothing to move and changes nothing.
    """
    wanted: dict[tuple[str, Any, str], dict[str, Any]] = {}
    names: dict[tuple[str, Any, str], str] = {}
    for m in files.providers.mappings:
        key = (m.chain, provider_ids[m.provider], m.role)
        names[key] = f"{m.chain}/{m.provider}/{m.role}"
        wanted[key] = {
            "chain_id": m.chain,
            "provider_id": provider_ids[m.provider],
            "provider_role": m.role,
            "priority": m.priority,
            "is_active": m.is_active,
        }
    claimed: dict[tuple[str, str], set[int]] = {}
    for values in wanted.values():
        claimed.setdefault((values["chain_id"], values["provider_role"]), set()).add(values["priority"])

    existing = list(session.scalars(select(ChainProviderMapping).order_by(ChainProviderMapping.priority)))
    by_key = {(m.chain_id, m.provider_id, m.provider_role): m for m in existing}
    groups: dict[tuple[str, str], list[ChainProviderMapping]] = {}
    for mapping in existing:
        groups.setdefault((mapping.chain_id, mapping.provider_role), []).append(mapping)

    final: dict[Any, int] = {}  # mapping_id -> the priority it ends with
    temporary: dict[Any, int] = {}  # mapping_id -> where it waits meanwhile
    for group, rows in groups.items():
        floor = min([0, *(r.priority for r in rows)])
        for r in rows:
            key = (r.chain_id, r.provider_id, r.provider_role)
            if key in wanted:
                final[r.mapping_id] = wanted[key]["priority"]
            elif r.priority in claimed.get(group, set()):
                floor -= 1
                final[r.mapping_id] = floor  # parked
            else:
                final[r.mapping_id] = r.priority
        for r in rows:
            if final[r.mapping_id] != r.priority:
                floor -= 1
                temporary[r.mapping_id] = floor
    table = ChainProviderMapping.__table__
    for mapping_id, parked in temporary.items():
        # Core statement: the ORM objects keep their loaded priority, so the final values below are
        # still compared with (and reported against) what the database held before this apply.
        session.execute(update(table).where(table.c.mapping_id == mapping_id).values(priority=parked))

    for key, mapping in by_key.items():
        if key in wanted:
            upsert("mappings", mapping, wanted[key], ChainProviderMapping, names[key])
            continue
        target = {"is_active": False, "priority": final[mapping.mapping_id]}
        old = _sync(mapping, target)
        if not old:
            continue
        report.count("deactivated" if "is_active" in old else "updated", "mappings")
        report.before.append({"kind": "mappings", "id": _mapping_id(key), **old})
        report.after.append({"kind": "mappings", "id": _mapping_id(key), **{k: target[k] for k in old}})
    session.flush()
    for key, values in wanted.items():
        if key not in by_key:
            upsert("mappings", None, values, ChainProviderMapping, names[key])
    session.flush()


def _mapping_id(key: tuple[str, Any, str]) -> str:
    return f"{key[0]}/{key[1]}/{key[2]}"
