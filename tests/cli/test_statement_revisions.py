"""A reopened statement keeps its number and gains a revision; the old revision stays retrievable.

Given Helios Capital's September statement (two Ethereum days) released and exported as a pack
(revision 1), when an ADMIN reopens it, a line is overridden and the statement is released and
exported again (revision 2), then `statements revisions` lists both with their facts hashes,
`statements get --revision 1` writes revision 1 byte for byte as it was issued (`sha256sum -c`
passes), `statements verify` calls it authentic but not current (exit 1) in one sentence, and a
PARTNER gets only its own partner's revisions issued RELEASED or PAID: another partner's number,
a revision never released and a number that does not exist get the same sentence and exit 4.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_exports_cli import ETH, export, move, run, shop  # noqa: F401  (shop is a fixture)
from tests.statement_fixtures import sql

NUMBER = "AUR-ETH-2025-09-HELIOS-01"


def one_line(text: str) -> str:
    return " ".join(text.split())


def said(result) -> str:
    """The error sentence, without the frame's correlation id."""
    return re.sub(r"\s*\(correlation id [0-9a-f-]+\)", "", one_line(result.stderr))


def sha256sum_check(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True)


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def revised(shop, tmp_path):  # noqa: F811
    """Revision 1 released and exported; then reopened, overridden, exported as a DRAFT (revision 2),
    released and exported again."""
    shop["cli"].add_user("orion-user", "PARTNER", "password-123", "--partner", "Orion Partners")
    shop["tokens"]["orion-user"] = shop["cli"].token_for("orion-user")
    move(shop, ("submit", "alice"), ("approve", "bob"), ("release", "bob"))
    r1 = tmp_path / "r1"
    assert export(shop, "pack", r1, user="alice").exit_code == 0
    month = ("--partner", "Helios Capital", "--chain", ETH, "--month", "2025-09")
    assert run(shop, "statements", "reopen", *month, "--reason", "day 2 was overstated").exit_code == 0
    r = run(shop, "override", str(shop["lines"]["d2"]), "--amount", "1500000000000000000",
            "--reason", "validator offline for two hours", user="alice")
    assert r.exit_code == 0, r
    recomputed = run(shop, "statements", "verify", str(r1), user="bob")  # before anything was re-issued
    draft = tmp_path / "r2-draft"
    assert export(shop, "pack", draft, user="alice").exit_code == 0
    partner_before_release = {
        "revisions": run(shop, "--format", "json", "statements", "revisions", NUMBER, user="helios-user"),
        "get": run(shop, "statements", "get", NUMBER, "--revision", "2", "--out", str(tmp_path / "p2"),
                   user="helios-user"),
    }
    move(shop, ("submit", "alice"), ("approve", "bob"), ("release", "bob"))
    r2 = tmp_path / "r2"
    assert export(shop, "pack", r2, user="alice").exit_code == 0
    return {**shop, "r1": r1, "r2": r2, "draft": draft, "before_release": partner_before_release,
            "recomputed": recomputed}


def test_revisions_lists_both_with_their_facts_hashes_and_status_as_issued(revised):
    r = run(revised, "--format", "json", "statements", "revisions", NUMBER, user="alice")
    assert r.exit_code == 0, r
    rows = r.json()
    stored = sql(revised["cli"].db_url, "SELECT revision, facts_sha256 FROM statement_documents"
                 " WHERE statement_number = %s ORDER BY revision", NUMBER)
    assert [(row["revision"], row["facts_sha256"]) for row in rows] == stored
    assert [row["statement_number"] for row in rows] == [NUMBER, f"{NUMBER}-R2"]
    assert [row["status"] for row in rows] == ["RELEASED", "RELEASED"]
    assert [row["superseded_by"] for row in rows] == [2, None]
    assert rows[0]["facts_sha256"] != rows[1]["facts_sha256"]
    assert [row["issues"] for row in rows] == [1, 2]  # revision 2: the DRAFT and the RELEASED issue
    r1_json = (revised["r1"] / "statement.json").read_bytes()
    assert rows[0]["statement_json_sha256"] == sql(
        revised["cli"].db_url, "SELECT encode(sha256(%s), 'hex')", r1_json)[0][0]

    human = run(revised, "statements", "revisions", f"{NUMBER}-R2", user="alice")
    assert human.exit_code == 0 and f"statements get {NUMBER} --revision 2 --out DIR" in one_line(human.stderr)


