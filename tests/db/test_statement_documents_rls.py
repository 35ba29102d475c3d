"""Row-level security on statement documents (revision 014), proved with hand-written SQL.

Given issued documents of two partners on two chains -- Alpha's Solana revision 1 issued DRAFT and
then RELEASED, its revision 2 issued only as a DRAFT, its Ethereum revision 1 RELEASED, Beta's
Solana revision 1 PAID -- each test opens the connection the CLI opens (aurora_app, the user's
scope applied by the engine) and asserts exactly which rows a query sees and which inserts pass.
"""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from aurora_cli.db.engine import make_engine
from aurora_cli.db.migrate import downgrade, upgrade
from aurora_cli.domain.permissions import Scope
from tests.db.test_rls import scope_of, see
from tests.statement_fixtures import ETH, SOL, Book, sql

DOCS = "SELECT statement_number || ' r' || revision FROM statement_documents ORDER BY 1"
FILES = (
    "SELECT d.statement_number || ' r' || d.revision || ' ' || f.file_name || ' ' || coalesce(f.tag, 'hidden')"
    " FROM (SELECT *, CASE WHEN file_name = 'statement.json' THEN convert_from(content, 'UTF8')::jsonb ->> 'status'"
    " ELSE (SELECT convert_from(j.content, 'UTF8')::jsonb ->> 'status' FROM statement_document_files j"
    "       WHERE j.file_sha256 = f0.json_sha256) END AS tag FROM statement_document_files f0) f"
    " JOIN statement_documents d USING (document_id) ORDER BY 1"
)


def _json(number: str, revision: int, status: str) -> bytes:
    return json.dumps({"statement_number": number, "revision": revision, "status": status}).encode()


def issue(db_url: str, document_id: uuid.UUID, number: str, revision: int, status: str, *others: str) -> None:
    """One issue of a document: its statement.json (with `status`) and the other files named."""
    content = _json(number, revision, status)
    json_sha = hashlib.sha256(content).hexdigest()
    sql(db_url, "INSERT INTO statement_document_files (file_sha256, document_id, file_name, json_sha256, content)"
        " VALUES (%s, %s, 'statement.json', %s, %s)", json_sha, document_id, json_sha, content)
    for name in others:
        body = f"{name} of {number} r{revision} {status if name != 'summary.csv' else ''}".encode()
        sql(db_url, "INSERT INTO statement_document_files (file_sha256, document_id, file_name, json_sha256, content)"
            " VALUES (%s, %s, %s, %s, %s)", hashlib.sha256(body).hexdigest(), document_id, name, json_sha, body)


def document(db_url: str, partner, chain: str, number: str, revision: int) -> uuid.UUID:
    return sql(db_url, "INSERT INTO statement_documents (statement_number, revision, partner_id, chain_id, window_key,"
               " facts_sha256) VALUES (%s, %s, %s, %s, 'month:2025-09', %s) RETURNING document_id",
               number, revision, partner.partner_id, chain, hashlib.sha256(f"{number}{revision}".encode()).hexdigest())[0][0]


@pytest.fixture
def world(admin_cli):
    db = admin_cli.db_url
    book = Book(db)
    a = book.partner("Alpha Partners")
    b = book.partner("Beta Capital")
    a_sol1 = document(db, a, SOL, "AUR-SOL-A", 1)
    issue(db, a_sol1, "AUR-SOL-A", 1, "DRAFT", "lines.csv", "summary.csv")
    issue(db, a_sol1, "AUR-SOL-A", 1, "RELEASED", "statement.pdf")
    a_sol2 = document(db, a, SOL, "AUR-SOL-A", 2)
    issue(db, a_sol2, "AUR-SOL-A", 2, "DRAFT", "statement.pdf")
    a_eth = document(db, a, ETH, "AUR-ETH-A", 1)
    issue(db, a_eth, "AUR-ETH-A", 1, "RELEASED")
    b_sol = document(db, b, SOL, "AUR-SOL-B", 1)
    issue(db, b_sol, "AUR-SOL-B", 1, "PAID", "statement.pdf")
    admin_cli.add_user("pa", "PARTNER", "password-123", "--partner", "Alpha Partners")
    admin_cli.add_user("pa-sol", "PARTNER", "password-123", "--partner", "Alpha Partners", "--chains", SOL)
    admin_cli.add_user("aud", "AUDITOR")
    admin_cli.add_user("fin-eth", "FINANCE", "password-123", "--chains", ETH)
    admin_cli.add_user("opsy", "OPS")
    return admin_cli, a, b, {"a_sol1": a_sol1, "a_sol2": a_sol2, "a_eth": a_eth, "b_sol": b_sol}


