"""Statements and overrides as services: generate, the transition table, locks, four eyes.

Given partners and commission lines written straight into a migrated database, when a service runs,
then the statements hold exactly the sums of their lines and only the allowed transitions happen.
"""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from aurora_cli.db.engine import transaction
from aurora_cli.errors import Conflict, InvalidInput, NotFound
from aurora_cli.services import auth, overrides, statements
from aurora_cli.services.config_apply import apply_config, read_config
from aurora_cli.services.statements import TRANSITIONS, StatementSelector
from tests.statement_fixtures import ETH, SOL, V2, Book, sql


@pytest.fixture
def book(engine, db_url, repo) -> Book:
    with transaction(engine) as session:
        apply_config(session, read_config(repo / "config"))
        for name, role in (("alice", "FINANCE"), ("bob", "FINANCE"), ("root", "ADMIN")):
            auth.add_user(session, username=name, email=f"{name}@x.io", password="password-123", role=role)
    return Book(db_url)


@pytest.fixture
def sept(book) -> dict:
    """Two finalized epochs and one open one; Helios has lines in 850 and 851, Orion in 850."""
    p850 = book.period(SOL, "850", "2025-09-01T00:00:00Z", "2025-09-03T00:00:00Z")
    p851 = book.period(SOL, "851", "2025-09-03T00:00:00Z", "2025-09-05T00:00:00Z")
    p852 = book.period(SOL, "852", "2025-09-05T00:00:00Z", "2025-09-07T00:00:00Z", finalized=False)
    helios, orion = book.partner("Helios Capital"), book.partner("Orion Partners")
    lines = {
        # 19 integer digits each; the bases carry 18 decimals (38 significant digits).
        "h850a": book.line(helios, p850, "9999999999999999999", base=BIG_BASE),
        "h850b": book.line(helios, p850, "9999999999999999999", base=BIG_BASE, validator=V2),
        "h851": book.line(helios, p851, "1500000000"),
        "o850": book.line(orion, p850, "7"),
    }
    return {"p850": p850, "p851": p851, "p852": p852, "helios": helios, "orion": orion, **lines}


BIG_BASE = "99999999999999999999.123456789012345678"


def generate(engine, **kwargs) -> statements.GenerateResult:
    with transaction(engine) as session:
        return statements.generate_statements(session, SOL, **kwargs)


def transition(engine, name: str, statement_id, actor: uuid.UUID, **kwargs) -> statements.TransitionResult:
    with transaction(engine) as session:
        selector = StatementSelector(statement_id=statement_id)
        return statements.apply_transition(session, selector, name, actor_user_id=actor, **kwargs)


# -- generate ---------------------------------------------------------------------------------------


def test_one_statement_per_partner_and_period_with_the_exact_sum_of_its_lines(engine, book, sept):
    result = generate(engine, month="2025-09", allow_unfinalized=True)
    assert (len(result.created), len(result.updated), len(result.removed)) == (3, 0, 0)
    _, status, total, count, metadata = book.statement(sept["helios"], sept["p850"])
    assert (status, total, count, metadata) == ("DRAFT", Decimal("19999999999999999998"), 2, None)
    assert book.statement(sept["helios"], sept["p851"])[2:4] == (Decimal("1500000000"), 1)
    assert book.statement(sept["orion"], sept["p850"])[2:4] == (Decimal("7"), 1)
    assert book.statement(sept["orion"], sept["p851"]) is None  # no lines, no statement

    again = generate(engine, period="850")
    assert (len(again.created), len(again.updated), len(again.unchanged)) == (0, 0, 2)


