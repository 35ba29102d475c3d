"""Normalize's partition swap for the application role: two SECURITY DEFINER helpers that enforce RLS.

Why: normalize writes a period's reward rows (1M per Solana epoch at 100 × 10,000) fastest by building
them in a fresh table, indexing it, and attaching it as the period's partition of
`canonical_stake_rewards` (revision 012): the foreign keys are validated in one set-based pass each
instead of four per-row trigger calls. Since revision 011 the CLI runs as `aurora_app`, which owns no
table and may not DETACH / ATTACH, and the parent's row-level security is FORCEd, so the swap never
ran and every normalize paid the per-row path (1.74× the naive constrained INSERT at 1M rows). These
helpers, owned by `aurora_migrate` (the tables' owner), do the DDL, and enforce themselves what the
parent's policies of revision 011 would have enforced on the same rows, so the swap is no way around
row-level security:

* `aurora_reward_swap_begin(chain, period)` checks that the scope may write the chain's canonical
  rows (`aurora_scope_is('SYSTEM', 'ADMIN', 'OPS')`, `aurora_chain_visible`), that the period belongs
  to the chain and has its partition, and that nothing the standalone table would bypass exists
  (a user trigger on the parent or the partition, a policy other than 011's). It then creates the
  fresh table (`<partition>_next`, owned by aurora_migrate, no grant but INSERT to aurora_app, a
  CHECK that every row is of this chain and period) and returns its name; NULL means "use the
  parent path". The table exists only inside the caller's transaction until it commits.
* the caller INSERTs its new reward rows into that table (checked per row by the CHECK);
* `aurora_reward_swap_finish(chain, period)` takes the INSERT grant back, refuses (SQLSTATE 42501)
  unless the scope still allows the chain and every validator whose set is being replaced
  (`aurora_validator_visible`, as the parent's INSERT and DELETE policies would), copies the
  period's other validators' rows from the old partition, builds the parent's indexes, swaps the
  partitions (ATTACH validates every foreign key; the CHECK proves the bound), drops the CHECK and
  analyzes. It returns each step's seconds (jsonb), which normalize reports.

The partition keeps no grant (as revision 012 makes them: reached through the parent, whose RLS
applies). Index builds get `maintenance_work_mem = 512MB` (the 2M-row primary-key sort spilled to
disk at the default 64MB). EXECUTE is granted to aurora_app only; search_path is pinned.

Frozen copy: nothing here imports `aurora_cli`. Downgrade drops both functions.

Revision ID: 015
Revises: 014
"""

from __future__ import annotations

from alembic import op

revision = "015"
down_revision = "014"
branch_labels = None
depends_on = None

APP, MIGRATE = "aurora_app", "aurora_migrate"
PARENT = "canonical_stake_rewards"
# The policies revision 011 puts on the parent; another one means the parent path must be used.
KNOWN_POLICIES = tuple(f"{PARENT}_{s}" for s in ("read", "insert", "update", "delete", "owner", "reporting"))