ALL_DOCS = ["AUR-ETH-A r1", "AUR-SOL-A r1", "AUR-SOL-A r2", "AUR-SOL-B r1"]
ALL_FILES = [
    "AUR-ETH-A r1 statement.json RELEASED",
    "AUR-SOL-A r1 lines.csv DRAFT",
    "AUR-SOL-A r1 statement.json DRAFT",
    "AUR-SOL-A r1 statement.json RELEASED",
    "AUR-SOL-A r1 statement.pdf RELEASED",
    "AUR-SOL-A r1 summary.csv DRAFT",
    "AUR-SOL-A r2 statement.json DRAFT",
    "AUR-SOL-A r2 statement.pdf DRAFT",
    "AUR-SOL-B r1 statement.json PAID",
    "AUR-SOL-B r1 statement.pdf PAID",
]


def test_each_role_sees_exactly_its_documents_and_files(world):
    cli, _a, _b, _ids = world
    partner, partner_sol, auditor, finance_eth, ops = (
        scope_of(cli, u) for u in ("pa", "pa-sol", "aud", "fin-eth", "opsy")
    )
    # The superuser's view, to be sure the fixture is what the assertions below read against.
    assert [r[0] for r in sql(cli.db_url, DOCS)] == ALL_DOCS
    assert [r[0] for r in sql(cli.db_url, FILES)] == ALL_FILES

    # A PARTNER: its own partner's revisions once issued RELEASED/PAID; of those, the files issued
    # RELEASED/PAID and summary.csv (no status in it: the same file in every issue of a revision).
    # Revision 2 (only ever a DRAFT) and Beta's document do not exist for it.
    assert [r[0] for r in see(cli, partner, DOCS)] == ["AUR-ETH-A r1", "AUR-SOL-A r1"]
    assert [r[0] for r in see(cli, partner, FILES)] == [
        "AUR-ETH-A r1 statement.json RELEASED",
        "AUR-SOL-A r1 statement.json RELEASED",
        "AUR-SOL-A r1 statement.pdf RELEASED",
        "AUR-SOL-A r1 summary.csv hidden",  # the DRAFT statement.json it was first issued with stays hidden
    ]
    assert see(cli, partner, "SELECT count(*) FROM statement_document_files WHERE file_name = 'lines.csv'") == [(0,)]
    # Chain limits apply to partners too.
    assert [r[0] for r in see(cli, partner_sol, DOCS)] == ["AUR-SOL-A r1"]

    # Staff: every document of the chains they may see, every file of those.
    assert [r[0] for r in see(cli, auditor, DOCS)] == ALL_DOCS
    assert [r[0] for r in see(cli, auditor, FILES)] == ALL_FILES
    assert [r[0] for r in see(cli, finance_eth, DOCS)] == ["AUR-ETH-A r1"]
    assert [r[0] for r in see(cli, finance_eth, FILES)] == ["AUR-ETH-A r1 statement.json RELEASED"]

    # OPS has no business with statements; no settings at all: nothing (deny by default).
    for scope in (ops, None):
        assert see(cli, scope, "SELECT count(*) FROM statement_documents") == [(0,)]
        assert see(cli, scope, "SELECT count(*) FROM statement_document_files") == [(0,)]


def test_both_tables_are_enabled_and_forced_and_nobody_rewrites_a_document(world):
    cli, *_ = world
    flags = sql(cli.db_url, "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
                " WHERE relname IN ('statement_documents', 'statement_document_files') ORDER BY 1")
    assert flags == [("statement_document_files", True, True), ("statement_documents", True, True)]
    policies = sql(cli.db_url, "SELECT tablename, policyname, cmd, roles::text[] FROM pg_policies"
                   " WHERE tablename IN ('statement_documents', 'statement_document_files') ORDER BY 1, 2")
    assert [(t, p, c) for t, p, c, _ in policies] == [
        ("statement_document_files", "statement_document_files_insert", "INSERT"),
        ("statement_document_files", "statement_document_files_owner", "ALL"),
        ("statement_document_files", "statement_document_files_read", "SELECT"),
        ("statement_document_files", "statement_document_files_reporting", "SELECT"),
        ("statement_documents", "statement_documents_insert", "INSERT"),
        ("statement_documents", "statement_documents_owner", "ALL"),
        ("statement_documents", "statement_documents_read", "SELECT"),
        ("statement_documents", "statement_documents_reporting", "SELECT"),
    ]
    for statement in ("UPDATE statement_documents SET revision = 9", "DELETE FROM statement_document_files"):
        with pytest.raises(DBAPIError, match="permission denied"):
            see(cli, Scope.system(), statement + " RETURNING 1")


