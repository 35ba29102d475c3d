"""Normalize's partition swap as the application role (revision 015), and why it is no way around RLS.

Given a period of 5 validators × 10,000 delegators (50,005 reward rows, above the swap threshold)
staged through the CLI, which runs as aurora_app under forced row-level security: when it normalizes,
then the period's partition is a new table (new oid) holding exactly the rows the DELETE + INSERT
through the parent gives, the parent's RLS flags and policies are as before and the partition has no
grant. A scope limited to one validator replaces that validator's set and keeps the others' rows it
cannot see. Calling the helpers directly with a scope that does not allow the chain or a validator
being written is refused and changes nothing; a row of another chain cannot enter the fresh table.
Downgrading revision 015 drops the helpers.
"""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from aurora_cli.db.engine import make_engine, transaction
from aurora_cli.db.migrate import downgrade, upgrade
from aurora_cli.devtools.synthetic import write_period_file
from aurora_cli.domain.permissions import Scope
from aurora_cli.errors import PermissionDenied
from aurora_cli.services import normalize

SOL = "solana-mainnet"
ETH = "ethereum-mainnet"
VALIDATORS, DELEGATORS = 5, 10_000
REWARD_ROWS = VALIDATORS * (DELEGATORS + 1)  # + each validator-level row


def q(url: str, query: str, *params):
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def _period_id(db_url: str):
    return q(db_url, "SELECT period_id FROM canonical_periods WHERE period_identifier = '850'")[0][0]


def _partition(period_id) -> str:
    return f"canonical_stake_rewards_{str(period_id).replace('-', '')}"


def _oid(db_url: str, period_id) -> int:
    return q(db_url, "SELECT to_regclass(%s)::oid::int", _partition(period_id))[0][0]


def _rows(db_url: str, period_id) -> list[tuple]:
    return q(
        db_url,
        "SELECT chain_id, validator_key, staker_address, rewards_native, commission_native, penalties_native,"
        " source_provider_id, source_payload_id FROM canonical_stake_rewards WHERE period_id = %s ORDER BY 2, 3",
        period_id,
    )


def _parent_security(db_url: str) -> tuple:
    return (
        q(
            db_url,
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'canonical_stake_rewards'",
        ),
        q(
            db_url,
            "SELECT policyname, roles, cmd, qual, with_check FROM pg_policies"
            " WHERE tablename = 'canonical_stake_rewards' ORDER BY 1",
        ),
    )


def _grants(db_url: str, period_id) -> list[tuple]:
    return q(
        db_url,
        "SELECT a.grantee::regrole::text, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a"
        " WHERE c.oid = to_regclass(%s) AND a.grantee <> c.relowner",
        _partition(period_id),
    )


@pytest.fixture
def staged(ops, tmp_path):
    """Epoch 850 with 50,005 reward rows staged through the CLI (aurora_app); the stats of the file."""
    stats = write_period_file(tmp_path / "epoch.jsonl", SOL, "850", VALIDATORS, DELEGATORS, seed=850)
    r = ops("ingest", "--chain", SOL, "--period", "850", "--file", str(stats.path))
    assert r.exit_code == 0, r
    return stats


