"""The application runs as a non-owner role; row-level security, ENABLEd and FORCEd, scopes every read.

Why: until now the CLI connected as the cluster superuser, owner of every table, and RLS existed on one
table and was forced nowhere, so a partner's session read every partner's lines, DRAFT statements, the
summaries and the password hashes (issue 10). This revision

* makes ``aurora_migrate`` the owner of every object in ``public`` (it runs DDL), keeps ``aurora_app``
  a plain role (no superuser, no BYPASSRLS, no CREATEROLE, owns nothing: so it can neither change
  ``session_replication_role`` nor disable a trigger) and narrows ``aurora_readonly`` to the reporting
  tables (never ``users`` nor ``user_tokens``);
* sets default privileges so tables later revisions add (partitions too) get the same grants;
* adds the scope functions the policies read (``aurora_scope_*``: the ``app.*`` settings the
  application sets with ``SET LOCAL`` per transaction), and SECURITY DEFINER helpers, owned by
  ``aurora_migrate``, for what must happen before a scope exists (log in, bootstrap) or across scopes
  (refreshing the summaries, naming users in the audit list);
* ENABLEs and FORCEs RLS with one SELECT / INSERT / UPDATE / DELETE policy per table driven by the
  scope; no setting means no rows (deny by default);
* revokes the materialized summaries from ``aurora_app`` (a view cannot carry RLS; the application
  refreshes them through ``aurora_refresh_summary`` and never reads them).

Frozen copies only: nothing here imports ``aurora_cli``. Downgrade drops the policies and functions,
disables RLS, restores the grants of revisions 001-005 and gives the objects back to the user running
it; roles stay (they are cluster-wide, other databases may use them).
"""

from __future__ import annotations

from alembic import op

revision = "011"
down_revision = "010"
branch_labels = None
depends_on = None

APP, READONLY, MIGRATE = "aurora_app", "aurora_readonly", "aurora_migrate"

# Tables the reporting role may read (no users, user_tokens, audit_log, staging payloads).
REPORTING = (
    "chains",
    "canonical_periods",
    "canonical_validator_identities",
    "canonical_validator_fees",
    "canonical_validator_mev",
    "canonical_stake_rewards",
    "canonical_validator_meta",
    "validator_pnl",
    "partners",
    "agreements",
    "agreement_versions",
    "agreement_rules",
    "partner_commission_lines",
    "partner_commission_statements",
    "partner_stake_attributions",
)
SUMMARIES = ("mv_partner_commissions_summary", "mv_validator_revenue_summary")

# -- the scope, as the policies read it ------------------------------------------------------------

SCOPE_FUNCTIONS = (
    """
    CREATE FUNCTION aurora_scope_role() RETURNS text LANGUAGE sql STABLE AS $$
        SELECT coalesce(nullif(current_setting('app.current_role', true), ''), 'NONE')
    $$""",
    """
    CREATE FUNCTION aurora_scope_user() RETURNS uuid LANGUAGE sql STABLE AS $$
        SELECT nullif(current_setting('app.current_user_id', true), '')::uuid
    $$""",
    """
    CREATE FUNCTION aurora_scope_partner() RETURNS uuid LANGUAGE sql STABLE AS $$
        SELECT nullif(current_setting('app.current_partner_id', true), '')::uuid
    $$""",
    # NULL (unset or empty) = no limit; otherwise a PostgreSQL array literal such as {a,b}. CASE, not
    # OR: SQL does not promise to skip the cast of an empty setting.
    """
    CREATE FUNCTION aurora_chain_visible(chain text) RETURNS boolean LANGUAGE sql STABLE AS $$
        SELECT CASE WHEN nullif(current_setting('app.allowed_chains', true), '') IS NULL THEN true
                    ELSE coalesce(chain = ANY (current_setting('app.allowed_chains', true)::text[]), false) END
    $$""",
    """
    CREATE FUNCTION aurora_validator_visible(validator text) RETURNS boolean LANGUAGE sql STABLE AS $$
        SELECT CASE WHEN validator IS NULL OR nullif(current_setting('app.allowed_validators', true), '') IS NULL
                    THEN true
                    ELSE coalesce(validator = ANY (current_setting('app.allowed_validators', true)::text[]), false) END
    $$""",
    """
    CREATE FUNCTION aurora_scope_is(VARIADIC roles text[]) RETURNS boolean LANGUAGE sql STABLE AS $$
        SELECT aurora_scope_role() = ANY (roles)
    $$""",
)
SCOPE_FUNCTION_NAMES = (
    "aurora_scope_role()",
    "aurora_scope_user()",
    "aurora_scope_partner()",
    "aurora_chain_visible(text)",
    "aurora_validator_visible(text)",
    "aurora_scope_is(text[])",
)

