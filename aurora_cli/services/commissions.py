"""Commission computation (SPEC §8): agreements × validator P&L → `partner_commission_lines`.

This module owns steps 1-10 of SPEC §8 for one (chain, period): which agreements, versions and rules
apply at the period's start, gathering each validator's inputs with set-based SQL (one query for the
P&L components and all delegators' rewards, one GROUP BY for the partner stakers' rewards and
commission per (agreement, validator)), and reconciling the computed lines with the stored ones. The
arithmetic of a rule (bases, tiers, floor/cap, rounding, allocation) is the pure `domain.commission`
code; nothing here rounds or divides money itself.

Reconciliation keeps a line's identity, (agreement, version, rule, validator): a line whose identity
survives a recompute is updated in place, so its `line_id` and any override stay; an identity that no
longer arises is deleted, and if it carried an override that override is reported as dropped (it
priced a line that no longer exists). Partners whose statement for the period is past DRAFT are
locked: their stored lines are left exactly as they are, none are written for them, and they are
reported. Statement rows themselves are never touched here (`statements generate` owns them).

Runs in the caller's transaction and never commits, prints or records audit rows; the caller records
`CommissionResult.audit_entry()`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

from aurora_cli.db.engine import transaction
from aurora_cli.db.models import AttributionMethod, PartnerCommissionLine, RevenueComponent
from aurora_cli.domain.commission import attributed_base, compute_rule
from aurora_cli.domain.money import money_context, to_plain_string
from aurora_cli.domain.tiers import TierTable, rate_reached_bps
from aurora_cli.errors import NotFound, PermissionDenied
from aurora_cli.render.output import jsonable
from aurora_cli.services.periods import get_chain, get_period
from aurora_cli.services.statements import statement_scope_lock

ADDED, REMOVED, CHANGED = "added", "removed", "changed"

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
# EXISTS rather than a join: a staker listed both for "any validator" and for this validator must
# count once.
_SELECT_PARTNER_SUMS = text(
    f"""
    WITH {_ELIGIBLE_VERSIONS}
    SELECT e.agreement_id, r.validator_key,
           SUM(r.rewards_native) AS partner_rewards, SUM(r.commission_native) AS partner_commission
    FROM eligible e
    JOIN canonical_stake_rewards r
      ON r.chain_id = :chain_id AND r.period_id = :period_id AND r.staker_address IS NOT NULL
    WHERE EXISTS (
        SELECT 1 FROM partner_stake_attributions s
        WHERE s.agreement_id = e.agreement_id AND s.version_number = e.version_number
          AND s.chain_id = :chain_id AND s.staker_address = r.staker_address
          AND (s.validator_key IS NULL OR s.validator_key = r.validator_key)
    )
    GROUP BY e.agreement_id, r.validator_key
    """
)

_SELECT_STORED_LINES = text(
    """
    SELECT l.line_id, l.agreement_id, l.agreement_version, l.rule_id, l.partner_id, l.validator_key,
           l.revenue_component::text AS revenue_component,
           l.attribution_method::text AS attribution_method, l.base_amount_native,
           l.commission_rate_bps, l.pre_override_amount_native, l.override_amount_native,
           l.override_reason, l.override_user_id, l.override_timestamp, l.final_amount_native,
           p.partner_name, a.agreement_name, r.rule_order
    FROM partner_commission_lines l
    JOIN partners p ON p.partner_id = l.partner_id
    JOIN agreements a ON a.agreement_id = l.agreement_id
    JOIN agreement_rules r ON r.rule_id = l.rule_id
    WHERE l.chain_id = :chain_id AND l.period_id = :period_id
    ORDER BY l.line_id
    -- An override committed after this read would otherwise be overwritten with a stale final amount.
    FOR UPDATE OF l
    """
)

_SELECT_STATEMENTS = text(
    """
    SELECT s.partner_id, p.partner_name, s.status::text AS status
    FROM partner_commission_statements s
    JOIN partners p ON p.partner_id = s.partner_id
    WHERE s.chain_id = :chain_id AND s.period_id = :period_id
    ORDER BY s.statement_id
    -- Hold the statuses until commit: a submit waiting on these rows cannot lock a statement
    -- between our reading it as DRAFT and our writing its lines. Ordered like the other lockers.
    FOR SHARE OF s
    """
)

_UPDATE_LINE = text(
    """
    UPDATE partner_commission_lines
    SET revenue_component = CAST(:revenue_component AS revenue_component),
        attribution_method = CAST(:attribution_method AS attribution_method),
        base_amount_native = :base_amount_native,
        commission_rate_bps = :commission_rate_bps,
        pre_override_amount_native = :pre_override_amount_native,
        -- The override, when one is set, stays the final amount (SPEC §8 step 8).
        final_amount_native = COALESCE(override_amount_native, :final_amount_native),
        computed_at = now(), updated_at = now()
    WHERE line_id = :line_id
    """
)

_DELETE_LINES = text("DELETE FROM partner_commission_lines WHERE line_id = ANY(:line_ids)")

_REFRESH_SUMMARY = text("REFRESH MATERIALIZED VIEW CONCURRENTLY mv_partner_commissions_summary")

COMPONENT_COLUMN = {
    "EXEC_FEES": "exec_fees_native",
    "MEV_TIPS": "mev_tips_native",
    "VOTE_REWARDS": "vote_rewards_native",
    "COMMISSION": "commission_native",
}


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineIdentity:
    """What makes a line the same line across recomputes (SPEC §8 step 9)."""

    agreement_id: uuid.UUID
    agreement_version: int
    rule_id: uuid.UUID
    validator_key: str | None


@dataclass(frozen=True)
class ComputedLine:
    identity: LineIdentity
    partner_id: uuid.UUID
    partner_name: str
    agreement_name: str
    rule_order: int
    revenue_component: str
    attribution_method: str
    base_amount_native: Decimal
    commission_rate_bps: int
    pre_override_amount_native: Decimal


@dataclass(frozen=True)
class LineChange:
    """One difference between the stored and the computed lines; amounts are final amounts."""

    change: str  # added | removed | changed
    line_id: uuid.UUID
    partner_name: str
    agreement_name: str
    agreement_version: int
    rule_order: int
    validator_key: str | None
    revenue_component: str
    old_base: Decimal | None
    new_base: Decimal | None
    old_amount: Decimal | None
    new_amount: Decimal | None
    override_amount: Decimal | None  # the override kept (changed) or dropped (removed)

    def as_row(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "line_id": self.line_id,
            "partner_name": self.partner_name,
            "agreement_name": self.agreement_name,
            "agreement_version": self.agreement_version,
            "rule_order": self.rule_order,
            "validator_key": self.validator_key,
            "revenue_component": self.revenue_component,
            "old_base_native": self.old_base,
            "new_base_native": self.new_base,
            "old_amount_native": self.old_amount,
            "new_amount_native": self.new_amount,
            "override_amount_native": self.override_amount,
        }


@dataclass(frozen=True)
class RuleOutcome:
    partner_name: str
    agreement_name: str
    agreement_version: int
    rule_order: int
    validators: int
    total_base: Decimal
    total: Decimal
    lines: int


@dataclass(frozen=True)
class LockedPartner:
    """A partner whose statement is past DRAFT: its stored lines were left untouched."""

    partner_id: uuid.UUID
    partner_name: str
    statement_status: str
    stored_lines: int
    recompute_differs: bool  # would the recompute have changed its lines?


@dataclass
class CommissionResult:
    chain_id: str
    period: str
    period_id: uuid.UUID
    period_start: datetime
    dry_run: bool
    agreements: int = 0
    rules: list[RuleOutcome] = field(default_factory=list)
    changes: list[LineChange] = field(default_factory=list)
    unchanged: int = 0
    locked_partners: list[LockedPartner] = field(default_factory=list)
    totals_before: dict[str, Decimal] = field(default_factory=dict)  # partner name -> Σ final
    totals_after: dict[str, Decimal] = field(default_factory=dict)

    def count(self, change: str) -> int:
        return sum(1 for c in self.changes if c.change == change)

    @property
    def dropped_overrides(self) -> list[LineChange]:
        return [c for c in self.changes if c.change == REMOVED and c.override_amount is not None]

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def summary(self) -> dict[str, Any]:
        """JSON-able (amounts as plain decimal strings): for `--format json`, the audit row, `aurora run`."""
        return jsonable(
            {
                "chain_id": self.chain_id,
                "period_identifier": self.period,
                "period_start": self.period_start,
                "dry_run": self.dry_run,
                "agreements": self.agreements,
                "rules": len(self.rules),
                "lines_added": self.count(ADDED),
                "lines_updated": self.count(CHANGED),
                "lines_deleted": self.count(REMOVED),
                "lines_unchanged": self.unchanged,
                "locked_partners": [
                    {
                        "partner_id": p.partner_id,
                        "partner_name": p.partner_name,
                        "statement_status": p.statement_status,
                        "stored_lines": p.stored_lines,
                        "recompute_differs": p.recompute_differs,
                    }
                    for p in self.locked_partners
                ],
                "dropped_overrides": [
                    {
                        "line_id": c.line_id,
                        "partner_name": c.partner_name,
                        "agreement_name": c.agreement_name,
                        "agreement_version": c.agreement_version,
                        "rule_order": c.rule_order,
                        "validator_key": c.validator_key,
                        "override_amount_native": c.override_amount,
                    }
                    for c in self.dropped_overrides
                ],
                "rule_totals": [
                    {
                        "partner_name": r.partner_name,
                        "agreement_name": r.agreement_name,
                        "agreement_version": r.agreement_version,
                        "rule_order": r.rule_order,
                        "validators": r.validators,
                        "total_base_native": r.total_base,
                        "total_native": r.total,
                        "lines": r.lines,
                    }
                    for r in self.rules
                ],
                "partner_totals": [
                    {
                        "partner_name": name,
                        "before_native": self.totals_before.get(name, Decimal(0)),
                        "after_native": self.totals_after.get(name, Decimal(0)),
                        "locked": name in {p.partner_name for p in self.locked_partners},
                    }
                    for name in sorted(set(self.totals_before) | set(self.totals_after))
                ],
            }
        )

    def audit_entry(self) -> dict[str, Any]:
        """The one RECOMPUTE audit row for this (chain, period): `rt.audit(session, **entry)`."""
        summary = self.summary()
        return {
            "action": "RECOMPUTE",
            "resource_type": "period",
            "resource_id": f"{self.chain_id}/{self.period}",
            "before": {"partner_totals": {k: to_plain_string(v) for k, v in self.totals_before.items()}},
            "after": summary,
        }


# --- the computation ---------------------------------------------------------------------------


def compute_commissions(
    session: Session, chain_id: str, period: str, *, dry_run: bool = False
) -> CommissionResult:
    """SPEC §8 for one (chain, period) in the caller's transaction; with `dry_run`, write nothing."""
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

    _reconcile(session, result, computed, params)
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


