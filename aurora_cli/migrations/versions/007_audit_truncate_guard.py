"""The audit log refuses TRUNCATE too.

Why: revision 002 makes audit_log append-only with a row trigger on UPDATE and DELETE, but
TRUNCATE fires no row trigger: it emptied the log and `aurora audit verify` then reported an intact
chain of 0 rows. A statement-level trigger closes that.

Revision ID: 007
Revises: 006
"""

from alembic import op

revision = "007"
down_revision = "006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
