"""Revision 012: the per-period fact tables are partitioned by period, and the hot statements prune.

Given two registered periods, when the statements that read or rewrite one period are planned, then
the plan touches that period's partition only; a period row creates its partitions; the revision
carries policies, grants, triggers, RLS flags and dependent views over in both directions; and
normalize's partition swap keeps every constraint and gives the rows the parent path gives.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy import create_engine, text

from aurora_cli.db.engine import transaction
from aurora_cli.db.migrate import downgrade, head_revision, upgrade
from aurora_cli.services import normalize, pnl
from aurora_cli.services.commissions import engine as commissions_engine

SOL = "solana-mainnet"


def _periods(session) -> tuple[uuid.UUID, uuid.UUID]:
    ids = []
    for identifier, start, end in (("850", "2025-09-01", "2025-09-03"), ("851", "2025-09-03", "2025-09-05")):
        ids.append(
            session.execute(
                text(
                    "INSERT INTO canonical_periods (chain_id, period_identifier, period_start, period_end)"
                    " VALUES (:c, :i, :s, :e) RETURNING period_id"
                ),
                {"c": SOL, "i": identifier, "s": start, "e": end},
            ).scalar()
        )
    return ids[0], ids[1]


def _partition(table: str, period_id: uuid.UUID) -> str:
    return f"{table}_{str(period_id).replace('-', '')}"


@pytest.fixture
def two_periods(engine, repo):
    from aurora_cli.services.config_apply import apply_config, read_config

    with transaction(engine) as session:
        apply_config(session, read_config(repo / "config"))
        return _periods(session)


def _plan(session, statement, params) -> str:
    return "\n".join(row[0] for row in session.execute(text("EXPLAIN " + statement), params))


def test_a_registered_period_has_its_partitions(engine, two_periods):
    with transaction(engine) as session:
        for table in ("canonical_stake_rewards", "partner_commission_lines"):
            for period_id in two_periods:
                assert session.execute(
                    text("SELECT to_regclass(:t)"), {"t": _partition(table, period_id)}
                ).scalar()


def test_the_hot_statements_read_one_partition(engine, two_periods):
    this, other = two_periods
    params = {"chain_id": SOL, "period_id": this, "period_start": "2025-09-01"}
    statements = {
        "normalize's reward-set replacement": "DELETE FROM canonical_stake_rewards WHERE chain_id = :chain_id"
        " AND period_id = :period_id AND validator_key IN ('V1')",
        "P&L": pnl._UPSERT_PNL.text,
        "partner bases": commissions_engine._SELECT_PARTNER_SUMS.text,
        "validator inputs": commissions_engine._SELECT_VALIDATOR_INPUTS.text,
        "statement generation (line totals)": "SELECT coalesce(sum(final_amount_native), 0), count(*)"
        " FROM partner_commission_lines WHERE partner_id = gen_random_uuid() AND chain_id = :chain_id"
        " AND period_id = :period_id",
    }
    with transaction(engine) as session:
        for name, statement in statements.items():
            plan = _plan(session, statement, params)
            for table in ("canonical_stake_rewards", "partner_commission_lines"):
                assert _partition(table, other) not in plan, f"{name} reads the other period:\n{plan}"
            assert any(
                _partition(t, this) in plan for t in ("canonical_stake_rewards", "partner_commission_lines")
            ), f"{name} does not read its period's partition:\n{plan}"


def test_012_carries_policies_grants_triggers_and_views_over_both_ways(empty_db_url):
    raw = empty_db_url.replace("postgresql+psycopg", "postgresql")
    upgrade(empty_db_url, "011")  # the revision before 012: the catalogue 012 must carry over
    setup = """
        ALTER TABLE canonical_stake_rewards ENABLE ROW LEVEL SECURITY;
        ALTER TABLE canonical_stake_rewards FORCE ROW LEVEL SECURITY;
        CREATE POLICY rewards_by_chain ON canonical_stake_rewards FOR SELECT TO aurora_readonly
            USING (chain_id = current_setting('app.chain', true));
        GRANT SELECT, INSERT ON canonical_stake_rewards TO aurora_readonly;
        GRANT UPDATE (rewards_native) ON canonical_stake_rewards TO aurora_readonly;
        CREATE FUNCTION noop_trigger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
        CREATE TRIGGER rewards_noop AFTER INSERT ON canonical_stake_rewards
            FOR EACH STATEMENT EXECUTE FUNCTION noop_trigger();
        CREATE VIEW rewards_per_validator AS
            SELECT validator_key, count(*) AS n FROM canonical_stake_rewards GROUP BY validator_key;
        GRANT SELECT ON rewards_per_validator TO aurora_readonly;
    """

    def state() -> tuple:
        with psycopg.connect(raw, autocommit=True) as conn:
            return (
                conn.execute(
                    "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'canonical_stake_rewards'"
                ).fetchall(),
                conn.execute(
                    "SELECT policyname, roles, cmd, qual FROM pg_policies WHERE tablename = 'canonical_stake_rewards'"
                ).fetchall(),
                sorted(
                    conn.execute(
                        "SELECT grantee, privilege_type FROM information_schema.role_table_grants"
                        " WHERE table_name IN ('canonical_stake_rewards', 'rewards_per_validator')"
                        " AND grantee = 'aurora_readonly'"
                    ).fetchall()
                ),
                conn.execute(
                    "SELECT grantee, column_name FROM information_schema.column_privileges"
                    " WHERE table_name = 'canonical_stake_rewards' AND privilege_type = 'UPDATE'"
                    " AND grantee = 'aurora_readonly'"
                ).fetchall(),
                conn.execute(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'canonical_stake_rewards'::regclass"
                    " AND NOT tgisinternal"
                ).fetchall(),
                conn.execute(
                    "SELECT count(*) FROM pg_views WHERE viewname = 'rewards_per_validator'"
                ).fetchall(),
            )

    with psycopg.connect(raw, autocommit=True) as conn:
        roles = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles")}
        if "aurora_readonly" not in roles:
            pytest.skip("the seed's roles are not in this cluster")
        conn.execute(setup)
    before = state()
    upgrade(empty_db_url, "012")
    with psycopg.connect(raw, autocommit=True) as conn:
        assert conn.execute(
            "SELECT relkind FROM pg_class WHERE relname = 'canonical_stake_rewards'"
        ).fetchone() == ("p",)
    assert state() == before
    downgrade(empty_db_url, "011")
    assert state() == before
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute("DROP VIEW rewards_per_validator; DROP TRIGGER rewards_noop ON canonical_stake_rewards")
        conn.execute("DROP FUNCTION noop_trigger()")


def test_the_partition_swap_gives_the_parent_paths_rows_and_keeps_the_constraints(
    engine, two_periods, monkeypatch
):
    this, _ = two_periods
    with transaction(engine) as session:
        provider_id = session.execute(
            text("SELECT provider_id FROM providers WHERE provider_name = 'file'")
        ).scalar()
        run_id = session.execute(
            text(
                "INSERT INTO ingestion_runs (chain_id, period_id, status) VALUES (:c, :p, 'SUCCESS') RETURNING run_id"
            ),
            {"c": SOL, "p": this},
        ).scalar()
        payload_id = session.execute(
            text(
                "INSERT INTO staging_payloads (run_id, chain_id, period_id, validator_key, provider_id, data_type,"
                " response_hash, raw_payload) VALUES (:r, :c, :p, 'V1', :pr, 'REWARDS', 'x', '{}') RETURNING payload_id"
            ),
            {"r": run_id, "c": SOL, "p": this, "pr": provider_id},
        ).scalar()

    def replace(rows: list[tuple[str, str, int]], swap: bool, source=None):
        monkeypatch.setattr(normalize, "SWAP_PARTITION_ROWS", 0 if swap else 10**9)
        with transaction(engine) as session:
            session.execute(
                text(
                    "CREATE TEMP TABLE norm_rewards ON COMMIT DROP AS SELECT validator_key, staker_address,"
                    " rewards_native, commission_native, penalties_native, source_provider_id, source_payload_id"
                    " FROM canonical_stake_rewards WITH NO DATA"
                )
            )
            for validator, staker, amount in rows:
                session.execute(
                    text("INSERT INTO norm_rewards VALUES (:v, :s, :a, 0, 0, :pr, :pl)"),
                    {"v": validator, "s": staker, "a": amount, "pr": provider_id, "pl": source or payload_id},
                )
            normalize._replace_reward_sets(session, {"chain_id": SOL, "period_id": this})
            return session.execute(
                text(
                    "SELECT validator_key, staker_address, rewards_native FROM canonical_stake_rewards"
                    " WHERE period_id = :p ORDER BY 1, 2"
                ),
                {"p": this},
            ).all()

    first = [("V1", "S1", 1), ("V2", "S2", 2)]
    assert replace(first, swap=True) == replace(first, swap=False)
    # V1's set replaced, V2's kept, both ways.
    assert replace([("V1", "S3", 3)], swap=True) == [("V1", "S3", 3), ("V2", "S2", 2)]
    replace(first, swap=False)
    assert replace([("V1", "S3", 3)], swap=False) == [("V1", "S3", 3), ("V2", "S2", 2)]
    # A foreign key still holds on the swapped-in partition.
    with pytest.raises(Exception, match="foreign key|violates"):
        replace([("V1", "S9", 9)], swap=True, source=uuid.uuid4())
    with transaction(engine) as session:
        relkind = session.execute(
            text("SELECT relispartition FROM pg_class WHERE relname = :t"),
            {"t": _partition("canonical_stake_rewards", this)},
        ).scalar()
    assert relkind is True


def test_a_new_engine_sees_the_migration_chain(db_url):
    eng = create_engine(db_url)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
    eng.dispose()
