"""Revisions carry frozen copies of what they use: 002's row hash still agrees with the application's.

Given an audit row, when 002's private `_row_hash` and `services.audit.row_hash` hash it, then both
give the same digest. If this fails, the application changed how it hashes: `aurora audit verify`
would then break on rows 002 chained. Fix the application (or teach verify both); never edit 002.
"""

from __future__ import annotations

import importlib.util
import uuid
from types import ModuleType, SimpleNamespace

from aurora_cli.db.migrate import MIGRATIONS_DIR
from aurora_cli.services import audit


def _revision(filename: str) -> ModuleType:
    path = MIGRATIONS_DIR / "versions" / filename
    spec = importlib.util.spec_from_file_location(f"aurora_revision_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migrations_live_inside_the_package():
    assert MIGRATIONS_DIR.parent.name == "aurora_cli"
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "001_initial_schema.py").is_file()


def test_002_frozen_row_hash_matches_the_application():
    revision = _revision("002_audit_trail.py")
    row = SimpleNamespace(
        log_id=uuid.UUID("00000000-0000-4000-8000-000000000001"),
        change_hash="ab" * 32,
        resource_type="statement",
        before_snapshot={"status": "DRAFT", "amount": "12.5", "note": "é"},
        after_snapshot=None,
        reason="four eyes",
        correlation_id=uuid.UUID("00000000-0000-4000-8000-000000000002"),
        ip_address="127.0.0.1",
        user_agent=None,
    )
    assert revision._GENESIS == audit.GENESIS == "0" * 64
    frozen = revision._row_hash(revision._GENESIS, row)
    assert frozen == audit.row_hash(audit.GENESIS, row)
    assert len(frozen) == 64
    assert revision._row_hash(frozen, row) == audit.row_hash(frozen, row) != frozen