# SECURITY DEFINER helpers, owned by aurora_migrate (which RLS lets see every row). Each reveals only
# what its caller may know without a scope.
DEFINER_FUNCTIONS = (
    # Log in: the user named, before anyone is authenticated (the app compares the bcrypt hash).
    """
    CREATE FUNCTION aurora_user_by_name(p_username text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT user_id FROM users WHERE username = p_username
    $$""",
    # Authenticate: the user a token hash belongs to (validity is checked by the app on the row).
    """
    CREATE FUNCTION aurora_token_user(p_token_hash text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT user_id FROM user_tokens WHERE token_hash = p_token_hash
    $$""",
    """
    CREATE FUNCTION aurora_user_count() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT count(*) FROM users
    $$""",
    # A user may touch its own row (last login) but not its privileges.
    """
    CREATE FUNCTION aurora_same_privileges(
        p_user uuid, p_role text, p_partner uuid, p_chains text[], p_validators text[], p_active boolean
    ) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT EXISTS (
            SELECT 1 FROM users
            WHERE user_id = p_user AND role::text = p_role
              AND partner_id IS NOT DISTINCT FROM p_partner
              AND allowed_chain_ids::text[] IS NOT DISTINCT FROM p_chains
              AND allowed_validator_keys::text[] IS NOT DISTINCT FROM p_validators
              AND is_active = p_active
        )
    $$""",
    # Names (never the rest of the users row) for the audit list and for the who-did-it columns of
    # statements (SPEC §13 *_by_username): staff see every name; a PARTNER its own and the names on
    # its own RELEASED/PAID statements, which its statement documents carry anyway.
    """
    CREATE FUNCTION aurora_user_names() RETURNS TABLE (user_id uuid, username text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT u.user_id, u.username::text FROM users u
        WHERE aurora_scope_role() IN ('SYSTEM', 'ADMIN', 'AUDITOR', 'FINANCE', 'OPS')
           OR u.user_id = aurora_scope_user()
           OR (aurora_scope_role() = 'PARTNER' AND EXISTS (
                SELECT 1 FROM partner_commission_statements s
                WHERE s.partner_id = aurora_scope_partner() AND s.status IN ('RELEASED', 'PAID')
                  AND u.user_id IN (s.generated_by, s.submitted_by, s.approved_by, s.released_by,
                                    s.paid_by, s.reopened_by)))
    $$""",
    # REFRESH needs ownership; the summaries are refreshed whole, as their owner.
    """
    CREATE FUNCTION aurora_refresh_summary(p_name text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    BEGIN
        IF p_name NOT IN ('mv_partner_commissions_summary', 'mv_validator_revenue_summary') THEN
            RAISE EXCEPTION 'not a summary: %', p_name;
        END IF;
        IF aurora_scope_role() NOT IN ('SYSTEM', 'ADMIN', 'FINANCE', 'OPS') THEN
            RAISE EXCEPTION 'permission denied to refresh %', p_name USING ERRCODE = '42501';
        END IF;
        EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY %I', p_name);
    END
    $$""",
)
DEFINER_FUNCTION_NAMES = (
    "aurora_user_by_name(text)",
    "aurora_token_user(text)",
    "aurora_user_count()",
    "aurora_same_privileges(uuid, text, uuid, text[], text[], boolean)",
    "aurora_user_names()",
    "aurora_refresh_summary(text)",
)

# -- the policies ----------------------------------------------------------------------------------

