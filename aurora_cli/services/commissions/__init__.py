"""Partner commissions (SPEC §8): the package's public names, re-exported; no logic here.

`engine` computes lines for a (chain, period), `reconcile` writes them against the stored ones,
`results` holds what a computation found, `lines` reads the stored lines. None of them prints.
"""

from aurora_cli.services.commissions.engine import compute_commissions, run_compute_commissions
from aurora_cli.services.commissions.lines import LINE_COLUMNS, commission_lines, partner_totals
from aurora_cli.services.commissions.results import CommissionResult, LineChange, LockedPartner, RuleOutcome

__all__ = [
    "LINE_COLUMNS",
    "CommissionResult",
    "LineChange",
    "LockedPartner",
    "RuleOutcome",
    "commission_lines",
    "compute_commissions",
    "partner_totals",
    "run_compute_commissions",
]
