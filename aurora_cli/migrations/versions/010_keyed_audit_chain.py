"""The audit chain becomes keyed: each new row's hash is an HMAC-SHA256 with a key the database lacks.

Why: revision 002's chain is a keyless SHA-256 that anyone can rebuild with the project's own
`row_hash`: a superuser who edits a row and rehashes it and every later row leaves a chain that
`aurora audit verify` calls intact (issue 10). From this revision on the application hashes each
row with HMAC-SHA256 over its content and the previous row's hash, keyed by a secret kept outside
the database (the data dir's `audit.key`, or AURORA_AUDIT_KEY). Each row records how it was hashed:

- `hash_scheme`: 'sha256' (002's keyless scheme) or 'hmac-sha256'. Rows that exist when this
  revision runs are 'sha256' and stay verifiable as they were: they form the chain's prefix, and the
  first keyed row's HMAC covers the last keyless row's hash, so the prefix cannot be rewritten
  without breaking that row. `audit verify` refuses a keyless row after a keyed one.
- `key_id`: which key hashed a keyed row (a 16-hex fingerprint of the key, not the key), so keys can
  be rotated and older rows still verified with the retired key.

New rows must be keyed: a BEFORE INSERT trigger refuses a 'sha256' row (a second wall beside the
application's own code; a superuser passes any trigger, which is what the key is for). Only the
scheme's columns are added; the rows' hashes are not touched (002's frozen `_row_hash` stays frozen).

Downgrade drops the trigger and both columns. Keyed rows cannot be expressed in the keyless chain:
after a downgrade, 009's `audit verify` reports the first keyed row as edited.

Revision ID: 010
Revises: 009
"""

from alembic import op

revision = "010"
down_revision = "009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows take the old scheme; the default is then dropped so an INSERT must say its scheme.
    op.execute("ALTER TABLE audit_log ADD COLUMN hash_scheme VARCHAR(20) NOT NULL DEFAULT 'sha256'")
    op.execute("ALTER TABLE audit_log ALTER COLUMN hash_scheme DROP DEFAULT")
    op.execute("ALTER TABLE audit_log ADD COLUMN key_id VARCHAR(16)")
    op.execute(
        "ALTER TABLE audit_log ADD CONSTRAINT ck_audit_log_hash_scheme CHECK ("
        "(hash_scheme = 'sha256' AND key_id IS NULL) OR (hash_scheme = 'hmac-sha256' AND key_id IS NOT NULL))"
    )
    op.execute(
        """
        CREATE FUNCTION audit_log_keyed_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.hash_scheme <> 'hmac-sha256' THEN
                RAISE EXCEPTION 'audit_log accepts only keyed rows (hash_scheme hmac-sha256), not %',
                    NEW.hash_scheme USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_keyed_only BEFORE INSERT ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_keyed_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_log_keyed_only ON audit_log")
    op.execute("DROP FUNCTION audit_log_keyed_only()")
    op.execute("ALTER TABLE audit_log DROP CONSTRAINT ck_audit_log_hash_scheme")
    op.execute("ALTER TABLE audit_log DROP COLUMN key_id")
    op.execute("ALTER TABLE audit_log DROP COLUMN hash_scheme")
