"""Partition `staging_payloads` by month of `created_at`; payload identity moves to a key table.

Why: staged payloads are the largest table (every provider response and every import, kept for
lineage) and grow with time, not with periods; monthly RANGE partitions on `created_at` (as the seed
plans) let old months be detached, archived or dropped whole, and keep each month's indexes, the
GIN index on `raw_payload` above all, the size of one month.

A partitioned table's primary and unique keys must include the partition key, so
`staging_payloads` can no longer promise by itself that `payload_id` is unique, nor that the
idempotency key (run, chain, period, validator, data type) is. Both promises, and the target of the
four canonical tables' lineage foreign keys (`source_payload_id … ON DELETE RESTRICT`), move to a
narrow table, `staging_payload_keys`: one row per staged payload with its id, `created_at` and the
idempotency columns, holding the primary key and `uq_staging_payloads_idempotency` exactly as the
seed declares them. `staging_payloads` keeps `(payload_id, created_at)` as its primary key and a
foreign key over all of the key table's columns, so its rows and their key rows cannot disagree.
A trigger writes the key row before each payload row (one row per payload, not per record: 400 rows
for a 1M-record import), and a payload's deletion deletes its key row, which the lineage foreign
keys refuse while a canonical row still points at it: the RESTRICT of the seed, one table further.
The key table belongs to the schema owner and is granted to nobody: the trigger functions are
SECURITY DEFINER, so the application writes it only through a payload insert and never reads it.

Months are created on demand: each new ingestion run makes sure the partitions of its month and of
the next exist (a run that crosses midnight at the month's end stays in a partition), and a DEFAULT
partition holds any row no month partition covers, so an insert never fails for want of one. A
month whose rows are already in the DEFAULT partition is left there (creating its partition would
have to move them under an exclusive lock; docs/scaling.md). Partitions get no grants: they are
reached through the parent, whose grants and row-level security apply.

Existing rows are copied; the downgrade rebuilds the plain table and points the lineage keys back.

Revision ID: 016
Revises: 015
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "016"
down_revision = "015"
branch_labels = None
depends_on = None

KEY_COLUMNS = ("payload_id", "created_at", "run_id", "chain_id", "period_id", "validator_key", "data_type")
IDEMPOTENCY = ("run_id", "chain_id", "period_id", "validator_key", "data_type")
LINEAGE_TABLES = (
    "canonical_validator_fees",
    "canonical_validator_mev",
    "canonical_stake_rewards",
    "canonical_validator_meta",
)

FUNCTIONS = """
CREATE FUNCTION aurora_create_staging_month(p_at timestamptz) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    month_start timestamptz := date_trunc('month', p_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    month_end timestamptz := (date_trunc('month', p_at AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
    child text := 'staging_payloads_' || to_char(p_at AT TIME ZONE 'UTC', 'YYYY"m"MM');
    grantee text;
BEGIN
    IF to_regclass(child) IS NOT NULL THEN
        RETURN;
    END IF;
    -- Rows of this month already in the DEFAULT partition stay there (see revision 016).
    IF EXISTS (SELECT 1 FROM staging_payloads_default WHERE created_at >= month_start AND created_at < month_end) THEN
        RETURN;
    END IF;
    BEGIN
        EXECUTE format('CREATE TABLE %I PARTITION OF staging_payloads FOR VALUES FROM (%L) TO (%L)',
                       child, month_start, month_end);
    EXCEPTION WHEN duplicate_table THEN
        RETURN;  -- a concurrent run created it
    END;
    EXECUTE format('ALTER TABLE %I OWNER TO %I', child,
                   (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'staging_payloads'::regclass));
    FOR grantee IN
        SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.oid = child::regclass AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('REVOKE ALL ON %I FROM %s', child, grantee);
    END LOOP;
END $$;

CREATE FUNCTION aurora_staging_months_trigger() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM aurora_create_staging_month(now());
    PERFORM aurora_create_staging_month(now() + interval '1 month');
    RETURN NULL;
END $$;

CREATE FUNCTION aurora_staging_key_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO staging_payload_keys (payload_id, created_at, run_id, chain_id, period_id, validator_key, data_type)
    VALUES (NEW.payload_id, NEW.created_at, NEW.run_id, NEW.chain_id, NEW.period_id, NEW.validator_key, NEW.data_type);
    RETURN NEW;
END $$;

CREATE FUNCTION aurora_staging_key_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    DELETE FROM staging_payload_keys WHERE payload_id = OLD.payload_id;
    RETURN NULL;
END $$;
"""
FUNCTION_SIGNATURES = (
    "aurora_create_staging_month(timestamptz)",
    "aurora_staging_months_trigger()",
    "aurora_staging_key_insert()",
    "aurora_staging_key_delete()",
)
TRIGGERS = """
CREATE TRIGGER staging_payloads_key_insert BEFORE INSERT ON staging_payloads
    FOR EACH ROW EXECUTE FUNCTION aurora_staging_key_insert();
CREATE TRIGGER staging_payloads_key_delete AFTER DELETE ON staging_payloads
    FOR EACH ROW EXECUTE FUNCTION aurora_staging_key_delete();
CREATE TRIGGER ingestion_runs_staging_months AFTER INSERT ON ingestion_runs
    FOR EACH STATEMENT EXECUTE FUNCTION aurora_staging_months_trigger();
"""


def _q(conn, sql: str, **params):
    return conn.execute(text(sql), params).all()


def _grantee(alias: str = "a") -> str:
    return f"CASE WHEN {alias}.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid({alias}.grantee)) END"


def _capture(conn) -> dict:
    """What staging_payloads has that CREATE TABLE … LIKE does not carry (frozen: revision 012's way)."""
    oid = _q(conn, "SELECT 'staging_payloads'::regclass::oid")[0][0]
    rls, force, owner, comment = _q(
        conn,
        "SELECT relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner), obj_description(oid, 'pg_class')"
        " FROM pg_class WHERE oid = :o",
        o=oid,
    )[0]
    return {
        "rls": rls,
        "force": force,
        "owner": owner,
        "comment": comment,
        "policies": _q(
            conn,
            "SELECT policyname, permissive, roles, cmd, qual, with_check FROM pg_policies"
            " WHERE schemaname = 'public' AND tablename = 'staging_payloads'",
        ),
        "grants": _q(
            conn,
            f"SELECT {_grantee()}, a.privilege_type, a.is_grantable FROM pg_class c, aclexplode(c.relacl) a"
            " WHERE c.oid = :o AND a.grantee <> c.relowner",
            o=oid,
        ),
        "column_grants": _q(
            conn,
            f"SELECT {_grantee()}, a.privilege_type, quote_ident(att.attname), a.is_grantable"
            " FROM pg_attribute att, aclexplode(att.attacl) a WHERE att.attrelid = :o AND att.attacl IS NOT NULL",
            o=oid,
        ),
        "indexes": [
            r[0]
            for r in _q(
                conn,
                "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = :o"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = :o)",
                o=oid,
            )
        ],
        # The foreign keys to runs, chains, periods and providers (not the one to the key table).
        "foreign_keys": _q(
            conn,
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = :o AND contype = 'f'"
            " AND confrelid <> coalesce(to_regclass('staging_payload_keys'), 0::regclass)",
            o=oid,
        ),
        "checks": _q(
            conn,
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = :o AND contype = 'c'",
            o=oid,
        ),
        "triggers": [
            r[0]
            for r in _q(
                conn,
                "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = :o AND NOT tgisinternal"
                " AND tgname NOT IN ('staging_payloads_key_insert', 'staging_payloads_key_delete')",
                o=oid,
            )
        ],
    }


def _lineage_keys(conn, target: str) -> list[tuple[str, str]]:
    """(table, constraint name) of the canonical tables' foreign keys to ``target``."""
    return _q(
        conn,
        "SELECT conrelid::regclass::text, conname FROM pg_constraint"
        " WHERE contype = 'f' AND confrelid = to_regclass(:t) AND conparentid = 0"
        " AND conrelid::regclass::text = ANY(:tables)",
        t=target,
        tables=list(LINEAGE_TABLES),
    )


def _revoke_all_but_owner(conn, relation: str) -> None:
    for (grantee,) in _q(
        conn,
        f"SELECT DISTINCT {_grantee()} FROM pg_class c, aclexplode(c.relacl) a"
        " WHERE c.oid = to_regclass(:r)::oid AND a.grantee <> c.relowner",
        r=relation,
    ):
        conn.exec_driver_sql(f"REVOKE ALL ON {relation} FROM {grantee}")


def _restore(conn, saved: dict) -> None:
    ex = conn.exec_driver_sql
    for name, definition in saved["checks"]:
        if not _q(conn, "SELECT 1 FROM pg_constraint WHERE conrelid = 'staging_payloads'::regclass AND conname = :n", n=name):
            ex(f'ALTER TABLE staging_payloads ADD CONSTRAINT "{name}" {definition}')
    for name, definition in saved["foreign_keys"]:
        ex(f'ALTER TABLE staging_payloads ADD CONSTRAINT "{name}" {definition}')
    for statement in saved["indexes"]:
        ex(statement.replace(" ON ONLY ", " ON "))
    ex(f'ALTER TABLE staging_payloads OWNER TO "{saved["owner"]}"')
    if saved["comment"] is not None:
        conn.execute(text("COMMENT ON TABLE staging_payloads IS :c"), {"c": saved["comment"]})
    if saved["rls"]:
        ex("ALTER TABLE staging_payloads ENABLE ROW LEVEL SECURITY")
    if saved["force"]:
        ex("ALTER TABLE staging_payloads FORCE ROW LEVEL SECURITY")
    for name, permissive, roles, cmd, qual, with_check in saved["policies"]:
        to = ", ".join("PUBLIC" if r == "public" else f'"{r}"' for r in roles)
        ex(
            f'CREATE POLICY "{name}" ON staging_payloads AS {permissive} FOR {cmd} TO {to}'
            + (f" USING ({qual})" if qual is not None else "")
            + (f" WITH CHECK ({with_check})" if with_check is not None else "")
        )
    _revoke_all_but_owner(conn, "staging_payloads")
    for grantee, privilege, grantable in saved["grants"]:
        ex(f"GRANT {privilege} ON staging_payloads TO {grantee}" + (" WITH GRANT OPTION" if grantable else ""))
    for grantee, privilege, column, grantable in saved["column_grants"]:
        ex(f"GRANT {privilege} ({column}) ON staging_payloads TO {grantee}" + (" WITH GRANT OPTION" if grantable else ""))
    for statement in saved["triggers"]:
        ex(statement)


def _owned_by_schema_owner(conn, statements: list[str]) -> None:
    """Hand objects to aurora_migrate when it exists (revision 011), whoever runs the migration."""
    if _q(conn, "SELECT 1 FROM pg_roles WHERE rolname = 'aurora_migrate'") and _q(
        conn, "SELECT pg_has_role(current_user, 'aurora_migrate', 'USAGE')"
    )[0][0]:
        for statement in statements:
            conn.exec_driver_sql(statement)


def upgrade() -> None:
    conn = op.get_bind()
    ex = conn.exec_driver_sql
    saved = _capture(conn)
    lineage = _lineage_keys(conn, "staging_payloads")

    ex(
        """
        CREATE TABLE staging_payload_keys (
            payload_id UUID NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            run_id UUID NOT NULL,
            chain_id VARCHAR(50) NOT NULL,
            period_id UUID NOT NULL,
            validator_key VARCHAR(100) NOT NULL,
            data_type data_type NOT NULL
        )
        """
    )
    ex(f"INSERT INTO staging_payload_keys SELECT {', '.join(KEY_COLUMNS)} FROM staging_payloads")
    for table, name in lineage:
        ex(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    ex("ALTER TABLE staging_payloads DROP CONSTRAINT uq_staging_payloads_idempotency")
    ex("ALTER TABLE staging_payloads DROP CONSTRAINT staging_payloads_pkey")
    ex("ALTER TABLE staging_payload_keys ADD CONSTRAINT staging_payload_keys_pkey PRIMARY KEY (payload_id)")
    ex(
        "ALTER TABLE staging_payload_keys ADD CONSTRAINT uq_staging_payloads_idempotency"
        f" UNIQUE ({', '.join(IDEMPOTENCY)})"
    )
    ex(
        "ALTER TABLE staging_payload_keys ADD CONSTRAINT uq_staging_payload_keys_row"
        f" UNIQUE ({', '.join(KEY_COLUMNS)})"
    )
    ex(
        "COMMENT ON TABLE staging_payload_keys IS 'One row per staged payload: the identity and idempotency"
        " keys staging_payloads cannot hold once partitioned by month (revision 016); written by trigger.'"
    )

    months = [
        r[0]
        for r in _q(
            conn,
            "SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC') FROM staging_payloads"
            " UNION SELECT date_trunc('month', now() AT TIME ZONE 'UTC')"
            " UNION SELECT date_trunc('month', (now() + interval '1 month') AT TIME ZONE 'UTC') ORDER BY 1",
        )
    ]
    ex(
        "CREATE TABLE staging_payloads_by_month (LIKE staging_payloads INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
        " INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMPRESSION) PARTITION BY RANGE (created_at)"
    )
    for month in months:
        child = f"staging_payloads_{month:%Y}m{month:%m}"
        after = month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
        ex(
            f"CREATE TABLE {child} PARTITION OF staging_payloads_by_month"
            f" FOR VALUES FROM ('{month:%Y-%m-%d} 00:00:00+00') TO ('{after:%Y-%m-%d} 00:00:00+00')"
        )
    ex("CREATE TABLE staging_payloads_default PARTITION OF staging_payloads_by_month DEFAULT")
    ex("INSERT INTO staging_payloads_by_month SELECT * FROM staging_payloads")
    ex("DROP TABLE staging_payloads")
    ex("ALTER TABLE staging_payloads_by_month RENAME TO staging_payloads")
    ex("ALTER TABLE staging_payloads ADD CONSTRAINT staging_payloads_pkey PRIMARY KEY (payload_id, created_at)")
    ex(
        f"ALTER TABLE staging_payloads ADD CONSTRAINT staging_payloads_key_fkey FOREIGN KEY ({', '.join(KEY_COLUMNS)})"
        f" REFERENCES staging_payload_keys ({', '.join(KEY_COLUMNS)}) ON DELETE CASCADE"
    )
    _restore(conn, saved)
    for table, name in lineage:
        ex(
            f'ALTER TABLE {table} ADD CONSTRAINT "{name}" FOREIGN KEY (source_payload_id)'
            " REFERENCES staging_payload_keys (payload_id) ON DELETE RESTRICT"
        )
    op.execute(FUNCTIONS)
    op.execute(TRIGGERS)
    children = [r[0] for r in _q(conn, "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'staging_payloads'::regclass")]
    for child in children:
        ex(f'ALTER TABLE {child} OWNER TO "{saved["owner"]}"')
        _revoke_all_but_owner(conn, child)
    ex(f'ALTER TABLE staging_payload_keys OWNER TO "{saved["owner"]}"')
    _revoke_all_but_owner(conn, "staging_payload_keys")
    _owned_by_schema_owner(conn, [f"ALTER FUNCTION {f} OWNER TO aurora_migrate" for f in FUNCTION_SIGNATURES])
    for f in FUNCTION_SIGNATURES:
        ex(f"REVOKE ALL ON FUNCTION {f} FROM PUBLIC")
    ex("ANALYZE staging_payloads")
    ex("ANALYZE staging_payload_keys")


def downgrade() -> None:
    conn = op.get_bind()
    ex = conn.exec_driver_sql
    saved = _capture(conn)
    lineage = _lineage_keys(conn, "staging_payload_keys")
    ex("DROP TRIGGER ingestion_runs_staging_months ON ingestion_runs")
    ex(
        "CREATE TABLE staging_payloads_plain (LIKE staging_payloads INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
        " INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMPRESSION)"
    )
    ex("INSERT INTO staging_payloads_plain SELECT * FROM staging_payloads")
    for table, name in lineage:
        ex(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    ex("DROP TABLE staging_payloads")  # its partitions and triggers with it
    ex("DROP TABLE staging_payload_keys")
    for f in FUNCTION_SIGNATURES:
        ex(f"DROP FUNCTION {f}")
    ex("ALTER TABLE staging_payloads_plain RENAME TO staging_payloads")
    ex("ALTER TABLE staging_payloads ADD CONSTRAINT staging_payloads_pkey PRIMARY KEY (payload_id)")
    ex(
        "ALTER TABLE staging_payloads ADD CONSTRAINT uq_staging_payloads_idempotency"
        f" UNIQUE ({', '.join(IDEMPOTENCY)})"
    )
    _restore(conn, saved)
    for table, name in lineage:
        ex(
            f'ALTER TABLE {table} ADD CONSTRAINT "{name}" FOREIGN KEY (source_payload_id)'
            " REFERENCES staging_payloads (payload_id) ON DELETE RESTRICT"
        )
    ex("ANALYZE staging_payloads")