STAFF = "aurora_scope_is('SYSTEM', 'ADMIN', 'FINANCE', 'AUDITOR')"
COMMISSION_WRITERS = "aurora_scope_is('SYSTEM', 'ADMIN', 'FINANCE')"
CHAIN_AND_VALIDATOR = "aurora_chain_visible(chain_id) AND aurora_validator_visible(validator_key)"
OWN_PARTNER = "(aurora_scope_is('PARTNER') AND partner_id = aurora_scope_partner())"
# A partner reads a statement once it is RELEASED or PAID, and the lines behind such a statement.
RELEASED = "status IN ('RELEASED', 'PAID')"
LINE_RELEASED = (
    "EXISTS (SELECT 1 FROM partner_commission_statements s WHERE s.partner_id = partner_commission_lines.partner_id"
    " AND s.chain_id = partner_commission_lines.chain_id AND s.period_id = partner_commission_lines.period_id"
    " AND s.status IN ('RELEASED', 'PAID'))"
)
P_AND_L_READERS = "aurora_scope_is('SYSTEM', 'ADMIN', 'FINANCE', 'OPS', 'AUDITOR')"
OPERATORS = "aurora_scope_is('SYSTEM', 'ADMIN', 'OPS')"
OWN_AGREEMENT = (
    "(aurora_scope_is('PARTNER') AND EXISTS (SELECT 1 FROM agreements a WHERE a.agreement_id = {t}.agreement_id"
    " AND a.partner_id = aurora_scope_partner()))"
)
# Before a scope exists (log in, log out, bootstrap), the application says it is authenticating and
# names the one user (by name) or token (by hash) it is looking for; only that row shows.
AUTH_USER = (
    "(aurora_scope_is('AUTHENTICATING') AND (username = current_setting('app.auth_username', true)"
    " OR user_id = aurora_token_user(current_setting('app.auth_token_hash', true))))"
)
AUTH_TOKEN = (
    "(aurora_scope_is('AUTHENTICATING') AND (token_hash = current_setting('app.auth_token_hash', true)"
    " OR user_id = aurora_user_by_name(current_setting('app.auth_username', true))))"
)
SELF = "user_id = aurora_scope_user()"
SAME_PRIVILEGES = (
    "aurora_same_privileges(user_id, role::text, partner_id, allowed_chain_ids::text[],"
    " allowed_validator_keys::text[], is_active)"
)

# table: (read, insert, update, delete); None = the read predicate.
POLICIES: dict[str, tuple[str, str, str, str]] = {
    "partner_commission_lines": (
        f"({STAFF} AND {CHAIN_AND_VALIDATOR}) OR ({OWN_PARTNER} AND {CHAIN_AND_VALIDATOR} AND {LINE_RELEASED})",
        f"{COMMISSION_WRITERS} AND {CHAIN_AND_VALIDATOR}",
        f"{COMMISSION_WRITERS} AND {CHAIN_AND_VALIDATOR}",
        f"{COMMISSION_WRITERS} AND {CHAIN_AND_VALIDATOR}",
    ),
    "partner_commission_statements": (
        f"({STAFF} AND aurora_chain_visible(chain_id)) OR ({OWN_PARTNER} AND aurora_chain_visible(chain_id) AND {RELEASED})",
        f"{COMMISSION_WRITERS} AND aurora_chain_visible(chain_id)",
        f"{COMMISSION_WRITERS} AND aurora_chain_visible(chain_id)",
        f"{COMMISSION_WRITERS} AND aurora_chain_visible(chain_id)",
    ),
    "partners": (
        f"{STAFF} OR (aurora_scope_is('PARTNER') AND partner_id = aurora_scope_partner())",
        COMMISSION_WRITERS,
        COMMISSION_WRITERS,
        COMMISSION_WRITERS,
    ),
    "agreements": (f"{STAFF} OR {OWN_PARTNER}", COMMISSION_WRITERS, COMMISSION_WRITERS, COMMISSION_WRITERS),
    "agreement_versions": (
        f"{STAFF} OR {OWN_AGREEMENT.format(t='agreement_versions')}",
        COMMISSION_WRITERS,
        COMMISSION_WRITERS,
        COMMISSION_WRITERS,
    ),
    "agreement_rules": (
        f"{STAFF} OR {OWN_AGREEMENT.format(t='agreement_rules')}",
        COMMISSION_WRITERS,
        COMMISSION_WRITERS,
        COMMISSION_WRITERS,
    ),
    "partner_stake_attributions": (
        f"({P_AND_L_READERS} AND {CHAIN_AND_VALIDATOR}) OR ({OWN_PARTNER} AND {CHAIN_AND_VALIDATOR})",
        "aurora_scope_is('SYSTEM', 'ADMIN', 'FINANCE', 'OPS')",
        "aurora_scope_is('SYSTEM', 'ADMIN', 'FINANCE', 'OPS')",
        "aurora_scope_is('SYSTEM', 'ADMIN', 'FINANCE', 'OPS')",
    ),
    "users": (
        f"aurora_scope_is('SYSTEM', 'ADMIN') OR {SELF} OR {AUTH_USER}",
        # bootstrap-admin: the first user, while there is none
        "aurora_scope_is('SYSTEM', 'ADMIN') OR (aurora_scope_is('AUTHENTICATING') AND aurora_user_count() = 0)",
        f"aurora_scope_is('SYSTEM', 'ADMIN') OR (({SELF} OR {AUTH_USER}) AND {SAME_PRIVILEGES})",
        "aurora_scope_is('SYSTEM', 'ADMIN')",
    ),
    "user_tokens": (
        f"aurora_scope_is('SYSTEM', 'ADMIN') OR {SELF} OR {AUTH_TOKEN}",
        f"aurora_scope_is('SYSTEM', 'ADMIN') OR {SELF} OR {AUTH_TOKEN}",
        f"aurora_scope_is('SYSTEM', 'ADMIN') OR {SELF} OR {AUTH_TOKEN}",
        "aurora_scope_is('SYSTEM', 'ADMIN')",
    ),
}
# Chain/validator limits on the canonical layer and the P&L; the ingest layer by chain.
for _table in (
    "canonical_validator_fees",
    "canonical_validator_mev",
    "canonical_stake_rewards",
    "canonical_validator_meta",
    "validator_pnl",
):
    POLICIES[_table] = (
        f"{P_AND_L_READERS} AND {CHAIN_AND_VALIDATOR}",
        f"{OPERATORS} AND {CHAIN_AND_VALIDATOR}",
        f"{OPERATORS} AND {CHAIN_AND_VALIDATOR}",
        f"{OPERATORS} AND {CHAIN_AND_VALIDATOR}",
    )
