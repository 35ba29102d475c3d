"""The commission engine (SPEC §8) on hand-built periods, every number worked out by hand.

Given: the committed config, Solana epochs 850 (starts 2025-09-01T00:00Z) and 851 (starts
2025-09-03T01:12Z), each loaded through the real pipeline (ingest → normalize → compute-pnl) from the
small import file below, and one agreement applied from TOML. When: compute_commissions. Then: the
stored lines, to the native unit.

The epoch, per validator (rewards / commission of each delegator row):

    V1: fees 1000000, MEV 500000, validator-level rewards 20000,
        S1 60000/6000, S2 30000/3000, S3 10000/1000
        → P&L exec 1000000, MEV 500000, vote 20000, commission 6000+3000+1000 = 10000;
          Σ delegator rewards = 100000
    V2: fees 1000000, MEV 0, validator-level rewards 40000,
        S1 5000/250, S4 10000/500
        → P&L exec 1000000, MEV 0, vote 40000, commission 750; Σ delegator rewards = 15000

The partner's clients: S1 at any validator, S2 at V1, S4 at V1 only (S4's stake is at V2, so it never
counts). Partner stakers: V1 → {S1, S2} (rewards 90000, commission 9000); V2 → {S1} (rewards 5000,
commission 250).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from aurora_cli.db.engine import transaction
from aurora_cli.domain.agreement_file import parse_agreement_toml
from aurora_cli.errors import NotFound
from aurora_cli.services import agreements, commissions, pipeline
from aurora_cli.services.config_apply import apply_config, read_config
from tests.validator_keys import solana_key

SOL = "solana-mainnet"
V1 = solana_key("V1")
V2 = solana_key("V2")

CLIENTS = f"""
[[clients]]
chain = "{SOL}"
staker_address = "S1"

[[clients]]
chain = "{SOL}"
staker_address = "S2"
validator_key = "{V1}"

[[clients]]
chain = "{SOL}"
staker_address = "S4"
validator_key = "{V1}"
"""


def no_audit(*_args, **_kwargs) -> None:
    return None


def epoch(*, v1_fees: str = "1000000", v2_fees: str = "1000000", s1_v1_rewards: str = "60000") -> list[dict]:
    def reward(validator: str, staker: str | None, rewards: str, commission: str) -> dict:
        return {
            "data_type": "REWARDS",
            "validator_key": validator,
            "staker_address": staker,
            "rewards_native": rewards,
            "commission_native": commission,
        }

    return [
        {"data_type": "FEES", "validator_key": V1, "total_fees_native": v1_fees, "fee_count": 10},
        {"data_type": "MEV", "validator_key": V1, "total_mev_native": "500000", "tip_count": 5},
        reward(V1, None, "20000", "0"),
        reward(V1, "S1", s1_v1_rewards, "6000"),
        reward(V1, "S2", "30000", "3000"),
        reward(V1, "S3", "10000", "1000"),
        {"data_type": "FEES", "validator_key": V2, "total_fees_native": v2_fees, "fee_count": 10},
        {"data_type": "MEV", "validator_key": V2, "total_mev_native": "0", "tip_count": 0},
        reward(V2, None, "40000", "0"),
        reward(V2, "S1", "5000", "250"),
        reward(V2, "S4", "10000", "500"),
    ]


@pytest.fixture
def world(engine, repo, tmp_path):
    """Config applied, epochs 850 and 851 registered and loaded with the epoch above."""
    with transaction(engine) as session:
        apply_config(session, read_config(repo / "config"))
        session.execute(
            text(
                "INSERT INTO canonical_periods (chain_id, period_identifier, period_start, period_end) VALUES"
                " ('solana-mainnet', '850', '2025-09-01T00:00:00Z', '2025-09-03T01:12:00Z'),"
                " ('solana-mainnet', '851', '2025-09-03T01:12:00Z', '2025-09-05T02:24:00Z')"
            )
        )
    for period in ("850", "851"):
        load(engine, tmp_path, period, epoch())
    return engine


def load(engine, tmp_path: Path, period: str, records: list[dict]) -> None:
    path = tmp_path / f"{period}-{len(list(tmp_path.iterdir()))}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    pipeline.run_ingest_file(engine, no_audit, chain_id=SOL, period=period, path=path, strict=True)
    pipeline.run_normalize(engine, no_audit, chain_id=SOL, period=period)
    pipeline.run_compute_pnl(engine, no_audit, chain_id=SOL, period=period)


def agreement(
    rules: str,
    *,
    partner: str = "Acme",
    name: str = "Acme referral",
    status: str = "ACTIVE",
    effective_from: str = "2025-01-01T00:00:00Z",
    agreement_extra: str = "",
    clients: str = CLIENTS,
) -> str:
    return f"""