def test_the_cli_takes_the_swap_path_and_gives_the_parent_paths_rows(ops, staged, monkeypatch):
    period_id = _period_id(ops.db_url)
    security = _parent_security(ops.db_url)
    assert security[0] == [(True, True)] and len(security[1]) == 6
    before = _oid(ops.db_url, period_id)

    r = ops("normalize", "--chain", SOL, "--period", "850")
    assert r.exit_code == 0, r
    swapped = _rows(ops.db_url, period_id)
    after_swap = _oid(ops.db_url, period_id)
    assert after_swap != before  # a fresh table was attached as the period's partition
    assert len(swapped) == REWARD_ROWS
    assert {v for _, v, *_ in swapped} == set(staged.validator_pnl)
    assert _parent_security(ops.db_url) == security  # RLS still forced on the parent, same policies
    assert _grants(ops.db_url, period_id) == []  # reached through the parent only
    assert not q(ops.db_url, "SELECT 1 FROM pg_class WHERE relname LIKE '%%_next'")
    assert q(
        ops.db_url,
        "SELECT count(*) FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype = 'f'",
        _partition(period_id),
    ) == [(4,)]

    # The parent path (threshold out of reach) rewrites the same period in place: the same rows.
    monkeypatch.setattr(normalize, "SWAP_PARTITION_ROWS", 10**9)
    r = ops("normalize", "--chain", SOL, "--period", "850")
    assert r.exit_code == 0, r
    assert _oid(ops.db_url, period_id) == after_swap
    assert _rows(ops.db_url, period_id) == swapped

    # And the P&L reads the swapped-in rows as the sums of the file.
    monkeypatch.undo()
    assert ops("normalize", "--chain", SOL, "--period", "850").exit_code == 0
    assert _oid(ops.db_url, period_id) != after_swap
    assert _rows(ops.db_url, period_id) == swapped
    r = ops("compute-pnl", "--chain", SOL, "--period", "850")
    assert r.exit_code == 0, r
    pnl = dict(
        q(
            ops.db_url,
            "SELECT validator_key, total_revenue_native FROM validator_pnl WHERE period_id = %s",
            period_id,
        )
    )
    assert pnl == {v: e.total_revenue_native for v, e in staged.validator_pnl.items()}


def test_a_scope_of_one_validator_replaces_its_set_and_keeps_the_rows_it_cannot_see(
    ops, staged, app_db_url, monkeypatch
):
    period_id = _period_id(ops.db_url)
    assert ops("normalize", "--chain", SOL, "--period", "850").exit_code == 0
    everything = _rows(ops.db_url, period_id)
    one = sorted(staged.validator_pnl)[0]
    q(ops.db_url, "UPDATE canonical_stake_rewards SET rewards_native = 0 WHERE period_id = %s", period_id)
    before = _oid(ops.db_url, period_id)

    monkeypatch.setattr(normalize, "SWAP_PARTITION_ROWS", 1)  # its 10,001 rows alone are below 50,000
    engine = make_engine(
        app_db_url, Scope(role="OPS", allowed_chain_ids=(SOL,), allowed_validator_keys=(one,))
    )
    try:
        with transaction(engine) as session:
            result = normalize.normalize(session, SOL, "850")
        with transaction(engine) as session:  # what this scope reads through the parent
            visible = session.execute(text("SELECT count(*) FROM canonical_stake_rewards")).scalar()
    finally:
        engine.dispose()
    assert result.reward_swap is not None
    assert (result.reward_swap["new_rows"], result.reward_swap["kept_rows"]) == (
        DELEGATORS + 1,
        REWARD_ROWS - DELEGATORS - 1,
    )
    assert visible == DELEGATORS + 1
    assert _oid(ops.db_url, period_id) != before
    rows = _rows(ops.db_url, period_id)
    # Rewritten from staging.
    assert [r for r in rows if r[1] == one] == [r for r in everything if r[1] == one]
    assert {r[3] for r in rows if r[1] != one} == {0}  # the others' rows kept exactly as they were
    assert len(rows) == REWARD_ROWS


def _as_app(app_db_url: str, **scope: str) -> psycopg.Connection:
    conn = psycopg.connect(app_db_url.replace("postgresql+psycopg", "postgresql"))
    for name, value in {"current_role": "OPS", **scope}.items():
        conn.execute("SELECT set_config(%s, %s, false)", (f"app.{name}", value))
    return conn


