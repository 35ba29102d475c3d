"""Revision 016: staged payloads are range-partitioned by month, and every promise of the seed holds.

Given an import staged through the CLI (as aurora_app), the payloads sit in the current month's
partition, each with its key row; the idempotency key and the lineage foreign keys still refuse
what the seed refuses; a query bounded by `created_at` reads one partition, and the GIN containment
query still uses its index; a new month gets its partition when a run starts; and the revision goes
down to the plain table and up again with the data, grants and policies intact.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from aurora_cli.db.migrate import downgrade, head_revision, upgrade

SOL = "solana-mainnet"


@pytest.fixture
def staged(ops, repo):
    r = ops(
        "ingest",
        "--chain",
        SOL,
        "--period",
        "850",
        "--file",
        str(repo / "config" / "samples" / "solana-mainnet" / "epoch-850.jsonl"),
    )
    assert r.exit_code == 0, r
    return ops


def _raw(url: str) -> str:
    return url.replace("postgresql+psycopg", "postgresql")


def _one(conn, sql: str, *params):
    return conn.execute(sql, params).fetchone()


def test_staged_payloads_land_in_this_months_partition_with_their_key_rows(staged):
    with psycopg.connect(_raw(staged.db_url), autocommit=True) as conn:
        assert _one(conn, "SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'staging_payloads'::regclass") == ("r",)
        month = _one(conn, "SELECT 'staging_payloads_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY\"m\"MM')")[0]
        total = _one(conn, "SELECT count(*) FROM staging_payloads")[0]
        assert total > 0
        assert _one(conn, "SELECT tableoid::regclass::text, count(*) FROM staging_payloads GROUP BY 1") == (month, total)
        # Every payload has exactly its key row, with the same values.
        assert _one(
            conn,
            "SELECT count(*) FROM staging_payloads p JOIN staging_payload_keys k USING"
            " (payload_id, created_at, run_id, chain_id, period_id, validator_key, data_type)",
        ) == (total,)
        assert _one(conn, "SELECT count(*) FROM staging_payload_keys") == (total,)


def test_the_seeds_promises_hold_one_table_further(staged):
    with psycopg.connect(_raw(staged.db_url)) as conn:
        existing = _one(
            conn,
            "SELECT run_id, chain_id, period_id, validator_key, data_type, provider_id FROM staging_payloads LIMIT 1",
        )
        # The idempotency key, across partitions too: a copy dated in another month is refused.
        with pytest.raises(psycopg.errors.UniqueViolation) as raised:
            conn.execute(
                "INSERT INTO staging_payloads (run_id, chain_id, period_id, validator_key, data_type, provider_id,"
                " response_hash, raw_payload, created_at) VALUES (%s, %s, %s, %s, %s, %s, 'x', '{}', now() - interval '2 months')",
                existing,
            )
        assert raised.value.diag.constraint_name == "uq_staging_payloads_idempotency"
        conn.rollback()
        # payload_id stays unique across months.
        payload_id, created_at = _one(conn, "SELECT payload_id, created_at FROM staging_payloads LIMIT 1")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO staging_payloads (payload_id, run_id, chain_id, period_id, validator_key, data_type,"
                " provider_id, response_hash, raw_payload, created_at)"
                " VALUES (%s, %s, %s, %s, 'other', 'FEES', %s, 'x', '{}', %s)",
                (payload_id, existing[0], existing[1], existing[2], existing[5], created_at.replace(year=created_at.year - 1)),
            )
        conn.rollback()
        # Lineage: a canonical row must point at a staged payload …
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(
                "INSERT INTO canonical_validator_fees (chain_id, period_id, validator_key, total_fees_native,"
                " source_provider_id, source_payload_id) VALUES (%s, %s, 'V', 1, %s, %s)",
                (existing[1], existing[2], existing[5], uuid.uuid4()),
            )
        conn.rollback()
        # … and a payload a canonical row points at cannot be deleted.
        conn.execute(
            "INSERT INTO canonical_validator_fees (chain_id, period_id, validator_key, total_fees_native,"
            " source_provider_id, source_payload_id) VALUES (%s, %s, 'V', 1, %s, %s)",
            (existing[1], existing[2], existing[5], payload_id),
        )
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("DELETE FROM staging_payloads WHERE payload_id = %s", (payload_id,))
        conn.rollback()
        # An unreferenced payload goes, with its key row.
        conn.execute("DELETE FROM staging_payloads WHERE payload_id = %s", (payload_id,))
        assert _one(conn, "SELECT count(*) FROM staging_payload_keys WHERE payload_id = %s", payload_id) == (0,)
        conn.rollback()


def test_the_application_cannot_reach_the_key_table_or_a_partition(staged):
    with psycopg.connect(_raw(staged.app_db_url)) as conn:
        for relation in ("staging_payload_keys", _partition_name(staged)):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT count(*) FROM {relation}")
            conn.rollback()


def _partition_name(cli) -> str:
    with psycopg.connect(_raw(cli.db_url), autocommit=True) as conn:
        return _one(conn, "SELECT min(tableoid::regclass::text) FROM staging_payloads")[0]


def test_a_month_bounded_query_reads_one_partition_and_containment_uses_the_gin_index(staged):
    with psycopg.connect(_raw(staged.db_url), autocommit=True) as conn:
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN SELECT count(*) FROM staging_payloads WHERE created_at >= date_trunc('month', now())"
                " AND created_at < date_trunc('month', now()) + interval '1 month'"
            )
        )
        partitions = {r[0] for r in conn.execute("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'staging_payloads'::regclass")}
        scanned = {p for p in partitions if p in plan}
        assert len(partitions) >= 3 and len(scanned) == 1, plan
        conn.execute("SET enable_seqscan = off")
        staker = _one(
            conn,
            "SELECT r->>'staker_address' FROM staging_payloads, jsonb_array_elements(raw_payload->'records') r"
            " WHERE data_type = 'REWARDS' AND r->>'staker_address' IS NOT NULL LIMIT 1",
        )[0]
        query = (
            "SELECT payload_id FROM staging_payloads WHERE raw_payload @> "
            f"'{{\"records\": [{{\"staker_address\": \"{staker}\"}}]}}'"
        )
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query))
        assert "Bitmap Index Scan" in plan and "raw_payload" in plan, plan
        assert conn.execute(query).fetchall()


def test_a_run_in_a_new_month_gets_its_partition(staged):
    with psycopg.connect(_raw(staged.db_url)) as conn:
        conn.execute("SELECT aurora_create_staging_month(now() + interval '5 months')")
        name = _one(conn, "SELECT 'staging_payloads_' || to_char((now() + interval '5 months') AT TIME ZONE 'UTC', 'YYYY\"m\"MM')")[0]
        assert _one(conn, "SELECT to_regclass(%s) IS NOT NULL", name) == (True,)
        # Created without grants, owned like the parent.
        assert _one(
            conn,
            "SELECT c.relacl IS NULL OR NOT EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner),"
            " pg_get_userbyid(c.relowner) = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'staging_payloads'::regclass)"
            " FROM pg_class c WHERE c.oid = to_regclass(%s)",
            name,
        ) == (True, True)
        conn.rollback()
        # The run-start trigger creates this month's and next month's partitions when missing.
        nxt = _one(conn, "SELECT 'staging_payloads_' || to_char((now() + interval '1 month') AT TIME ZONE 'UTC', 'YYYY\"m\"MM')")[0]
        conn.execute(f"DROP TABLE {nxt}")
        conn.execute(
            "INSERT INTO ingestion_runs (chain_id, status) VALUES (%s, 'RUNNING')",
            (SOL,),
        )
        assert _one(conn, "SELECT to_regclass(%s) IS NOT NULL", nxt) == (True,)
        conn.rollback()


def test_016_goes_down_to_the_plain_table_and_up_again_with_the_data(staged):
    url = staged.db_url

    def state():
        with psycopg.connect(_raw(url), autocommit=True) as conn:
            return (
                sorted(conn.execute("SELECT payload_id, response_hash, raw_payload::text FROM staging_payloads").fetchall()),
                _one(conn, "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'staging_payloads'::regclass"),
                sorted(conn.execute("SELECT policyname, cmd, qual FROM pg_policies WHERE tablename = 'staging_payloads'").fetchall()),
                sorted(
                    conn.execute(
                        "SELECT grantee, privilege_type FROM information_schema.role_table_grants"
                        " WHERE table_name = 'staging_payloads'"
                    ).fetchall()
                ),
                sorted(conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'staging_payloads'").fetchall()),
                _one(
                    conn,
                    "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = 'canonical_stake_rewards'::regclass"
                    " AND pg_get_constraintdef(oid) LIKE 'FOREIGN KEY (source_payload_id)%%'",
                ),
                _one(conn, "SELECT count(*) FROM canonical_stake_rewards"),
            )

    normalized = staged("normalize", "--chain", SOL, "--period", "850")
    assert normalized.exit_code == 0, normalized
    with psycopg.connect(_raw(url), autocommit=True) as conn:
        down_to = _one(conn, "SELECT version_num FROM alembic_version")[0]
    assert down_to == head_revision()
    downgrade(url, "016")  # revision 017 rewrites the policies' text: compare at 016
    before = state()
    downgrade(url, "015")
    with psycopg.connect(_raw(url), autocommit=True) as conn:
        assert _one(conn, "SELECT relkind FROM pg_class WHERE oid = 'staging_payloads'::regclass") == ("r",)
        assert _one(conn, "SELECT to_regclass('staging_payload_keys')") == (None,)
        assert _one(
            conn,
            "SELECT confrelid::regclass::text FROM pg_constraint WHERE contype = 'f'"
            " AND conrelid = 'canonical_validator_fees'::regclass AND pg_get_constraintdef(oid) LIKE '%%source_payload_id%%'",
        ) == ("staging_payloads",)
    down = state()
    assert down[0] == before[0] and down[1:4] == before[1:4] and down[5:] == before[5:]
    upgrade(url, "016")
    assert state() == before
    upgrade(url, "head")
