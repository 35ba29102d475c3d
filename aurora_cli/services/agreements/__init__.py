"""Agreements as code (SPEC §7): the package's public names, re-exported; no logic here.

`apply` writes an agreement file's rows (and plans an apply), `references` checks what needs the
database, `snapshots` holds the audit/view form of the rows, `views` reads agreements.
"""

from aurora_cli.services.agreements.apply import (
    ApplyResult,
    agreement_paths,
    apply_agreement,
    apply_agreements,
    plan_agreement,
)
from aurora_cli.services.agreements.references import check_references
from aurora_cli.services.agreements.views import AGREEMENT_LIST_COLUMNS, agreement_details, list_agreements

__all__ = [
    "AGREEMENT_LIST_COLUMNS",
    "ApplyResult",
    "agreement_details",
    "agreement_paths",
    "apply_agreement",
    "apply_agreements",
    "check_references",
    "list_agreements",
    "plan_agreement",
]
