"""The audit callable that finance services write their own mutation rows through; it never writes itself.

A service that changes agreements, lines or statements takes `audit` and calls it once per changed
resource, in the caller's transaction, with the keys of `services.audit.record` minus the
invocation's own (correlation id, user): `action`, `resource_type`, `resource_id`, `before`,
`after`, `reason`. The CLI passes `Runtime.audit`; tests and scripts may pass None (nothing recorded).
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session


class RecordAudit(Protocol):
    def __call__(self, session: Session, **entry: Any) -> None: ...
