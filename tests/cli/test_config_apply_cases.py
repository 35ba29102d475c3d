"""`config apply` moves mapping priorities around: swaps, reuse of a removed mapping's priority."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg


def sql(db_url: str, query: str, *params):
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def mappings(db_url: str, chain: str, role: str) -> dict[str, tuple[int, bool]]:
    rows = sql(
        db_url,
        "SELECT p.provider_name, m.priority, m.is_active FROM chain_provider_mappings m"
        " JOIN providers p USING (provider_id) WHERE m.chain_id = %s AND m.provider_role = %s",
        chain,
        role,
    )
    return {name: (priority, active) for name, priority, active in rows}


def config_copy(repo: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "cfg"
    folder.mkdir()
    for source in (repo / "config").glob("*.toml"):
        shutil.copy(source, folder / source.name)
    return folder


def set_priority(text: str, chain: str, provider: str, role: str, old: int, new: int) -> str:
    block = f'chain = "{chain}"\nprovider = "{provider}"\nrole = "{role}"\npriority = {old}\n'
    assert block in text
    return text.replace(block, block.replace(f"priority = {old}", f"priority = {new}"))


def remove_mapping(text: str, chain: str, provider: str, role: str, priority: int) -> str:
    block = (
        f'[[mappings]]\nchain = "{chain}"\nprovider = "{provider}"\nrole = "{role}"\npriority = {priority}\n'
    )
    assert block in text
    return text.replace(block, "")


def apply(cli, folder: Path):
    return cli("--format", "json", "config", "apply", "--dir", str(folder))


def assert_second_apply_changes_nothing(cli, folder: Path) -> None:
    before = sql(cli.db_url, "SELECT mapping_id, priority, is_active FROM chain_provider_mappings ORDER BY 1")
    again = apply(cli, folder)
    assert again.exit_code == 0, again
    assert all(r["created"] == r["updated"] == r["deactivated"] == 0 for r in again.json()), again
    after = sql(cli.db_url, "SELECT mapping_id, priority, is_active FROM chain_provider_mappings ORDER BY 1")
    assert after == before


def test_swapping_two_priorities_applies_and_is_idempotent(admin_cli, repo, tmp_path):
    folder = config_copy(repo, tmp_path)
    providers = folder / "providers.toml"
    text = providers.read_text()
    text = set_priority(text, "solana-mainnet", "solana-rpc", "REWARDS", 1, 10)
    text = set_priority(text, "solana-mainnet", "file", "REWARDS", 10, 1)
    providers.write_text(text)

    r = apply(admin_cli, folder)
    assert r.exit_code == 0, r
    assert "IntegrityError" not in r.stderr
    assert {row["kind"]: row["updated"] for row in r.json()}["mappings"] == 2
    assert mappings(admin_cli.db_url, "solana-mainnet", "REWARDS") == {
        "file": (1, True),
        "solana-rpc": (10, True),
    }
    # The audit row shows the priorities as they were and became, never the temporary ones.
    before, after = sql(
        admin_cli.db_url,
        "SELECT before_snapshot, after_snapshot FROM audit_log WHERE action = 'CONFIG_APPLY'"
        " ORDER BY seq DESC LIMIT 1",
    )[0]
    assert sorted((e["id"], e["priority"]) for e in before) == [
        ("solana-mainnet/file/REWARDS", 10),
        ("solana-mainnet/solana-rpc/REWARDS", 1),
    ]
    assert sorted((e["id"], e["priority"]) for e in after) == [
        ("solana-mainnet/file/REWARDS", 1),
        ("solana-mainnet/solana-rpc/REWARDS", 10),
    ]
    assert_second_apply_changes_nothing(admin_cli, folder)

    # And back again: the committed files restore the original order.
    back = apply(admin_cli, repo / "config")
    assert back.exit_code == 0, back
    assert mappings(admin_cli.db_url, "solana-mainnet", "REWARDS") == {
        "solana-rpc": (1, True),
        "file": (10, True),
    }


def test_a_removed_mappings_priority_can_be_given_to_another_provider(admin_cli, repo, tmp_path):
    folder = config_copy(repo, tmp_path)
    providers = folder / "providers.toml"
    text = remove_mapping(providers.read_text(), "solana-mainnet", "solana-rpc", "REWARDS", 1)
    text = set_priority(text, "solana-mainnet", "file", "REWARDS", 10, 1)
    providers.write_text(text)

    r = apply(admin_cli, folder)
    assert r.exit_code == 0, r
    counts = {row["kind"]: row for row in r.json()}["mappings"]
    assert counts["deactivated"] == 1 and counts["updated"] == 1
    state = mappings(admin_cli.db_url, "solana-mainnet", "REWARDS")
    assert state["file"] == (1, True)
    parked, active = state["solana-rpc"]
    # The deactivated mapping gave up priority 1 and sits on a parked (negative) one no file can claim.
    assert active is False and parked < 1
    assert_second_apply_changes_nothing(admin_cli, folder)

    # Restoring the committed files reactivates it at priority 1 again.
    back = apply(admin_cli, repo / "config")
    assert back.exit_code == 0, back
    assert mappings(admin_cli.db_url, "solana-mainnet", "REWARDS") == {
        "solana-rpc": (1, True),
        "file": (10, True),
    }
    assert_second_apply_changes_nothing(admin_cli, repo / "config")


def test_a_priority_held_by_an_already_inactive_mapping_can_be_reused(admin_cli, repo, tmp_path):
    # First remove solana-rpc META (priority 2): it is deactivated but keeps priority 2, since nothing
    # claims it. Then a later file gives priority 2 to the file provider.
    folder = config_copy(repo, tmp_path)
    providers = folder / "providers.toml"
    text = remove_mapping(providers.read_text(), "solana-mainnet", "solana-rpc", "META", 2)
    providers.write_text(text)
    r = apply(admin_cli, folder)
    assert r.exit_code == 0, r
    assert mappings(admin_cli.db_url, "solana-mainnet", "META")["solana-rpc"] == (2, False)

    providers.write_text(set_priority(text, "solana-mainnet", "file", "META", 10, 2))
    r = apply(admin_cli, folder)
    assert r.exit_code == 0, r
    state = mappings(admin_cli.db_url, "solana-mainnet", "META")
    assert state["file"] == (2, True) and state["solanabeach"] == (1, True)
    assert state["solana-rpc"][1] is False and state["solana-rpc"][0] < 1
    assert_second_apply_changes_nothing(admin_cli, folder)


def test_rotating_three_priorities(admin_cli, repo, tmp_path):
    folder = config_copy(repo, tmp_path)
    providers = folder / "providers.toml"
    text = providers.read_text()
    # META on solana: solanabeach 1, solana-rpc 2, file 10  ->  solanabeach 2, solana-rpc 10, file 1
    text = set_priority(text, "solana-mainnet", "solanabeach", "META", 1, 2)
    text = set_priority(text, "solana-mainnet", "solana-rpc", "META", 2, 10)
    text = set_priority(text, "solana-mainnet", "file", "META", 10, 1)
    providers.write_text(text)
    r = apply(admin_cli, folder)
    assert r.exit_code == 0, r
    assert mappings(admin_cli.db_url, "solana-mainnet", "META") == {
        "solanabeach": (2, True),
        "solana-rpc": (10, True),
        "file": (1, True),
    }
    assert_second_apply_changes_nothing(admin_cli, folder)
