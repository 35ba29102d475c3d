"""Row-level-security policies read the scope once per statement, not once per row.

Why: the policies of revisions 011 and 014 call `aurora_scope_is(...)`, `aurora_scope_partner()`,
`aurora_scope_user()`, `aurora_chain_visible(chain_id)` and `aurora_validator_visible(validator_key)`.
PostgreSQL inlines those SQL functions into the policy's expression, so every row scanned or written
re-reads the `app.*` settings with `current_setting` (five to seven lookups per row). Measured on a
million-row table on this 2-core machine: a GROUP BY that takes 0.10 s as the owner took 0.60 s
through the policy. `compute-pnl` (as `aurora_app`) spent 0.57 s in its INSERT … SELECT … GROUP BY
against 0.17 s for the same statement as the superuser (`make bench`, issue 11).

What: each policy of `aurora_app` is rewritten in place (ALTER POLICY, same name, same meaning) so
that the scope is a scalar sub-select, which the planner runs once per statement as an InitPlan:

* `aurora_scope_is(VARIADIC …)` → `(SELECT aurora_scope_is(VARIADIC …))`; the same for
  `aurora_scope_partner()` and `aurora_scope_user()`;
* `aurora_chain_visible(x)` → `CASE WHEN (SELECT aurora_scope_chains()) IS NULL THEN true ELSE
  COALESCE(x = ANY ((SELECT aurora_scope_chains())::text[]), false) END`, the function's own body
  with the setting read once; `aurora_validator_visible(x)` likewise, a NULL validator visible as before.

`aurora_scope_chains()` / `aurora_scope_validators()` (new, STABLE SQL) return the allowed chains /
validators as `text[]`, NULL for no limit. The rewriting works on the catalogue's own text of each
policy (`pg_policies`), so it covers every revision's policies, and keeps the text it replaced in the
policy's COMMENT, from which the downgrade restores it exactly.

Revision ID: 017
Revises: 016
"""

from __future__ import annotations

import json
import re

from alembic import op
from sqlalchemy import text

revision = "017"
down_revision = "016"
branch_labels = None
depends_on = None

APP, MIGRATE = "aurora_app", "aurora_migrate"

FUNCTIONS = (
    """
    CREATE FUNCTION aurora_scope_chains() RETURNS text[] LANGUAGE sql STABLE AS $$
        SELECT nullif(current_setting('app.allowed_chains', true), '')::text[]
    $$""",
    """
    CREATE FUNCTION aurora_scope_validators() RETURNS text[] LANGUAGE sql STABLE AS $$
        SELECT nullif(current_setting('app.allowed_validators', true), '')::text[]
    $$""",
)

# One level of parentheses inside the argument: the catalogue writes `(chain_id)::text`.
_ARGUMENT = r"((?:[^()]|\([^()]*\))*)"
_REWRITES = (
    (re.compile(r"aurora_scope_is\((VARIADIC ARRAY\[[^\]]*\])\)"), r"(SELECT aurora_scope_is(\1))"),
    (re.compile(r"aurora_scope_partner\(\)"), "(SELECT aurora_scope_partner())"),
    (re.compile(r"aurora_scope_user\(\)"), "(SELECT aurora_scope_user())"),
    (
        re.compile(r"aurora_chain_visible\(" + _ARGUMENT + r"\)"),
        r"(CASE WHEN (SELECT aurora_scope_chains()) IS NULL THEN true"
        r" ELSE COALESCE(\1 = ANY ((SELECT aurora_scope_chains())::text[]), false) END)",
    ),
    (
        re.compile(r"aurora_validator_visible\(" + _ARGUMENT + r"\)"),
        r"(CASE WHEN \1 IS NULL OR (SELECT aurora_scope_validators()) IS NULL THEN true"
        r" ELSE COALESCE(\1 = ANY ((SELECT aurora_scope_validators())::text[]), false) END)",
    ),
)


def once_per_statement(expression: str) -> str:
    """A policy expression with every per-row read of the scope turned into a scalar sub-select."""
    for pattern, replacement in _REWRITES:
        expression = pattern.sub(replacement, expression)
    return expression


def _app_policies() -> list[tuple[str, str, str | None, str | None]]:
    rows = op.get_bind().execute(
        text(
            "SELECT tablename, policyname, qual, with_check FROM pg_policies"
            " WHERE schemaname = current_schema() AND :app = ANY (roles) ORDER BY tablename, policyname"
        ),
        {"app": APP},
    )
    return [tuple(row) for row in rows]


def _alter(table: str, policy: str, qual: str | None, with_check: str | None) -> None:
    clauses = []
    if qual is not None:
        clauses.append(f"USING ({qual})")
    if with_check is not None:
        clauses.append(f"WITH CHECK ({with_check})")
    op.execute(f'ALTER POLICY "{policy}" ON "{table}" ' + " ".join(clauses))


def upgrade() -> None:
    for statement in FUNCTIONS:
        op.execute(statement)
    for name in ("aurora_scope_chains()", "aurora_scope_validators()"):
        # Like revision 011's scope functions: the migration role owns them, the app may call them.
        op.execute(f"REVOKE ALL ON FUNCTION {name} FROM PUBLIC")
        op.execute(
            f"DO $$ BEGIN"
            f" IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{MIGRATE}') THEN"
            f" ALTER FUNCTION {name} OWNER TO {MIGRATE}; END IF;"
            f" IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP}') THEN"
            f" GRANT EXECUTE ON FUNCTION {name} TO {APP}; END IF; END $$"
        )
    for table, policy, qual, with_check in _app_policies():
        new_qual = once_per_statement(qual) if qual is not None else None
        new_check = once_per_statement(with_check) if with_check is not None else None
        if (new_qual, new_check) == (qual, with_check):
            continue
        _alter(table, policy, new_qual, new_check)
        original = json.dumps({"revision_017_replaced": {"using": qual, "with_check": with_check}})
        op.execute(
            text(f'COMMENT ON POLICY "{policy}" ON "{table}" IS ' + _literal(original))
        )


def downgrade() -> None:
    rows = op.get_bind().execute(
        text(
            "SELECT c.relname, p.polname, d.description FROM pg_policy p"
            " JOIN pg_class c ON c.oid = p.polrelid"
            " JOIN pg_description d ON d.objoid = p.oid AND d.classoid = 'pg_policy'::regclass"
            " WHERE d.description LIKE '{\"revision_017_replaced\"%'"
        )
    ).all()
    for table, policy, description in rows:
        original = json.loads(description)["revision_017_replaced"]
        _alter(table, policy, original["using"], original["with_check"])
        op.execute(f'COMMENT ON POLICY "{policy}" ON "{table}" IS NULL')
    for name in ("aurora_scope_chains()", "aurora_scope_validators()"):
        op.execute(f"DROP FUNCTION {name}")


def _literal(value: str) -> str:
    """A SQL string literal (COMMENT takes no bind parameter)."""
    return "'" + value.replace("'", "''") + "'"
