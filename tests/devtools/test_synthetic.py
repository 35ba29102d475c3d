"""The synthetic generator: deterministic, self-consistent files in the import format; the samples."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from aurora_cli.devtools.synthetic import (
    ETHEREUM_SAMPLE_STAKERS,
    ETHEREUM_SAMPLE_VALIDATORS,
    SAMPLE_CHAINS,
    SOLANA_SAMPLE_STAKERS,
    SOLANA_SAMPLE_VALIDATORS,
    ExpectedPnl,
    consecutive_periods,
    write_agreements,
    write_period_file,
    write_samples,
)
from aurora_cli.domain.agreement_file import load_agreement_file
from aurora_cli.domain.validator_keys import base58_decode, base58_encode
from aurora_cli.providers.file_format import LineError, MetaRecord, RewardsRecord, read_import_file

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "config" / "samples"


def records(path: Path) -> list:
    results = list(read_import_file(path))
    errors = [r for r in results if isinstance(r, LineError)]
    assert errors == []
    return [r.record for r in results]


def pnl_from_file(path: Path) -> dict[str, ExpectedPnl]:
    parts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for record in records(path):
        p = parts[record.validator_key]
        if record.data_type == "FEES":
            p[0] += int(record.total_fees_native)
        elif record.data_type == "MEV":
            p[1] += int(record.total_mev_native)
        elif record.data_type == "REWARDS":
            if record.staker_address is None:
                p[2] += int(record.rewards_native)
            p[3] += int(record.commission_native)
    return {key: ExpectedPnl(*values) for key, values in parts.items()}


@pytest.mark.parametrize(("chain", "period"), [("solana-mainnet", "850"), ("ethereum-mainnet", "2025-06-01")])
def test_file_has_the_documented_shape_and_parses_cleanly(tmp_path, chain, period):
    stats = write_period_file(
        tmp_path / "f.jsonl", chain, period, validators=3, delegators_per_validator=20, seed=7
    )

    recs = records(stats.path)
    assert stats.lines == len(recs) == 3 * (4 + 20)
    assert stats.delegator_rows == 60
    assert stats.bytes_written == stats.path.stat().st_size
    by_validator = defaultdict(list)
    for record in recs:
        by_validator[record.validator_key].append(record)
    assert len(by_validator) == 3
    for rows in by_validator.values():
        assert [r.data_type for r in rows[:4]] == ["FEES", "MEV", "META", "REWARDS"]
        validator_level = rows[3]
        assert validator_level.staker_address is None and validator_level.commission_native == 0
        delegators = rows[4:]
        assert all(isinstance(r, RewardsRecord) and r.staker_address for r in delegators)
        assert len({r.staker_address for r in delegators}) == 20
        assert rows[2].delegator_count == 20


@pytest.mark.parametrize(("chain", "period"), [("solana-mainnet", "851"), ("ethereum-mainnet", "2025-06-02")])
def test_commission_is_the_floor_of_rewards_times_the_meta_rate(tmp_path, chain, period):
    path = write_period_file(tmp_path / "f.jsonl", chain, period, 4, 30, seed=11).path
    rate = {}
    for record in records(path):
        if isinstance(record, MetaRecord):
            rate[record.validator_key] = record.commission_rate_bps
        elif isinstance(record, RewardsRecord) and record.staker_address is not None:
            expected = int(record.rewards_native) * rate[record.validator_key] // 10_000
            assert int(record.commission_native) == expected


def test_stats_predict_the_pnl_the_file_implies(tmp_path):
    stats = write_period_file(tmp_path / "f.jsonl", "solana-mainnet", "850", 5, 40, seed=3)
    assert stats.validator_pnl == pnl_from_file(stats.path)
    for pnl in stats.validator_pnl.values():
        assert pnl.total_revenue_native == (
            pnl.exec_fees_native + pnl.mev_tips_native + pnl.vote_rewards_native + pnl.commission_native
        )


def test_same_arguments_same_bytes_and_another_seed_differs(tmp_path):
    a = write_period_file(tmp_path / "a.jsonl", "solana-mainnet", "850", 3, 25, seed=7).path
    b = write_period_file(tmp_path / "b.jsonl", "solana-mainnet", "850", 3, 25, seed=7).path
    c = write_period_file(tmp_path / "c.jsonl", "solana-mainnet", "850", 3, 25, seed=8).path
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_delegators_persist_across_periods_while_amounts_vary(tmp_path):
    def rows(period: str) -> dict[tuple[str, str], int]:
        path = write_period_file(tmp_path / f"{period}.jsonl", "solana-mainnet", period, 3, 25, seed=7).path
        return {
            (r.validator_key, r.staker_address): int(r.rewards_native)
            for r in records(path)
            if isinstance(r, RewardsRecord) and r.staker_address
        }

    first, second = rows("850"), rows("851")
    assert first.keys() == second.keys()
    assert first != second


def test_solana_magnitudes_are_realistic(tmp_path):
    path = write_period_file(tmp_path / "s.jsonl", "solana-mainnet", "850", 4, 200, seed=5).path
    lamports_per_sol = 10**9
    for record in records(path):
        if isinstance(record, RewardsRecord) and record.staker_address:
            # 1e3..1e6 SOL at ~7% APY over ~182 epochs: ~0.36..~385 SOL an epoch.
            assert 3 * lamports_per_sol // 10 < record.rewards_native < 400 * lamports_per_sol
        if isinstance(record, MetaRecord):
            assert 10**6 * lamports_per_sol < record.total_stake_native < 10**9 * lamports_per_sol
            assert record.active_stake_native <= record.total_stake_native


def test_ethereum_validators_hold_32_eth_and_every_amount_fits_numeric_38_18(tmp_path):
    path = write_period_file(tmp_path / "e.jsonl", "ethereum-mainnet", "2025-06-01", 3, 500, seed=5).path
    for record in records(path):  # the reader refuses anything wider than NUMERIC(38,18)
        assert len(record.validator_key) == 98 and record.validator_key.startswith("0x")
        if isinstance(record, MetaRecord):
            assert record.total_stake_native == 32 * 10**18
        if isinstance(record, RewardsRecord) and record.staker_address:
            assert len(record.staker_address) == 42 and record.staker_address.startswith("0x")


def test_generated_solana_keys_are_32_byte_base58(tmp_path):
    path = write_period_file(tmp_path / "s.jsonl", "solana-mainnet", "850", 3, 10, seed=1).path
    for record in records(path):
        assert len(base58_decode(record.validator_key)) == 32
        if isinstance(record, RewardsRecord) and record.staker_address:
            assert len(base58_decode(record.staker_address)) == 32


def test_base58_round_trip_and_known_value():
    assert base58_encode(b"\0\0\x01") == "112"
    assert base58_decode("112") == b"\0\0\x01"
    # The Solana system program id.
    assert base58_decode("11111111111111111111111111111111") == bytes(32)


@pytest.mark.parametrize(
    ("chain", "period", "message"),
    [
        ("cosmos-hub", "1", "no synthetic profile"),
        ("solana-mainnet", "2025-06-01", "epoch number"),
        ("ethereum-mainnet", "850", "YYYY-MM-DD"),
    ],
)
def test_bad_arguments_are_refused(tmp_path, chain, period, message):
    with pytest.raises(ValueError, match=message):
        write_period_file(tmp_path / "x.jsonl", chain, period, 1, 1, seed=1)
    assert list(tmp_path.iterdir()) == []


def test_dev_generate_writes_periods_and_agreements_that_parse(ops, tmp_path):
    out = tmp_path / "data"
    result = ops(
        "--format",
        "json",
        "dev",
        "generate",
        "--out",
        str(out),
        "--validators",
        "2",
        "--delegators",
        "5",
        "--periods",
        "2",
        "--agreements",
        "3",
        "--seed",
        "7",
    )
    assert result.exit_code == 0, result
    listed = result.json()
    assert [(r["kind"], r["period"], r["lines"]) for r in listed] == [
        ("period", "850", 2 * (4 + 5)),
        ("period", "851", 2 * (4 + 5)),
        ("agreement", None, None),
        ("agreement", None, None),
        ("agreement", None, None),
    ]
    names = sorted(p.name for p in out.iterdir())
    assert names == ["agreements", "solana-mainnet_850.jsonl", "solana-mainnet_851.jsonl"]
    # The command writes what the library writes, byte for byte.
    expected = write_period_file(tmp_path / "lib.jsonl", "solana-mainnet", "851", 2, 5, seed=7).path
    assert (out / "solana-mainnet_851.jsonl").read_bytes() == expected.read_bytes()

    stakers = {
        r.staker_address: r.validator_key
        for r in records(out / "solana-mainnet_850.jsonl")
        if isinstance(r, RewardsRecord) and r.staker_address
    }
    files = sorted((out / "agreements").iterdir())
    assert [f.name for f in files] == ["partner-0001.toml", "partner-0002.toml", "partner-0003.toml"]
    for number, path in enumerate(files, start=1):
        agreement = load_agreement_file(path)
        assert agreement.partner.name == f"Synthetic Partner {number:04d}"
        assert [rule.attribution.value for rule in agreement.rules] == [
            "CLIENT_REVENUE",
            "STAKE_WEIGHT",
            "FIXED_SHARE",
        ]
        assert agreement.clients and all(
            stakers[c.staker_address] == c.validator_key for c in agreement.clients
        )


def test_dev_generate_ethereum_days_are_consecutive(ops, tmp_path):
    out = tmp_path / "out"
    result = ops(
        "dev",
        "generate",
        "--out",
        str(out),
        "--chain",
        "ethereum-mainnet",
        "--validators",
        "1",
        "--delegators",
        "2",
        "--periods",
        "3",
        "--first-period",
        "2025-06-30",
    )
    assert result.exit_code == 0, result
    assert sorted(p.name for p in out.iterdir()) == [
        "ethereum-mainnet_2025-06-30.jsonl",
        "ethereum-mainnet_2025-07-01.jsonl",
        "ethereum-mainnet_2025-07-02.jsonl",
    ]


def test_dev_generate_reports_a_bad_chain_as_invalid_input(ops, tmp_path):
    out = tmp_path / "out"
    result = ops("dev", "generate", "--out", str(out), "--chain", "tezos")
    assert result.exit_code == 1
    assert "no synthetic profile" in result.stderr
    assert not out.exists()


def test_dev_generate_needs_admin_or_ops(admin_cli, tmp_path):
    out = tmp_path / "out"
    admin_cli.add_user("fin", "FINANCE")
    result = admin_cli("dev", "generate", "--out", str(out), token=admin_cli.token_for("fin"))
    assert result.exit_code == 4
    assert not out.exists()


def test_dev_samples_rewrites_the_committed_samples(ops, tmp_path):
    out = tmp_path / "out"
    result = ops("dev", "samples", "--out", str(out))
    assert result.exit_code == 0, result
    assert (out / "periods.toml").read_bytes() == (SAMPLES / "periods.toml").read_bytes()


def test_agreements_are_deterministic_by_seed(tmp_path):
    a = write_agreements(tmp_path / "a", "solana-mainnet", 4, 3, 10, seed=5)
    b = write_agreements(tmp_path / "b", "solana-mainnet", 4, 3, 10, seed=5)
    c = write_agreements(tmp_path / "c", "solana-mainnet", 4, 3, 10, seed=6)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert [p.read_bytes() for p in a] != [p.read_bytes() for p in c]


def test_consecutive_periods():
    assert consecutive_periods("solana-mainnet", 3) == ["850", "851", "852"]
    assert consecutive_periods("ethereum-mainnet", 2, "2024-02-28") == ["2024-02-28", "2024-02-29"]
    with pytest.raises(ValueError, match="epoch number"):
        consecutive_periods("solana-mainnet", 1, "2025-06-01")


# --- the committed samples ----------------------------------------------------------------------


def test_committed_samples_are_exactly_what_the_generator_writes(tmp_path):
    write_samples(tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted(
        [Path("periods.toml")] + [Path(s.chain) / p.file for s in SAMPLE_CHAINS for p in s.periods]
    )
    for relative in written:
        assert (SAMPLES / relative).read_bytes() == (tmp_path / relative).read_bytes(), (
            f"config/samples/{relative} is stale: run aurora dev samples --out config/samples"
        )


def test_sample_keys_are_valid_and_memorable():
    for key in SOLANA_SAMPLE_VALIDATORS + SOLANA_SAMPLE_STAKERS:
        assert len(base58_decode(key)) == 32 and len(key) <= 44
    assert SOLANA_SAMPLE_VALIDATORS[0] == "AuroraVote1111111111111111111111111111111111"
    assert SOLANA_SAMPLE_STAKERS[0] == "StakerA111111111111111111111111111111111111"
    for key in ETHEREUM_SAMPLE_VALIDATORS:
        assert len(key) == 98 and int(key, 16) > 0
    for address in ETHEREUM_SAMPLE_STAKERS:
        assert len(address) == 42 and int(address, 16) > 0


def test_sample_validators_and_named_stakers_are_in_every_period_file():
    for sample in SAMPLE_CHAINS:
        for period in sample.periods:
            recs = records(SAMPLES / sample.chain / period.file)
            assert {r.validator_key for r in recs} == {v.key for v in sample.validators}
            stakers = {r.staker_address for r in recs if isinstance(r, RewardsRecord)}
            assert set(sample.stakers) <= stakers
            delegators = sum(1 for r in recs if isinstance(r, RewardsRecord) and r.staker_address)
            assert delegators >= len(sample.validators) * sample.delegators_per_validator


def test_sample_periods_are_consecutive_and_listed_in_periods_toml():
    import tomllib

    listed = tomllib.loads((SAMPLES / "periods.toml").read_text(encoding="utf-8"))["periods"]
    for sample in SAMPLE_CHAINS:
        for earlier, later in zip(sample.periods, sample.periods[1:], strict=False):
            assert earlier.end == later.start
        for period in sample.periods:
            assert {
                "chain": sample.chain,
                "period": period.period,
                "start": period.start,
                "end": period.end,
                "file": f"{sample.chain}/{period.file}",
            } in listed
            assert (SAMPLES / sample.chain / period.file).is_file()


def test_readme_names_every_key_and_the_expected_pnl():
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    solana = SOLANA_SAMPLE_VALIDATORS + SOLANA_SAMPLE_STAKERS
    for key in solana + ETHEREUM_SAMPLE_VALIDATORS + ETHEREUM_SAMPLE_STAKERS:
        assert f"`{key}`" in readme
    for sample in SAMPLE_CHAINS:
        for period in sample.periods:
            for pnl in pnl_from_file(SAMPLES / sample.chain / period.file).values():
                row = (
                    f"| {pnl.exec_fees_native} | {pnl.mev_tips_native} | {pnl.vote_rewards_native} "
                    f"| {pnl.commission_native} | {pnl.total_revenue_native} |"
                )
                assert row in readme, f"README P&L table is stale for {sample.chain} {period.period}"


def test_sample_files_are_moderate_in_size():
    total = sum(p.stat().st_size for p in SAMPLES.rglob("*.jsonl"))
    assert total < 3_000_000
    json.loads((SAMPLES / "solana-mainnet" / "epoch-850.jsonl").read_text().splitlines()[0])