# --- step 9: reconcile with the stored lines ---------------------------------------------------


def _reconcile(
    session: Session, result: CommissionResult, computed: list[ComputedLine], params: dict[str, Any]
) -> None:
    statements = session.execute(_SELECT_STATEMENTS, params).all()
    stored_rows = session.execute(_SELECT_STORED_LINES, params).all()
    locked_status = {row.partner_id: row for row in statements if row.status != "DRAFT"}

    stored: dict[LineIdentity, Any] = {}
    duplicates: list[Any] = []  # a second stored line for one identity (hand-written rows only)
    for row in stored_rows:
        identity = LineIdentity(row.agreement_id, row.agreement_version, row.rule_id, row.validator_key)
        if identity in stored:
            duplicates.append(row)
        else:
            stored[identity] = row
    fresh = {line.identity: line for line in computed}

    with money_context():  # 38-digit sums exceed the default 28-digit context
        totals_before: dict[str, Decimal] = defaultdict(Decimal)
        for row in stored_rows:
            totals_before[row.partner_name] += row.final_amount_native
        result.totals_before = dict(totals_before)

        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        deletes: list[uuid.UUID] = []
        locked_differs: set[uuid.UUID] = set()
        totals_after: dict[str, Decimal] = defaultdict(Decimal)

        for identity in _ordered(stored, fresh):
            old, new = stored.get(identity), fresh.get(identity)
            partner_id = new.partner_id if new is not None else old.partner_id
            if partner_id in locked_status:
                if old is None or new is None or _differs(old, new):
                    locked_differs.add(partner_id)
                if old is not None:
                    totals_after[old.partner_name] += old.final_amount_native
                continue
            if new is None:
                deletes.append(old.line_id)
                result.changes.append(_change(REMOVED, old.line_id, old=old))
            elif old is None:
                line_id = uuid.uuid4()
                inserts.append(_insert_row(line_id, new, params))
                result.changes.append(_change(ADDED, line_id, new=new))
                totals_after[new.partner_name] += new.pre_override_amount_native
            else:
                final = _final(old, new)
                totals_after[new.partner_name] += final
                if _differs(old, new):
                    updates.append(_update_row(old.line_id, new, final))
                    result.changes.append(_change(CHANGED, old.line_id, old=old, new=new))
                else:
                    result.unchanged += 1
        for row in duplicates:
            if row.partner_id in locked_status:
                totals_after[row.partner_name] += row.final_amount_native
                continue
            deletes.append(row.line_id)
            result.changes.append(_change(REMOVED, row.line_id, old=row))
        result.totals_after = dict(totals_after)

    stored_count: dict[uuid.UUID, int] = defaultdict(int)
    for row in stored_rows:
        stored_count[row.partner_id] += 1
    result.locked_partners = [
        LockedPartner(
            partner_id=partner_id,
            partner_name=row.partner_name,
            statement_status=row.status,
            stored_lines=stored_count[partner_id],
            recompute_differs=partner_id in locked_differs,
        )
        for partner_id, row in sorted(locked_status.items(), key=lambda item: item[1].partner_name)
    ]

    if result.dry_run:
        return
    if deletes:
        session.execute(_DELETE_LINES, {"line_ids": deletes})
    if updates:
        session.execute(_UPDATE_LINE, updates)
    if inserts:
        session.execute(insert(PartnerCommissionLine.__table__), inserts)
    session.execute(_REFRESH_SUMMARY)


