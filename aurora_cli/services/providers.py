"""The provider registry as the operator sees it: listing (secrets masked) and reachability checks.

Owns `providers list` rows (name, type, masked base URL, rate limit, timeout, enabled, mapped roles)
and `providers check` (one cheap request per provider through its adapter's `check`, with latency).
Never prints; never shows an expanded base URL or a key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aurora_cli.db.models import ChainProviderMapping, Provider
from aurora_cli.errors import AuroraError, NotFound
from aurora_cli.providers.base import adapter_for, is_http_adapter
from aurora_cli.providers.http import RetryPolicy, mask_url


def _roles(session: Session) -> dict[Any, list[str]]:
    roles: dict[Any, list[str]] = {}
    for m in session.scalars(
        select(ChainProviderMapping)
        .where(ChainProviderMapping.is_active.is_(True))
        .order_by(ChainProviderMapping.chain_id, ChainProviderMapping.provider_role)
    ):
        roles.setdefault(m.provider_id, []).append(f"{m.chain_id}:{m.provider_role}")
    return roles


def list_providers(session: Session) -> list[dict[str, Any]]:
    roles = _roles(session)
    rows = []
    for p in session.scalars(select(Provider).order_by(Provider.provider_name)):
        urls = (p.settings or {}).get("base_urls") or []
        shown = mask_url(p.base_url) or ", ".join(mask_url(u) or "" for u in urls) or None
        rows.append(
            {
                "provider_name": p.provider_name,
                "provider_type": p.provider_type,
                "base_url": shown,
                "rate_limit_per_minute": p.rate_limit_per_minute,
                "timeout_seconds": p.timeout_seconds,
                "is_enabled": p.is_enabled,
                "api_key_env": p.api_key_env,
                "mapped_roles": roles.get(p.provider_id, []),
            }
        )
    return rows


@dataclass
class CheckResult:
    provider_name: str
    is_enabled: bool
    reachable: bool | None  # None: not checked (disabled, or nothing to check over HTTP)
    latency_ms: int | None
    detail: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


CHECK_POLICY = RetryPolicy(attempts=1, initial_wait=0, max_wait=0, max_total_wait=0)


def check_providers(
    session: Session, names: list[str] | None = None, *, environ: dict[str, str] | None = None
) -> list[CheckResult]:
    from aurora_cli.services.fetch import open_client

    query = select(Provider).order_by(Provider.provider_name)
    if names:
        query = query.where(Provider.provider_name.in_(names))
    providers = list(session.scalars(query))
    missing = sorted(set(names or []) - {p.provider_name for p in providers})
    if missing:
        raise NotFound(f"unknown provider {', '.join(missing)}: see `aurora providers list`.")
    results = []
    for p in providers:
        adapter = adapter_for(p.provider_name)
        if adapter is None or not is_http_adapter(adapter):
            results.append(CheckResult(p.provider_name, p.is_enabled, None, None, "local import: nothing to reach"))
            continue
        if not p.is_enabled and not names:
            results.append(CheckResult(p.provider_name, False, None, None, "disabled"))
            continue
        started = time.monotonic()
        try:
            with open_client(p, policy=CHECK_POLICY, environ=environ) as client:
                detail = adapter.check(client)
            results.append(
                CheckResult(p.provider_name, p.is_enabled, True, int((time.monotonic() - started) * 1000), detail)
            )
        except AuroraError as exc:
            results.append(CheckResult(p.provider_name, p.is_enabled, False, None, exc.message))
    return results