def test_unfinalized_periods_are_refused_unless_allowed_and_then_recorded(engine, book, sept):
    helios = sept["helios"]
    book.line(helios, sept["p852"], "42")
    with pytest.raises(Conflict, match=r"852 of solana-mainnet are not finalized.*allow unfinalized periods"):
        generate(engine, period="852")
    with pytest.raises(Conflict, match="852"):
        generate(engine, month="2025-09")  # a month is all-or-nothing
    assert book.statement(helios, sept["p850"]) is None

    generate(engine, period="852", allow_unfinalized=True)
    assert book.statement(helios, sept["p852"])[4] == {
        "allow_unfinalized": True,
        "unfinalized_periods": ["852"],
    }

    book.line(helios, sept["p852"], "1")  # recomputed meanwhile, and now final
    sql(book.db_url, "UPDATE canonical_periods SET is_finalized = true WHERE period_id = %s", sept["p852"])
    result = generate(engine, period="852")
    assert len(result.updated) == 1
    assert book.statement(helios, sept["p852"])[2:] == (Decimal("43"), 2, None)


def test_regenerate_updates_drafts_leaves_locked_statements_and_removes_empty_drafts(engine, book, sept):
    alice = book.user_id("alice")
    generate(engine, month="2025-09", allow_unfinalized=True)
    locked_id = book.statement(sept["helios"], sept["p850"])[0]
    transition(engine, "submit", locked_id, alice)
    locked_before = book.statement(sept["helios"], sept["p850"])

    sql(book.db_url, "DELETE FROM partner_commission_lines WHERE line_id = %s", sept["o850"])
    book.line(sept["helios"], sept["p851"], "500000000")

    result = generate(engine, month="2025-09", allow_unfinalized=True)
    assert [c.statement_id for c in result.updated] == [book.statement(sept["helios"], sept["p851"])[0]]
    assert len(result.removed) == 1 and result.removed[0].after is None
    assert book.statement(sept["orion"], sept["p850"]) is None
    assert book.statement(sept["helios"], sept["p850"]) == locked_before
    assert result.locked == [
        {
            "statement_id": str(locked_id),
            "status": "PENDING_APPROVAL",
            "partner_name": "Helios Capital",
            "period_identifier": "850",
        }
    ]
    assert book.statement(sept["helios"], sept["p851"])[2:4] == (Decimal("2000000000"), 2)


def test_a_month_selects_the_periods_that_start_in_it(engine, book):
    partner = book.partner("Helios Capital", chain=ETH)
    days = {
        d: book.period(ETH, d, f"{d}T00:00:00Z", end)
        for d, end in (
            ("2025-08-31", "2025-09-01T00:00:00Z"),
            ("2025-09-01", "2025-09-02T00:00:00Z"),
            ("2025-09-30", "2025-10-01T00:00:00Z"),
            ("2025-10-01", "2025-10-02T00:00:00Z"),
        )
    }
    for period_id in days.values():
        book.line(partner, period_id, "1000000000000000000", chain=ETH)
    with transaction(engine) as session:
        result = statements.generate_statements(session, ETH, month="2025-09")
    assert result.periods == ["2025-09-01", "2025-09-30"]
    with pytest.raises(NotFound, match="no period of ethereum-mainnet starts in 2025-11"):
        with transaction(engine) as session:
            statements.generate_statements(session, ETH, month="2025-11")
    with pytest.raises(InvalidInput, match="YYYY-MM"):
        with transaction(engine) as session:
            statements.generate_statements(session, ETH, month="2025-13")


# -- transitions ------------------------------------------------------------------------------------


def test_the_transition_table_allows_exactly_the_workflow():
    allowed = {(s.value, t.name) for t in TRANSITIONS.values() for s in t.sources}
    assert allowed == {
        ("DRAFT", "submit"),
        ("PENDING_APPROVAL", "approve"),
        ("APPROVED", "release"),
        ("RELEASED", "mark-paid"),
        ("PENDING_APPROVAL", "reopen"),
        ("APPROVED", "reopen"),
        ("RELEASED", "reopen"),
        ("PAID", "reopen"),
    }


