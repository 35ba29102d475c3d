"""Commission before and after limits for one rule (SPEC §8 step 6).

This module owns the rate arithmetic: a flat rate in basis points, or a tier table applied marginally
(each slice of the base at its own step's rate) or retroactively (the whole base at the rate of the
highest step reached), then the floor and cap and the rounding down to a whole native unit. It also
owns the JSON form of a tier table stored in `agreement_rules.tier_config`.

Everything before `apply_limits` is exact (no rounding at all). It must never touch a float, the
database or the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from aurora_cli.domain.money import as_amount, floor_to_unit, money_context, parse_amount, to_plain_string

BPS_DENOMINATOR = 10_000
MAX_BPS = 10_000


class TierMode(StrEnum):
    MARGINAL = "marginal"
    RETROACTIVE = "retroactive"


def check_bps(rate_bps: object, what: str = "rate_bps") -> int:
    """Return `rate_bps` when it is an int in 0..10000 (seed CHECK on commission_rate_bps)."""
    if isinstance(rate_bps, bool) or not isinstance(rate_bps, int):
        raise ValueError(f"{what} must be a whole number of basis points, got {rate_bps!r}")
    if not 0 <= rate_bps <= MAX_BPS:
        raise ValueError(f"{what} {rate_bps} is outside 0..{MAX_BPS}")
    return rate_bps


@dataclass(frozen=True)
class TierStep:
    """From `from_native` of base upward (until the next step), the rate is `rate_bps`."""

    from_native: Decimal
    rate_bps: int

    def __post_init__(self) -> None:
        if as_amount(self.from_native, "from_native") < 0:
            raise ValueError("from_native must not be negative")
        check_bps(self.rate_bps)


@dataclass(frozen=True)
class TierTable:
    """Steps strictly ascending by `from_native`; no requirement that the first starts at 0."""

    mode: Literal["marginal", "retroactive"]
    steps: tuple[TierStep, ...]

    def __post_init__(self) -> None:
        # Store the plain string even when given a TierMode, so equality and JSON are unambiguous.
        object.__setattr__(self, "mode", TierMode(self.mode).value)
        object.__setattr__(self, "steps", tuple(self.steps))
        if not self.steps:
            raise ValueError("a tier table needs at least one step")
        for previous, step in zip(self.steps, self.steps[1:], strict=False):
            if not step.from_native > previous.from_native:
                raise ValueError(
                    "tier steps must be strictly ascending by from_native: "
                    f"{to_plain_string(step.from_native)} follows {to_plain_string(previous.from_native)}"
                )

    def to_config(self) -> dict[str, Any]:
        """The JSON form stored in `agreement_rules.tier_config` (amounts as plain strings)."""
        return {
            "mode": self.mode,
            "steps": [
                {"from_native": to_plain_string(step.from_native), "rate_bps": step.rate_bps}
                for step in self.steps
            ],
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TierTable:
        """Inverse of `to_config` (reads `agreement_rules.tier_config`)."""
        return cls(
            mode=config["mode"],
            steps=tuple(
                TierStep(from_native=parse_amount(step["from_native"]), rate_bps=step["rate_bps"])
                for step in config["steps"]
            ),
        )


def commission_before_limits(total_base: Decimal, rate_bps: int | None, tiers: TierTable | None) -> Decimal:
    """Commission on `total_base` before floor, cap and rounding; exact.

    With `tiers`, `rate_bps` is ignored (SPEC §7: tiers replace rate_bps) and may be None.
    Marginal: each slice of the base between consecutive `from_native`s at that step's rate, the last
    step open-ended, and the part below the first step earns nothing. Retroactive: the whole base at
    the rate of the highest step with `from_native <= total_base`, nothing when no step is reached.
    """
    base = as_amount(total_base, "total_base")
    if base < 0:
        raise ValueError("total_base must not be negative")
    with money_context():
        if tiers is None:
            if rate_bps is None:
                raise ValueError("a rule needs rate_bps or a tier table")
            return base * check_bps(rate_bps) / BPS_DENOMINATOR
        if tiers.mode == TierMode.MARGINAL:
            commission = Decimal(0)
            upper_bounds = [step.from_native for step in tiers.steps[1:]] + [None]
            for step, upper in zip(tiers.steps, upper_bounds, strict=True):
                top = base if upper is None else min(base, upper)
                if top > step.from_native:
                    commission += (top - step.from_native) * step.rate_bps / BPS_DENOMINATOR
            return commission
        return base * rate_reached_bps(base, tiers) / BPS_DENOMINATOR


def rate_reached_bps(total_base: Decimal, tiers: TierTable) -> int:
    """The rate of the highest step with `from_native <= total_base` (0 when none is reached).

    Retroactive: the rate applied to the whole base. Marginal: the rate of the base's top slice.
    This is the rate a tiered rule's lines show, so a statement never prints a rate that was not paid.
    """
    reached = [step for step in tiers.steps if step.from_native <= total_base]
    return reached[-1].rate_bps if reached else 0


def apply_limits(amount: Decimal, floor: Decimal | None, cap: Decimal | None) -> Decimal:
    """`min(max(amount, floor), cap)`, each limit only when set, then rounded down to a whole unit.

    The cap is applied last, so it wins if a (mis-configured) floor exceeds it; agreement files
    refuse floor > cap before it can get here.
    """
    value = as_amount(amount)
    if floor is not None:
        value = max(value, as_amount(floor, "floor"))
    if cap is not None:
        value = min(value, as_amount(cap, "cap"))
    return floor_to_unit(value)