def _ordered(stored: dict[LineIdentity, Any], fresh: dict[LineIdentity, ComputedLine]) -> list[LineIdentity]:
    """Identities in the order a reader expects: partner, agreement, rule, validator (floor line first)."""

    def key(identity: LineIdentity) -> tuple[Any, ...]:
        line = fresh.get(identity) or stored[identity]
        return (
            line.partner_name,
            line.agreement_name,
            str(identity.agreement_id),
            identity.agreement_version,
            line.rule_order,
            identity.validator_key is not None,
            identity.validator_key or "",
        )

    return sorted(set(stored) | set(fresh), key=key)


def _final(old: Any, new: ComputedLine) -> Decimal:
    """SPEC §8 step 8/9: the carried override wins over the recomputed amount."""
    if old is not None and old.override_amount_native is not None:
        return old.override_amount_native
    return new.pre_override_amount_native


def _differs(old: Any, new: ComputedLine) -> bool:
    return (
        old.partner_id,
        old.revenue_component,
        old.attribution_method,
        old.base_amount_native,
        old.commission_rate_bps,
        old.pre_override_amount_native,
        old.final_amount_native,
    ) != (
        new.partner_id,
        new.revenue_component,
        new.attribution_method,
        new.base_amount_native,
        new.commission_rate_bps,
        new.pre_override_amount_native,
        _final(old, new),
    )