HELPERS = f"""
CREATE FUNCTION aurora_reward_swap_partition(p_chain_id text, p_period_id uuid) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    part text;
BEGIN
    IF NOT aurora_scope_is('SYSTEM', 'ADMIN', 'OPS') OR NOT aurora_chain_visible(p_chain_id) THEN
        RAISE EXCEPTION 'permission denied: this scope may not write reward rows of chain %', p_chain_id
            USING ERRCODE = '42501';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM canonical_periods WHERE period_id = p_period_id AND chain_id = p_chain_id) THEN
        RAISE EXCEPTION 'period % is not a period of chain %', p_period_id, p_chain_id USING ERRCODE = '22023';
    END IF;
    SELECT child.relname INTO part
    FROM pg_inherits i JOIN pg_class child ON child.oid = i.inhrelid
    WHERE i.inhparent = 'public.{PARENT}'::regclass
      AND pg_get_expr(child.relpartbound, child.oid) = format('FOR VALUES IN (%L)', p_period_id::text);
    RETURN part;
END $$;

CREATE FUNCTION aurora_reward_swap_begin(p_chain_id text, p_period_id uuid) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    part text := aurora_reward_swap_partition(p_chain_id, p_period_id);
    fresh text;
    grantee text;
BEGIN
    IF part IS NULL THEN
        RETURN NULL;
    END IF;
    -- A standalone table bypasses triggers and policies: with any the parent path is used.
    IF EXISTS (SELECT 1 FROM pg_trigger t
               WHERE t.tgrelid IN ('public.{PARENT}'::regclass, format('public.%I', part)::regclass)
                 AND NOT t.tgisinternal)
       OR EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public' AND tablename = '{PARENT}'
                  AND policyname <> ALL (ARRAY{list(KNOWN_POLICIES)}::text[])) THEN
        RETURN NULL;
    END IF;
    fresh := part || '_next';
    EXECUTE format('DROP TABLE IF EXISTS public.%I', fresh);
    EXECUTE format(
        'CREATE TABLE public.%I (LIKE public.{PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS'
        ' INCLUDING STORAGE INCLUDING COMPRESSION,'
        ' CONSTRAINT aurora_swap_bound CHECK (chain_id = %L AND period_id = %L))',
        fresh, p_chain_id, p_period_id);
    -- Default privileges would grant the application DML on it: only INSERT, and only until finish.
    FOR grantee IN
        SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.oid = format('public.%I', fresh)::regclass AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('REVOKE ALL ON public.%I FROM %s', fresh, grantee);
    END LOOP;
    EXECUTE format('GRANT INSERT ON public.%I TO {APP}', fresh);
    RETURN fresh;
END $$;

CREATE FUNCTION aurora_reward_swap_finish(p_chain_id text, p_period_id uuid) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET maintenance_work_mem = '512MB' AS $$
DECLARE
    part text := aurora_reward_swap_partition(p_chain_id, p_period_id);
    fresh text;
    validators text[];
    refused text;
    columns text;
    grantee text;
    ix record;
    t timestamptz := clock_timestamp();
    steps jsonb := '{{}}';
    new_rows bigint;
    kept_rows bigint;
BEGIN
    IF part IS NULL OR to_regclass(format('public.%I', part || '_next')) IS NULL THEN
        RAISE EXCEPTION 'no partition swap was begun for period %', p_period_id USING ERRCODE = '55000';
    END IF;
    fresh := part || '_next';
    FOR grantee IN
        SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.oid = format('public.%I', fresh)::regclass AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('REVOKE ALL ON public.%I FROM %s', fresh, grantee);
    END LOOP;
    -- What the parent's INSERT and DELETE policies would check: the scope may write every
    -- validator whose reward set is replaced (the CHECK already holds every row to this chain).
    -- Grouped by hashing (array_agg(DISTINCT) would sort every row: n log n, spilling to disk).
    EXECUTE format('SELECT array_agg(v), coalesce(sum(n), 0) FROM'
                   ' (SELECT validator_key::text AS v, count(*) AS n FROM public.%I GROUP BY 1) per_validator',
                   fresh)
        INTO validators, new_rows;
    SELECT v INTO refused FROM unnest(validators) v WHERE NOT aurora_validator_visible(v) LIMIT 1;
    IF refused IS NOT NULL THEN
        RAISE EXCEPTION 'permission denied: this scope may not write reward rows of validator %', refused
            USING ERRCODE = '42501';
    END IF;
    steps := steps || jsonb_build_object('scope_check_seconds', extract(epoch FROM clock_timestamp() - t));
    t := clock_timestamp();
    -- The rest of the period stays as it is.
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO columns FROM pg_attribute
    WHERE attrelid = 'public.{PARENT}'::regclass AND attnum > 0 AND NOT attisdropped;
    EXECUTE format(
        'INSERT INTO public.%I (%s) SELECT %s FROM public.%I WHERE validator_key::text NOT IN (SELECT unnest($1))',
        fresh, columns, columns, part) USING coalesce(validators, '{{}}');
    GET DIAGNOSTICS kept_rows = ROW_COUNT;
    steps := steps || jsonb_build_object('keep_seconds', extract(epoch FROM clock_timestamp() - t),
                                         'new_rows', new_rows, 'kept_rows', kept_rows);
    t := clock_timestamp();
    EXECUTE format('ALTER TABLE public.{PARENT} DETACH PARTITION public.%I', part);
    EXECUTE format('DROP TABLE public.%I', part);
    EXECUTE format('ALTER TABLE public.%I RENAME TO %I', fresh, part);
    steps := steps || jsonb_build_object('detach_seconds', extract(epoch FROM clock_timestamp() - t));
    -- The parent's indexes, built by sorting, named as on a partition PostgreSQL creates; ATTACH
    -- then adopts them instead of building its own.
    t := clock_timestamp();
    FOR ix IN
        SELECT i.indexrelid, c.oid AS conoid, c.contype
        FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
        WHERE i.indrelid = 'public.{PARENT}'::regclass ORDER BY i.indexrelid
    LOOP
        IF ix.conoid IS NOT NULL THEN
            EXECUTE format('ALTER TABLE public.%I ADD %s', part, pg_get_constraintdef(ix.conoid));
        ELSE
            EXECUTE regexp_replace(pg_get_indexdef(ix.indexrelid), '^CREATE (UNIQUE )?INDEX \\S+ ON ONLY \\S+ ',
                                   'CREATE \\1INDEX ON public.' || quote_ident(part) || ' ');
        END IF;
    END LOOP;
    steps := steps || jsonb_build_object('index_seconds', extract(epoch FROM clock_timestamp() - t));
    -- Every foreign key of the parent is validated here, set-based; the CHECK proves the bound.
    t := clock_timestamp();
    EXECUTE format('ALTER TABLE public.{PARENT} ATTACH PARTITION public.%I FOR VALUES IN (%L)', part, p_period_id);
    steps := steps || jsonb_build_object('attach_seconds', extract(epoch FROM clock_timestamp() - t));
    t := clock_timestamp();
    EXECUTE format('ALTER TABLE public.%I DROP CONSTRAINT aurora_swap_bound', part);
    EXECUTE format('ANALYZE public.%I', part);
    steps := steps || jsonb_build_object('analyze_seconds', extract(epoch FROM clock_timestamp() - t));
    RETURN steps;
END $$;
"""
FUNCTIONS = (
    "aurora_reward_swap_partition(text, uuid)",  # used by the two below only: no grant
    "aurora_reward_swap_begin(text, uuid)",
    "aurora_reward_swap_finish(text, uuid)",
)
GRANTED = FUNCTIONS[1:]


def upgrade() -> None:
    op.execute(HELPERS)
    for name in FUNCTIONS:
        grant = f"GRANT EXECUTE ON FUNCTION {name} TO {APP};" if name in GRANTED else ""
        op.execute(
            f"""
            DO $$
            BEGIN
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{MIGRATE}') THEN
                    ALTER FUNCTION {name} OWNER TO {MIGRATE};
                END IF;
                REVOKE ALL ON FUNCTION {name} FROM PUBLIC;
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP}') THEN
                    {grant}
                END IF;
            END $$
            """
        )


def downgrade() -> None:
    for name in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION IF EXISTS {name}")