[partner]
name = "{partner}"
contact_email = "ops@{partner.lower().replace(" ", "")}.example"

[agreement]
name = "{name}"
status = "{status}"
effective_from = "{effective_from}"
{agreement_extra}
{clients}
{rules}
"""


def rule(
    order: int, component: str, attribution: str, extra: str = "", *, rate_bps: int | None = 1000
) -> str:
    rate = f"rate_bps = {rate_bps}\n" if rate_bps is not None else ""
    return f"""
[[rules]]
order = {order}
chain = "{SOL}"
component = "{component}"
attribution = "{attribution}"
{rate}{extra}
"""


def apply(engine, toml: str) -> agreements.ApplyResult:
    with transaction(engine) as session:
        return agreements.apply_agreement(session, parse_agreement_toml(toml))


def compute(engine, period: str = "850", *, dry_run: bool = False) -> commissions.CommissionResult:
    with transaction(engine) as session:
        return commissions.compute_commissions(session, SOL, period, dry_run=dry_run)


def stored(engine, period: str = "850") -> list[dict]:
    with transaction(engine) as session:
        return commissions.commission_lines(session, SOL, period)


def amounts(engine, period: str = "850") -> dict[tuple[str, int, str | None], tuple[Decimal, Decimal]]:
    """(partner, rule order, validator) -> (base, final amount)."""
    return {
        (line["partner_name"], line["rule_order"], line["validator_key"]): (
            line["base_amount_native"],
            line["final_amount_native"],
        )
        for line in stored(engine, period)
    }


def assert_lines_sum_to_rule_totals(engine, result: commissions.CommissionResult) -> None:
    """SPEC §8 step 7: the allocation never loses or invents a unit."""
    sums: dict[tuple[str, int], Decimal] = {}
    for line in stored(engine, result.period):
        key = (line["partner_name"], line["rule_order"])
        sums[key] = sums.get(key, Decimal(0)) + line["pre_override_amount_native"]
    for outcome in result.rules:
        assert sums.get((outcome.partner_name, outcome.rule_order), Decimal(0)) == outcome.total


# --- attribution methods -------------------------------------------------------------------------


def test_client_revenue_on_commission_and_vote_rewards(world):
    apply(
        world,
        agreement(
            rule(1, "COMMISSION", "CLIENT_REVENUE") + rule(2, "VOTE_REWARDS", "CLIENT_REVENUE", rate_bps=500)
        ),
    )
    result = compute(world)
    assert amounts(world) == {
        # Rule 1, 1000 bps of the partner stakers' commission:
        #   bases V1 = 6000 (S1) + 3000 (S2) = 9000, V2 = 250 (S1; S4 is attributed to V1 only)
        #   T = 9250 × 1000 / 10000 = 925; V1 = 925 × 9000/9250 = 900, V2 = 925 × 250/9250 = 25.
        ("Acme", 1, V1): (Decimal(9000), Decimal(900)),
        ("Acme", 1, V2): (Decimal(250), Decimal(25)),
        # Rule 2, 500 bps of the partner stakers' rewards:
        #   bases V1 = 60000 + 30000 = 90000, V2 = 5000; T = 95000 × 5% = 4750 → 4500 and 250.
        ("Acme", 2, V1): (Decimal(90000), Decimal(4500)),
        ("Acme", 2, V2): (Decimal(5000), Decimal(250)),
    }
    assert [(r.rule_order, r.total) for r in result.rules] == [(1, Decimal(925)), (2, Decimal(4750))]
    assert_lines_sum_to_rule_totals(world, result)


def test_stake_weight_bases_are_exact_and_allocated_by_largest_remainder(world):
    apply(world, agreement(rule(1, "EXEC_FEES", "STAKE_WEIGHT") + rule(2, "MEV_TIPS", "STAKE_WEIGHT")))
    result = compute(world)
    assert amounts(world) == {
        # Rule 1, 1000 bps of fees × w:
        #   V1: w = 90000 / 100000 = 0.9 → base 1000000 × 0.9 = 900000
        #   V2: w = 5000 / 15000 = 1/3 → base 333333.333333333333333333 (half-even at the 18th place)
        #   T_base = 1233333.333333333333333333; × 10% = 123333.33… → rounded down to 123333
        #   shares: V1 123333 × 900000/1233333.33… = 89999.757, V2 = 33333.243 → 89999 + 33333 = 123332;
        #   the one unit left goes to the larger remainder (V1 .757): V1 90000, V2 33333.
        ("Acme", 1, V1): (Decimal(900000), Decimal(90000)),
        ("Acme", 1, V2): (Decimal("333333.333333333333333333"), Decimal(33333)),
        # Rule 2, 1000 bps of MEV × w: V1 500000 × 0.9 = 450000 → 45000; V2 has no MEV: base 0, no line.
        ("Acme", 2, V1): (Decimal(450000), Decimal(45000)),
    }
    assert result.rules[0].total_base == Decimal("1233333.333333333333333333")
    assert_lines_sum_to_rule_totals(world, result)


def test_fixed_share_with_marginal_and_retroactive_tiers(world):
    steps = 'steps = [{ from_native = "0", rate_bps = 1000 }, { from_native = "50000", rate_bps = 2000 }]'
    apply(
        world,
        agreement(
            rule(
                1,
                "VOTE_REWARDS",
                "FIXED_SHARE",
                f'[rules.tiers]\nmode = "marginal"\n{steps}\n',
                rate_bps=None,
            )
            + rule(
                2,
                "VOTE_REWARDS",
                "FIXED_SHARE",
                f'[rules.tiers]\nmode = "retroactive"\n{steps}\n',
                rate_bps=None,
            )
            + rule(
                3,
                "VOTE_REWARDS",
                "FIXED_SHARE",
                '[rules.tiers]\nmode = "retroactive"\n'
                'steps = [{ from_native = "0", rate_bps = 1000 }, { from_native = "100000", rate_bps = 3000 }]\n',
                rate_bps=None,
            ),
            clients="",
        ),
    )
    result = compute(world)
    assert amounts(world) == {
        # Bases: the validators' vote rewards, V1 20000 and V2 40000; T_base = 60000.
        # Marginal: 50000 × 10% + (60000 − 50000) × 20% = 5000 + 2000 = 7000;
        #   shares V1 2333.33, V2 4666.67 → 2333 + 4666 = 6999, the unit left to V2 (.67): 2333 / 4667.
        ("Acme", 1, V1): (Decimal(20000), Decimal(2333)),
        ("Acme", 1, V2): (Decimal(40000), Decimal(4667)),
        # Retroactive: 60000 reached the 50000 step, so all of it at 20% = 12000 → 4000 / 8000.
        ("Acme", 2, V1): (Decimal(20000), Decimal(4000)),
        ("Acme", 2, V2): (Decimal(40000), Decimal(8000)),
        # Retroactive with the upper step out of reach: all 60000 at 10% = 6000 → 2000 / 4000.
        ("Acme", 3, V1): (Decimal(20000), Decimal(2000)),
        ("Acme", 3, V2): (Decimal(40000), Decimal(4000)),
    }
    # Lines show the rate of the step the period total reached, never a rate that was not applied.
    rates = {(line["rule_order"], line["commission_rate_bps"]) for line in stored(world)}
    assert rates == {(1, 2000), (2, 2000), (3, 1000)}
    assert_lines_sum_to_rule_totals(world, result)


# --- limits --------------------------------------------------------------------------------------


def test_cap_and_floor_including_the_floor_line_without_validator(world):
    apply(
        world,
        agreement(
            # 10% of fees 1000000 + 1000000 = 200000, capped at 150000 → 75000 each.
            rule(1, "EXEC_FEES", "FIXED_SHARE", 'cap_native = "150000"\n')
            # V2's MEV is 0: every base is 0, the floor applies → one line, no validator, base 0.
            + rule(2, "MEV_TIPS", "FIXED_SHARE", f'floor_native = "777"\nvalidator_key = "{V2}"\n')
            # 0.1% of MEV 500000 (V1 only) = 500, raised to the floor 1000, all on V1.
            + rule(3, "MEV_TIPS", "FIXED_SHARE", 'floor_native = "1000"\n', rate_bps=10),
            clients="",
        ),
    )
    result = compute(world)
    assert amounts(world) == {
        ("Acme", 1, V1): (Decimal(1000000), Decimal(75000)),
        ("Acme", 1, V2): (Decimal(1000000), Decimal(75000)),
        ("Acme", 2, None): (Decimal(0), Decimal(777)),
        ("Acme", 3, V1): (Decimal(500000), Decimal(1000)),
    }
    assert [(r.rule_order, r.total_base, r.total) for r in result.rules] == [
        (1, Decimal(2000000), Decimal(150000)),
        (2, Decimal(0), Decimal(777)),
        (3, Decimal(500000), Decimal(1000)),
    ]
    assert_lines_sum_to_rule_totals(world, result)


# --- which agreements, versions and rules --------------------------------------------------------


def test_each_period_uses_the_version_in_force_at_its_start(world):
    fees = rule(1, "EXEC_FEES", "FIXED_SHARE")
    apply(world, agreement(fees))  # version 1: 1000 bps from 2025-01-01
    # Version 2 (2000 bps) starts between the starts of 850 (09-01) and 851 (09-03 01:12).
    changed = apply(
        world,
        agreement(
            fees.replace("rate_bps = 1000", "rate_bps = 2000"),
            agreement_extra='version_effective_from = "2025-09-02T00:00:00Z"',
        ),
    )
    assert changed.new_version == 2
    compute(world, "850")
    compute(world, "851")
    # 850: 10% of 1000000 per validator; 851: 20%.
    assert {(k[2], v[1]) for k, v in amounts(world, "850").items()} == {
        (V1, Decimal(100000)),
        (V2, Decimal(100000)),
    }
    assert {(k[2], v[1]) for k, v in amounts(world, "851").items()} == {
        (V1, Decimal(200000)),
        (V2, Decimal(200000)),
    }
    assert {line["agreement_version"] for line in stored(world, "850")} == {1}
    assert {line["agreement_version"] for line in stored(world, "851")} == {2}
    assert {line["commission_rate_bps"] for line in stored(world, "851")} == {2000}


def test_clients_follow_the_version_in_force(world):
    commission = rule(1, "COMMISSION", "CLIENT_REVENUE")
    apply(world, agreement(commission))
    # Version 2 drops S1 from 2025-09-02: 851 counts only S2 at V1.
    only_s2 = f'[[clients]]\nchain = "{SOL}"\nstaker_address = "S2"\nvalidator_key = "{V1}"\n'
    apply(
        world,
        agreement(
            commission, clients=only_s2, agreement_extra='version_effective_from = "2025-09-02T00:00:00Z"'
        ),
    )
    compute(world, "850")
    compute(world, "851")
    # 850 (version 1): as in the CLIENT_REVENUE case, 900 + 25.
    assert amounts(world, "850") == {
        ("Acme", 1, V1): (Decimal(9000), Decimal(900)),
        ("Acme", 1, V2): (Decimal(250), Decimal(25)),
    }
    # 851 (version 2): S2's commission 3000 × 10% = 300 at V1; nothing at V2.
    assert amounts(world, "851") == {("Acme", 1, V1): (Decimal(3000), Decimal(300))}


def test_draft_suspended_future_and_expired_agreements_and_other_chains_are_ignored(world):
    fees = rule(1, "EXEC_FEES", "FIXED_SHARE")
    apply(world, agreement(fees, partner="Drafty", name="draft", status="DRAFT"))
    apply(world, agreement(fees, partner="Paused", name="paused", status="SUSPENDED"))
    # Starts after 850's start (2025-09-01T00:00Z) but before 851's.
    apply(world, agreement(fees, partner="Later", name="later", effective_from="2025-09-02T00:00:00Z"))
    # Ended exactly at 850's start: [from, until) does not contain it.
    apply(
        world,
        agreement(
            fees, partner="Gone", name="gone", agreement_extra='effective_until = "2025-09-01T00:00:00Z"'
        ),
    )
    # A rule for another chain is skipped; a rule with no chain applies to every chain.
    other_chain = rule(1, "EXEC_FEES", "FIXED_SHARE").replace(SOL, "ethereum-mainnet")
    any_chain = rule(2, "EXEC_FEES", "FIXED_SHARE", rate_bps=100).replace(f'chain = "{SOL}"\n', "")
    apply(world, agreement(other_chain + any_chain, partner="Both", name="both"))

    result = compute(world, "850")
    assert {(k[0], k[1]) for k in amounts(world, "850")} == {("Both", 2)}
    assert result.agreements == 1
    compute(world, "851")
    assert {(k[0], k[1]) for k in amounts(world, "851")} == {("Both", 2), ("Later", 1)}


def test_no_validator_pnl_is_refused(world):
    with transaction(world) as session:
        session.execute(
            text(
                "INSERT INTO canonical_periods (chain_id, period_identifier, period_start, period_end)"
                " VALUES ('solana-mainnet', '852', '2025-09-05T02:24:00Z', '2025-09-07T03:36:00Z')"
            )
        )
    with pytest.raises(NotFound, match="no validator P&L"):
        compute(world, "852")


# --- recompute -----------------------------------------------------------------------------------


def line_state(engine, period: str = "850") -> list[tuple]:
    with transaction(engine) as session:
        return session.execute(
            text(
                "SELECT line_id, validator_key, base_amount_native, pre_override_amount_native,"
                " final_amount_native, computed_at FROM partner_commission_lines l"
                " JOIN canonical_periods p USING (period_id) WHERE p.period_identifier = :p"
                " ORDER BY line_id"
            ),
            {"p": period},
        ).all()


def test_recompute_on_identical_inputs_changes_nothing(world):
    apply(world, agreement(rule(1, "EXEC_FEES", "STAKE_WEIGHT") + rule(2, "COMMISSION", "CLIENT_REVENUE")))
    first = compute(world)
    before = line_state(world)
    second = compute(world)
    assert line_state(world) == before  # same ids, amounts and even computed_at
    assert first.count("added") == 4 and second.changes == [] and second.unchanged == 4


def set_override(engine, validator: str, rule_order: int, amount: str) -> None:
    with transaction(engine) as session:
        session.execute(
            text(
                """
                UPDATE partner_commission_lines l
                SET override_amount_native = :amount, override_reason = 'negotiated',
                    override_timestamp = now(), final_amount_native = :amount
                FROM agreement_rules r
                WHERE r.rule_id = l.rule_id AND r.rule_order = :order AND l.validator_key = :validator
                """
            ),
            {"amount": Decimal(amount), "order": rule_order, "validator": validator},
        )


def test_an_override_is_carried_to_the_recomputed_line(world, tmp_path):
    apply(world, agreement(rule(1, "EXEC_FEES", "FIXED_SHARE")))
    compute(world)
    set_override(world, V1, 1, "12345")
    line_id = next(line["line_id"] for line in stored(world) if line["validator_key"] == V1)

    load(world, tmp_path, "850", epoch(v1_fees="3000000"))  # V1's fees triple
    result = compute(world)

    line = next(line for line in stored(world) if line["validator_key"] == V1)
    # Same line, new pre-override amount (10% of 3000000), the override still decides the final amount.
    assert line["line_id"] == line_id
    assert line["pre_override_amount_native"] == Decimal(300000)
    assert line["override_amount_native"] == Decimal(12345)
    assert line["final_amount_native"] == Decimal(12345)
    assert line["override_reason"] == "negotiated"
    [change] = result.changes
    assert (change.change, change.old_amount, change.new_amount) == (
        "changed",
        Decimal(12345),
        Decimal(12345),
    )


def test_an_override_on_a_line_that_no_longer_arises_is_dropped_and_reported(world, tmp_path):
    apply(world, agreement(rule(1, "EXEC_FEES", "FIXED_SHARE")))
    compute(world)
    set_override(world, V2, 1, "5")
    load(world, tmp_path, "850", epoch(v2_fees="0"))  # V2 earns no fees any more: its base is 0
    result = compute(world)
    assert set(amounts(world)) == {("Acme", 1, V1)}
    [dropped] = result.dropped_overrides
    assert (dropped.validator_key, dropped.override_amount) == (V2, Decimal(5))
    assert result.summary()["dropped_overrides"][0]["override_amount_native"] == "5"


def insert_statement(engine, partner: str, status: str, period: str = "850") -> None:
    with transaction(engine) as session:
        session.execute(
            text(
                """
                INSERT INTO partner_commission_statements
                    (partner_id, chain_id, period_id, total_commission_native, line_count, status)
                SELECT p.partner_id, 'solana-mainnet', cp.period_id, 0, 0, CAST(:status AS statement_status)
                FROM partners p, canonical_periods cp
                WHERE p.partner_name = :partner AND cp.period_identifier = :period
                """
            ),
            {"partner": partner, "status": status, "period": period},
        )


def test_a_locked_partner_keeps_its_lines_while_a_draft_one_is_recomputed(world, tmp_path):
    fees = rule(1, "EXEC_FEES", "FIXED_SHARE")
    apply(world, agreement(fees, partner="Locked", name="locked"))
    apply(world, agreement(fees, partner="Drafting", name="drafting"))
    compute(world)
    insert_statement(world, "Locked", "PENDING_APPROVAL")
    insert_statement(world, "Drafting", "DRAFT")
    locked_before = [line for line in stored(world) if line["partner_name"] == "Locked"]

    load(world, tmp_path, "850", epoch(v1_fees="3000000"))
    result = compute(world)

    assert [line for line in stored(world) if line["partner_name"] == "Locked"] == locked_before
    drafting = {
        line["validator_key"]: line["final_amount_native"]
        for line in stored(world)
        if line["partner_name"] == "Drafting"
    }
    assert drafting == {V1: Decimal(300000), V2: Decimal(100000)}
    [locked] = result.locked_partners
    assert (locked.partner_name, locked.statement_status, locked.stored_lines, locked.recompute_differs) == (
        "Locked",
        "PENDING_APPROVAL",
        2,
        True,
    )
    # The DRAFT statement row is left for `statements generate` to recompute.
    with transaction(world) as session:
        assert session.execute(
            text(
                "SELECT status::text, total_commission_native FROM partner_commission_statements s"
                " JOIN partners p USING (partner_id) WHERE p.partner_name = 'Drafting'"
            )
        ).one() == ("DRAFT", Decimal(0))


def test_no_lines_are_written_for_a_partner_locked_before_its_first_compute(world):
    apply(world, agreement(rule(1, "EXEC_FEES", "FIXED_SHARE")))
    apply(world, agreement(rule(1, "EXEC_FEES", "FIXED_SHARE"), partner="Early", name="early"))
    insert_statement(world, "Early", "APPROVED")
    result = compute(world)
    assert {k[0] for k in amounts(world)} == {"Acme"}
    assert [(p.partner_name, p.stored_lines, p.recompute_differs) for p in result.locked_partners] == [
        ("Early", 0, True)
    ]


def test_dry_run_reports_the_difference_and_writes_nothing(world, tmp_path):
    apply(world, agreement(rule(1, "EXEC_FEES", "FIXED_SHARE")))
    preview = compute(world, dry_run=True)
    assert stored(world) == []
    assert [(c.change, c.validator_key, c.new_amount) for c in preview.changes] == [
        ("added", V1, Decimal(100000)),
        ("added", V2, Decimal(100000)),
    ]
    compute(world)
    before = line_state(world)
    load(world, tmp_path, "850", epoch(v1_fees="3000000", v2_fees="0"))
    preview = compute(world, dry_run=True)
    assert line_state(world) == before
    assert [(c.change, c.validator_key, c.old_amount, c.new_amount) for c in preview.changes] == [
        ("changed", V1, Decimal(100000), Decimal(300000)),
        ("removed", V2, Decimal(100000), None),
    ]
