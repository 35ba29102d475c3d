"""The one money module: how Aurora holds, rounds, parses and renders amounts.

Amounts are `decimal.Decimal` in native base units (lamports, wei) from the provider response to the
exported statement (SPEC §1). This module owns the arithmetic context, the only two rounding rules
the commission engine uses (half-even at 18 decimal places for bases, down to a whole native unit for
commissions), the strict parser for amount text and the plain-string rendering used by JSON, CSV and
terms snapshots.

It must never touch a float, the database, the network or the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from fractions import Fraction

Amount = Decimal
"""An amount of money in native base units; always a finite, exact Decimal."""

# NUMERIC(38,18) holds 38 significant digits; 80 leaves room for products of two such numbers
# (base × rate, rewards × component) without any digit being dropped.
MONEY_PRECISION = 80

# Inexact is trapped: intermediate money arithmetic (sums, base × bps / 10000, unit scaling) is exact
# by construction, so an operation that would silently drop a digit is a bug we want to hear about.
# Rounding happens only where the SPEC says so, through quantize_18 / floor_to_unit below.
MONEY_CONTEXT = Context(
    prec=MONEY_PRECISION,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)

# Used only by the explicit rounding functions: quantize must be allowed to drop digits.
_ROUNDING_CONTEXT = Context(
    prec=MONEY_PRECISION, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, Overflow]
)

BASE_DECIMAL_PLACES = 18
_EIGHTEEN_PLACES = Decimal(1).scaleb(-BASE_DECIMAL_PLACES)
_ONE_UNIT = Decimal(1)

# NUMERIC(38,18): at most 20 digits before the point and 18 after.
MAX_INTEGER_DIGITS = 38 - BASE_DECIMAL_PLACES
MAX_FRACTION_DIGITS = BASE_DECIMAL_PLACES

# ASCII digits only: `\d` would also accept other scripts' digits.
_PLAIN_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_NON_FINITE_WORDS = {"nan", "snan", "inf", "infinity"}


@contextmanager
def money_context() -> Iterator[Context]:
    """Run a block under the exact money context (80 digits, Inexact trapped)."""
    with localcontext(MONEY_CONTEXT) as ctx:
        yield ctx


def as_amount(value: object, what: str = "amount") -> Decimal:
    """Return `value` as a finite Decimal; ints are accepted, floats and bools never are."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"{what} must be a Decimal, not {type(value).__name__}")
    if isinstance(value, int):
        return Decimal(value)
    if not isinstance(value, Decimal):
        raise TypeError(f"{what} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{what} must be a finite number, got {value}")
    return value


def quantize_18(x: Decimal) -> Decimal:
    """Round half-even at the 18th decimal place (SPEC §8 step 5: bases)."""
    return as_amount(x).quantize(_EIGHTEEN_PLACES, rounding=ROUND_HALF_EVEN, context=_ROUNDING_CONTEXT)


def pro_rata_quantize_18(amount: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """`amount × part / whole` rounded half-even at the 18th decimal place, decided exactly.

    A ratio such as a stake weight rarely terminates; rounding the ratio first and the product later
    can turn an exact tie at the 19th place into a near-tie on the wrong side. Fractions keep the
    whole value exact, so the single rounding is the one the SPEC asks for.
    """
    exact = Fraction(as_amount(amount)) * Fraction(as_amount(part, "part"))
    denominator = Fraction(as_amount(whole, "whole"))
    if denominator == 0:
        raise ZeroDivisionError("whole is zero")
    # round() on a Fraction rounds half to even.
    scaled = round(exact / denominator * 10**BASE_DECIMAL_PLACES)
    return Decimal(scaled).scaleb(-BASE_DECIMAL_PLACES, context=MONEY_CONTEXT)


def floor_to_unit(x: Decimal) -> Decimal:
    """Round down to a whole native unit (SPEC §8 step 6: a commission never exceeds its terms)."""
    value = as_amount(x)
    if value < 0:
        # Amounts are never negative (seed CHECK amount >= 0); rounding "down" a negative would be
        # ambiguous (toward zero or toward -inf), so refuse rather than guess.
        raise ValueError(f"amount must not be negative, got {to_plain_string(value)}")
    return value.quantize(_ONE_UNIT, rounding=ROUND_DOWN, context=_ROUNDING_CONTEXT)


def is_whole_units(x: Decimal) -> bool:
    """True when `x` is a whole number of native units (any number of trailing zero decimals)."""
    value = as_amount(x)
    return value == value.to_integral_value(rounding=ROUND_DOWN, context=_ROUNDING_CONTEXT)


def to_plain_string(x: Decimal) -> str:
    """Render as a plain decimal string: no exponent, no separators, no trailing zeros.

    Decimal('1E+3') -> '1000', Decimal('1.500000000000000000') -> '1.5', Decimal('0E-18') -> '0'.
    Exact for any number of digits (no context precision is involved).
    """
    value = as_amount(x)
    if value == 0:
        return "0"  # also folds -0 and 0E-18
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def to_display(native: Decimal, decimals: int) -> Decimal:
    """Native base units -> display units (lamports -> SOL with decimals=9), exactly."""
    if isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0:
        raise ValueError(f"decimals must be a non-negative integer, got {decimals!r}")
    return as_amount(native).scaleb(-decimals, context=MONEY_CONTEXT)


def parse_amount(text: object) -> Decimal:
    """Parse amount text strictly into a Decimal in native units.

    Accepts a plain decimal string ("1250000000", "0.5") or an int. Refuses, with the reason in the
    ValueError: floats and bools (not exact), negatives, NaN/Infinity, exponent notation, signs,
    spaces and separators, and values that do not fit NUMERIC(38,18) (more than 20 integer digits
    or more than 18 decimal places — PostgreSQL would otherwise round them silently).
    """
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is a boolean, not an amount; write the amount as a decimal string")
    if isinstance(text, float):
        raise ValueError(
            f'{text!r} is a float; write the amount as a decimal string such as "1.5" '
            "(a float cannot hold an amount exactly)"
        )
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"{text} is negative; amounts must be zero or positive")
        text = str(text)
    if not isinstance(text, str):
        raise ValueError(f"an amount must be a decimal string, not {type(text).__name__}")
    if text == "":
        raise ValueError("the amount is empty")
    if text.strip() != text:
        raise ValueError(f"{text!r} has surrounding spaces")
    if text.lstrip("+-").lower() in _NON_FINITE_WORDS:
        raise ValueError(f"{text!r} is not a finite number")
    if text.startswith("-"):
        raise ValueError(f"{text!r} is negative; amounts must be zero or positive")
    if not _PLAIN_DECIMAL.fullmatch(text):
        if "e" in text.lower() and _looks_like_exponent(text):
            raise ValueError(f"{text!r} uses exponent notation; write all the digits out")
        if "," in text or "_" in text or " " in text:
            raise ValueError(f"{text!r} contains separators; write the digits without them")
        raise ValueError(f"{text!r} is not a plain decimal number (digits with an optional fraction)")
    integer_part, _, fraction_part = text.partition(".")
    if len(fraction_part) > MAX_FRACTION_DIGITS:
        raise ValueError(f"{text!r} has more than {MAX_FRACTION_DIGITS} decimal places")
    if len(integer_part.lstrip("0")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"{text!r} has more than {MAX_INTEGER_DIGITS} integer digits (NUMERIC(38,18))")
    return Decimal(text)


def _looks_like_exponent(text: str) -> bool:
    mantissa, _, exponent = text.lower().partition("e")
    return bool(mantissa) and bool(exponent.lstrip("+-")) and exponent.lstrip("+-").isdigit()
