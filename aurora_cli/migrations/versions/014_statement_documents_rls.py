"""Row-level security, ENABLEd and FORCEd, on the statement documents of revision 013.

Why: revision 013 added `statement_documents` (numbers and revisions) and
`statement_document_files` (every issued file, its bytes kept) without row-level security, so any
session of `aurora_app` read every partner's numbers, figures hashes and issued statements, DRAFTs
included (issue 12). This revision scopes them with the same `app.*` settings and helper functions
as revision 011's policies on `partner_commission_statements`:

* staff (SYSTEM, ADMIN, FINANCE, AUDITOR) read and add documents of the chains they may see;
* a PARTNER reads only its own partner's documents, and of those only what was issued while the
  statement was RELEASED or PAID (the status written in the issued statement.json): an old revision
  stays retrievable after a reopen, a DRAFT that staff exported never shows; chain limits apply;
* no settings: no rows.

It also gives statements the roles of the people named on them (`aurora_user_roles`): under 011's
policy on `users` a FINANCE session sees only itself, so a document's "approved by Finance" depended
on who exported it and `statements verify` by another user called a current document stale.

Numbering must see across scopes (the next revision of a window, a number never given twice), so it
goes through SECURITY DEFINER helpers owned by `aurora_migrate` that each reveal only a revision
number, a count or an id, and only to a caller who may issue that partner's statements. Nobody
updates or deletes an issued document: the application keeps SELECT and INSERT only (013's grant;
011's default privileges had added UPDATE and DELETE, revoked here) and no such policy exists.

Frozen: nothing here imports `aurora_cli`. Downgrade drops the policies and functions and disables
row-level security, leaving the tables as 013 made them.

Revision ID: 014
Revises: 013
"""

from __future__ import annotations

from alembic import op

revision = "014"
down_revision = "013"
branch_labels = None
depends_on = None

APP, READONLY, MIGRATE = "aurora_app", "aurora_readonly", "aurora_migrate"
TABLES = ("statement_documents", "statement_document_files")

STAFF = "aurora_scope_is('SYSTEM', 'ADMIN', 'FINANCE', 'AUDITOR')"
RELEASED = "('RELEASED', 'PAID')"

# Who may issue (and so number) a statement of this partner on this chain.
_MAY_ISSUE = (
    "aurora_chain_visible({chain}) AND ({staff} OR (aurora_scope_is('PARTNER') AND {partner} = aurora_scope_partner()))"
)

FUNCTIONS = (
    # The status a statement.json was issued with (by its hash), read from the kept bytes.
    (
        "aurora_issued_status(text)",
        """
        CREATE FUNCTION aurora_issued_status(p_json_sha256 text) RETURNS text
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
            SELECT CASE WHEN file_name = 'statement.json' AND content IS NOT NULL
                        THEN convert_from(content, 'UTF8')::jsonb ->> 'status' END
            FROM statement_document_files WHERE file_sha256 = p_json_sha256
        $$""",
    ),
    # Whether a document (number + revision) was ever issued RELEASED or PAID.
    (
        "aurora_document_released(uuid)",
        f"""
        CREATE FUNCTION aurora_document_released(p_document uuid) RETURNS boolean
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
            SELECT EXISTS (
                SELECT 1 FROM statement_document_files
                WHERE document_id = p_document
                  -- CASE: only a statement.json is parsed (SQL may evaluate the conditions in any order)
                  AND CASE WHEN file_name = 'statement.json' AND content IS NOT NULL
                           THEN convert_from(content, 'UTF8')::jsonb ->> 'status' END IN {RELEASED})
        $$""",
    ),
    # Whether the caller may add files to this document (before any file makes it visible).
    (
        "aurora_document_writable(uuid)",
        f"""
        CREATE FUNCTION aurora_document_writable(p_document uuid) RETURNS boolean
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
            SELECT EXISTS (
                SELECT 1 FROM statement_documents d WHERE d.document_id = p_document
                  AND {_MAY_ISSUE.format(chain="d.chain_id", partner="d.partner_id", staff=STAFF)})
        $$""",
    ),
    # The latest revision of a (partner, chain, window), for numbering.
    (
        "aurora_statement_latest_revision(uuid, text, text)",
        f"""
        CREATE FUNCTION aurora_statement_latest_revision(p_partner uuid, p_chain text, p_window text)
        RETURNS TABLE (document_id uuid, statement_number text, revision integer, facts_sha256 text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
            SELECT d.document_id, d.statement_number::text, d.revision, d.facts_sha256::text
            FROM statement_documents d
            WHERE d.partner_id = p_partner AND d.chain_id = p_chain AND d.window_key = p_window
              AND {_MAY_ISSUE.format(chain="p_chain", partner="p_partner", staff=STAFF)}
            ORDER BY d.revision DESC LIMIT 1
        $$""",
    ),
    # How many partners already hold a number with this stem (a number is never given twice).
    (
        "aurora_statement_numbers_taken(text)",
        f"""
        CREATE FUNCTION aurora_statement_numbers_taken(p_stem text) RETURNS bigint
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
            SELECT count(DISTINCT partner_id) FROM statement_documents
            WHERE statement_number LIKE p_stem || '-%' AND ({STAFF} OR aurora_scope_is('PARTNER'))
        $$""",
    ),
    # Which of these file hashes are on record already (an issued file is recorded once, and a
    # PARTNER cannot see a file issued before its statement was released; ON CONFLICT would check
    # the new row against the read policy).
    (
        "aurora_issued_files_known(text[])",
        """
        CREATE FUNCTION aurora_issued_files_known(p_shas text[]) RETURNS SETOF text
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
            SELECT file_sha256::text FROM statement_document_files WHERE file_sha256 = ANY (p_shas)
        $$""",
    ),
    # The roles (never the rest of the users row) of the people named on statements: a statement
    # shows "approved by Finance". Since 011 a FINANCE session reads only its own users row, so the
    # same document came out with different roles depending on who exported it. Visible as in 011's
    # aurora_user_names: staff see every role, a PARTNER those on its own RELEASED/PAID statements.
    (
        "aurora_user_roles(uuid[])",
        """
        CREATE FUNCTION aurora_user_roles(p_users uuid[]) RETURNS TABLE (user_id uuid, role text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
            SELECT u.user_id, u.role::text FROM users u
            WHERE u.user_id = ANY (p_users)
              AND (aurora_scope_role() IN ('SYSTEM', 'ADMIN', 'AUDITOR', 'FINANCE', 'OPS')
                   OR u.user_id = aurora_scope_user()
                   OR (aurora_scope_role() = 'PARTNER' AND EXISTS (
                        SELECT 1 FROM partner_commission_statements s
                        WHERE s.partner_id = aurora_scope_partner() AND s.status IN ('RELEASED', 'PAID')
                          AND u.user_id IN (s.generated_by, s.submitted_by, s.approved_by, s.released_by,
                                            s.paid_by, s.reopened_by))))
        $$""",
    ),
    # The id of a number + revision, for recording the files issued under it.
    (
        "aurora_statement_document_id(text, integer)",
        f"""
        CREATE FUNCTION aurora_statement_document_id(p_number text, p_revision integer) RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
            SELECT d.document_id FROM statement_documents d
            WHERE d.statement_number = p_number AND d.revision = p_revision
              AND {_MAY_ISSUE.format(chain="d.chain_id", partner="d.partner_id", staff=STAFF)}
        $$""",
    ),
)