POLICIES["staging_payloads"] = (
    f"aurora_scope_is('SYSTEM', 'ADMIN', 'OPS', 'AUDITOR') AND {CHAIN_AND_VALIDATOR}",
    f"{OPERATORS} AND {CHAIN_AND_VALIDATOR}",
    f"{OPERATORS} AND {CHAIN_AND_VALIDATOR}",
    f"{OPERATORS} AND {CHAIN_AND_VALIDATOR}",
)
POLICIES["ingestion_runs"] = (
    f"{P_AND_L_READERS} AND aurora_chain_visible(chain_id)",
    f"{OPERATORS} AND aurora_chain_visible(chain_id)",
    f"{OPERATORS} AND aurora_chain_visible(chain_id)",
    f"{OPERATORS} AND aurora_chain_visible(chain_id)",
)
# The policy of revision 001, replaced by the ones above.
OLD_POLICY = "partner_commission_lines_policy"


def _create_role(role: str) -> str:
    # Roles are cluster-wide and may exist already (another database, a concurrent test run).
    return f"""
    DO $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            CREATE ROLE {role} NOLOGIN;
        END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END
    $$"""


# Only a superuser (or a CREATEROLE role) can fix attributes; on an external database where the
# migrating role cannot, the roles are whatever the DBA made them (docs/security.md says what).
_ROLE_ATTRIBUTES = f"""
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER ROLE {APP} NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOREPLICATION;
        ALTER ROLE {READONLY} NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOREPLICATION;
        ALTER ROLE {MIGRATE} NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOREPLICATION;
    END IF;
END
$$"""

# Every table, view, sequence, function and type of the schema goes to aurora_migrate, unless the
# migration already runs as aurora_migrate (then it owns them). Extensions' objects are left alone.
_TO_MIGRATE = f"""
DO $$
DECLARE r record;
BEGIN
    IF current_user = '{MIGRATE}' OR NOT pg_has_role(current_user, '{MIGRATE}', 'USAGE') THEN RETURN; END IF;
    FOR r IN
        SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('e', 'i', 'a'))
    LOOP
        EXECUTE format(
            CASE r.relkind WHEN 'v' THEN 'ALTER VIEW %I OWNER TO {MIGRATE}'
                           WHEN 'm' THEN 'ALTER MATERIALIZED VIEW %I OWNER TO {MIGRATE}'
                           WHEN 'S' THEN 'ALTER SEQUENCE %I OWNER TO {MIGRATE}'
                           ELSE 'ALTER TABLE %I OWNER TO {MIGRATE}' END, r.relname);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO {MIGRATE}', r.sig);
    END LOOP;
    FOR r IN
        SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER TYPE %I OWNER TO {MIGRATE}', r.typname);
    END LOOP;
END
$$"""


def _default_privileges(action: str) -> list[str]:
    """Grants for tables later revisions create, as aurora_migrate or as the user migrating now."""
    out = []
    for owner in (MIGRATE, "CURRENT_USER"):
        target = "FOR ROLE " + owner if owner == MIGRATE else ""
        if action == "GRANT":
            out += [
                f"ALTER DEFAULT PRIVILEGES {target} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP}",
                f"ALTER DEFAULT PRIVILEGES {target} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP}",
            ]
        else:
            out += [
                f"ALTER DEFAULT PRIVILEGES {target} IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {APP}",
                f"ALTER DEFAULT PRIVILEGES {target} IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM {APP}",
            ]
    return out


