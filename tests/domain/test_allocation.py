"""Largest-remainder allocation: whole units, exact sum, ties to the smaller key (SPEC §8 step 7)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aurora_cli.domain.allocation import allocate_largest_remainder
from aurora_cli.domain.money import money_context

D = Decimal


def test_even_split_has_no_remainder():
    # 100 over weights 1:1:2 -> 25, 25, 50 exactly
    assert allocate_largest_remainder(D(100), {"A": D(1), "B": D(1), "C": D(2)}) == {
        "A": D(25),
        "B": D(25),
        "C": D(50),
    }


def test_leftover_units_go_to_the_largest_remainders():
    # 7 over weights 5:3:2 -> exact shares 3.5, 2.1, 1.4 -> floors 3, 2, 1 (sum 6);
    # 1 unit left -> largest remainder (.5) -> A
    assert allocate_largest_remainder(D(7), {"A": D(5), "B": D(3), "C": D(2)}) == {
        "A": D(4),
        "B": D(2),
        "C": D(1),
    }


def test_ties_go_to_the_lexicographically_smaller_key():
    # 1 unit over three equal weights: each 1/3, all remainders equal -> "V1" (smallest key) gets it.
    assert allocate_largest_remainder(D(1), {"V3": D(1), "V1": D(1), "V2": D(1)}) == {
        "V1": D(1),
        "V2": D(0),
        "V3": D(0),
    }
    # 2 units: remainders all 2/3 -> V1 and V2
    assert allocate_largest_remainder(D(2), {"V3": D(1), "V1": D(1), "V2": D(1)}) == {
        "V1": D(1),
        "V2": D(1),
        "V3": D(0),
    }


def test_fractional_weights_are_exact():
    # weights 0.000000000000000001 and 0.000000000000000002 (1:2), total 3 -> 1 and 2
    result = allocate_largest_remainder(
        D(3), {"A": D("0.000000000000000001"), "B": D("0.000000000000000002")}
    )
    assert result == {"A": D(1), "B": D(2)}


def test_zero_weight_gets_zero():
    # 5 over 1:0:1 -> 2.5, 0, 2.5 -> floors 2, 0, 2; 1 left, tie between A and C -> A
    assert allocate_largest_remainder(D(5), {"A": D(1), "Z": D(0), "C": D(1)}) == {
        "A": D(3),
        "C": D(2),
        "Z": D(0),
    }


def test_zero_total_over_zero_weights_is_all_zero():
    assert allocate_largest_remainder(D(0), {"A": D(0)}) == {"A": D(0)}


def test_positive_total_over_zero_weights_is_refused():
    with pytest.raises(ValueError, match="all zero"):
        allocate_largest_remainder(D(5), {"A": D(0), "B": D(0)})
    with pytest.raises(ValueError, match="all zero"):
        allocate_largest_remainder(D(5), {})


@pytest.mark.parametrize(
    ("total", "weights"),
    [
        (D(-1), {"A": D(1)}),
        (D("1.5"), {"A": D(1)}),
        (D(1), {"A": D(-1), "B": D(2)}),
    ],
)
def test_refuses_bad_input(total, weights):
    with pytest.raises(ValueError):
        allocate_largest_remainder(total, weights)


def test_huge_totals_stay_exact():
    # 38-digit total split 1:2 — beyond the default 28-digit context.
    total = D("99999999999999999999999999999999999999")
    result = allocate_largest_remainder(total, {"A": D(1), "B": D(2)})
    assert result == {
        "A": D("33333333333333333333333333333333333333"),
        "B": D("66666666666666666666666666666666666666"),
    }


_weights = st.dictionaries(
    keys=st.text(alphabet="ABCDEFGHV0123456789", min_size=1, max_size=4),
    values=st.decimals(min_value=0, max_value=10**20, places=18, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=12,
).filter(lambda w: any(v > 0 for v in w.values()))


@given(total=st.integers(min_value=0, max_value=10**24), weights=_weights)
def test_allocation_properties(total, weights):
    result = allocate_largest_remainder(D(total), weights)
    assert list(result) == sorted(weights)
    with money_context():  # an exact sum, whatever the number of digits
        assert sum(result.values()) == total
    weight_sum = sum(Fraction(w) for w in weights.values())
    for key, amount in result.items():
        assert amount >= 0
        assert amount == amount.to_integral_value()
        exact = Fraction(total) * Fraction(weights[key]) / weight_sum
        assert abs(Fraction(amount) - exact) < 1
        if weights[key] == 0:
            assert amount == 0


@given(total=st.integers(min_value=1, max_value=1000), count=st.integers(min_value=2, max_value=8))
def test_equal_weights_favour_smaller_keys(total, count):
    keys = [f"V{i}" for i in range(count)]
    result = allocate_largest_remainder(D(total), dict.fromkeys(reversed(keys), D(1)))
    amounts = [result[key] for key in keys]
    # Sorted keys receive non-increasing amounts and differ by at most one unit.
    assert amounts == sorted(amounts, reverse=True)
    assert max(amounts) - min(amounts) <= 1
