"""Statement documents: a stable number per (partner, chain, window), a revision per change of facts,
and every issued file by its SHA-256.

Why: a partner statement is a document sent outside the company (issue 12). It needs a number that
is unique and never reused: when a statement is reopened and its figures change, the document keeps
its number and gains a revision, and the earlier revision must stay retrievable exactly as sent.
`aurora statements verify` answers "did Aurora issue this very file, and is it still current?" by
looking the file's SHA-256 up among the files issued. Neither fact can be derived from
`partner_commission_statements` (one row per period, overwritten by regenerate and reopen).

- `statement_documents`: one row per (number, revision); `facts_sha256` is the hash of the
  document's figures (everything but workflow status), which decides when a new revision starts.
- `statement_document_files`: one row per issued file (statement.json, statement.pdf, lines.csv,
  summary.csv), with the canonical statement.json content kept for every revision.

Revision ID: 013
Revises: 012
"""

from alembic import op

revision = "013"
down_revision = "012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE statement_documents (
            document_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            statement_number VARCHAR(80) NOT NULL,
            revision INTEGER NOT NULL,
            partner_id UUID NOT NULL REFERENCES partners(partner_id) ON DELETE RESTRICT,
            chain_id VARCHAR(50) NOT NULL REFERENCES chains(chain_id) ON DELETE RESTRICT,
            window_key VARCHAR(60) NOT NULL,
            facts_sha256 CHAR(64) NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT uq_statement_documents_number_revision UNIQUE (statement_number, revision),
            CONSTRAINT uq_statement_documents_window_revision UNIQUE (partner_id, chain_id, window_key, revision),
            CONSTRAINT ck_statement_documents_revision_positive CHECK (revision >= 1)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE statement_document_files (
            file_sha256 CHAR(64) PRIMARY KEY,
            document_id UUID NOT NULL REFERENCES statement_documents(document_id) ON DELETE RESTRICT,
            file_name VARCHAR(40) NOT NULL,
            json_sha256 CHAR(64) NOT NULL,
            content BYTEA,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX idx_statement_document_files_document ON statement_document_files (document_id)")
    # The application roles of revision 001 read and add; nobody rewrites an issued document.
    op.execute(
        """
        DO $$
        BEGIN
            -- The schema owner (revision 011) owns every table, whoever runs the migration.
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aurora_migrate') THEN
                ALTER TABLE statement_documents OWNER TO aurora_migrate;
                ALTER TABLE statement_document_files OWNER TO aurora_migrate;
            END IF;
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aurora_app') THEN
                GRANT SELECT, INSERT ON statement_documents, statement_document_files TO aurora_app;
            END IF;
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aurora_readonly') THEN
                GRANT SELECT ON statement_documents, statement_document_files TO aurora_readonly;
            END IF;
        END $$
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE statement_document_files")
    op.execute("DROP TABLE statement_documents")
