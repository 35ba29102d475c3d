"""Row-level security, proved with hand-written SQL on the application's own connection.

Given two partners with lines on two validators (A's statement RELEASED, B's DRAFT) and users of
every role, each test opens the connection the CLI opens (aurora_app, the user's scope applied by
the engine) and asserts exactly what a query sees.
"""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from aurora_cli.db.engine import make_engine
from aurora_cli.domain.permissions import Scope
from tests.statement_fixtures import ETH, SOL, V1, V2, Book, sql


@pytest.fixture
def world(admin_cli):
    book = Book(admin_cli.db_url)
    period = book.period(SOL, "850", "2025-09-01T00:00:00Z", "2025-09-03T01:12:00Z")
    a = book.partner("Alpha Partners")
    b = book.partner("Beta Capital")
    for partner in (a, b):
        book.line(partner, period, "1.5", validator=V1)
        book.line(partner, period, "2.5", validator=V2)
    for partner, status in ((a, "RELEASED"), (b, "DRAFT")):
        sql(
            admin_cli.db_url,
            "INSERT INTO partner_commission_statements (partner_id, chain_id, period_id,"
            " total_commission_native, line_count, status) VALUES (%s, %s, %s, 4, 2, %s::statement_status)",
            partner.partner_id,
            SOL,
            period,
            status,
        )
    admin_cli.add_user("pa", "PARTNER", "password-123", "--partner", "Alpha Partners")
    admin_cli.add_user("aud1", "AUDITOR", "password-123", "--validators", V1)
    admin_cli.add_user("opseth", "OPS", "password-123", "--chains", ETH)
    admin_cli.add_user("fin", "FINANCE", "password-123")
    return admin_cli, a, b


def scope_of(cli, username: str) -> Scope:
    row = sql(
        cli.db_url,
        "SELECT user_id, username, role::text, partner_id, allowed_chain_ids, allowed_validator_keys"
        " FROM users WHERE username = %s",
        username,
    )[0]
    return Scope(
        role=row[2],
        user_id=str(row[0]),
        username=row[1],
        partner_id=str(row[3]) if row[3] else None,
        allowed_chain_ids=tuple(row[4]) if row[4] else None,
        allowed_validator_keys=tuple(row[5]) if row[5] else None,
    )


def see(cli, scope: Scope | None, query: str) -> list[tuple]:
    engine = make_engine(cli.app_db_url, scope) if scope else make_engine(cli.app_db_url)
    try:
        with engine.connect() as conn:
            if scope is None:  # no settings at all: a bare session of the app role
                conn.execute(text("RESET ALL"))
            return [tuple(r) for r in conn.execute(text(query)).all()]
    finally:
        engine.dispose()


LINES = "SELECT p.partner_name, l.validator_key FROM partner_commission_lines l JOIN agreements a USING (agreement_id) JOIN partners p ON p.partner_id = a.partner_id ORDER BY 1, 2"


def test_each_role_sees_exactly_its_rows(world):
    cli, a, b = world
    partner, auditor, ops, finance = (scope_of(cli, u) for u in ("pa", "aud1", "opseth", "fin"))

    # The PARTNER: its own lines behind a RELEASED statement, nothing of Beta's, no drafts, no hashes.
    assert see(cli, partner, LINES) == sorted([("Alpha Partners", V1), ("Alpha Partners", V2)])
    assert see(cli, partner, "SELECT count(*) FROM partner_commission_lines")[0][0] == 2
    assert see(cli, partner, "SELECT status::text FROM partner_commission_statements") == [("RELEASED",)]
    assert see(cli, partner, "SELECT partner_name FROM partners") == [("Alpha Partners",)]
    assert see(cli, partner, "SELECT agreement_name FROM agreements") == [("Alpha Partners referral",)]
    assert see(cli, partner, "SELECT username FROM users") == [("pa",)]
    assert see(cli, partner, "SELECT count(*) FROM user_tokens u JOIN users USING (user_id) WHERE username <> 'pa'") == [(0,)]
    assert see(cli, partner, "SELECT count(*) FROM validator_pnl") == [(0,)]
    for summary in ("mv_partner_commissions_summary", "mv_validator_revenue_summary"):
        with pytest.raises(DBAPIError, match="permission denied"):
            see(cli, partner, f"SELECT * FROM {summary}")

    # The AUDITOR limited to V1: both partners, V1 only; the users table shows itself only.
    assert see(cli, auditor, LINES) == [("Alpha Partners", V1), ("Beta Capital", V1)]
    assert see(cli, auditor, "SELECT count(*) FROM partner_commission_statements") == [(2,)]
    assert see(cli, auditor, "SELECT username FROM users") == [("aud1",)]

    # OPS limited to Ethereum: no commission lines at all (P&L only), no Solana runs.
    assert see(cli, ops, "SELECT count(*) FROM partner_commission_lines") == [(0,)]
    assert see(cli, ops, "SELECT count(*) FROM ingestion_runs WHERE chain_id = 'solana-mainnet'") == [(0,)]

    # FINANCE: every line and statement.
    assert see(cli, finance, "SELECT count(*) FROM partner_commission_lines") == [(4,)]
    assert see(cli, finance, "SELECT count(*) FROM partner_commission_statements") == [(2,)]

    # No settings: nothing (deny by default), not everything.
    for table in ("partner_commission_lines", "partner_commission_statements", "partners", "agreements",
                  "agreement_versions", "agreement_rules", "users", "user_tokens", "validator_pnl"):
        assert see(cli, None, f"SELECT count(*) FROM {table}") == [(0,)], table