def test_the_helpers_refuse_what_rls_would_refuse_and_change_nothing(ops, staged, app_db_url):
    period_id = _period_id(ops.db_url)
    assert ops("normalize", "--chain", SOL, "--period", "850").exit_code == 0
    rows, oid = _rows(ops.db_url, period_id), _oid(ops.db_url, period_id)
    payload, provider = q(ops.db_url, "SELECT payload_id, provider_id FROM staging_payloads LIMIT 1")[0]
    one = sorted(staged.validator_pnl)[0]
    insert = (
        'INSERT INTO "{t}" (chain_id, period_id, validator_key, staker_address, rewards_native,'
        " commission_native, penalties_native, source_provider_id, source_payload_id)"
        " VALUES (%s, %s, %s, 'attacker', 1000, 0, 0, %s, %s)"
    )

    # A scope limited to another chain may not even begin.
    with _as_app(app_db_url, allowed_chains="{" + ETH + "}") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="chain solana-mainnet"):
            conn.execute("SELECT aurora_reward_swap_begin(%s, %s)", (SOL, period_id))
    # Nor a role that may not write canonical rows (an auditor reads them).
    with _as_app(app_db_url, current_role="AUDITOR") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT aurora_reward_swap_begin(%s, %s)", (SOL, period_id))
    # A scope limited to another validator may begin, but not swap in a row of validator `one`.
    with _as_app(app_db_url, allowed_validators="{SomeoneElse}") as conn:
        fresh = conn.execute("SELECT aurora_reward_swap_begin(%s, %s)", (SOL, period_id)).fetchone()[0]
        conn.execute(insert.format(t=fresh), (SOL, period_id, one, provider, payload))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match=f"validator {one}"):
            conn.execute("SELECT aurora_reward_swap_finish(%s, %s)", (SOL, period_id))
    # The application may only add rows to the fresh table: not read it, and not another chain's row.
    with _as_app(app_db_url) as conn:
        fresh = conn.execute("SELECT aurora_reward_swap_begin(%s, %s)", (SOL, period_id)).fetchone()[0]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f'SELECT count(*) FROM "{fresh}"')
    with _as_app(app_db_url) as conn:
        fresh = conn.execute("SELECT aurora_reward_swap_begin(%s, %s)", (SOL, period_id)).fetchone()[0]
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(insert.format(t=fresh), (ETH, period_id, one, provider, payload))
    assert _rows(ops.db_url, period_id) == rows and _oid(ops.db_url, period_id) == oid
    # The fresh tables were rolled back with the rest.
    assert not q(ops.db_url, "SELECT 1 FROM pg_class WHERE relname LIKE '%%_next'")

    # The service says it in one sentence: the same refusal through normalize's own path.
    engine = make_engine(app_db_url, Scope(role="OPS", allowed_validator_keys=("SomeoneElse",)))
    try:
        with transaction(engine) as session:
            session.execute(
                text(
                    "CREATE TEMP TABLE norm_rewards ON COMMIT DROP AS SELECT validator_key, staker_address,"
                    " rewards_native, commission_native, penalties_native, source_provider_id, source_payload_id"
                    " FROM canonical_stake_rewards WITH NO DATA"
                )
            )
            session.execute(
                text("INSERT INTO norm_rewards VALUES (:v, 'attacker', 1000, 0, 0, :pr, :pl)"),
                {"v": one, "pr": provider, "pl": payload},
            )
            with pytest.raises(
                PermissionDenied, match=f"^This scope may not write reward rows of validator {one}\\.$"
            ):
                normalize._swap_period_partition(session, {"chain_id": SOL, "period_id": period_id})
    finally:
        engine.dispose()
    assert _rows(ops.db_url, period_id) == rows


def test_only_the_application_role_may_call_the_helpers(ops, staged):
    grants = q(
        ops.db_url,
        "SELECT p.proname, p.prosecdef, pg_get_userbyid(p.proowner), p.proconfig,"
        " has_function_privilege('aurora_app', p.oid, 'EXECUTE'),"
        " has_function_privilege('aurora_readonly', p.oid, 'EXECUTE')"
        " FROM pg_proc p WHERE p.proname LIKE 'aurora_reward_swap_%%' ORDER BY 1",
    )
    assert [(g[0], g[1], g[2], g[4], g[5]) for g in grants] == [
        ("aurora_reward_swap_begin", True, "aurora_migrate", True, False),
        ("aurora_reward_swap_finish", True, "aurora_migrate", True, False),
        ("aurora_reward_swap_partition", True, "aurora_migrate", False, False),
    ]
    assert all("search_path=public, pg_temp" in g[3] for g in grants)


def test_downgrading_015_drops_the_helpers(empty_db_url):
    upgrade(empty_db_url)
    names = "SELECT proname FROM pg_proc WHERE proname LIKE 'aurora_reward_swap_%%' ORDER BY 1"
    assert len(q(empty_db_url, names)) == 3
    downgrade(empty_db_url, "014")
    assert q(empty_db_url, names) == []
    upgrade(empty_db_url)
    assert len(q(empty_db_url, names)) == 3
