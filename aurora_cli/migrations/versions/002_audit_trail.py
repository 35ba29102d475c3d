"""Audit trail the product needs: more actions, a hash chain, append-only.

Why: SPEC §12 audits every CLI invocation (action COMMAND) and every mutation, including actions the
seed's `audit_action` enum lacks (config, users, logins, periods, statements, exports). It also asks
that deleting or editing any audit row be detectable: each row gets an ordering `seq`, the previous
row's hash and its own hash. And the log is append-only: UPDATE/DELETE are revoked from the
application role and refused by a trigger for everyone.

Rows that already exist are chained in `seq` order (filled in physical order) so `aurora audit
verify` holds from the start. Downgrade removes the added labels by rebuilding the type; rows that use them are deleted first
(they cannot be expressed in the seed's enum).

Revision ID: 002
Revises: 001
"""

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "002"
down_revision = "001"
branch_labels = None
depends_on = None

SEED_ACTIONS = (
    "CREATE_AGREEMENT",
    "UPDATE_AGREEMENT",
    "DELETE_AGREEMENT",
    "CREATE_RULE",
    "UPDATE_RULE",
    "DELETE_RULE",
    "CREATE_OVERRIDE",
    "UPDATE_OVERRIDE",
    "APPROVE_STATEMENT",
    "RELEASE_STATEMENT",
    "RECOMPUTE",
    "INGESTION_RUN",
    "NORMALIZATION_RUN",
)
NEW_ACTIONS = (
    "COMMAND",
    "CONFIG_APPLY",
    "DB_MIGRATE",
    "LOGIN",
    "LOGOUT",
    "CREATE_USER",
    "UPDATE_USER",
    "CREATE_TOKEN",
    "CREATE_PERIOD",
    "FINALIZE_PERIOD",
    "PNL_COMPUTE",
    "GENERATE_STATEMENT",
    "SUBMIT_STATEMENT",
    "REOPEN_STATEMENT",
    "MARK_PAID",
    "CLEAR_OVERRIDE",
    "EXPORT_STATEMENT",
    "EXPORT_PNL",
)


def upgrade() -> None:
    for action in NEW_ACTIONS:
        op.execute(f"ALTER TYPE audit_action ADD VALUE IF NOT EXISTS '{action}'")
    op.execute("ALTER TABLE audit_log ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY")
    op.execute("ALTER TABLE audit_log ADD COLUMN previous_hash VARCHAR(64)")
    op.execute("ALTER TABLE audit_log ADD COLUMN row_hash VARCHAR(64)")
    op.execute("ALTER TABLE audit_log ADD CONSTRAINT uq_audit_log_seq UNIQUE (seq)")
    _chain_existing_rows()
    op.execute(
        """
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )
    op.execute("REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM aurora_app")


def _chain_existing_rows() -> None:
    """Rows written before this revision join the chain in `seq` order.

    The identity column numbered them in physical order; renumbering is not possible for an
    ALWAYS identity, so the chain follows `seq` as assigned and only the hashes are filled in.
    """
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT log_id, change_hash, resource_type, before_snapshot, after_snapshot, reason,"
            " correlation_id, ip_address, user_agent, seq FROM audit_log ORDER BY seq"
        )
    ).all()
    previous = _GENESIS
    for row in rows:
        current = _row_hash(previous, row)
        bind.execute(
            sa.text("UPDATE audit_log SET previous_hash = :p, row_hash = :h WHERE log_id = :id"),
            {"p": previous, "h": current, "id": row.log_id},
        )
        previous = current


# Frozen copy of `aurora_cli.services.audit.row_hash` and its genesis value as released with this
# revision. The application's copy may change (it must then verify old rows some other way); this
# one must not, or re-running 002 on an old database would chain its rows differently.
_GENESIS = "0" * 64


def _row_hash(previous: str, row: sa.Row) -> str:
    body = {
        "log_id": str(row.log_id),
        "change_hash": row.change_hash,
        "resource_type": row.resource_type,
        "before_snapshot": row.before_snapshot,
        "after_snapshot": row.after_snapshot,
        "reason": row.reason,
        "correlation_id": str(row.correlation_id),
        "ip_address": str(row.ip_address) if row.ip_address else None,
        "user_agent": row.user_agent,
    }
    material = previous + json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def downgrade() -> None:
    op.execute("GRANT UPDATE, DELETE ON audit_log TO aurora_app")
    op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION audit_log_append_only()")
    op.execute("ALTER TABLE audit_log DROP CONSTRAINT uq_audit_log_seq")
    op.execute("ALTER TABLE audit_log DROP COLUMN row_hash")
    op.execute("ALTER TABLE audit_log DROP COLUMN previous_hash")
    op.execute("ALTER TABLE audit_log DROP COLUMN seq")
    labels = ", ".join(f"'{a}'" for a in NEW_ACTIONS)
    op.execute(f"DELETE FROM audit_log WHERE action::text IN ({labels})")
    seed = ", ".join(f"'{a}'" for a in SEED_ACTIONS)
    op.execute("ALTER TYPE audit_action RENAME TO audit_action_002")
    op.execute(f"CREATE TYPE audit_action AS ENUM ({seed})")
    op.execute("ALTER TABLE audit_log ALTER COLUMN action TYPE audit_action USING action::text::audit_action")
    op.execute("DROP TYPE audit_action_002")
