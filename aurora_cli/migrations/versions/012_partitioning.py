"""Partition the per-period fact tables by period; a cheaper GIN index on staged payloads.

Why: `canonical_stake_rewards` and `partner_commission_lines` grow by one validator set × delegator
set per period (1M rows per Solana epoch at 100 × 10,000), and every hot statement reads or rewrites
exactly one period (normalize's reward-set replacement, P&L, partner bases, statements). Both become
LIST-partitioned on `period_id`, one partition per registered period: the planner prunes to one
partition, old periods stop costing index depth and vacuum work, and normalize can build a period's
reward rows in a fresh table and swap it in (FKs validated in one set-based pass on ATTACH, not by
4M per-row trigger calls). LIST on `period_id` rather than RANGE on the period start, because these
tables carry no period timestamp (a range key would be a new, denormalised column on every row), and
periods are registered explicitly: a trigger on `canonical_periods` creates the partitions when a
period row is inserted, whoever inserts it. About 180 Solana epochs a year per chain is a partition
count PostgreSQL plans comfortably.

The seed's GIN index on `staging_payloads.raw_payload` indexed every key and value of every
delegator record (a REWARDS payload holds a validator's 10,000 delegators): 4× the insert cost of the
payload itself. It becomes `jsonb_path_ops` (the operator class for the containment queries the seed
intends, `raw_payload @> '{"records":[{"staker_address":"…"}]}'`: half the size, a third of the
work) with a large pending list, so a load appends entries and (auto)vacuum merges them into the tree
outside the load transaction. `raw_payload` is compressed with lz4 instead of pglz.

A replaced table keeps whatever the revisions before this one gave it, read from the catalogue, so
this revision is correct whichever revision precedes it: columns, defaults, CHECK and foreign-key
constraints, indexes, row-level-security flags (ENABLE / FORCE) and policies, table and column
grants, owner, comment, triggers, and the views and materialized views that read it (dropped and
recreated with their indexes and grants). `staging_payloads` is not partitioned by month yet: four
canonical tables reference `payload_id` alone, and a partitioned table's unique keys must include
the partition key (docs/scaling.md, "Not done").

Revision ID: 012
Revises: 011
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "012"
down_revision = "011"
branch_labels = None
depends_on = None

# table -> (primary-key column, the partitioned primary key)
PARTITIONED = {
    "canonical_stake_rewards": "reward_id",
    "partner_commission_lines": "line_id",
}

# Frozen copy: the partition of a period, named after the table and the period id.
CREATE_PARTITION_FUNCTION = """
CREATE FUNCTION aurora_create_period_partitions(p_period_id uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    parent text;
    child text;
    grantee text;
BEGIN
    FOREACH parent IN ARRAY ARRAY['canonical_stake_rewards', 'partner_commission_lines'] LOOP
        child := parent || '_' || replace(p_period_id::text, '-', '');
        IF to_regclass(child) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES IN (%L)', child, parent, p_period_id);
            EXECUTE format('ALTER TABLE %I OWNER TO %I', child,
                           (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = parent::regclass));
            -- A partition is reached through its parent, whose grants and row-level security
            -- apply; a grant on the partition itself (default privileges) would bypass the policies.
            FOR grantee IN
                SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END
                FROM pg_class c, aclexplode(c.relacl) a
                WHERE c.oid = child::regclass AND a.grantee <> c.relowner
            LOOP
                EXECUTE format('REVOKE ALL ON %I FROM %s', child, grantee);
            END LOOP;
        END IF;
    END LOOP;
END $$;

CREATE FUNCTION aurora_period_partitions_trigger() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM aurora_create_period_partitions(NEW.period_id);
    RETURN NULL;
END $$;

CREATE TRIGGER canonical_periods_create_partitions AFTER INSERT ON canonical_periods
    FOR EACH ROW EXECUTE FUNCTION aurora_period_partitions_trigger();
"""


def _q(conn, sql: str, **params):
    return conn.execute(text(sql), params).all()


def _capture(conn, table: str) -> dict:
    """Everything about ``table`` that a CREATE TABLE … LIKE does not carry over."""
    oid = _q(conn, "SELECT to_regclass(:t)::oid", t=table)[0][0]
    rls, force, owner, comment = _q(
        conn,
        "SELECT relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner), obj_description(oid, 'pg_class')"
        " FROM pg_class WHERE oid = :o",
        o=oid,
    )[0]
    policies = _q(
        conn,
        "SELECT policyname, permissive, roles, cmd, qual, with_check FROM pg_policies"
        " WHERE schemaname = 'public' AND tablename = :t",
        t=table,
    )
    grants = _q(
        conn,
        "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,"
        " a.privilege_type, a.is_grantable FROM pg_class c, aclexplode(c.relacl) a"
        " WHERE c.oid = :o AND a.grantee <> c.relowner",
        o=oid,
    )
    column_grants = _q(
        conn,
        "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,"
        " a.privilege_type, quote_ident(att.attname), a.is_grantable"
        " FROM pg_attribute att, aclexplode(att.attacl) a"
        " WHERE att.attrelid = :o AND att.attacl IS NOT NULL",
        o=oid,
    )
    triggers = [
        r[0]
        for r in _q(
            conn,
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = :o AND NOT tgisinternal",
            o=oid,
        )
    ]
    indexes = [
        r[0]
        for r in _q(
            conn,
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid = :o AND NOT i.indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = :o)",
            o=oid,
        )
    ]
    foreign_keys = _q(
        conn,
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = :o AND contype = 'f'",
        o=oid,
    )
    unique = _q(
        conn,
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = :o AND contype IN ('u', 'x')",
        o=oid,
    )
    # Views and materialized views reading the table, in creation order (a view on a view follows it).
    views = _q(
        conn,
        """
        WITH RECURSIVE deps(oid) AS (
            SELECT DISTINCT r.ev_class FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
            WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = :o AND r.ev_class <> :o
            UNION
            SELECT DISTINCT r.ev_class FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
            JOIN deps ON d.refobjid = deps.oid
            WHERE d.classid = 'pg_rewrite'::regclass AND r.ev_class <> deps.oid
        )
        SELECT c.oid, c.relname, c.relkind, pg_get_viewdef(c.oid), pg_get_userbyid(c.relowner),
               obj_description(c.oid, 'pg_class')
        FROM pg_class c WHERE c.oid IN (SELECT oid FROM deps) ORDER BY c.oid
        """,
        o=oid,
    )
    view_details = []
    for view_oid, name, kind, definition, view_owner, view_comment in views:
        view_indexes = [
            r[0]
            for r in _q(
                conn, "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = :o", o=view_oid
            )
        ]
        view_grants = _q(
            conn,
            "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,"
            " a.privilege_type, a.is_grantable FROM pg_class c, aclexplode(c.relacl) a"
            " WHERE c.oid = :o AND a.grantee <> c.relowner",
            o=view_oid,
        )
        view_details.append((name, kind, definition, view_owner, view_comment, view_indexes, view_grants))
    return {
        "rls": rls,
        "force": force,
        "owner": owner,
        "comment": comment,
        "policies": policies,
        "grants": grants,
        "column_grants": column_grants,
        "triggers": triggers,
        "indexes": indexes,
        "foreign_keys": foreign_keys,
        "unique": unique,
        "views": view_details,
    }


def _restore(conn, table: str, saved: dict, *, new_foreign_keys: bool = True) -> None:
    ex = conn.exec_driver_sql
    for statement in saved["indexes"]:
        ex(statement.replace(" ON ONLY ", " ON "))  # a partitioned parent's indexes read ON ONLY
    for name, definition in saved["unique"]:
        ex(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    if new_foreign_keys:
        for name, definition in saved["foreign_keys"]:
            ex(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    ex(f'ALTER TABLE {table} OWNER TO "{saved["owner"]}"')
    if saved["comment"] is not None:
        conn.execute(text(f"COMMENT ON TABLE {table} IS :c"), {"c": saved["comment"]})
    if saved["rls"]:
        ex(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    if saved["force"]:
        ex(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for name, permissive, roles, cmd, qual, with_check in saved["policies"]:
        to = ", ".join("PUBLIC" if r == "public" else f'"{r}"' for r in roles)
        ex(
            f'CREATE POLICY "{name}" ON {table} AS {permissive} FOR {cmd} TO {to}'
            + (f" USING ({qual})" if qual is not None else "")
            + (f" WITH CHECK ({with_check})" if with_check is not None else "")
        )
    _revoke_all_but_owner(conn, table)  # default privileges must not add to what the old table had
    for grantee, privilege, grantable in saved["grants"]:
        ex(f"GRANT {privilege} ON {table} TO {grantee}" + (" WITH GRANT OPTION" if grantable else ""))
    for grantee, privilege, column, grantable in saved["column_grants"]:
        ex(
            f"GRANT {privilege} ({column}) ON {table} TO {grantee}"
            + (" WITH GRANT OPTION" if grantable else "")
        )
    for statement in saved["triggers"]:
        ex(statement)
    for name, kind, definition, owner, comment, indexes, grants in saved["views"]:
        keyword = "MATERIALIZED VIEW" if kind == "m" else "VIEW"
        ex(f'CREATE {keyword} "{name}" AS {definition}')
        ex(f'ALTER {keyword} "{name}" OWNER TO "{owner}"')
        if comment is not None:
            conn.execute(text(f'COMMENT ON {keyword} "{name}" IS :c'), {"c": comment})
        for statement in indexes:
            ex(statement)
        _revoke_all_but_owner(conn, f'"{name}"')
        for grantee, privilege, grantable in grants:
            ex(f'GRANT {privilege} ON "{name}" TO {grantee}' + (" WITH GRANT OPTION" if grantable else ""))


def _revoke_all_but_owner(conn, relation: str) -> None:
    """Leave ``relation`` with its owner's privileges only (a new object may get default privileges)."""
    grantees = _q(
        conn,
        "SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END"
        " FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = to_regclass(:r)::oid AND a.grantee <> c.relowner",
        r=relation,
    )
    for (grantee,) in grantees:
        conn.exec_driver_sql(f"REVOKE ALL ON {relation} FROM {grantee}")


def _drop_views(conn, saved: dict) -> None:
    for name, kind, *_ in reversed(saved["views"]):
        conn.exec_driver_sql(f'DROP {"MATERIALIZED VIEW" if kind == "m" else "VIEW"} "{name}"')


def _rebuild(conn, table: str, key: str, *, partitioned: bool) -> None:
    """Replace ``table`` by a copy (LIST-partitioned on period_id, or plain), data and catalogue kept."""
    saved = _capture(conn, table)
    ex = conn.exec_driver_sql
    _drop_views(conn, saved)
    new = f"{table}_rebuilt"
    ex(
        f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED"
        " INCLUDING COMMENTS INCLUDING STORAGE INCLUDING COMPRESSION)"
        + (" PARTITION BY LIST (period_id)" if partitioned else "")
    )
    if partitioned:
        for (period_id,) in _q(conn, "SELECT period_id FROM canonical_periods"):
            child = f"{table}_{str(period_id).replace('-', '')}"
            ex(f"CREATE TABLE {child} PARTITION OF {new} FOR VALUES IN ('{period_id}')")
    ex(f"INSERT INTO {new} SELECT * FROM {table}")
    ex(f"DROP TABLE {table}")
    ex(f"ALTER TABLE {new} RENAME TO {table}")
    primary = f"({key}, period_id)" if partitioned else f"({key})"
    ex(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY {primary}")
    _restore(conn, table, saved)
    ex(f"ANALYZE {table}")


def upgrade() -> None:
    conn = op.get_bind()
    for table, key in PARTITIONED.items():
        _rebuild(conn, table, key, partitioned=True)
    op.execute(CREATE_PARTITION_FUNCTION)
    # The schema owner (revision 011) owns the functions, whoever runs the migration: the partition
    # function is SECURITY DEFINER and must act as the tables' owner, never as a superuser.
    op.execute(
        """
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aurora_migrate') THEN
                ALTER FUNCTION aurora_create_period_partitions(uuid) OWNER TO aurora_migrate;
                ALTER FUNCTION aurora_period_partitions_trigger() OWNER TO aurora_migrate;
            END IF;
        END $$
        """
    )
    op.execute("DROP INDEX idx_staging_payloads_raw_payload")
    op.execute(
        "CREATE INDEX idx_staging_payloads_raw_payload ON staging_payloads USING GIN (raw_payload jsonb_path_ops)"
        " WITH (gin_pending_list_limit = 1048576)"
    )
    op.execute("ALTER TABLE staging_payloads ALTER COLUMN raw_payload SET COMPRESSION lz4")


def downgrade() -> None:
    conn = op.get_bind()
    op.execute("ALTER TABLE staging_payloads ALTER COLUMN raw_payload SET COMPRESSION pglz")
    op.execute("DROP INDEX idx_staging_payloads_raw_payload")
    op.execute("CREATE INDEX idx_staging_payloads_raw_payload ON staging_payloads USING GIN (raw_payload)")
    op.execute("DROP TRIGGER canonical_periods_create_partitions ON canonical_periods")
    op.execute("DROP FUNCTION aurora_period_partitions_trigger()")
    op.execute("DROP FUNCTION aurora_create_period_partitions(uuid)")
    for table, key in PARTITIONED.items():
        _rebuild(conn, table, key, partitioned=False)
