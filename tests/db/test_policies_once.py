"""Revision 017: the row-level-security policies read the scope once per statement (an InitPlan), not
once per row, with the same meaning; the downgrade restores the catalogue's text of every policy."""

from __future__ import annotations

import json
import re

from sqlalchemy import text

from aurora_cli.db.engine import make_engine
from aurora_cli.db.migrate import downgrade, upgrade
from aurora_cli.domain.permissions import Scope
from tests.statement_fixtures import SOL, V1, V2, Book, sql

# A scope helper called with a row's column, or a role test not wrapped in a sub-select: both are
# evaluated for every row.
PER_ROW = re.compile(
    r"aurora_chain_visible\(|aurora_validator_visible\(|(?<!SELECT )aurora_scope_(is|partner|user)\("
)
POLICIES = (
    "SELECT tablename, policyname, coalesce(qual, ''), coalesce(with_check, '') FROM pg_policies"
    " WHERE 'aurora_app' = ANY (roles) ORDER BY 1, 2"
)


def test_no_policy_of_the_app_reads_the_scope_per_row(admin_cli):
    policies = sql(admin_cli.db_url, POLICIES)
    assert len(policies) > 60
    per_row = [(t, p) for t, p, q, c in policies if PER_ROW.search(q) or PER_ROW.search(c)]
    assert per_row == []


def _plan(url: str, scope: Scope, query: str) -> dict:
    engine = make_engine(url, scope)
    try:
        with engine.connect() as conn:
            return conn.execute(text("EXPLAIN (FORMAT JSON, ANALYZE, COSTS OFF) " + query)).scalar()[0]
    finally:
        engine.dispose()


def _nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def test_the_scope_is_an_initplan_and_still_filters(admin_cli):
    book = Book(admin_cli.db_url)
    period = book.period(SOL, "850", "2025-09-01T00:00:00Z", "2025-09-03T01:12:00Z")
    partner = book.partner("Alpha Partners")
    book.line(partner, period, "1.5", validator=V1)
    book.line(partner, period, "2.5", validator=V2)
    query = "SELECT validator_key, count(*) FROM partner_commission_lines GROUP BY 1 ORDER BY 1"

    limited = Scope(role="AUDITOR", user_id=None, allowed_validator_keys=(V1,))
    plan = _plan(admin_cli.app_db_url, limited, query)["Plan"]
    nodes = list(_nodes(plan))
    initplans = [n for n in nodes if n.get("Parent Relationship") == "InitPlan"]
    assert len(initplans) >= 2  # the role test and the validator list, each run once
    assert all(n.get("Actual Loops", 1) <= 1 for n in initplans)  # once, or never (a branch not taken)
    filters = " ".join(n.get("Filter", "") for n in nodes)
    assert "current_setting" not in filters and "$" in filters

    engine = make_engine(admin_cli.app_db_url, limited)
    try:
        with engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(text(query))] == [(V1, 1)]
    finally:
        engine.dispose()
    everyone = make_engine(admin_cli.app_db_url, Scope(role="FINANCE", user_id=None))
    try:
        with everyone.connect() as conn:
            assert [tuple(r) for r in conn.execute(text(query))] == sorted([(V1, 1), (V2, 1)])
    finally:
        everyone.dispose()


def test_downgrade_restores_every_policy_exactly(empty_db_url):
    upgrade(empty_db_url, "016")
    before = sql(empty_db_url, POLICIES)
    upgrade(empty_db_url, "017")
    rewritten = sql(empty_db_url, POLICIES)
    assert rewritten != before and len(rewritten) == len(before)
    comments = sql(
        empty_db_url,
        "SELECT description FROM pg_description WHERE classoid = 'pg_policy'::regclass",
    )
    originals = {json.loads(c[0])["revision_017_replaced"]["using"] for c in comments}
    assert {q or None for _, _, q, _ in before} - {None} <= originals | {None}
    downgrade(empty_db_url, "016")
    assert sql(empty_db_url, POLICIES) == before
    assert sql(empty_db_url, "SELECT count(*) FROM pg_description WHERE classoid = 'pg_policy'::regclass") == [(0,)]
    assert sql(empty_db_url, "SELECT count(*) FROM pg_proc WHERE proname LIKE 'aurora_scope_chains'") == [(0,)]
    upgrade(empty_db_url)
    assert sql(empty_db_url, POLICIES) == rewritten
