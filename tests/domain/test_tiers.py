"""Rates, tier tables and limits (SPEC §8 step 6)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aurora_cli.domain.money import money_context
from aurora_cli.domain.tiers import (
    TierMode,
    TierStep,
    TierTable,
    apply_limits,
    commission_before_limits,
)

D = Decimal

# The SPEC §7 example table: 10% from 0, 15% from 100 SOL (100_000_000_000 lamports).
SPEC_STEPS = (TierStep(D(0), 1000), TierStep(D(100_000_000_000), 1500))


def marginal(*steps: TierStep) -> TierTable:
    return TierTable(mode="marginal", steps=steps)


def retroactive(*steps: TierStep) -> TierTable:
    return TierTable(mode="retroactive", steps=steps)


class TestFlatRate:
    def test_rate_in_bps(self):
        # 1_234_567 × 1000 / 10000 = 123_456.7 (exact, not rounded yet)
        assert commission_before_limits(D(1_234_567), 1000, None) == D("123456.7")

    def test_fractional_base_stays_exact(self):
        # 0.000000000000000001 × 1 / 10000 = 1E-22
        assert commission_before_limits(D("0.000000000000000001"), 1, None) == D("1E-22")

    def test_needs_a_rate(self):
        with pytest.raises(ValueError):
            commission_before_limits(D(1), None, None)

    def test_rate_out_of_range(self):
        with pytest.raises(ValueError):
            commission_before_limits(D(1), 10001, None)


class TestMarginal:
    def test_below_the_second_step(self):
        # 50 SOL all in the first slice: 50e9 × 10% = 5e9
        assert commission_before_limits(D(50_000_000_000), None, marginal(*SPEC_STEPS)) == D(5_000_000_000)

    def test_across_steps(self):
        # 150 SOL: 100e9 × 10% + 50e9 × 15% = 10e9 + 7.5e9 = 17.5e9
        assert commission_before_limits(D(150_000_000_000), None, marginal(*SPEC_STEPS)) == D(17_500_000_000)

    def test_exactly_at_a_step(self):
        # 100e9: the whole first slice, nothing above -> 10e9
        assert commission_before_limits(D(100_000_000_000), None, marginal(*SPEC_STEPS)) == D(10_000_000_000)

    def test_first_step_above_zero_leaves_the_bottom_slice_free(self):
        # from 100 at 10%, from 1000 at 20%; base 1500:
        # [0,100) earns 0; [100,1000) 900 × 10% = 90; [1000,1500) 500 × 20% = 100 -> 190
        table = marginal(TierStep(D(100), 1000), TierStep(D(1000), 2000))
        assert commission_before_limits(D(1500), None, table) == D(190)
        assert commission_before_limits(D(99), None, table) == D(0)

    def test_tiers_replace_rate_bps(self):
        # rate_bps 5000 is ignored when tiers are given: 150e9 -> 17.5e9 as above
        assert commission_before_limits(D(150_000_000_000), 5000, marginal(*SPEC_STEPS)) == D(17_500_000_000)


class TestRetroactive:
    def test_whole_base_at_the_highest_step_reached(self):
        # 150 SOL reaches the 15% step: 150e9 × 15% = 22.5e9
        assert commission_before_limits(D(150_000_000_000), None, retroactive(*SPEC_STEPS)) == D(
            22_500_000_000
        )
        # 99 SOL stays on 10%: 9.9e9
        assert commission_before_limits(D(99_000_000_000), None, retroactive(*SPEC_STEPS)) == D(9_900_000_000)

    def test_step_is_reached_at_equality(self):
        # 100e9 >= 100e9 -> 15%: 15e9
        assert commission_before_limits(D(100_000_000_000), None, retroactive(*SPEC_STEPS)) == D(
            15_000_000_000
        )

    def test_no_step_reached_earns_nothing(self):
        table = retroactive(TierStep(D(100), 1000))
        assert commission_before_limits(D(99), None, table) == D(0)
        # 100 × 10% = 10
        assert commission_before_limits(D(100), None, table) == D(10)


class TestTierTable:
    def test_steps_must_ascend_strictly(self):
        with pytest.raises(ValueError, match="ascending"):
            marginal(TierStep(D(100), 1000), TierStep(D(100), 1500))
        with pytest.raises(ValueError, match="ascending"):
            marginal(TierStep(D(100), 1000), TierStep(D(50), 1500))

    def test_needs_a_step(self):
        with pytest.raises(ValueError):
            marginal()

    def test_bad_step_values(self):
        with pytest.raises(ValueError):
            TierStep(D(-1), 100)
        with pytest.raises(ValueError):
            TierStep(D(0), 10001)

    def test_mode_accepts_the_enum_and_stores_the_plain_value(self):
        assert TierTable(mode=TierMode.RETROACTIVE, steps=SPEC_STEPS).mode == "retroactive"
        with pytest.raises(ValueError):
            TierTable(mode="stepped", steps=SPEC_STEPS)  # type: ignore[arg-type]

    def test_config_round_trip(self):
        table = marginal(*SPEC_STEPS)
        config = table.to_config()
        assert config == {
            "mode": "marginal",
            "steps": [
                {"from_native": "0", "rate_bps": 1000},
                {"from_native": "100000000000", "rate_bps": 1500},
            ],
        }
        assert TierTable.from_config(config) == table


class TestApplyLimits:
    def test_rounds_down_to_a_whole_unit(self):
        assert apply_limits(D("123456.7"), None, None) == D(123456)

    def test_floor_raises_small_amounts(self):
        assert apply_limits(D("3.2"), D(10), None) == D(10)

    def test_cap_lowers_large_amounts(self):
        # cap 5e9 from the SPEC example
        assert apply_limits(D(17_500_000_000), D(0), D(5_000_000_000)) == D(5_000_000_000)

    def test_fractional_cap_is_rounded_down_too(self):
        assert apply_limits(D(100), None, D("7.9")) == D(7)

    def test_cap_wins_over_a_higher_floor(self):
        # min(max(1, 10), 5) = 5; files refuse floor > cap, this only pins the formula's order
        assert apply_limits(D(1), D(10), D(5)) == D(5)


_amounts = st.decimals(min_value=0, max_value=10**22, places=18, allow_nan=False, allow_infinity=False)


@st.composite
def tier_tables(draw, mode: str, ascending_rates: bool) -> TierTable:
    starts = draw(st.lists(st.integers(min_value=0, max_value=10**21), min_size=1, max_size=6, unique=True))
    rates = draw(
        st.lists(st.integers(min_value=0, max_value=10000), min_size=len(starts), max_size=len(starts))
    )
    if ascending_rates:
        rates.sort()
    return TierTable(
        mode=mode,  # type: ignore[arg-type]
        steps=tuple(TierStep(D(start), rate) for start, rate in zip(sorted(starts), rates, strict=True)),
    )


# Marginal is monotone for any non-negative rates (each slice adds >= 0). Retroactive is monotone
# only with ascending rates: stepping up into a lower rate can reduce the whole commission.
@given(tiers=tier_tables("marginal", ascending_rates=False), a=_amounts, b=_amounts)
def test_marginal_never_decreases_with_base(tiers, a, b):
    low, high = sorted((a, b))
    assert commission_before_limits(low, None, tiers) <= commission_before_limits(high, None, tiers)


@given(tiers=tier_tables("retroactive", ascending_rates=True), a=_amounts, b=_amounts)
def test_retroactive_with_ascending_rates_never_decreases_with_base(tiers, a, b):
    low, high = sorted((a, b))
    assert commission_before_limits(low, None, tiers) <= commission_before_limits(high, None, tiers)


def test_retroactive_with_a_lower_later_rate_can_decrease():
    # Why the property above needs ascending rates: 20% below 100, 10% from 100.
    table = retroactive(TierStep(D(0), 2000), TierStep(D(100), 1000))
    assert commission_before_limits(D(99), None, table) == D("19.8")  # 99 × 20%
    assert commission_before_limits(D(100), None, table) == D(10)  # 100 × 10%


@given(
    tiers=st.one_of(tier_tables("marginal", True), tier_tables("retroactive", True)),
    base=_amounts,
)
def test_tiered_commission_never_exceeds_the_top_rate(tiers, base):
    top = max(step.rate_bps for step in tiers.steps)
    with money_context():  # exact comparison bound; the default 28-digit context would round it
        bound = base * top / 10000
    assert 0 <= commission_before_limits(base, None, tiers) <= bound


@given(
    amount=_amounts,
    floor=st.one_of(st.none(), _amounts),
    cap=st.one_of(st.none(), _amounts),
)
def test_limits_are_respected(amount, floor, cap):
    if floor is not None and cap is not None and floor > cap:
        floor, cap = cap, floor
    result = apply_limits(amount, floor, cap)
    assert result == result.to_integral_value()
    assert result >= 0
    if cap is not None:
        assert result <= cap
    with money_context():  # exact arithmetic for the bounds (18-place amounts exceed 28 digits)
        if floor is not None:
            # Rounding down may take the result below a fractional floor, never by a whole unit.
            assert result > floor - 1
        if (floor is None or amount >= floor) and (cap is None or amount <= cap):
            assert amount - 1 < result <= amount
