"""Computing partner commission lines (SPEC §8 steps 1-8) for one (chain, period); never rounds money itself.

Owns which agreements, versions and rules apply at the period's start and gathering each
validator's inputs with set-based SQL (one query for the P&L components and all delegators' rewards,
one GROUP BY for the partner stakers' rewards and commission per (agreement, validator)). The
arithmetic of a rule (bases, tiers, floor/cap, rounding, allocation) is the pure `domain.commission`
code; step 9 (writing the lines) is `reconcile`. `compute_commissions` runs in the caller's
transaction and records its RECOMPUTE audit row through the `audit` it is given;
`run_compute_commissions` is the one-transaction form for the step command and `aurora run`.
It never prints.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from aurora_cli.db.engine import transaction
from aurora_cli.domain.commission import attributed_base, compute_rule
from aurora_cli.domain.tiers import TierTable, rate_reached_bps
from aurora_cli.errors import NotFound
from aurora_cli.services.audit import Recorder
from aurora_cli.services.commissions.reconcile import reconcile
from aurora_cli.services.commissions.results import CommissionResult, ComputedLine, LineIdentity, RuleOutcome
from aurora_cli.services.periods import get_chain, get_period
from aurora_cli.services.statements import statement_scope_lock

# SPEC §8 step 1-2: the agreements in force at the period's start S and the version containing S.
_ELIGIBLE_VERSIONS = """
    eligible AS (
        SELECT a.agreement_id, a.agreement_name, a.partner_id, v.version_number
        FROM agreements a
        JOIN agreement_versions v
          ON v.agreement_id = a.agreement_id
         AND v.effective_from <= :period_start
         AND (v.effective_until IS NULL OR :period_start < v.effective_until)
        WHERE a.status = 'ACTIVE'
          AND a.effective_from <= :period_start
          AND (a.effective_until IS NULL OR :period_start < a.effective_until)
    )
