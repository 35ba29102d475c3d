"""The statement workflow: who did what and when, four eyes, and locked statements stay locked.

Why: SPEC §9 has every workflow transition record who and when. The seed keeps `approved_by/at`,
`released_by/at` and `paid_at` only, so this revision adds:

- `generated_by`, `generated_at`: who last (re)generated a DRAFT statement's totals from its lines;
- `submitted_by`, `submitted_at`: the submitter, which the four-eyes rule compares the approver with;
- `paid_by`, `paid_reference`: who marked it paid and the payment's reference (transaction id);
- `reopened_by`, `reopened_at`, `reopen_reason`: the last reopening (an ADMIN sends a statement back
  to DRAFT; the full history stays in the audit log).

It also lets the database itself hold the two promises the workflow makes, so that no code path
(regenerate, recompute, a hand-written UPDATE) can break them:

- four eyes: `approved_by` differs from `submitted_by` (CHECK constraint);
- a statement past DRAFT is locked: its amounts and identity cannot change, it cannot be deleted,
  and no commission line of its (partner, chain, period) can be inserted, changed or deleted
  (triggers; refusals are raised as integrity violations, SQLSTATE 23000). The line guard is a
  statement-level trigger over the transition tables, so bulk recomputes pay one join per statement,
  not one lookup per row. Unchanged rows (an UPDATE that writes the same amounts, the ON DELETE
  SET NULL of `override_user_id`) pass.

Downgrade drops the triggers, the functions, the constraint and the columns (the workflow history
those columns held remains in the audit log).

Revision ID: 006
Revises: 005
"""

from alembic import op

revision = "006"
down_revision = "005"
branch_labels = None
depends_on = None

NEW_COLUMNS = (
    ("generated_by", "UUID REFERENCES users (user_id) ON DELETE SET NULL"),
    ("generated_at", "TIMESTAMPTZ"),
    ("submitted_by", "UUID REFERENCES users (user_id) ON DELETE SET NULL"),
    ("submitted_at", "TIMESTAMPTZ"),
    ("paid_by", "UUID REFERENCES users (user_id) ON DELETE SET NULL"),
    ("paid_reference", "VARCHAR(200)"),
    ("reopened_by", "UUID REFERENCES users (user_id) ON DELETE SET NULL"),
    ("reopened_at", "TIMESTAMPTZ"),
    ("reopen_reason", "TEXT"),
)

# The columns of a commission line that make up what a statement shows and sums; a change to any of
# them on a locked statement's line is refused. (override_user_id is left out on purpose: deleting a
# user sets it NULL, which must not be blocked by a paid statement.)
LINE_CONTENT = (
    "agreement_id, agreement_version, rule_id, partner_id, chain_id, period_id, validator_key, "
    "revenue_component, attribution_method, base_amount_native, commission_rate_bps, "
    "pre_override_amount_native, override_amount_native, override_reason, final_amount_native"
)


def _content(alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in LINE_CONTENT.split(","))


LINE_GUARD = f"""
CREATE FUNCTION partner_commission_lines_locked_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    hit RECORD;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT s.statement_id, s.status, n.line_id INTO hit
        FROM new_lines n
        JOIN partner_commission_statements s
          ON s.partner_id = n.partner_id AND s.chain_id = n.chain_id AND s.period_id = n.period_id
        WHERE s.status <> 'DRAFT'
        LIMIT 1;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT s.statement_id, s.status, o.line_id INTO hit
        FROM old_lines o
        JOIN partner_commission_statements s
          ON s.partner_id = o.partner_id AND s.chain_id = o.chain_id AND s.period_id = o.period_id
        WHERE s.status <> 'DRAFT'
        LIMIT 1;
    ELSE
        SELECT s.statement_id, s.status, o.line_id INTO hit
        FROM old_lines o
        JOIN new_lines n ON n.line_id = o.line_id
        JOIN partner_commission_statements s
          ON s.status <> 'DRAFT'
         AND (s.partner_id, s.chain_id, s.period_id) IN ((o.partner_id, o.chain_id, o.period_id),
                                                         (n.partner_id, n.chain_id, n.period_id))
        WHERE ({_content("o")}) IS DISTINCT FROM ({_content("n")})
        LIMIT 1;
    END IF;
    IF hit.statement_id IS NOT NULL THEN
        RAISE EXCEPTION 'commission line % belongs to statement %, which is %: the lines of a statement '
                        'past DRAFT are locked (an ADMIN can reopen it with `aurora statements reopen`)',
                        hit.line_id, hit.statement_id, hit.status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$
"""

STATEMENT_GUARD = """
CREATE FUNCTION partner_commission_statements_locked_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'DRAFT' AND (
        TG_OP = 'DELETE'
        OR (OLD.partner_id, OLD.chain_id, OLD.period_id, OLD.total_commission_native, OLD.line_count)
           IS DISTINCT FROM
           (NEW.partner_id, NEW.chain_id, NEW.period_id, NEW.total_commission_native, NEW.line_count)
    ) THEN
        RAISE EXCEPTION 'statement % is %: a statement past DRAFT cannot be % (an ADMIN can reopen it '
                        'with `aurora statements reopen`)',
                        OLD.statement_id, OLD.status,
                        CASE TG_OP WHEN 'DELETE' THEN 'deleted' ELSE 'changed' END
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$
"""


def upgrade() -> None:
    for name, definition in NEW_COLUMNS:
        op.execute(f"ALTER TABLE partner_commission_statements ADD COLUMN {name} {definition}")
    op.execute(
        "ALTER TABLE partner_commission_statements ADD CONSTRAINT ck_partner_commission_statements_four_eyes "
        "CHECK (approved_by IS NULL OR submitted_by IS NULL OR approved_by <> submitted_by)"
    )
    op.execute(LINE_GUARD)
    for event, tables in (
        ("INSERT", "NEW TABLE AS new_lines"),
        ("UPDATE", "OLD TABLE AS old_lines NEW TABLE AS new_lines"),
        ("DELETE", "OLD TABLE AS old_lines"),
    ):
        op.execute(
            f"CREATE TRIGGER partner_commission_lines_locked_{event.lower()} AFTER {event} "
            f"ON partner_commission_lines REFERENCING {tables} "
            "FOR EACH STATEMENT EXECUTE FUNCTION partner_commission_lines_locked_guard()"
        )
    op.execute(STATEMENT_GUARD)
    op.execute(
        "CREATE TRIGGER partner_commission_statements_locked BEFORE UPDATE OR DELETE "
        "ON partner_commission_statements FOR EACH ROW "
        "EXECUTE FUNCTION partner_commission_statements_locked_guard()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER partner_commission_statements_locked ON partner_commission_statements")
    op.execute("DROP FUNCTION partner_commission_statements_locked_guard()")
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER partner_commission_lines_locked_{event} ON partner_commission_lines")
    op.execute("DROP FUNCTION partner_commission_lines_locked_guard()")
    op.execute(
        "ALTER TABLE partner_commission_statements DROP CONSTRAINT ck_partner_commission_statements_four_eyes"
    )
    for name, _ in reversed(NEW_COLUMNS):
        op.execute(f"ALTER TABLE partner_commission_statements DROP COLUMN {name}")