def test_the_app_role_is_plain(world):
    cli, _a, _b = world
    row = see(cli, Scope.system(), "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = current_user")
    assert row == [(False, False, False)]
    owned = see(cli, Scope.system(), "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user")
    assert owned == [(0,)]
    forced = sql(cli.db_url, "SELECT relname FROM pg_class WHERE relrowsecurity AND relforcerowsecurity ORDER BY 1")
    assert {"partner_commission_lines", "partner_commission_statements", "partners", "agreements",
            "agreement_versions", "agreement_rules", "partner_stake_attributions", "users", "user_tokens",
            "validator_pnl", "canonical_stake_rewards"} <= {r[0] for r in forced}


def _partner_connection(cli, scope: Scope):
    engine = make_engine(cli.app_db_url, scope)
    return engine, engine.raw_connection()


def test_a_partner_session_cannot_widen_itself(world):
    cli, a, b = world
    partner = scope_of(cli, "pa")
    engine, conn = _partner_connection(cli, partner)
    try:
        cur = conn.cursor()
        for attempt in ("SET ROLE aurora_migrate", "SET ROLE aurora", "SET session_replication_role = replica",
                        "ALTER TABLE partner_commission_lines DISABLE ROW LEVEL SECURITY",
                        "ALTER TABLE audit_log DISABLE TRIGGER ALL", "TRUNCATE audit_log"):
            with pytest.raises(psycopg.Error):
                cur.execute(attempt)
            conn.rollback()
        cur.execute("RESET ROLE")
        cur.execute("SELECT count(*) FROM partner_commission_lines")
        assert cur.fetchone()[0] == 2
        conn.rollback()
        # Mid-transaction, point the session at Beta: Beta's statement is a DRAFT, so its lines stay
        # hidden; the RELEASED-only rule does not depend on the partner setting.
        cur.execute("SELECT count(*) FROM partner_commission_lines")
        cur.execute("SELECT set_config('app.current_partner_id', %s, true)", (str(b.partner_id),))
        cur.execute("SELECT count(*) FROM partner_commission_lines WHERE partner_id = %s", (str(b.partner_id),))
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT count(*) FROM partner_commission_statements WHERE status = 'DRAFT'")
        assert cur.fetchone()[0] == 0
        conn.rollback()
    finally:
        conn.close()
        engine.dispose()


# -- one scope: the services' filters and row-level security read the same value ----------------------


def _rows(url: str, engine_scope: Scope, read):
    """`read(session)` on an engine acting for `engine_scope` (what the database's policies read)."""
    from aurora_cli.db.engine import transaction

    engine = make_engine(url, engine_scope)
    try:
        with transaction(engine) as session:
            return read(session)
    finally:
        engine.dispose()


def _pnl_rows_for(cli, period_id) -> None:
    for validator, amount in ((V1, 10), (V2, 20)):
        sql(
            cli.db_url,
            "INSERT INTO validator_pnl (chain_id, period_id, validator_key, exec_fees_native, mev_tips_native,"
            " vote_rewards_native, commission_native, total_revenue_native, penalties_native)"
            " VALUES (%s, %s, %s, %s, 0, 0, 0, %s, 0)",
            SOL, period_id, validator, amount, amount,
        )


