"""Splitting a whole-unit commission over validators by the largest-remainder method (SPEC §8 step 7).

This module owns the one allocation rule: every line is its exact pro-rata share rounded down, and
the units left over go one each to the largest remainders, ties to the lexicographically smaller
key, so the lines always sum to the total exactly. The arithmetic is done in integers, so no
precision setting can change a result.

It must never touch a float, the database or the terminal; dropping zero lines is the caller's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from aurora_cli.domain.money import as_amount, is_whole_units


def allocate_largest_remainder(total: Decimal, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Split `total` whole native units over `weights`' keys pro rata to the weights.

    Returns one entry per key, ordered by key; a key of weight 0 gets 0. Raises ValueError when
    `total` is negative or not whole, a weight is negative, or `total` > 0 while every weight is 0
    (the caller decides what a commission with no base means — SPEC §8's floor line).
    """
    total_value = as_amount(total, "total")
    if total_value < 0:
        raise ValueError("total to allocate must not be negative")
    if not is_whole_units(total_value):
        raise ValueError("total to allocate must be a whole number of native units")
    checked: dict[str, Decimal] = {}
    for key, weight in weights.items():
        value = as_amount(weight, f"weight of {key!r}")
        if value < 0:
            raise ValueError(f"weight of {key!r} must not be negative")
        checked[key] = value
    keys = sorted(checked)
    units = int(total_value)
    if units == 0:
        return {key: Decimal(0) for key in keys}

    # Scale every weight to an integer by the smallest exponent present, so that
    # share_i = units * w_i / W is an exact rational with an integer numerator and denominator.
    scale = -min((checked[key].as_tuple().exponent for key in keys), default=0)
    scale = max(scale, 0)
    integer_weights = {key: _scaled_integer(checked[key], scale) for key in keys}
    weight_sum = sum(integer_weights.values())
    if weight_sum == 0:
        raise ValueError("cannot allocate a positive total over weights that are all zero")

    allocated: dict[str, int] = {}
    remainders: dict[str, int] = {}
    for key in keys:
        allocated[key], remainders[key] = divmod(units * integer_weights[key], weight_sum)
    leftover = units - sum(allocated.values())
    # leftover < number of keys with a non-zero remainder, so a zero-weight key never gets a unit.
    by_largest_remainder = sorted(
        (key for key in keys if remainders[key] > 0), key=lambda k: (-remainders[k], k)
    )
    for key in by_largest_remainder[:leftover]:
        allocated[key] += 1
    return {key: Decimal(allocated[key]) for key in keys}


def _scaled_integer(value: Decimal, scale: int) -> int:
    """`value × 10**scale` as an exact int (no Decimal context, so no digit can be rounded away)."""
    _sign, digits, exponent = value.as_tuple()
    coefficient = int("".join(map(str, digits)) or "0")
    shift = int(exponent) + scale  # >= 0 because scale >= -exponent for every weight
    return coefficient * 10**shift