def _change(
    change: str, line_id: uuid.UUID, *, old: Any = None, new: ComputedLine | None = None
) -> LineChange:
    line = new if new is not None else old
    identity_version = new.identity.agreement_version if new is not None else old.agreement_version
    validator_key = new.identity.validator_key if new is not None else old.validator_key
    return LineChange(
        change=change,
        line_id=line_id,
        partner_name=line.partner_name,
        agreement_name=line.agreement_name,
        agreement_version=identity_version,
        rule_order=line.rule_order,
        validator_key=validator_key,
        revenue_component=line.revenue_component,
        old_base=old.base_amount_native if old is not None else None,
        new_base=new.base_amount_native if new is not None else None,
        old_amount=old.final_amount_native if old is not None else None,
        new_amount=_final(old, new) if new is not None else None,
        override_amount=old.override_amount_native if old is not None else None,
    )


def _insert_row(line_id: uuid.UUID, line: ComputedLine, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "line_id": line_id,
        "agreement_id": line.identity.agreement_id,
        "agreement_version": line.identity.agreement_version,
        "rule_id": line.identity.rule_id,
        "partner_id": line.partner_id,
        "chain_id": params["chain_id"],
        "period_id": params["period_id"],
        "validator_key": line.identity.validator_key,
        "revenue_component": RevenueComponent(line.revenue_component),
        "attribution_method": AttributionMethod(line.attribution_method),
        "base_amount_native": line.base_amount_native,
        "commission_rate_bps": line.commission_rate_bps,
        "pre_override_amount_native": line.pre_override_amount_native,
        "final_amount_native": line.pre_override_amount_native,
    }


def _update_row(line_id: uuid.UUID, line: ComputedLine, final: Decimal) -> dict[str, Any]:
    return {
        "line_id": line_id,
        "revenue_component": line.revenue_component,
        "attribution_method": line.attribution_method,
        "base_amount_native": line.base_amount_native,
        "commission_rate_bps": line.commission_rate_bps,
        "pre_override_amount_native": line.pre_override_amount_native,
        "final_amount_native": final,
    }


Audit = Callable[..., None]  # rt.audit(session, action=..., ...)


