"""The money module: exact rounding, strict parsing and plain rendering of amounts."""

from __future__ import annotations

from decimal import Decimal, Inexact

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aurora_cli.domain.money import (
    floor_to_unit,
    is_whole_units,
    money_context,
    parse_amount,
    pro_rata_quantize_18,
    quantize_18,
    to_display,
    to_plain_string,
)

D = Decimal


class TestQuantize18:
    def test_rounds_half_to_even_at_the_18th_place(self):
        # ...0000000000000000005 at the 19th place is an exact tie: keep the even 18th digit.
        assert quantize_18(D("0.0000000000000000005")) == D("0")
        assert quantize_18(D("0.0000000000000000015")) == D("0.000000000000000002")
        assert quantize_18(D("0.0000000000000000025")) == D("0.000000000000000002")
        assert quantize_18(D("0.00000000000000000251")) == D("0.000000000000000003")

    def test_keeps_large_amounts_exact(self):
        # 20 integer digits + 18 decimals = NUMERIC(38,18), beyond the default 28-digit context.
        value = D("12345678901234567890.123456789012345678")
        assert quantize_18(value) == value

    def test_refuses_floats(self):
        with pytest.raises(TypeError):
            quantize_18(0.1)  # type: ignore[arg-type]


class TestProRata:
    def test_exact_tie_rounds_to_even(self):
        # 7e-18 × 1 / 14 = 0.5e-18 exactly: half-even gives 0. Rounding 1/14 to any finite number of
        # digits first would land just above or below the tie instead.
        assert pro_rata_quantize_18(D("0.000000000000000007"), D(1), D(14)) == D(0)
        # 21e-18 / 14 = 1.5e-18 -> 2e-18 (even)
        assert pro_rata_quantize_18(D("0.000000000000000021"), D(1), D(14)) == D("0.000000000000000002")

    def test_one_third(self):
        # 1000 × 1/3 = 333.333333333333333333|33... -> 18 places
        assert pro_rata_quantize_18(D(1000), D(1), D(3)) == D("333.333333333333333333")

    def test_zero_whole_is_refused(self):
        with pytest.raises(ZeroDivisionError):
            pro_rata_quantize_18(D(1), D(1), D(0))


class TestFloorToUnit:
    def test_rounds_down(self):
        assert floor_to_unit(D("10.999999999999999999")) == D(10)
        assert floor_to_unit(D("10")) == D(10)
        assert floor_to_unit(D("0.5")) == D(0)

    def test_result_is_whole(self):
        assert floor_to_unit(D("123.45")).as_tuple().exponent == 0

    def test_refuses_negative(self):
        with pytest.raises(ValueError, match="negative"):
            floor_to_unit(D("-1.5"))

    @given(st.decimals(min_value=0, max_value=10**20, places=18, allow_nan=False, allow_infinity=False))
    def test_never_above_and_within_one_unit(self, value):
        floored = floor_to_unit(value)
        assert floored <= value < floored + 1
        assert is_whole_units(floored)


class TestPlainString:
    @pytest.mark.parametrize(
        ("value", "text"),
        [
            (D("1E+3"), "1000"),
            (D("1.500000000000000000"), "1.5"),
            (D("0E-18"), "0"),
            (D("-0"), "0"),
            (D("5000000000.000000000000000000"), "5000000000"),
            (D("0.000000000000000001"), "0.000000000000000001"),
            (D("12345678901234567890.123456789012345678"), "12345678901234567890.123456789012345678"),
            (D("-2.50"), "-2.5"),
            (D(100), "100"),
        ],
    )
    def test_renders_without_exponent_or_trailing_zeros(self, value, text):
        assert to_plain_string(value) == text

    # The largest NUMERIC(38,18) value: 20 nines before the point, 18 after.
    @given(st.decimals(min_value=0, max_value=D("9" * 20 + "." + "9" * 18), places=18))
    def test_round_trips_through_parse_amount(self, value):
        assert parse_amount(to_plain_string(value)) == value


class TestToDisplay:
    def test_lamports_to_sol(self):
        # 1_250_000_000 lamports / 10^9 = 1.25 SOL
        assert to_display(D(1250000000), 9) == D("1.25")

    def test_one_wei_is_exact(self):
        assert to_display(D(1), 18) == D("0.000000000000000001")

    def test_large_wei_amount_is_exact(self):
        # 38 significant digits would be rounded by the default 28-digit context.
        assert to_display(D("12345678901234567890123456789012345678"), 18) == D(
            "12345678901234567890.123456789012345678"
        )

    def test_refuses_bad_decimals(self):
        with pytest.raises(ValueError):
            to_display(D(1), -1)


class TestParseAmount:
    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("0", D(0)),
            ("1250000000", D(1250000000)),
            ("0.5", D("0.5")),
            ("007", D(7)),
            ("12345678901234567890.123456789012345678", D("12345678901234567890.123456789012345678")),
            (42, D(42)),
        ],
    )
    def test_accepts_plain_decimals(self, text, value):
        assert parse_amount(text) == value

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("-1", "negative"),
            (-1, "negative"),
            ("NaN", "not a finite number"),
            ("Infinity", "not a finite number"),
            ("-inf", "not a finite number"),
            (1.5, "float"),
            (True, "boolean"),
            ("1e9", "exponent"),
            ("1E+3", "exponent"),
            ("1,000", "separators"),
            ("1_000", "separators"),
            (" 1", "spaces"),
            ("", "empty"),
            ("+1", "not a plain decimal"),
            (".5", "not a plain decimal"),
            ("5.", "not a plain decimal"),
            ("abc", "not a plain decimal"),
            ("0.0000000000000000001", "more than 18 decimal places"),
            ("123456789012345678901", "more than 20 integer digits"),
            (None, "decimal string"),
            (D("1"), "decimal string"),
        ],
    )
    def test_refuses_with_reason(self, text, reason):
        with pytest.raises(ValueError, match=reason):
            parse_amount(text)


def test_money_context_traps_silent_rounding():
    # Intermediate money arithmetic must be exact; a result that needs rounding is a bug to surface.
    with money_context(), pytest.raises(Inexact):
        D(1) / D(3)
    with money_context():
        # 38-digit amount × 10000 bps stays exact at 80 digits.
        assert D("12345678901234567890.123456789012345678") * 10000 / 10000 == D(
            "12345678901234567890.123456789012345678"
        )
