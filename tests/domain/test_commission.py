"""One rule's commission from bases to lines, and base attribution (SPEC §8 steps 5-7)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aurora_cli.domain.commission import (
    AttributionMethod,
    RevenueComponent,
    RuleLine,
    attributed_base,
    compute_rule,
    stake_weight,
)
from aurora_cli.domain.money import money_context
from aurora_cli.domain.tiers import TierStep, TierTable

D = Decimal


class TestComputeRule:
    def test_flat_rate_split_by_largest_remainder(self):
        # T_base = 1_000_000_000 + 333_333_333 + 0 = 1_333_333_333
        # 10%: 133_333_333.3 -> rounded down: T = 133_333_333
        # V1: 133_333_333 × 1e9 / 1_333_333_333       = 99_999_999.775 -> 99_999_999 (rem .775)
        # V2: 133_333_333 × 333_333_333 / 1_333_333_333 = 33_333_333.225 -> 33_333_333 (rem .225)
        # floors sum to 133_333_332; the 1 unit left goes to the largest remainder, V1.
        # V3 has base 0: no line.
        result = compute_rule(
            {"V2": D(333_333_333), "V3": D(0), "V1": D(1_000_000_000)}, 1000, None, None, None
        )
        assert result.total_base == D(1_333_333_333)
        assert result.before_limits == D("133333333.3")
        assert result.total == D(133_333_333)
        assert result.lines == (
            RuleLine("V1", D(1_000_000_000), D(100_000_000)),
            RuleLine("V2", D(333_333_333), D(33_333_333)),
        )

    def test_cap_limits_the_total(self):
        # 150e9 base, SPEC tiers marginal: 100e9 × 10% + 50e9 × 15% = 17.5e9, capped at 5e9;
        # split 2:1 -> 3_333_333_333.33 / 1_666_666_666.67 -> floors 3_333_333_333 + 1_666_666_666,
        # 1 unit left -> larger remainder (.67) -> V2
        tiers = TierTable("marginal", (TierStep(D(0), 1000), TierStep(D(100_000_000_000), 1500)))
        result = compute_rule(
            {"V1": D(100_000_000_000), "V2": D(50_000_000_000)}, None, tiers, D(0), D(5_000_000_000)
        )
        assert result.before_limits == D(17_500_000_000)
        assert result.total == D(5_000_000_000)
        assert [line.amount for line in result.lines] == [D(3_333_333_333), D(1_666_666_667)]

    def test_floor_with_no_base_is_one_line_without_validator(self):
        # every base 0 -> before limits 0 -> floor 1000 -> one NULL-validator line carries it
        result = compute_rule({"V1": D(0), "V2": D(0)}, 1000, None, D(1000), None)
        assert result.total == D(1000)
        assert result.lines == (RuleLine(None, D(0), D(1000)),)

    def test_floor_with_no_validators_is_one_line_without_validator(self):
        result = compute_rule({}, 1000, None, D("2500.9"), None)
        # the floor is rounded down like any commission: 2500
        assert result.lines == (RuleLine(None, D(0), D(2500)),)

    def test_no_base_and_no_floor_writes_nothing(self):
        result = compute_rule({"V1": D(0)}, 1000, None, None, None)
        assert result.total == D(0)
        assert result.lines == ()

    def test_zero_floor_with_no_base_writes_nothing(self):
        assert compute_rule({"V1": D(0)}, 1000, None, D(0), None).lines == ()

    def test_floor_is_spread_over_positive_bases(self):
        # bases 1 and 3, 10% = 0.4 -> floor 100 -> split 1:3 = 25 and 75
        result = compute_rule({"V1": D(1), "V2": D(3)}, 1000, None, D(100), None)
        assert [(line.validator_key, line.amount) for line in result.lines] == [("V1", D(25)), ("V2", D(75))]

    def test_positive_base_earning_nothing_still_gets_a_line(self):
        # 10% of 9 = 0.9 -> 0: the line shows the base and a zero amount
        result = compute_rule({"V1": D(9)}, 1000, None, None, None)
        assert result.lines == (RuleLine("V1", D(9), D(0)),)

    def test_fractional_bases(self):
        # 0.5 + 0.25 = 0.75 at 100% = 0.75 -> 0
        result = compute_rule({"V1": D("0.5"), "V2": D("0.25")}, 10000, None, None, None)
        assert result.total_base == D("0.75")
        assert result.total == D(0)

    def test_negative_base_is_refused(self):
        with pytest.raises(ValueError):
            compute_rule({"V1": D(-1)}, 1000, None, None, None)


_bases = st.dictionaries(
    keys=st.sampled_from([f"V{i}" for i in range(10)]),
    values=st.one_of(
        st.just(D(0)),
        st.decimals(min_value=0, max_value=10**21, places=18, allow_nan=False, allow_infinity=False),
    ),
    max_size=10,
)
_limit = st.one_of(st.none(), st.integers(min_value=0, max_value=10**20).map(D))


@given(bases=_bases, rate=st.integers(min_value=0, max_value=10000), floor=_limit, cap=_limit)
def test_rule_properties(bases, rate, floor, cap):
    if floor is not None and cap is not None and floor > cap:
        floor, cap = cap, floor
    result = compute_rule(bases, rate, None, floor, cap)
    with money_context():  # an exact sum, whatever the number of digits
        assert sum(line.amount for line in result.lines) == result.total
    assert result.total == result.total.to_integral_value()
    if cap is not None:
        assert result.total <= cap
    if floor is not None:
        assert result.total >= floor  # integer limits: rounding down cannot undercut them
    keys = [line.validator_key for line in result.lines]
    if any(base > 0 for base in bases.values()):
        assert keys == sorted(key for key, base in bases.items() if base > 0)
        assert all(line.base > 0 and line.amount >= 0 for line in result.lines)
    else:
        assert keys == ([None] if result.total > 0 else [])


class TestAttributedBase:
    def _base(self, method, component, **amounts):
        values = {
            "component_amount": D(0),
            "partner_commission": D(0),
            "partner_rewards": D(0),
            "all_staker_rewards": D(0),
        }
        values.update(amounts)
        return attributed_base(method, component, **values)

    def test_fixed_share_is_the_component(self):
        assert self._base("FIXED_SHARE", "MEV_TIPS", component_amount=D(830_000_000)) == D(830_000_000)

    def test_stake_weight_scales_by_partner_share_of_rewards(self):
        # w = 1e9 / 3e9 = 1/3; 830_000_000 / 3 = 276_666_666.666…, half-even at 18 places -> …667
        base = self._base(
            AttributionMethod.STAKE_WEIGHT,
            RevenueComponent.MEV_TIPS,
            component_amount=D(830_000_000),
            partner_rewards=D(1_000_000_000),
            all_staker_rewards=D(3_000_000_000),
        )
        assert base == D("276666666.666666666666666667")

    def test_stake_weight_tie_rounds_to_even(self):
        # X = 7e-18, w = 1/14: X × w = 0.5e-18 exactly -> 0 (even), decided on the exact product
        base = self._base(
            "STAKE_WEIGHT",
            "EXEC_FEES",
            component_amount=D("0.000000000000000007"),
            partner_rewards=D(1),
            all_staker_rewards=D(14),
        )
        assert base == D(0)

    def test_stake_weight_with_no_delegator_rewards_is_zero(self):
        assert self._base("STAKE_WEIGHT", "EXEC_FEES", component_amount=D(5), partner_rewards=D(0)) == D(0)

    def test_client_revenue_commission_is_partner_stakers_commission(self):
        base = self._base(
            "CLIENT_REVENUE", "COMMISSION", component_amount=D(999), partner_commission=D(50_000_000)
        )
        assert base == D(50_000_000)

    def test_client_revenue_vote_rewards_is_partner_stakers_rewards(self):
        base = self._base(
            "CLIENT_REVENUE", "VOTE_REWARDS", component_amount=D(999), partner_rewards=D(1_000_000_000)
        )
        assert base == D(1_000_000_000)

    @pytest.mark.parametrize("component", ["EXEC_FEES", "MEV_TIPS"])
    def test_client_revenue_without_per_client_data_is_refused(self, component):
        with pytest.raises(ValueError, match="CLIENT_REVENUE"):
            self._base("CLIENT_REVENUE", component, component_amount=D(1))

    def test_base_has_18_places(self):
        assert self._base("FIXED_SHARE", "EXEC_FEES", component_amount=D(5)).as_tuple().exponent == -18

    def test_unknown_method_is_refused(self):
        with pytest.raises(ValueError):
            self._base("REVENUE_SHARE", "EXEC_FEES")


def test_stake_weight():
    # 1 / 3 at 18 places
    assert stake_weight(D(1), D(3)) == D("0.333333333333333333")
    assert stake_weight(D(2), D(2)) == D(1)
    assert stake_weight(D(5), D(0)) == D(0)