OWN_PARTNER = "(aurora_scope_is('PARTNER') AND partner_id = aurora_scope_partner())"
# table: (read, insert)
POLICIES = {
    "statement_documents": (
        f"({STAFF} AND aurora_chain_visible(chain_id))"
        f" OR ({OWN_PARTNER} AND aurora_chain_visible(chain_id) AND aurora_document_released(document_id))",
        f"({STAFF} OR {OWN_PARTNER}) AND aurora_chain_visible(chain_id)",
    ),
    "statement_document_files": (
        # The document's own policy (partner, chain, released) applies inside the EXISTS; a PARTNER
        # then sees the files issued RELEASED or PAID, and summary.csv, which carries no status and
        # so is the same file (recorded once) in every issue of a revision.
        "EXISTS (SELECT 1 FROM statement_documents d WHERE d.document_id = statement_document_files.document_id)"
        f" AND ({STAFF} OR file_name = 'summary.csv' OR aurora_issued_status(json_sha256) IN {RELEASED})",
        "aurora_document_writable(document_id) AND ("
        f"{STAFF} OR (CASE WHEN file_name = 'statement.json'"
        " THEN convert_from(content, 'UTF8')::jsonb ->> 'status'"
        f" ELSE aurora_issued_status(json_sha256) END) IN {RELEASED})",
    ),
}


def upgrade() -> None:
    for name, statement in FUNCTIONS:
        op.execute(statement)
        op.execute(
            f"""
            DO $$
            BEGIN
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{MIGRATE}') THEN
                    ALTER FUNCTION {name} OWNER TO {MIGRATE};
                END IF;
                REVOKE ALL ON FUNCTION {name} FROM PUBLIC;
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP}') THEN
                    GRANT EXECUTE ON FUNCTION {name} TO {APP};
                END IF;
            END $$"""
        )
    for table, (read, insert) in POLICIES.items():
        # 013 granted SELECT, INSERT; 011's default privileges had added UPDATE and DELETE besides.
        op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {table} FROM {APP}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {table}_read ON {table} FOR SELECT TO {APP} USING ({read})")
        op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT TO {APP} WITH CHECK ({insert})")
        # The owner (the definer helpers above) sees all; the reporting role reads what 013 granted.
        op.execute(f"CREATE POLICY {table}_owner ON {table} TO {MIGRATE} USING (true) WITH CHECK (true)")
        op.execute(f"CREATE POLICY {table}_reporting ON {table} FOR SELECT TO {READONLY} USING (true)")


def downgrade() -> None:
    for table in reversed(TABLES):
        for suffix in ("read", "insert", "owner", "reporting"):
            op.execute(f"DROP POLICY IF EXISTS {table}_{suffix} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        op.execute(f"GRANT UPDATE, DELETE ON {table} TO {APP}")  # as 011's default privileges left them
    for name, _ in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION IF EXISTS {name}")
