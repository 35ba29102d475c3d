"""What a statement command changed: before/after row snapshots and their audit row; never queries.

Owns the snapshot form of a mapped row (every column by its column name) and `StatementChange`;
it never queries or writes the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from aurora_cli.services.audit import Recorder


def snapshot(row: Any) -> dict[str, Any]:
    """Every column of a mapped row, keyed by column name (for audit before/after)."""
    mapper = inspect(row).mapper
    return {attr.columns[0].name: getattr(row, attr.key) for attr in mapper.column_attrs}


@dataclass(frozen=True)
class StatementChange:
    """One statement written by a command: its snapshot before (None if new) and after (None if removed)."""

    statement_id: uuid.UUID
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def record(self, session: Session, audit: Recorder, action: str, reason: str | None) -> None:
        """The audit row of this change to a statement."""
        audit(
            session,
            action=action,
            resource_type="statement",
            resource_id=str(self.statement_id),
            before=self.before,
            after=self.after,
            reason=reason,
        )