def _policy_statements(table: str, predicates: tuple[str, str, str, str]) -> list[str]:
    read, insert, update, delete = predicates
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {table}_read ON {table} FOR SELECT TO {APP} USING ({read})",
        f"CREATE POLICY {table}_insert ON {table} FOR INSERT TO {APP} WITH CHECK ({insert})",
        f"CREATE POLICY {table}_update ON {table} FOR UPDATE TO {APP} USING ({update}) WITH CHECK ({update})",
        f"CREATE POLICY {table}_delete ON {table} FOR DELETE TO {APP} USING ({delete})",
        # The owner (definer functions, refreshes) sees all; the reporting role reads its tables.
        f"CREATE POLICY {table}_owner ON {table} TO {MIGRATE} USING (true) WITH CHECK (true)",
        *(
            [f"CREATE POLICY {table}_reporting ON {table} FOR SELECT TO {READONLY} USING (true)"]
            if table in REPORTING
            else []
        ),
    ]


def upgrade() -> None:
    for role in (APP, READONLY, MIGRATE):
        op.execute(_create_role(role))
    op.execute(_ROLE_ATTRIBUTES)
    op.execute(_TO_MIGRATE)
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP}, {READONLY}")
    op.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {MIGRATE}")
    # Whatever earlier revisions granted to the application on tables: DML at most, nothing more.
    op.execute(
        f"""
        DO $$
        DECLARE r record;
        BEGIN
            FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'alembic_version'
            LOOP
                EXECUTE format('REVOKE TRUNCATE, REFERENCES, TRIGGER ON %I FROM {APP}', r.relname);
            END LOOP;
            FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = 'public' AND c.relkind = 'S'
            LOOP
                EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %I TO {APP}', r.relname);
            END LOOP;
        END
        $$"""
    )
    op.execute(f"REVOKE ALL ON users, user_tokens, audit_log, staging_payloads FROM {READONLY}")
    for view in SUMMARIES:
        op.execute(f"REVOKE ALL ON {view} FROM {APP}")
        op.execute(f"GRANT SELECT ON {view} TO {READONLY}")
    for statement in _default_privileges("GRANT"):
        op.execute(statement)

    for statement in SCOPE_FUNCTIONS + DEFINER_FUNCTIONS:
        op.execute(statement)
    for name in DEFINER_FUNCTION_NAMES:
        op.execute(f"ALTER FUNCTION {name} OWNER TO {MIGRATE}")
        op.execute(f"REVOKE ALL ON FUNCTION {name} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {name} TO {APP}")
    for name in SCOPE_FUNCTION_NAMES:
        op.execute(f"ALTER FUNCTION {name} OWNER TO {MIGRATE}")

    op.execute(f"DROP POLICY IF EXISTS {OLD_POLICY} ON partner_commission_lines")
    for table, predicates in POLICIES.items():
        for statement in _policy_statements(table, predicates):
            op.execute(statement)


def downgrade() -> None:
    for table in POLICIES:
        for suffix in ("read", "insert", "update", "delete", "owner", "reporting"):
            op.execute(f"DROP POLICY IF EXISTS {table}_{suffix} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        if table != "partner_commission_lines":
            op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    # Revision 001's policy, as it was.
    op.execute(
        """
        CREATE POLICY partner_commission_lines_policy ON partner_commission_lines
            FOR SELECT
            USING (
                partner_id = NULLIF(current_setting('app.current_partner_id', true), '')::UUID
                OR current_setting('app.current_role', true) IN ('ADMIN', 'FINANCE', 'AUDITOR')
            )
        """
    )
    for name in DEFINER_FUNCTION_NAMES + SCOPE_FUNCTION_NAMES:
        op.execute(f"DROP FUNCTION IF EXISTS {name}")
    for statement in _default_privileges("REVOKE"):
        op.execute(statement)
    for view in SUMMARIES:
        op.execute(f"GRANT SELECT ON {view} TO {APP}")
    op.execute(f"GRANT SELECT ON users, user_tokens, staging_payloads, audit_log TO {READONLY}")
    # Objects go back to the user running the downgrade, as before this revision.
    op.execute(
        f"""
        DO $$
        BEGIN
            IF current_user <> '{MIGRATE}' THEN
                EXECUTE 'REASSIGN OWNED BY {MIGRATE} TO ' || quote_ident(current_user);
            END IF;
        END
        $$"""
    )