"""

# Step 3: the version's active rules for this chain (or every chain), in rule order.
_SELECT_RULES = text(
    f"""
    WITH {_ELIGIBLE_VERSIONS}
    SELECT e.agreement_id, e.agreement_name, e.partner_id, p.partner_name, e.version_number,
           r.rule_id, r.rule_order, r.validator_key, r.revenue_component::text AS revenue_component,
           r.attribution_method::text AS attribution_method, r.commission_rate_bps,
           r.floor_amount_native, r.cap_amount_native, r.tier_config
    FROM eligible e
    JOIN partners p ON p.partner_id = e.partner_id
    LEFT JOIN agreement_rules r
           ON r.agreement_id = e.agreement_id AND r.version_number = e.version_number AND r.is_active
          AND (r.chain_id = :chain_id OR r.chain_id IS NULL)
    ORDER BY p.partner_name, e.agreement_name, e.agreement_id, r.rule_order
    """
)

# Step 4-5 inputs per validator: its P&L components and Σ rewards of every delegator row.
_SELECT_VALIDATOR_INPUTS = text(
    """
    SELECT p.validator_key, p.exec_fees_native, p.mev_tips_native, p.vote_rewards_native,
           p.commission_native, COALESCE(s.all_staker_rewards, 0) AS all_staker_rewards
    FROM validator_pnl p
    LEFT JOIN (
        SELECT validator_key, SUM(rewards_native) AS all_staker_rewards
        FROM canonical_stake_rewards
        WHERE chain_id = :chain_id AND period_id = :period_id AND staker_address IS NOT NULL
        GROUP BY validator_key
    ) s ON s.validator_key = p.validator_key
    WHERE p.chain_id = :chain_id AND p.period_id = :period_id
    ORDER BY p.validator_key
    """
)

# Step 4-5 inputs per (agreement, validator): Σ rewards and Σ commission of the partner's stakers.
# A staker listed both for "any validator" and for this validator must count once: the attributions
# are reduced first (any-validator ones win), so each reward row joins at most one of them. Two hash
# joins of the (small) attribution sets against the period's reward rows — never a loop over
# agreements × reward rows — and the period's partition only.
_SELECT_PARTNER_SUMS = text(
    f"""
    WITH {_ELIGIBLE_VERSIONS},
    attributed AS (
        SELECT DISTINCT e.agreement_id, s.staker_address, s.validator_key
        FROM eligible e
        JOIN partner_stake_attributions s
          ON s.agreement_id = e.agreement_id AND s.version_number = e.version_number AND s.chain_id = :chain_id
    ), any_validator AS (
        SELECT agreement_id, staker_address FROM attributed WHERE validator_key IS NULL
    ), one_validator AS (
        SELECT a.agreement_id, a.staker_address, a.validator_key FROM attributed a
        WHERE a.validator_key IS NOT NULL
          AND NOT EXISTS (
              SELECT 1 FROM any_validator x
              WHERE x.agreement_id = a.agreement_id AND x.staker_address = a.staker_address
          )
    ), period_rewards AS MATERIALIZED (
        SELECT validator_key, staker_address, rewards_native, commission_native
        FROM canonical_stake_rewards
        WHERE chain_id = :chain_id AND period_id = :period_id AND staker_address IS NOT NULL
          AND staker_address IN (SELECT staker_address FROM attributed)
    )
    SELECT agreement_id, validator_key,
           SUM(rewards_native) AS partner_rewards, SUM(commission_native) AS partner_commission
    FROM (
        SELECT x.agreement_id, r.validator_key, r.rewards_native, r.commission_native
        FROM any_validator x JOIN period_rewards r ON r.staker_address = x.staker_address
        UNION ALL
        SELECT o.agreement_id, r.validator_key, r.rewards_native, r.commission_native
        FROM one_validator o
        JOIN period_rewards r ON r.staker_address = o.staker_address AND r.validator_key = o.validator_key
    ) matched
    GROUP BY agreement_id, validator_key
    """
)

COMPONENT_COLUMN = {
    "EXEC_FEES": "exec_fees_native",
    "MEV_TIPS": "mev_tips_native",
    "VOTE_REWARDS": "vote_rewards_native",
    "COMMISSION": "commission_native",
}


def compute_commissions(
    session: Session,
    chain_id: str,
    period: str,
    *,
    dry_run: bool = False,
    audit: Recorder | None = None,
) -> CommissionResult:
    """SPEC §8 for one (chain, period) in the caller's transaction; with `dry_run`, write nothing.

    Unless a dry run, `audit` (when given) records the one RECOMPUTE row of the period.
    """
    get_chain(session, chain_id)
    period_row = get_period(session, chain_id, period)
    # Overrides and statement generation take the same lock: none of them interleaves with us.
    statement_scope_lock(session, chain_id, period_row.period_id)
    params = {
        "chain_id": chain_id,
        "period_id": period_row.period_id,
        "period_start": period_row.period_start,
    }
    result = CommissionResult(
        chain_id=chain_id,
        period=period,
        period_id=period_row.period_id,
        period_start=period_row.period_start,
        dry_run=dry_run,
    )

    validators = {row.validator_key: row for row in session.execute(_SELECT_VALIDATOR_INPUTS, params)}
    if not validators:
        # Without P&L nothing can be attributed; writing floor lines now would bill on missing data.
        raise NotFound(
            f"no validator P&L for {chain_id} {period}: run `aurora compute-pnl` (or `aurora run`) first."
        )
    rule_rows = session.execute(_SELECT_RULES, params).all()
    result.agreements = len({row.agreement_id for row in rule_rows})
    partner_sums = {
        (row.agreement_id, row.validator_key): row for row in session.execute(_SELECT_PARTNER_SUMS, params)
    }

    computed: list[ComputedLine] = []
    for rule in (row for row in rule_rows if row.rule_id is not None):
        lines, outcome = _compute_one_rule(rule, validators, partner_sums)
        computed += lines
        result.rules.append(outcome)

    reconcile(session, result, computed, params)
    if audit is not None and not dry_run:
        result.record_recompute(session, audit)
    return result


def _compute_one_rule(
    rule: Any, validators: dict[str, Any], partner_sums: dict[tuple[uuid.UUID, str], Any]
) -> tuple[list[ComputedLine], RuleOutcome]:
    component_column = COMPONENT_COLUMN[rule.revenue_component]
    zero = Decimal(0)
    bases: dict[str, Decimal] = {}
    for key, inputs in validators.items():
        if rule.validator_key is not None and key != rule.validator_key:
            continue
        sums = partner_sums.get((rule.agreement_id, key))
        bases[key] = attributed_base(
            rule.attribution_method,
            rule.revenue_component,
            component_amount=getattr(inputs, component_column),
            partner_commission=sums.partner_commission if sums else zero,
            partner_rewards=sums.partner_rewards if sums else zero,
            all_staker_rewards=inputs.all_staker_rewards,
        )
    tiers = TierTable.from_config(rule.tier_config) if rule.tier_config is not None else None
    outcome = compute_rule(
        bases,
        None if tiers is not None else rule.commission_rate_bps,
        tiers,
        rule.floor_amount_native,
        rule.cap_amount_native,
    )
    # A tiered rule's lines show the step its period total reached, not the table's top rate.
    rate_bps = rule.commission_rate_bps if tiers is None else rate_reached_bps(outcome.total_base, tiers)
    lines = [
        ComputedLine(
            identity=LineIdentity(rule.agreement_id, rule.version_number, rule.rule_id, line.validator_key),
            partner_id=rule.partner_id,
            partner_name=rule.partner_name,
            agreement_name=rule.agreement_name,
            rule_order=rule.rule_order,
            revenue_component=rule.revenue_component,
            attribution_method=rule.attribution_method,
            base_amount_native=line.base,
            commission_rate_bps=rate_bps,
            pre_override_amount_native=line.amount,
        )
        for line in outcome.lines
    ]
    summary = RuleOutcome(
        partner_name=rule.partner_name,
        agreement_name=rule.agreement_name,
        agreement_version=rule.version_number,
        rule_order=rule.rule_order,
        validators=len(bases),
        total_base=outcome.total_base,
        total=outcome.total,
        lines=len(lines),
    )
    return lines, summary


def run_compute_commissions(
    engine: Engine, audit: Recorder, *, chain_id: str, period: str, dry_run: bool = False
) -> CommissionResult:
    """One transaction: compute, and (unless a dry run) record the RECOMPUTE audit row with it.

    For the step command and `aurora run`; a dry run runs in a savepoint that is always rolled back.
    """
    with transaction(engine) as session:
        if dry_run:
            # compute_commissions writes nothing in a dry run; the savepoint makes sure of it.
            savepoint = session.begin_nested()
            result = compute_commissions(session, chain_id, period, dry_run=True)
            savepoint.rollback()
        else:
            result = compute_commissions(session, chain_id, period, audit=audit)
    return result