def run_compute_commissions(
    engine: Engine, audit: Audit, *, chain_id: str, period: str, dry_run: bool = False
) -> CommissionResult:
    """One transaction: compute, and (unless a dry run) record the RECOMPUTE audit row with it.

    For the step command and `aurora run`; a dry run is rolled back whatever happened.
    """
    with transaction(engine) as session:
        if dry_run:
            # compute_commissions writes nothing in a dry run; the savepoint makes sure of it.
            savepoint = session.begin_nested()
            result = compute_commissions(session, chain_id, period, dry_run=True)
            savepoint.rollback()
        else:
            result = compute_commissions(session, chain_id, period)
            audit(session, **result.audit_entry())
    return result


# --- read view: the lines ----------------------------------------------------------------------

LINE_COLUMNS = [
    "line_id",
    "agreement_id",
    "agreement_name",
    "agreement_version",
    "rule_id",
    "rule_order",
    "partner_id",
    "partner_name",
    "chain_id",
    "period_id",
    "period_identifier",
    "validator_key",
    "revenue_component",
    "attribution_method",
    "base_amount_native",
    "commission_rate_bps",
    "pre_override_amount_native",
    "override_amount_native",
    "override_reason",
    "override_user_id",
    "override_timestamp",
    "final_amount_native",
    "computed_at",
    "created_at",
    "updated_at",
]

# SPEC §11: a PARTNER sees its own lines, and only once its statement is released.
PARTNER_VISIBLE_STATUSES = ("RELEASED", "PAID")


def commission_lines(
    session: Session,
    chain_id: str,
    period: str,
    *,
    partner_name: str | None = None,
    own_partner_id: str | uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """The stored lines of (chain, period) with readable names, ordered partner/agreement/rule/validator.

    `own_partner_id` is set for PARTNER users: only that partner's lines, only when its statement is
    RELEASED or PAID (enforced here in the query; row-level security adds the database's own guard).
    """
    get_chain(session, chain_id)
    period_row = get_period(session, chain_id, period)
    params: dict[str, Any] = {"chain_id": chain_id, "period_id": period_row.period_id}
    where = ["l.chain_id = :chain_id", "l.period_id = :period_id"]
    if partner_name is not None:
        partner_ids = session.scalars(
            text("SELECT partner_id FROM partners WHERE partner_name = :name"), {"name": partner_name}
        ).all()
        if not partner_ids:
            raise NotFound(f"no partner named {partner_name!r}: see `aurora agreements list`.")
        if own_partner_id is not None and uuid.UUID(str(own_partner_id)) not in partner_ids:
            raise PermissionDenied("permission denied: a partner user may only see its own partner's lines.")
        params["partner_name"] = partner_name
        where.append("p.partner_name = :partner_name")
    if own_partner_id is not None:
        params["own_partner_id"] = uuid.UUID(str(own_partner_id))
        params["visible"] = list(PARTNER_VISIBLE_STATUSES)
        where.append("l.partner_id = :own_partner_id")
        where.append(
            """EXISTS (SELECT 1 FROM partner_commission_statements s
                       WHERE s.partner_id = l.partner_id AND s.chain_id = l.chain_id
                         AND s.period_id = l.period_id AND s.status::text = ANY(:visible))"""
        )
    rows = session.execute(
        text(
            f"""
            SELECT l.line_id, l.agreement_id, a.agreement_name, l.agreement_version, l.rule_id, r.rule_order,
                   l.partner_id, p.partner_name, l.chain_id, l.period_id, cp.period_identifier,
                   l.validator_key, l.revenue_component::text AS revenue_component,
                   l.attribution_method::text AS attribution_method, l.base_amount_native,
                   l.commission_rate_bps, l.pre_override_amount_native, l.override_amount_native,
                   l.override_reason, l.override_user_id, l.override_timestamp, l.final_amount_native,
                   l.computed_at, l.created_at, l.updated_at
            FROM partner_commission_lines l
            JOIN partners p ON p.partner_id = l.partner_id
            JOIN agreements a ON a.agreement_id = l.agreement_id
            JOIN agreement_rules r ON r.rule_id = l.rule_id
            JOIN canonical_periods cp ON cp.period_id = l.period_id
            WHERE {" AND ".join(where)}
            ORDER BY p.partner_name, a.agreement_name, l.agreement_version, r.rule_order,
                     l.validator_key NULLS FIRST
            """
        ),
        params,
    ).mappings()
    return [dict(row) for row in rows]


def partner_totals(lines: list[dict[str, Any]]) -> dict[str, Decimal]:
    """Σ final amount per partner name, in the lines' order."""
    totals: dict[str, Decimal] = {}
    with money_context():
        for line in lines:
            totals[line["partner_name"]] = (
                totals.get(line["partner_name"], Decimal(0)) + line["final_amount_native"]
            )
    return totals
