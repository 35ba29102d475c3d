"""One pipeline at a time per (chain, period): a PostgreSQL session advisory lock.

Held on its own connection for the whole command, so the steps' own transactions can commit and
roll back freely underneath it. A second run waits (up to the configured timeout) or, when told not
to wait, fails at once with a Conflict.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from aurora_cli.errors import Conflict, param

NAMESPACE = "aurora.pipeline"


@contextmanager
def period_lock(
    engine: Engine, chain_id: str, period: str, *, wait: bool, timeout_seconds: int
) -> Iterator[None]:
    key = {"ns": NAMESPACE, "key": f"{chain_id}/{period}"}
    with engine.connect() as conn:
        if wait:
            conn.execute(text("SELECT set_config('lock_timeout', :t, false)"), {"t": f"{timeout_seconds}s"})
            try:
                conn.execute(text("SELECT pg_advisory_lock(hashtext(:ns), hashtext(:key))"), key)
            except OperationalError as exc:
                raise Conflict(
                    f"another Aurora run for {chain_id} {period} held the lock for over {timeout_seconds}s; "
                    "try again later."
                ) from exc
        else:
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(hashtext(:ns), hashtext(:key))"), key
            ).scalar()
            if not got:
                raise Conflict(
                    f"another Aurora run for {chain_id} {period} is in progress; "
                    f"wait for it or rerun without {param('no_wait')}."
                )
        conn.commit()
        try:
            yield
        finally:
            _unlock(conn, key)


def _unlock(conn: Connection, key: dict[str, str]) -> None:
    """Release the lock. If the connection is gone the server released it already; raising here would
    hide the error that ended the work (the database going away) behind one about the unlock."""
    try:
        conn.execute(text("SELECT pg_advisory_unlock(hashtext(:ns), hashtext(:key))"), key)
        conn.commit()
    except DBAPIError:
        conn.invalidate()
