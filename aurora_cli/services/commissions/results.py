"""What a commission computation found and did: identities, computed lines, changes, totals; no SQL.

Owns the result types of `compute_commissions` and their JSON-able summary (for `--format json`,
the RECOMPUTE audit row and `aurora run`); it never queries the database or prints.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from aurora_cli.domain.canonical_json import jsonable
from aurora_cli.domain.money import to_plain_string
from aurora_cli.services.audit import Recorder

ADDED, REMOVED, CHANGED = "added", "removed", "changed"


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

    def record_recompute(self, session: Session, audit: Recorder) -> None:
        """The one RECOMPUTE audit row of this (chain, period)."""
        audit(
            session,
            action="RECOMPUTE",
            resource_type="period",
            resource_id=f"{self.chain_id}/{self.period}",
            before={"partner_totals": {k: to_plain_string(v) for k, v in self.totals_before.items()}},
            after=self.summary(),
        )