def _insert(cli, scope: Scope, query: str, **params) -> None:
    engine = make_engine(cli.app_db_url, scope)
    try:
        with engine.begin() as conn:
            conn.execute(text(query), params)
    finally:
        engine.dispose()


NEW_DOC = ("INSERT INTO statement_documents (document_id, statement_number, revision, partner_id, chain_id,"
           " window_key, facts_sha256) VALUES (:id, :number, 1, :partner, :chain, 'month:2025-10', repeat('f', 64))")
NEW_FILE = ("INSERT INTO statement_document_files (file_sha256, document_id, file_name, json_sha256, content)"
            " VALUES (:sha, :doc, 'statement.json', :sha, :content)")


def test_a_partner_may_issue_only_its_own_released_documents(world):
    cli, a, b, _ids = world
    partner = scope_of(cli, "pa")
    mine = uuid.uuid4()
    _insert(cli, partner, NEW_DOC, id=mine, number="AUR-SOL-A-OCT", partner=a.partner_id, chain=SOL)
    with pytest.raises(DBAPIError, match="row-level security"):
        _insert(cli, partner, NEW_DOC, id=uuid.uuid4(), number="AUR-SOL-B-OCT", partner=b.partner_id, chain=SOL)
    draft = _json("AUR-SOL-A-OCT", 1, "DRAFT")
    with pytest.raises(DBAPIError, match="row-level security"):
        _insert(cli, partner, NEW_FILE, sha=hashlib.sha256(draft).hexdigest(), doc=mine, content=draft)
    released = _json("AUR-SOL-A-OCT", 1, "RELEASED")
    _insert(cli, partner, NEW_FILE, sha=hashlib.sha256(released).hexdigest(), doc=mine, content=released)
    assert "AUR-SOL-A-OCT r1" in [r[0] for r in see(cli, partner, DOCS)]
    # A chain the user may not see is refused even for its own partner.
    with pytest.raises(DBAPIError, match="row-level security"):
        _insert(cli, scope_of(cli, "pa-sol"), NEW_DOC, id=uuid.uuid4(), number="AUR-ETH-A-OCT",
                partner=a.partner_id, chain=ETH)


def test_numbering_helpers_answer_only_for_partners_the_caller_may_issue(world):
    cli, a, b, _ids = world
    partner = scope_of(cli, "pa")
    latest = "SELECT statement_number, revision FROM aurora_statement_latest_revision(CAST(:p AS uuid), :c, 'month:2025-09')"
    for who, p, expected in ((partner, a, [("AUR-SOL-A", 2)]), (partner, b, []), (scope_of(cli, "aud"), b, [("AUR-SOL-B", 1)])):
        engine = make_engine(cli.app_db_url, who)
        try:
            with engine.connect() as conn:
                assert [tuple(r) for r in conn.execute(text(latest), {"p": str(p.partner_id), "c": SOL})] == expected
        finally:
            engine.dispose()


def test_downgrade_to_013_removes_the_policies_and_helpers(empty_db_url):
    upgrade(empty_db_url, "014")
    downgrade(empty_db_url, "013")
    engine = make_engine(empty_db_url)
    try:
        with engine.connect() as conn:
            flags = conn.execute(text("SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname"
                                      " IN ('statement_documents', 'statement_document_files') ORDER BY 1")).all()
            assert [tuple(r) for r in flags] == [("statement_document_files", False, False),
                                                 ("statement_documents", False, False)]
            assert conn.execute(text("SELECT count(*) FROM pg_policies WHERE tablename LIKE 'statement_document%'")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM pg_proc WHERE proname IN ('aurora_issued_status',"
                                     " 'aurora_document_released', 'aurora_statement_latest_revision',"
                                     " 'aurora_user_roles', 'aurora_issued_files_known')")).scalar() == 0
    finally:
        engine.dispose()
    upgrade(empty_db_url, "head")