def test_the_whole_workflow_records_who_and_when_and_reopen_clears_it(engine, book, sept):
    alice, bob, root = (book.user_id(u) for u in ("alice", "bob", "root"))
    generate(engine, period="850")
    sid = book.statement(sept["helios"], sept["p850"])[0]
    transition(engine, "submit", sid, alice)
    with pytest.raises(Conflict, match="four eyes"):
        transition(engine, "approve", sid, alice)
    transition(engine, "approve", sid, bob)
    transition(engine, "release", sid, bob)
    with pytest.raises(InvalidInput, match="^reference is required"):
        transition(engine, "mark-paid", sid, alice, reference="  ")
    paid = transition(engine, "mark-paid", sid, alice, reference="5xTx9")
    after = paid.changes[0].after
    assert after["status"] == "PAID" and after["paid_reference"] == "5xTx9" and after["paid_by"] == alice
    assert (after["submitted_by"], after["approved_by"], after["released_by"]) == (alice, bob, bob)
    assert all(after[f"{c}_at"] is not None for c in ("submitted", "approved", "released", "paid"))

    reopened = transition(engine, "reopen", sid, root, reason="wrong rate")
    after = reopened.changes[0].after
    assert (
        after["status"] == "DRAFT" and after["reopen_reason"] == "wrong rate" and after["reopened_by"] == root
    )
    for column in ("submitted", "approved", "released", "paid"):
        assert after[f"{column}_by"] is None and after[f"{column}_at"] is None
    assert after["paid_reference"] is None
    assert reopened.changes[0].before["paid_reference"] == "5xTx9"


def test_submit_refuses_a_statement_that_no_longer_matches_its_lines(engine, book, sept):
    generate(engine, period="850")
    sid = book.statement(sept["helios"], sept["p850"])[0]
    book.line(sept["helios"], sept["p850"], "5")  # a recompute added a line; not regenerated yet
    with pytest.raises(Conflict, match="no longer matches its commission lines.*statements generate"):
        transition(engine, "submit", sid, book.user_id("alice"))
    assert book.statement(sept["helios"], sept["p850"])[1] == "DRAFT"


def test_two_concurrent_approvals_cannot_both_succeed(engine, book, sept):
    alice, bob, root = (book.user_id(u) for u in ("alice", "bob", "root"))
    generate(engine, period="850")
    sid = book.statement(sept["helios"], sept["p850"])[0]
    transition(engine, "submit", sid, alice)

    outcome: dict[str, object] = {}
    with transaction(engine) as first:
        statements.apply_transition(first, StatementSelector(statement_id=sid), "approve", actor_user_id=bob)

        def second() -> None:
            try:
                transition(engine, "approve", sid, root)
                outcome["second"] = "approved"
            except Conflict as exc:
                outcome["second"] = exc.message

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive(), "the second approval must wait for the first one's row lock"
    thread.join(timeout=10)
    assert "it is APPROVED" in str(outcome["second"])
    assert book.statement(sept["helios"], sept["p850"])[1] == "APPROVED"


# -- overrides ---------------------------------------------------------------------------------------


def test_an_override_updates_the_line_and_its_draft_statement_in_one_go(engine, book, sept):
    alice = book.user_id("alice")
    generate(engine, month="2025-09", allow_unfinalized=True)
    with transaction(engine) as session:
        result = overrides.set_override(
            session, str(sept["h851"]), Decimal("1400000000"), reason="client left early", actor_user_id=alice
        )
    assert result.action == "CREATE_OVERRIDE"
    assert result.before["final_amount_native"] == Decimal("1500000000")
    assert result.after["final_amount_native"] == Decimal("1400000000")
    assert result.after["override_user_id"] == alice and result.after["override_timestamp"] is not None
    assert result.statement is not None
    assert book.statement(sept["helios"], sept["p851"])[2:4] == (Decimal("1400000000"), 1)

    with transaction(engine) as session:
        again = overrides.set_override(
            session,
            str(sept["h851"]),
            Decimal("1300000000"),
            reason="client left earlier",
            actor_user_id=alice,
        )
    assert again.action == "UPDATE_OVERRIDE"
    with transaction(engine) as session:
        cleared = overrides.clear_override(session, str(sept["h851"]), reason="mistake", actor_user_id=alice)
    assert cleared.action == "CLEAR_OVERRIDE"
    assert cleared.after["final_amount_native"] == Decimal("1500000000")
    assert cleared.after["override_amount_native"] is None and cleared.after["override_reason"] is None
    assert book.statement(sept["helios"], sept["p851"])[2] == Decimal("1500000000")


