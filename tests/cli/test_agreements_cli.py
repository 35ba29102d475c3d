"""`aurora agreements apply|validate|list|show` (SPEC §7): agreements as code, through the CLI."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

SOL = "solana-mainnet"
V1 = "ValidatorOne1111111111111111111111111111111"

RULES = f"""
[[rules]]
order = 1
chain = "{SOL}"
component = "COMMISSION"
attribution = "CLIENT_REVENUE"
rate_bps = 1000
cap_native = "5000000000"

[[rules]]
order = 2
chain = "{SOL}"
validator_key = "{V1}"
component = "MEV_TIPS"
attribution = "STAKE_WEIGHT"
floor_native = "1"

[rules.tiers]
mode = "marginal"
steps = [ {{ from_native = "0", rate_bps = 1000 }}, {{ from_native = "100000000000", rate_bps = 1500 }} ]
"""


def agreement_file(
    tmp_path: Path,
    *,
    status: str = "ACTIVE",
    email: str = "ops@helios.example",
    rules: str = RULES,
    agreement_extra: str = "",
    name: str = "helios.toml",
) -> Path:
    path = tmp_path / name
    path.write_text(
        f"""
[partner]
name = "Helios Capital"
legal_entity_name = "Helios Capital Ltd"
contact_email = "{email}"

[agreement]
name = "Helios referral"
status = "{status}"
effective_from = "2025-01-01T00:00:00Z"
{agreement_extra}

[[clients]]
chain = "{SOL}"
staker_address = "S1"
validator_key = "{V1}"

[[clients]]
chain = "{SOL}"
staker_address = "S2"

