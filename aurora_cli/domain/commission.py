"""The commission of one rule in one period, from per-validator bases to lines (SPEC §8 steps 5-7).

This module owns the business vocabulary of a rule (revenue component, attribution method), how a
validator's base is attributed from its P&L and partner-staker sums, and how a rule's total is turned
into lines: total base -> commission before limits -> floor/cap -> whole units -> largest-remainder
allocation. Services feed it numbers read from the database and persist what it returns.

It must never touch a float, the database or the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from aurora_cli.domain.allocation import allocate_largest_remainder
from aurora_cli.domain.money import as_amount, money_context, pro_rata_quantize_18, quantize_18
from aurora_cli.domain.tiers import TierTable, apply_limits, commission_before_limits


class RevenueComponent(StrEnum):
    """Which `validator_pnl` column a rule is a share of."""

    EXEC_FEES = "EXEC_FEES"
    MEV_TIPS = "MEV_TIPS"
    VOTE_REWARDS = "VOTE_REWARDS"
    COMMISSION = "COMMISSION"


class AttributionMethod(StrEnum):
    """How much of a validator's component counts as the partner's."""

    CLIENT_REVENUE = "CLIENT_REVENUE"
    STAKE_WEIGHT = "STAKE_WEIGHT"
    FIXED_SHARE = "FIXED_SHARE"


# Per-delegator rows exist only for rewards and commission; fees and MEV have no per-client split.
CLIENT_REVENUE_COMPONENTS = frozenset({RevenueComponent.COMMISSION, RevenueComponent.VOTE_REWARDS})


@dataclass(frozen=True)
class RuleLine:
    """One commission line: `validator_key` None only for the floor line of a rule with no base."""

    validator_key: str | None
    base: Decimal
    amount: Decimal


@dataclass(frozen=True)
class RuleResult:
    total_base: Decimal  # Σ base, exact
    before_limits: Decimal  # tiers or rate applied to total_base, exact (not rounded)
    total: Decimal  # after floor/cap, rounded down to whole native units; Σ line amounts
    lines: tuple[RuleLine, ...]


def stake_weight(partner_rewards: Decimal, all_staker_rewards: Decimal) -> Decimal:
    """w = partner stakers' rewards / all delegators' rewards at one validator; 0 when nobody staked.

    For display and reporting: rounded half-even at 18 decimal places. Bases do not use this
    rounded value; `attributed_base` divides exactly (see there).
    """
    denominator = as_amount(all_staker_rewards, "all_staker_rewards")
    numerator = as_amount(partner_rewards, "partner_rewards")
    if denominator == 0:
        return Decimal(0)
    return pro_rata_quantize_18(Decimal(1), numerator, denominator)


def attributed_base(
    method: AttributionMethod | str,
    component: RevenueComponent | str,
    *,
    component_amount: Decimal,
    partner_commission: Decimal,
    partner_rewards: Decimal,
    all_staker_rewards: Decimal,
) -> Decimal:
    """A validator's base for one rule, rounded half-even at 18 decimal places (SPEC §8 step 5).

    - FIXED_SHARE: the component amount X.
    - STAKE_WEIGHT: X × partner_rewards / all_staker_rewards (0 when the denominator is 0). The
      product is formed before the single rounding, so an exact tie at the 19th place rounds to even
      as the SPEC requires instead of depending on how the weight was rounded.
    - CLIENT_REVENUE: Σ commission of partner stakers (COMMISSION) or Σ their rewards
      (VOTE_REWARDS); ValueError for EXEC_FEES and MEV_TIPS, which have no per-client revenue.
    """
    method = AttributionMethod(method)
    component = RevenueComponent(component)
    amounts = {
        "component_amount": as_amount(component_amount, "component_amount"),
        "partner_commission": as_amount(partner_commission, "partner_commission"),
        "partner_rewards": as_amount(partner_rewards, "partner_rewards"),
        "all_staker_rewards": as_amount(all_staker_rewards, "all_staker_rewards"),
    }
    for name, value in amounts.items():
        if value < 0:
            raise ValueError(f"{name} must not be negative")
    if method is AttributionMethod.FIXED_SHARE:
        return quantize_18(amounts["component_amount"])
    if method is AttributionMethod.STAKE_WEIGHT:
        if amounts["all_staker_rewards"] == 0:
            return quantize_18(Decimal(0))
        return pro_rata_quantize_18(
            amounts["component_amount"], amounts["partner_rewards"], amounts["all_staker_rewards"]
        )
    if component not in CLIENT_REVENUE_COMPONENTS:
        raise ValueError(f"CLIENT_REVENUE attribution is not possible for {component.value}")
    if component is RevenueComponent.COMMISSION:
        return quantize_18(amounts["partner_commission"])
    return quantize_18(amounts["partner_rewards"])


def compute_rule(
    bases: Mapping[str, Decimal],
    rate_bps: int | None,
    tiers: TierTable | None,
    floor: Decimal | None,
    cap: Decimal | None,
) -> RuleResult:
    """One rule's commission for one period from its validators' bases (SPEC §8 steps 6-7).

    `bases` maps validator_key -> base (from `attributed_base`). Lines are ordered by validator key.
    A validator with base 0 gets no line; a validator with a positive base always gets one, even
    when its allocated amount is 0, so the statement shows the base that earned nothing. When no
    base is positive (or there are no validators) and a floor makes the total positive, one line
    with validator_key None and base 0 carries the whole total.
    """
    checked: dict[str, Decimal] = {}
    for key, base in bases.items():
        value = as_amount(base, f"base of {key!r}")
        if value < 0:
            raise ValueError(f"base of {key!r} must not be negative")
        checked[key] = value
    with money_context():
        total_base = sum(checked.values(), Decimal(0))
    before_limits = commission_before_limits(total_base, rate_bps, tiers)
    total = apply_limits(before_limits, floor, cap)

    positive = {key: base for key, base in checked.items() if base > 0}
    if not positive:
        # No base earns anything, so only a floor can make the total positive.
        lines = (RuleLine(validator_key=None, base=Decimal(0), amount=total),) if total > 0 else ()
        return RuleResult(total_base=total_base, before_limits=before_limits, total=total, lines=lines)

    amounts = allocate_largest_remainder(total, positive)
    lines = tuple(
        RuleLine(validator_key=key, base=positive[key], amount=amounts[key]) for key in sorted(positive)
    )
    return RuleResult(total_base=total_base, before_limits=before_limits, total=total, lines=lines)