def test_service_filters_and_row_level_security_read_the_one_scope(world):
    from aurora_cli.services import commissions, pnl, statements

    cli, a, b = world
    auditor, partner, finance = (scope_of(cli, u) for u in ("aud1", "pa", "fin"))
    period_id = sql(cli.db_url, "SELECT period_id FROM canonical_periods WHERE period_identifier = '850'")[0][0]
    _pnl_rows_for(cli, period_id)

    def lines(scope):
        return lambda s: sorted(
            (r["partner_name"], r["validator_key"]) for r in commissions.commission_lines(s, SOL, "850", scope=scope)
        )

    def pnl_keys(scope):
        return lambda s: [r["validator_key"] for r in pnl.pnl_rows(s, SOL, "850", scope=scope)[0]]

    def statuses(scope):
        return lambda s: [(r["partner_name"], r["status"]) for r in statements.statement_rows(s, scope=scope)]

    v1_lines = sorted([("Alpha Partners", V1), ("Beta Capital", V1)])
    # The AUDITOR limited to V1, three ways: the database alone (the service given the unlimited
    # FINANCE scope), the service's own filter alone (the superuser's connection, no RLS), both.
    assert _rows(cli.app_db_url, auditor, lines(finance)) == v1_lines
    assert _rows(cli.db_url, Scope.system(), lines(auditor)) == v1_lines
    assert _rows(cli.app_db_url, auditor, lines(auditor)) == v1_lines
    assert _rows(cli.app_db_url, auditor, pnl_keys(finance)) == [V1]
    assert _rows(cli.db_url, Scope.system(), pnl_keys(auditor)) == [V1]
    assert _rows(cli.app_db_url, auditor, pnl_keys(auditor)) == [V1]
    # The unlimited scope, for contrast: both validators, so the limit above is the scope's doing.
    assert sorted(_rows(cli.app_db_url, finance, pnl_keys(finance))) == sorted([V1, V2])

    # The PARTNER: its RELEASED statement only, by the service's filter and by the database alike.
    assert _rows(cli.db_url, Scope.system(), statuses(partner)) == [("Alpha Partners", "RELEASED")]
    assert _rows(cli.app_db_url, partner, statuses(partner)) == [("Alpha Partners", "RELEASED")]

    # A forged mismatch cannot widen it: a service handed a wider scope than the connection applies
    # (ADMIN, the other partner, no limits) still sees only what the database lets the real scope see.
    forged_admin = Scope(role="ADMIN", user_id=partner.user_id, username="pa")
    forged_beta = Scope(role="PARTNER", user_id=partner.user_id, username="pa", partner_id=str(b.partner_id))
    assert _rows(cli.app_db_url, partner, statuses(forged_admin)) == [("Alpha Partners", "RELEASED")]
    assert _rows(cli.app_db_url, partner, statuses(forged_beta)) == []
    assert _rows(cli.app_db_url, partner, lines(forged_admin)) == sorted([("Alpha Partners", V1), ("Alpha Partners", V2)])
    assert _rows(cli.app_db_url, auditor, lines(forged_admin)) == v1_lines
    assert _rows(cli.app_db_url, auditor, pnl_keys(forged_admin)) == [V1]


def test_the_frame_hands_services_the_scope_the_engine_applies(world, monkeypatch):
    from aurora_cli.cli.frame import GlobalOptions, Runtime
    from aurora_cli.db.engine import scope_of as engine_scope

    cli, _a, _b = world
    token = cli.token_for("aud1")
    monkeypatch.setenv("AURORA_TOKEN", token)
    monkeypatch.setenv("AURORA_DATA_DIR", str(cli.home / "data"))
    monkeypatch.setenv("AURORA_CREDENTIALS", str(cli.home / "credentials"))
    rt = Runtime(GlobalOptions(database_url=cli.app_db_url))
    try:
        rt.authenticate()
        assert rt.scope is engine_scope(rt.engine)  # one value, not two copies that could drift
        assert (rt.scope.role, rt.scope.username, rt.scope.allowed_validator_keys) == ("AUDITOR", "aud1", (V1,))
        with rt.transaction() as session:
            applied = session.execute(text("SELECT current_setting('app.allowed_validators')")).scalar_one()
        assert applied == "{" + f'"{V1}"' + "}"
    finally:
        rt.close()