{rules}
"""
    )
    return path


def q(db_url: str, query: str, *params):
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def counts(db_url: str) -> tuple:
    return q(
        db_url,
        "SELECT (SELECT count(*) FROM partners), (SELECT count(*) FROM agreements),"
        " (SELECT count(*) FROM agreement_versions), (SELECT count(*) FROM agreement_rules),"
        " (SELECT count(*) FROM partner_stake_attributions)",
    )[0]


def actions(db_url: str, correlation_id: str) -> list[tuple[str, str]]:
    return [
        (action, resource_type)
        for action, resource_type in q(
            db_url,
            "SELECT action::text, resource_type FROM audit_log WHERE correlation_id = %s ORDER BY seq",
            correlation_id,
        )
    ]


def apply(cli, path: Path, *extra: str):
    cid = str(uuid.uuid4())
    return cid, cli("--correlation-id", cid, *extra, "agreements", "apply", str(path))


def test_apply_creates_partner_agreement_version_rules_and_clients(admin_cli, tmp_path):
    cid, r = apply(admin_cli, agreement_file(tmp_path))
    assert r.exit_code == 0, r
    assert "Created partner 'Helios Capital'" in r.stderr
    assert "Created agreement 'Helios referral' (version 1: 2 rule(s), 2 client(s))" in r.stderr
    assert counts(admin_cli.db_url) == (1, 1, 1, 2, 2)

    [(status, version, starts)] = q(
        admin_cli.db_url, "SELECT status::text, current_version, effective_from FROM agreements"
    )
    assert (status, version, starts) == ("ACTIVE", 1, datetime(2025, 1, 1, tzinfo=UTC))
    [(number, v_from, v_until, snapshot)] = q(
        admin_cli.db_url,
        "SELECT version_number, effective_from, effective_until, terms_snapshot FROM agreement_versions",
    )
    assert (number, v_from, v_until) == (1, starts, None)  # the first version starts with the agreement
    assert snapshot["rules"][0]["cap_native"] == "5000000000"
    assert [c["staker_address"] for c in snapshot["clients"]] == ["S1", "S2"]

    rules = q(
        admin_cli.db_url,
        "SELECT rule_order, chain_id, validator_key, revenue_component::text, attribution_method::text,"
        " commission_rate_bps, floor_amount_native, cap_amount_native, tier_config, is_active"
        " FROM agreement_rules ORDER BY rule_order",
    )
    assert rules == [
        (1, SOL, None, "COMMISSION", "CLIENT_REVENUE", 1000, None, Decimal("5000000000"), None, True),
        (
            2,
            SOL,
            V1,
            "MEV_TIPS",
            "STAKE_WEIGHT",
            1500,  # no rate_bps in the file: the last tier step's rate is recorded
            Decimal(1),
            None,
            {
                "mode": "marginal",
                "steps": [
                    {"from_native": "0", "rate_bps": 1000},
                    {"from_native": "100000000000", "rate_bps": 1500},
                ],
            },
            True,
        ),
    ]
    assert q(
        admin_cli.db_url,
        "SELECT chain_id, staker_address, validator_key, version_number FROM partner_stake_attributions"
        " ORDER BY staker_address",
    ) == [(SOL, "S1", V1, 1), (SOL, "S2", None, 1)]
    assert actions(admin_cli.db_url, cid) == [
        ("CREATE_AGREEMENT", "partner"),
        ("CREATE_AGREEMENT", "agreement"),
        ("CREATE_RULE", "agreement_rule"),
        ("CREATE_RULE", "agreement_rule"),
        ("COMMAND", "command"),
    ]


def test_applying_the_same_file_twice_changes_nothing(admin_cli, tmp_path):
    path = agreement_file(tmp_path)
    assert apply(admin_cli, path)[1].exit_code == 0
    before = q(admin_cli.db_url, "SELECT * FROM agreements")
    cid, again = apply(admin_cli, path)
    assert again.exit_code == 0, again
    assert "Nothing changed: the database already matches the file." in again.stderr
    assert counts(admin_cli.db_url) == (1, 1, 1, 2, 2)
    assert q(admin_cli.db_url, "SELECT * FROM agreements") == before
    assert actions(admin_cli.db_url, cid) == [("COMMAND", "command")]


def test_changed_terms_create_version_2_and_close_version_1(admin_cli, tmp_path):
    assert apply(admin_cli, agreement_file(tmp_path))[1].exit_code == 0
    changed = agreement_file(
        tmp_path,
        rules=RULES.replace("rate_bps = 1000\ncap", "rate_bps = 1200\ncap"),
        agreement_extra='version_effective_from = "2025-09-02T00:00:00Z"',
        name="helios-v2.toml",
    )
    cid, r = apply(admin_cli, changed)
    assert r.exit_code == 0, r
    assert "Created version 2 of 'Helios referral' with the new terms" in r.stderr
    switch = datetime(2025, 9, 2, tzinfo=UTC)
    assert q(
        admin_cli.db_url,
        "SELECT version_number, effective_from, effective_until FROM agreement_versions ORDER BY 1",
    ) == [(1, datetime(2025, 1, 1, tzinfo=UTC), switch), (2, switch, None)]
    assert q(admin_cli.db_url, "SELECT current_version FROM agreements") == [(2,)]
    # Version 1's rules and clients stay, for history and for recomputing its periods.
    assert q(
        admin_cli.db_url,
        "SELECT version_number, rule_order, commission_rate_bps FROM agreement_rules ORDER BY 1, 2",
    ) == [(1, 1, 1000), (1, 2, 1500), (2, 1, 1200), (2, 2, 1500)]
    assert counts(admin_cli.db_url) == (1, 1, 2, 4, 4)
    assert actions(admin_cli.db_url, cid) == [
        ("UPDATE_AGREEMENT", "agreement_version"),
        ("CREATE_RULE", "agreement_rule"),
        ("CREATE_RULE", "agreement_rule"),
        ("COMMAND", "command"),
    ]
    # Moving version_effective_from alone is not a change of terms.
    moved = agreement_file(
        tmp_path,
        rules=RULES.replace("rate_bps = 1000\ncap", "rate_bps = 1200\ncap"),
        agreement_extra='version_effective_from = "2025-10-01T00:00:00Z"',
        name="helios-v2-moved.toml",
    )
    again = apply(admin_cli, moved)[1]
    assert again.exit_code == 0 and "Nothing changed" in again.stderr


def test_status_and_partner_details_change_in_place_without_a_new_version(admin_cli, tmp_path):
    assert apply(admin_cli, agreement_file(tmp_path))[1].exit_code == 0
    cid, r = apply(admin_cli, agreement_file(tmp_path, status="SUSPENDED", email="finance@helios.example"))
    assert r.exit_code == 0, r
    assert "Updated agreement 'Helios referral': status ACTIVE → SUSPENDED." in r.stderr
    assert "Updated partner 'Helios Capital': contact_email." in r.stderr
    assert q(admin_cli.db_url, "SELECT status::text, current_version FROM agreements") == [("SUSPENDED", 1)]
    assert q(admin_cli.db_url, "SELECT contact_email FROM partners") == [("finance@helios.example",)]
    assert counts(admin_cli.db_url) == (1, 1, 1, 2, 2)
    rows = q(
        admin_cli.db_url,
        "SELECT action::text, resource_type, before_snapshot, after_snapshot FROM audit_log"
        " WHERE correlation_id = %s AND action <> 'COMMAND' ORDER BY seq",
        cid,
    )
    assert [(a, t) for a, t, _b, _c in rows] == [
        ("UPDATE_AGREEMENT", "partner"),
        ("UPDATE_AGREEMENT", "agreement"),
    ]
    assert rows[1][2]["status"] == "ACTIVE" and rows[1][3]["status"] == "SUSPENDED"


def test_new_terms_must_start_after_the_current_version(admin_cli, tmp_path):
    assert apply(admin_cli, agreement_file(tmp_path))[1].exit_code == 0
    before = counts(admin_cli.db_url)
    too_early = agreement_file(
        tmp_path,
        rules=RULES.replace("rate_bps = 1000\ncap", "rate_bps = 1200\ncap"),
        agreement_extra='version_effective_from = "2025-01-01T00:00:00Z"',
        name="too-early.toml",
    )
    r = apply(admin_cli, too_early)[1]
    assert r.exit_code == 1, r
    assert "not after version 1 started" in r.stderr
    assert "agreement.version_effective_from" in r.stderr
    assert counts(admin_cli.db_url) == before


INVALID_RULES = {
    "unknown enum value": (
        RULES.replace('component = "COMMISSION"', 'component = "TIPS"'),
        "rules[0].component: 'TIPS' is not one of",
    ),
    "bps out of range": (
        RULES.replace("rate_bps = 1000\ncap", "rate_bps = 10001\ncap"),
        "rules[0].rate_bps: 10001 is outside 0..10000 basis points",
    ),
    "floor above cap": (
        RULES.replace('cap_native = "5000000000"', 'cap_native = "5000000000"\nfloor_native = "6000000000"'),
        "rules[0].floor_native: floor_native 6000000000 is greater than cap_native 5000000000",
    ),
    "tiers not ascending": (
        RULES.replace('from_native = "100000000000"', 'from_native = "0"'),
        "rules[1].tiers.steps[1].from_native: tier steps must be strictly ascending",
    ),
    "client revenue on exec fees": (
        RULES.replace('component = "COMMISSION"', 'component = "EXEC_FEES"'),
        "rules[0].attribution: CLIENT_REVENUE cannot be used with EXEC_FEES",
    ),
    "client revenue on MEV tips": (
        RULES.replace('component = "COMMISSION"', 'component = "MEV_TIPS"'),
        "rules[0].attribution: CLIENT_REVENUE cannot be used with MEV_TIPS",
    ),
    "unknown chain": (
        RULES.replace(
            f'chain = "{SOL}"\ncomponent = "COMMISSION"', 'chain = "dogecoin"\ncomponent = "COMMISSION"'
        ),
        "rules[0].chain: unknown chain 'dogecoin'",
    ),
}


@pytest.mark.parametrize("case", list(INVALID_RULES))
def test_an_invalid_file_is_refused_with_its_field_path_and_nothing_written(admin_cli, tmp_path, case):
    rules, expected = INVALID_RULES[case]
    r = apply(admin_cli, agreement_file(tmp_path, rules=rules))[1]
    assert r.exit_code == 1, r
    assert expected in r.stderr
    assert "Traceback" not in r.stderr
    assert counts(admin_cli.db_url) == (0, 0, 0, 0, 0)


def test_every_error_of_a_file_is_listed_at_once(admin_cli, tmp_path):
    rules = (
        RULES.replace("rate_bps = 1000\ncap", "rate_bps = 20000\ncap")
        .replace('component = "MEV_TIPS"', 'component = "MEV"')
        .replace('from_native = "100000000000"', 'from_native = "0"')
    )
    r = apply(admin_cli, agreement_file(tmp_path, rules=rules, status="LIVE"))[1]
    assert r.exit_code == 1
    assert "is invalid (4 errors)" in r.stderr
    for path in (
        "agreement.status",
        "rules[0].rate_bps",
        "rules[1].component",
        "rules[1].tiers.steps[1].from_native",
    ):
        assert f"  - {path}: " in r.stderr
    assert counts(admin_cli.db_url) == (0, 0, 0, 0, 0)


def test_validate_writes_nothing_and_says_what_apply_would_do(admin_cli, tmp_path):
    path = agreement_file(tmp_path)
    r = admin_cli("agreements", "validate", str(path))
    assert r.exit_code == 0, r
    assert "is valid" in r.stderr
    assert "Applying it would create partner 'Helios Capital'; create agreement 'Helios referral'" in r.stderr
    assert counts(admin_cli.db_url) == (0, 0, 0, 0, 0)
    assert admin_cli("agreements", "apply", str(path)).exit_code == 0
    again = admin_cli("agreements", "validate", str(path))
    assert again.exit_code == 0 and "Applying it would change nothing" in again.stderr
    bad = admin_cli("agreements", "validate", str(agreement_file(tmp_path, status="LIVE", name="bad.toml")))
    assert bad.exit_code == 1 and "agreement.status" in bad.stderr


def test_list_and_show(admin_cli, tmp_path):
    assert apply(admin_cli, agreement_file(tmp_path))[1].exit_code == 0
    listing = admin_cli("--format", "json", "agreements", "list")
    assert listing.exit_code == 0, listing
    [row] = listing.json()
    assert set(row) == {
        "agreement_id",
        "partner_name",
        "agreement_name",
        "status",
        "current_version",
        "effective_from",
        "effective_until",
    }
    assert (row["partner_name"], row["agreement_name"], row["status"], row["current_version"]) == (
        "Helios Capital",
        "Helios referral",
        "ACTIVE",
        1,
    )
    assert row["effective_from"] == "2025-01-01T00:00:00+00:00"
    csv_out = admin_cli("--format", "csv", "agreements", "list")
    assert csv_out.stdout.splitlines()[0] == (
        "agreement_id,partner_name,agreement_name,status,current_version,effective_from,effective_until"
    )

    shown = admin_cli("--format", "json", "agreements", "show", "Helios referral")
    assert shown.exit_code == 0, shown
    doc = shown.json()
    assert [v["version_number"] for v in doc["versions"]] == [1]
    assert [(r["rule_order"], r["cap_amount_native"]) for r in doc["rules"]] == [(1, "5000000000"), (2, None)]
    assert doc["clients"] == [
        {"chain_id": SOL, "staker_address": "S1", "validator_key": V1},
        {"chain_id": SOL, "staker_address": "S2", "validator_key": None},
    ]
    table = admin_cli("agreements", "show", "Helios referral")
    assert table.exit_code == 0 and "marginal (≥0: 1000 bps, ≥100000000000: 1500 bps)" in table.stderr
    missing = admin_cli("agreements", "show", "Nope")
    assert missing.exit_code == 1 and "no agreement named 'Nope'" in missing.stderr


def test_permissions(admin_cli, tmp_path):
    path = agreement_file(tmp_path)
    admin_cli.add_user("opsy", "OPS")
    refused = admin_cli("agreements", "apply", str(path), token=admin_cli.token_for("opsy"))
    assert refused.exit_code == 4 and "manage commissions" in refused.stderr
    admin_cli.add_user("finn", "FINANCE")
    assert admin_cli("agreements", "apply", str(path), token=admin_cli.token_for("finn")).exit_code == 0
    admin_cli.add_user("audrey", "AUDITOR")
    assert admin_cli("agreements", "list", token=admin_cli.token_for("audrey")).exit_code == 0
    refused = admin_cli("agreements", "validate", str(path), token=admin_cli.token_for("audrey"))
    assert refused.exit_code == 4

    # A PARTNER user sees only its own partner's agreements.
    other = tmp_path / "other.toml"
    other.write_text(path.read_text().replace('name = "Helios Capital"', 'name = "Other Partner"'))
    assert admin_cli("agreements", "apply", str(other)).exit_code == 0
    admin_cli.add_user("helios", "PARTNER", "password-123", "--partner", "Helios Capital")
    token = admin_cli.token_for("helios")
    seen = admin_cli("--format", "json", "agreements", "list", token=token)
    assert [row["partner_name"] for row in seen.json()] == ["Helios Capital"]
    hidden = admin_cli("agreements", "show", "Helios referral", "--partner", "Other Partner", token=token)
    assert hidden.exit_code == 1


def test_a_directory_of_agreement_files_applies_in_one_transaction(admin_cli, db_url, tmp_path):
    """Given a directory of two agreement files, when it is applied, then both agreements exist after one
    command; when one file of a directory is refused, then nothing of the directory is written."""
    folder = tmp_path / "agreements"
    folder.mkdir()
    agreement_file(folder, name="a.toml")
    second = agreement_file(folder, name="b.toml").read_text()
    (folder / "b.toml").write_text(second.replace("Helios", "Boreas"))
    cid, r = apply(admin_cli, folder)
    assert r.exit_code == 0, r.stderr
    assert "Applied 2 agreement files: 2 changed, 0 unchanged." in r.stderr
    assert counts(db_url)[:2] == (2, 2)

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "c.toml").write_text(second.replace("Helios", "Notus"))
    agreement_file(
        broken, name="d.toml", rules=RULES.replace('component = "COMMISSION"', 'component = "NOPE"')
    )
    r = apply(admin_cli, broken)[1]
    assert r.exit_code != 0
    assert counts(db_url)[:2] == (2, 2)