@pytest.mark.parametrize(
    ("amount", "why"),
    [("1e9", "exponent"), ("-5", "negative"), ("1.5", "fraction of a native unit"), ("1,000", "separators")],
)
def test_override_amounts_are_plain_whole_native_units(amount, why):
    with pytest.raises(InvalidInput, match=why):
        overrides.parse_override_amount(amount)


def test_an_override_is_refused_once_the_statement_is_submitted(engine, book, sept):
    alice = book.user_id("alice")
    generate(engine, period="850")
    sid = book.statement(sept["helios"], sept["p850"])[0]
    transition(engine, "submit", sid, alice)
    with pytest.raises(Conflict, match=r"PENDING_APPROVAL.*locked.*an ADMIN can reopen it"):
        with transaction(engine) as session:
            overrides.set_override(session, str(sept["h850a"]), Decimal(1), reason="x", actor_user_id=alice)
    assert sql(
        book.db_url,
        "SELECT final_amount_native, override_amount_native FROM partner_commission_lines WHERE line_id = %s",
        sept["h850a"],
    ) == [(Decimal("9999999999999999999"), None)]


# -- the database holds the promises too ----------------------------------------------------------------


def test_the_database_refuses_changes_to_a_locked_statement_and_its_lines(engine, book, sept):
    generate(engine, period="850")
    sid = book.statement(sept["helios"], sept["p850"])[0]
    transition(engine, "submit", sid, book.user_id("alice"))
    refused = [
        ("UPDATE partner_commission_lines SET final_amount_native = 1 WHERE line_id = :x", sept["h850a"]),
        ("DELETE FROM partner_commission_lines WHERE line_id = :x", sept["h850a"]),
        ("UPDATE partner_commission_statements SET total_commission_native = 1 WHERE statement_id = :x", sid),
        ("DELETE FROM partner_commission_statements WHERE statement_id = :x", sid),
    ]
    for statement, key in refused:
        # The guard triggers' SQLSTATE 23000 reaches the caller as a Conflict (exit 5).
        with pytest.raises(Conflict, match="locked|past DRAFT"):
            with transaction(engine) as session:
                session.execute(text(statement), {"x": key})
    with pytest.raises(psycopg.errors.IntegrityError, match="locked"):
        book.line(sept["helios"], sept["p850"], "1")
    # Lines of other partners and periods, and unchanged writes, still go through.
    with transaction(engine) as session:
        session.execute(
            text(
                "UPDATE partner_commission_lines SET final_amount_native = final_amount_native"
                " WHERE partner_id = :p"
            ),
            {"p": sept["helios"].partner_id},
        )
        session.execute(
            text("UPDATE partner_commission_lines SET final_amount_native = 8 WHERE line_id = :x"),
            {"x": sept["o850"]},
        )


def test_the_database_refuses_an_approval_by_the_submitter(engine, book, sept):
    alice = book.user_id("alice")
    generate(engine, period="850")
    sid = book.statement(sept["helios"], sept["p850"])[0]
    with pytest.raises(IntegrityError, match="four_eyes"):
        with transaction(engine) as session:
            session.execute(
                text(
                    "UPDATE partner_commission_statements SET submitted_by = :u, approved_by = :u"
                    " WHERE statement_id = :s"
                ),
                {"u": alice, "s": sid},
            )
