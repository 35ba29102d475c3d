"""Partner commission statements (SPEC §9): the package's public names, re-exported; no logic here.

`selection` finds what a user named, `views` reads statements scoped to the reader, `generation`
writes DRAFTs from lines, `workflow` moves statements through the transition table, `changes`
holds before/after snapshots. None of them prints, parses command-line options or decides exit codes.
"""

from aurora_cli.services.statements.changes import StatementChange, snapshot
from aurora_cli.services.statements.generation import (
    GenerateResult,
    generate_statements,
    line_totals,
    refresh_draft_totals,
    stale_reason,
    statement_scope_lock,
)
from aurora_cli.services.statements.selection import (
    NoStatement,
    StatementSelector,
    find_statements,
    get_partner,
    month_bounds,
    no_statement,
    scope_label,
    select_periods,
)
from aurora_cli.services.statements.views import (
    PARTNER_REFUSAL,
    PARTNER_VISIBLE,
    STATEMENT_COLUMNS,
    one_statement,
    partner_refusal,
    statement_label,
    statement_rows,
)
from aurora_cli.services.statements.workflow import (
    TRANSITIONS,
    Transition,
    TransitionRefused,
    TransitionResult,
    apply_transition,
)

__all__ = [
    "PARTNER_REFUSAL",
    "PARTNER_VISIBLE",
    "STATEMENT_COLUMNS",
    "TRANSITIONS",
    "GenerateResult",
    "NoStatement",
    "StatementChange",
    "StatementSelector",
    "Transition",
    "TransitionRefused",
    "TransitionResult",

    "apply_transition",
    "find_statements",
    "generate_statements",
    "get_partner",
    "line_totals",
    "month_bounds",
    "no_statement",
    "one_statement",
    "partner_refusal",
    "refresh_draft_totals",
    "scope_label",
    "select_periods",
    "snapshot",
    "stale_reason",
    "statement_label",
    "statement_rows",
    "statement_scope_lock",
]
