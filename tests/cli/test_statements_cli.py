"""`aurora statements …`, `aurora approve`, `aurora override` end to end.

Given periods registered with `aurora periods add` and finalized with `aurora periods finalize`, and
partners whose commission lines are written straight into the database, when the workflow commands
run as different users, then only the allowed transitions happen, each audited, and every refusal
is one sentence with exit 4 (role) or 5 (workflow).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest

from aurora_cli.services import statements
from aurora_cli.services.statements import TRANSITIONS
from tests.statement_fixtures import SOL, V2, Book, PartnerRows, sql


def squash(text: str) -> str:
    return " ".join(text.split())


@dataclass
class World:
    cli: object
    book: Book
    helios: PartnerRows
    orion: PartnerRows
    periods: dict[str, uuid.UUID]
    lines: dict[str, uuid.UUID]
    tokens: dict[str, str]

    def run(self, *args: str, user: str | None = None, **kwargs):
        return self.cli(*args, token=self.tokens[user] if user else None, **kwargs)

    def statement_id(self, partner: PartnerRows, period: str) -> uuid.UUID:
        return self.book.statement(partner, self.periods[period])[0]


@pytest.fixture
def world(admin_cli) -> World:
    cli = admin_cli
    for period, start, end in (
        ("850", "2025-09-01T00:00:00Z", "2025-09-03T00:00:00Z"),
        ("851", "2025-09-03T00:00:00Z", "2025-09-05T00:00:00Z"),
        ("852", "2025-09-05T00:00:00Z", "2025-09-07T00:00:00Z"),
    ):
        r = cli("periods", "add", "--chain", SOL, "--period", period, "--start", start, "--end", end)
        assert r.exit_code == 0, r
    r = cli("periods", "finalize", "--chain", SOL)  # finality lag 1: 850 and 851 become final
    assert r.exit_code == 0, r
    book = Book(cli.db_url)
    periods = {p: book.period_id(SOL, p) for p in ("850", "851", "852")}
    helios, orion = book.partner("Helios Capital"), book.partner("Orion Partners")
    lines = {
        "h850a": book.line(helios, periods["850"], "1500000000"),
        "h850b": book.line(helios, periods["850"], "250000000", validator=V2),
        "h851": book.line(helios, periods["851"], "900000000"),
        "o850": book.line(orion, periods["850"], "7"),
    }
    tokens = {}
    for name, role, *extra in (
        ("alice", "FINANCE"),
        ("bob", "FINANCE"),
        ("opsy", "OPS"),
        ("audrey", "AUDITOR"),
        ("helios-user", "PARTNER", "--partner", "Helios Capital"),
    ):
        cli.add_user(name, role, "password-123", *extra)
        tokens[name] = cli.token_for(name)
    return World(cli, book, helios, orion, periods, lines, tokens)


def generate(world: World, *args: str):
    r = world.run("statements", "generate", "--chain", SOL, *args, user="alice")
    assert r.exit_code == 0, r
    return r


# -- generate and read -------------------------------------------------------------------------------


def test_generate_needs_finalized_periods_unless_allowed_and_records_it(world):
    world.book.line(world.helios, world.periods["852"], "42")
    refused = world.run("statements", "generate", "--chain", SOL, "--period", "852", user="alice")
    assert refused.exit_code == 5
    assert "852 of solana-mainnet are not finalized" in squash(refused.stderr)
    assert world.book.statement(world.helios, world.periods["852"]) is None

    r = world.run(
        "--format",
        "json",
        "statements",
        "generate",
        "--chain",
        SOL,
        "--month",
        "2025-09",
        "--allow-unfinalized",
        user="alice",
    )
    assert r.exit_code == 0, r
    summary = r.json()
    assert (summary["created"], summary["unfinalized_periods"]) == (4, ["852"])
    assert world.book.statement(world.helios, world.periods["852"])[4] == {
        "allow_unfinalized": True,
        "unfinalized_periods": ["852"],
    }
    assert world.book.statement(world.helios, world.periods["850"])[2:] == (Decimal("1750000000"), 2, None)
    assert len(world.book.audit("GENERATE_STATEMENT")) == 4

    opsy = world.run("statements", "generate", "--chain", SOL, "--period", "850", user="opsy")
    assert opsy.exit_code == 4


def test_list_and_show_use_column_names_and_readable_names(world):
    generate(world, "--month", "2025-09", "--allow-unfinalized")
    r = world.run(
        "--format", "json", "statements", "list", "--chain", SOL, "--status", "draft", user="audrey"
    )
    assert r.exit_code == 0, r
    rows = r.json()
    assert [(x["partner_name"], x["period_identifier"]) for x in rows] == [
        ("Helios Capital", "850"),
        ("Orion Partners", "850"),
        ("Helios Capital", "851"),
    ]
    first = rows[0]
    assert first["total_commission_native"] == "1750000000" and first["line_count"] == 2
    assert first["generated_by_username"] == "alice" and first["approved_by_username"] is None
    assert {"statement_id", "partner_id", "period_id", "submitted_by", "paid_reference", "metadata"} <= set(
        first
    )

    csv_out = world.run("--format", "csv", "statements", "list", "--partner", "Orion Partners", user="alice")
    header, row = csv_out.stdout.strip().splitlines()
    assert header.startswith("statement_id,partner_id,partner_name,chain_id,period_id,period_identifier")
    assert ",7,1,DRAFT," in row

    shown = world.run(
        "--format",
        "json",
        "statements",
        "show",
        "--partner",
        "Helios Capital",
        "--chain",
        SOL,
        "--period",
        "851",
        user="alice",
    )
    assert shown.exit_code == 0, shown
    assert shown.json()["total_commission_native"] == "900000000"


def test_partners_see_only_their_own_released_statements(world):
    generate(world, "--period", "850")
    for partner in (world.helios, world.orion):
        world.book.set_status(world.statement_id(partner, "850"), "RELEASED")
    generate(world, "--period", "851")  # Helios 851 stays DRAFT
    r = world.run("--format", "json", "statements", "list", user="helios-user")
    assert r.exit_code == 0, r
    assert [(x["partner_name"], x["period_identifier"], x["status"]) for x in r.json()] == [
        ("Helios Capital", "850", "RELEASED")
    ]
    own = world.run(
        "--format", "json", "statements", "show", "--partner", "Helios Capital", "--chain", SOL, "--period", "850",
        user="helios-user",
    )
    assert own.exit_code == 0 and own.json()["status"] == "RELEASED", own

    # Another partner's statement, the partner's own DRAFT, a statement id or a partner name that does
    # not exist: the same sentence and exit 4, so a refusal tells a partner nothing about the others.
    def refusal(*selection: str) -> str:
        r = world.run("statements", "show", *selection, user="helios-user")
        assert r.exit_code == 4, (selection, r)
        return squash(r.stderr).split(" (correlation id")[0]

    sentences = {
        refusal("--statement", str(world.statement_id(world.orion, "850"))),
        refusal("--statement", str(world.statement_id(world.helios, "851"))),
        refusal("--statement", str(uuid.uuid4())),
        refusal("--partner", "Orion Partners", "--chain", SOL, "--period", "850"),
        refusal("--partner", "No Such Partner", "--chain", SOL, "--period", "850"),
        refusal("--partner", "Helios Capital", "--chain", SOL, "--period", "851"),
    }
    assert sentences == {"Error: " + statements.PARTNER_REFUSAL}
    # Staff still get the plain "not found" for a statement that does not exist (exit 1).
    missing = world.run("statements", "show", "--statement", str(uuid.uuid4()), user="alice")
    assert missing.exit_code == 1 and "that you may see" in missing.stderr


# -- the workflow ------------------------------------------------------------------------------------


def test_the_workflow_end_to_end_with_four_eyes_roles_and_audit(world):
    generate(world, "--period", "850")
    sid = str(world.statement_id(world.helios, "850"))
    sel = ("--statement", sid)

    assert world.run("statements", "submit", *sel, user="alice").exit_code == 0
    same = world.run("approve", *sel, user="alice")
    assert same.exit_code == 5
    assert "you submitted it" in squash(same.stderr) and "four eyes" in squash(same.stderr)
    assert world.run("approve", *sel, user="opsy").exit_code == 4
    assert world.run("approve", *sel, user="audrey").exit_code == 4

    approved = world.run("--format", "json", "approve", *sel, user="bob")
    assert approved.exit_code == 0, approved
    doc = approved.json()
    assert doc["status"] == "APPROVED"
    assert (doc["submitted_by_username"], doc["approved_by_username"]) == ("alice", "bob")

    # SPEC §11: FINANCE releases and marks paid, but not its own submission.
    own = world.run("statements", "release", *sel, user="alice")
    assert own.exit_code == 5 and "may not release its own submission" in squash(own.stderr)
    assert world.run("statements", "release", *sel, user="bob").exit_code == 0
    own = world.run("statements", "mark-paid", *sel, "--reference", "5xTxPaid", user="alice")
    assert own.exit_code == 5 and "may not mark paid its own submission" in squash(own.stderr)
    paid = world.run(
        "--format", "json", "statements", "mark-paid", *sel, "--reference", "5xTxPaid", user="bob"
    )
    assert paid.exit_code == 0, paid
    assert paid.json()["paid_reference"] == "5xTxPaid" and paid.json()["paid_by_username"] == "bob"

    assert world.run("statements", "reopen", *sel, "--reason", "rate was wrong", user="alice").exit_code == 4
    reopened = world.run("--format", "json", "statements", "reopen", *sel, "--reason", "rate was wrong")
    assert reopened.exit_code == 0, reopened
    doc = reopened.json()
    assert doc["status"] == "DRAFT" and doc["reopen_reason"] == "rate was wrong"
    assert doc["reopened_by_username"] == "root-admin"
    assert all(doc[f"{c}_by"] is None for c in ("submitted", "approved", "released", "paid"))

    for action, status_before, status_after in (
        ("SUBMIT_STATEMENT", "DRAFT", "PENDING_APPROVAL"),
        ("APPROVE_STATEMENT", "PENDING_APPROVAL", "APPROVED"),
        ("RELEASE_STATEMENT", "APPROVED", "RELEASED"),
        ("MARK_PAID", "RELEASED", "PAID"),
        ("REOPEN_STATEMENT", "PAID", "DRAFT"),
    ):
        [(resource_id, before, after, _reason, _user)] = world.book.audit(action)
        assert resource_id == sid
        assert (before["status"], after["status"]) == (status_before, status_after)
    assert world.book.audit("REOPEN_STATEMENT")[0][3] == "rate was wrong"
    assert world.book.audit("REOPEN_STATEMENT")[0][1]["paid_reference"] == "5xTxPaid"


OFFERS = {
    "DRAFT": "it can be submitted for approval (`aurora statements submit`)",
    "PENDING_APPROVAL": "it can be approved by a user other than its submitter (`aurora approve`) or reopened by an ADMIN",
    "APPROVED": "it can be released (`aurora statements release`) or reopened by an ADMIN",
    "RELEASED": "it can be marked paid (`aurora statements mark-paid --reference TXID`) or reopened by an ADMIN",
    "PAID": "it can be reopened by an ADMIN (`aurora statements reopen --reason TEXT`)",
}
COMMANDS = {
    "submit": ("statements", "submit"),
    "approve": ("approve",),
    "release": ("statements", "release"),
    "mark-paid": ("statements", "mark-paid", "--reference", "TX1"),
    "reopen": ("statements", "reopen", "--reason", "check"),
}
REFUSED = [
    (status, name)
    for status in OFFERS
    for name in COMMANDS
    if status not in {s.value for s in TRANSITIONS[name].sources}
]


@pytest.mark.parametrize(("status", "name"), REFUSED)
def test_every_other_transition_is_refused_with_exit_5_and_what_is_allowed(world, status, name):
    generate(world, "--period", "850")
    sid = world.statement_id(world.helios, "850")
    world.book.set_status(sid, status, submitted_by=world.book.user_id("alice"))
    r = world.run(*COMMANDS[name], "--statement", str(sid))  # as the ADMIN: every permission
    assert r.exit_code == 5, r
    verb = TRANSITIONS[name].verb
    said = squash(r.stderr)
    assert f"cannot {verb} statement {sid} (Helios Capital, solana-mainnet 850): it is {status};" in said
    assert OFFERS[status] in said
    assert world.book.statement(world.helios, world.periods["850"])[1] == status


def test_a_month_moves_every_statement_or_none(world):
    generate(world, "--month", "2025-09", "--allow-unfinalized")
    month = ("--partner", "Helios Capital", "--chain", SOL, "--month", "2025-09")
    world.book.set_status(world.statement_id(world.helios, "851"), "PENDING_APPROVAL")
    refused = world.run("statements", "submit", *month, user="alice")
    assert refused.exit_code == 5
    assert (
        "cannot submit 1 of the 2 statements" in squash(refused.stderr)
        and "nothing was changed" in refused.stderr
    )
    assert world.book.statement(world.helios, world.periods["850"])[1] == "DRAFT"

    world.book.set_status(world.statement_id(world.helios, "851"), "DRAFT")
    r = world.run("--format", "json", "statements", "submit", *month, user="alice")
    assert r.exit_code == 0, r
    assert [(x["period_identifier"], x["status"]) for x in r.json()] == [
        ("850", "PENDING_APPROVAL"),
        ("851", "PENDING_APPROVAL"),
    ]
    assert len(world.book.audit("SUBMIT_STATEMENT")) == 2
    missing = world.run(
        "statements", "submit", "--partner", "Orion Partners", "--chain", SOL, "--period", "851"
    )
    assert missing.exit_code == 1 and "statements generate --chain solana-mainnet --period 851" in squash(
        missing.stderr
    )
    usage = world.run("statements", "submit", "--partner", "Orion Partners", user="alice")
    assert usage.exit_code == 2


# -- overrides -----------------------------------------------------------------------------------------


def test_override_and_clear_are_audited_and_keep_the_draft_statement_equal_to_its_lines(world):
    generate(world, "--period", "850")
    line = str(world.lines["h850a"])
    r = world.run(
        "override", line, "--amount", "1400000000", "--reason", "client left on day 2", user="alice"
    )
    assert r.exit_code == 0, r
    assert "1500000000 → 1400000000" in r.stderr
    assert world.book.statement(world.helios, world.periods["850"])[2:4] == (Decimal("1650000000"), 2)
    total, count = sql(
        world.cli.db_url,
        "SELECT sum(final_amount_native), count(*) FROM partner_commission_lines WHERE partner_id = %s"
        " AND period_id = %s",
        world.helios.partner_id,
        world.periods["850"],
    )[0]
    assert (total, count) == (Decimal("1650000000"), 2)
    summary = sql(
        world.cli.db_url,
        "SELECT total_commission_native FROM mv_partner_commissions_summary WHERE partner_id = %s"
        " AND period_id = %s",
        world.helios.partner_id,
        world.periods["850"],
    )
    assert summary == [(Decimal("1650000000"),)]  # the summary view follows the override

    assert (
        world.run("override", line, "--amount", "1300000000", "--reason", "day 1", user="alice").exit_code
        == 0
    )
    assert world.run("override", line, "--clear", "--reason", "restored", user="bob").exit_code == 0
    assert world.book.statement(world.helios, world.periods["850"])[2] == Decimal("1750000000")

    [(rid, before, after, reason, _)] = world.book.audit("CREATE_OVERRIDE")
    assert rid == line and reason == "client left on day 2"
    assert before["override_amount_native"] is None and before["final_amount_native"] == "1500000000"
    assert after["override_amount_native"] == "1400000000" and after["final_amount_native"] == "1400000000"
    [(_, before, after, _, _)] = world.book.audit("UPDATE_OVERRIDE")
    assert (before["final_amount_native"], after["final_amount_native"]) == ("1400000000", "1300000000")
    [(_, before, after, reason, user)] = world.book.audit("CLEAR_OVERRIDE")
    assert (before["final_amount_native"], after["final_amount_native"], reason) == (
        "1300000000",
        "1500000000",
        "restored",
    )
    assert user == world.book.user_id("bob")
    # Each override re-summed the DRAFT statement, audited with its before/after.
    totals = [
        (b["total_commission_native"], a["total_commission_native"])
        for _, b, a, reason, _ in world.book.audit("GENERATE_STATEMENT")
        if reason and "totals refreshed" in reason
    ]
    assert totals == [
        ("1750000000", "1650000000"),
        ("1650000000", "1550000000"),
        ("1550000000", "1750000000"),
    ]


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (("--amount", "1.4e9", "--reason", "x"), 1, "exponent"),
        (("--amount", "-1", "--reason", "x"), 1, "negative"),
        (("--amount", "10.5", "--reason", "x"), 1, "fraction of a native unit"),
        (("--amount", "10", "--reason", "  "), 1, "--reason is required"),
        (("--amount", "10"), 2, "--reason"),
        (("--reason", "x"), 2, "either --amount X or --clear"),
    ],
)
def test_override_refuses_bad_input(world, args, code, said):
    r = world.run("override", str(world.lines["h850a"]), *args, user="alice")
    assert r.exit_code == code, r
    assert said in squash(r.stderr)


def test_override_is_refused_once_submitted_and_by_roles_without_the_right(world):
    generate(world, "--period", "850")
    line = str(world.lines["h850a"])
    assert world.run("override", line, "--amount", "1", "--reason", "x", user="opsy").exit_code == 4
    assert (
        world.run(
            "statements", "submit", "--statement", str(world.statement_id(world.helios, "850")), user="alice"
        ).exit_code
        == 0
    )
    r = world.run("override", line, "--amount", "1", "--reason", "x", user="alice")
    assert r.exit_code == 5
    assert "PENDING_APPROVAL" in squash(r.stderr) and "aurora statements reopen" in squash(r.stderr)
    assert sql(
        world.cli.db_url,
        "SELECT final_amount_native, override_amount_native, override_reason FROM partner_commission_lines"
        " WHERE line_id = %s",
        world.lines["h850a"],
    ) == [(Decimal("1500000000"), None, None)]
    assert world.book.audit("CREATE_OVERRIDE") == []