def test_get_writes_the_old_revision_byte_for_byte_and_verify_says_not_current(revised, tmp_path):
    original = files_of(revised["r1"])
    shutil.rmtree(revised["r1"])
    again = tmp_path / "again"
    r = run(revised, "statements", "get", NUMBER, "--revision", "1", "--out", str(again), user="bob")
    assert r.exit_code == 0, r
    assert files_of(again) == original  # every file and SHA256SUMS, byte for byte
    assert sorted(original) == ["SHA256SUMS", "lines.csv", "statement.json", "statement.pdf", "summary.csv"]
    check = sha256sum_check(again)
    assert check.returncode == 0 and check.stdout.count(": OK") == 4, check.stdout + check.stderr
    assert "Revision 2 has replaced it." in r.stderr

    verdict = run(revised, "statements", "verify", str(again), user="bob")
    assert verdict.exit_code == 1
    sentence = one_line(verdict.stderr)
    assert sentence == (
        f"statement.json is authentic (statement {NUMBER}) but not current: "
        "revision 2 has replaced it after a change of figures."
    )
    recomputed = revised["recomputed"]  # reopened and overridden, not yet exported again
    assert recomputed.exit_code == 1 and one_line(recomputed.stderr) == (
        f"statement.json is authentic (statement {NUMBER}) but not current: its figures have changed since it"
        " was issued; the next export issues a new revision."
    )
    current = run(revised, "statements", "verify", str(revised["r2"]), user="bob")
    assert current.exit_code == 0
    assert one_line(current.stderr) == (
        f"statement.json is authentic and current: statement {NUMBER}-R2, status RELEASED."
    )
    # The suffix names the revision too; the newest revision is the default.
    latest = tmp_path / "latest"
    r = run(revised, "statements", "get", f"{NUMBER}-R2", "--out", str(latest), user="bob")
    assert r.exit_code == 0 and files_of(latest) == files_of(revised["r2"])

    [(resource_id, _, after, _, _)] = [a for a in revised["book"].audit("EXPORT_STATEMENT") if a[2].get("retrieved")][:1]
    assert resource_id == NUMBER and after["revision"] == 1 and after["path"] == str(again)


def test_a_partner_gets_only_its_own_revisions_issued_released(revised, tmp_path):
    # Before revision 2 was released, its partner saw revision 1 only and could not fetch revision 2.
    before = revised["before_release"]
    assert before["revisions"].exit_code == 0
    assert [row["revision"] for row in before["revisions"].json()] == [1]
    assert before["get"].exit_code == 4
    assert said(before["get"]) == ("Error: "
        f"there is no issued statement {NUMBER} revision 2 that you may see: the number is printed on the"
        " statement, e.g. AUR-SOL-2025-09-HELIOS-01."
    )

    mine = tmp_path / "mine"
    r = run(revised, "statements", "get", NUMBER, "--revision", "1", "--out", str(mine), user="helios-user")
    assert r.exit_code == 0, r
    assert sha256sum_check(mine).returncode == 0
    listed = run(revised, "--format", "json", "statements", "revisions", NUMBER, user="helios-user")
    assert [(row["revision"], row["status"]) for row in listed.json()] == [(1, "RELEASED"), (2, "RELEASED")]

    sentences = []
    for number in (NUMBER, "AUR-ETH-2025-09-NOBODY-01"):
        for argv in (("statements", "get", number, "--out", str(tmp_path / "x")),
                     ("statements", "revisions", number)):
            refused = run(revised, *argv, user="orion-user")
            assert refused.exit_code == 4, refused
            sentences.append(said(refused).replace(number, "NUMBER"))
    assert len(set(sentences)) == 1, sentences
    assert "there is no issued statement NUMBER that you may see" in sentences[0]
    assert not (tmp_path / "x").exists()

    # Staff without the number get the same words, as a plain not-found (exit 1).
    missing = run(revised, "statements", "get", "AUR-ETH-2025-09-NOBODY-01", "--out", str(tmp_path / "y"),
                  user="alice")
    assert missing.exit_code == 1 and "there is no issued statement AUR-ETH-2025-09-NOBODY-01" in missing.stderr


def test_the_draft_issue_of_revision_2_is_kept_but_the_released_one_is_retrieved(revised, tmp_path):
    draft = json.loads((revised["draft"] / "statement.json").read_bytes())
    assert (draft["revision"], draft["status"]) == (2, "DRAFT")
    out = tmp_path / "r2-again"
    assert run(revised, "statements", "get", NUMBER, "--revision", "2", "--out", str(out)).exit_code == 0
    assert json.loads((out / "statement.json").read_bytes())["status"] == "RELEASED"
    assert files_of(out) == files_of(revised["r2"])
