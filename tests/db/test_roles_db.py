"""The database roles seen from the outside: migrating as the wrong role, the role `db status` names,
and revision 011 (roles, forced row-level security) going down to 010 and back up on a scratch database.
"""

from __future__ import annotations

import psycopg
from sqlalchemy.engine import make_url

from aurora_cli.db.cluster import APP_ROLE
from aurora_cli.db.migrate import downgrade, head_revision, upgrade
from tests.statement_fixtures import sql

NO_MIGRATION_URL = {"AURORA_MIGRATION_DATABASE_URL": None}


def one_sentence(stderr: str) -> str:
    text = " ".join(stderr.split())
    assert text.count("Error:") == 1 and "Traceback" not in text and "ProgrammingError" not in text, stderr
    return text


def test_migrating_as_the_app_role_names_the_migration_role_url(cli):
    cli.admin()
    head = head_revision()
    for args in (("db", "upgrade"), ("db", "downgrade", "010", "--yes"), ("db", "up")):
        r = cli(*args, env=NO_MIGRATION_URL)
        assert r.exit_code == 4, (args, r)
        text = one_sentence(r.stderr)
        assert f"the database role {APP_ROLE} may not read or change the schema's migrations" in text, text
        assert "permission denied for table alembic_version" in text
        assert "set migration_database_url in aurora.toml (or AURORA_MIGRATION_DATABASE_URL)" in text
        assert "postgresql://aurora_migrate:PASSWORD@HOST:PORT/DATABASE" in text
    assert sql(cli.db_url, "SELECT version_num FROM alembic_version") == [(head,)]  # nothing migrated

    # `db status` still answers (exit 0), says the revision is unreadable and why, in the same words.
    human = cli("db", "status", env=NO_MIGRATION_URL)
    assert human.exit_code == 0, human
    assert "set migration_database_url" in " ".join(human.stdout.split() + human.stderr.split())
    doc = cli("--format", "json", "db", "status", env=NO_MIGRATION_URL).json()
    assert doc["running"] is True and doc["revision"] is None
    assert doc["problem"].startswith(f"the database role {APP_ROLE} may not read or change")
    assert doc["app_role"]["name"] == APP_ROLE

    # With the migration role's URL configured, the same commands work.
    assert cli("db", "downgrade", "012", "--yes").exit_code == 0
    assert cli("db", "upgrade").exit_code == 0
    assert sql(cli.db_url, "SELECT version_num FROM alembic_version") == [(head,)]


def test_db_status_names_the_role_the_application_runs_as(cli):
    doc = cli("--format", "json", "db", "status").json()
    assert doc["app_role"] == {"name": APP_ROLE, "superuser": False, "bypass_rls": False}
    assert doc["revision"] == head_revision() and "problem" not in doc
    human = cli("db", "status")
    assert human.exit_code == 0, human
    shown = " ".join((human.stdout + human.stderr).split())
    assert f"app_role │ {APP_ROLE} (not superuser, row-level security applies)" in shown, shown

    # As the superuser (an external URL that names it), status says so instead of hiding it.
    su = cli("--format", "json", "db", "status", env={"AURORA_DATABASE_URL": cli.db_url}).json()
    assert su["app_role"]["name"] == make_url(cli.db_url).username and su["app_role"]["superuser"] is True


# -- revision 011 both ways ----------------------------------------------------------------------------

CATALOGUE = {
    "policies": "SELECT tablename, policyname, cmd, roles::text, coalesce(qual, ''), coalesce(with_check, '')"
    " FROM pg_policies WHERE schemaname = 'public' ORDER BY 1, 2",
    "rls": "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
    " AND c.relforcerowsecurity ORDER BY 1",
    "owners": "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c"
    " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S') ORDER BY 1",
    "grants": "SELECT table_name, grantee, privilege_type FROM information_schema.role_table_grants"
    " WHERE grantee IN ('aurora_app', 'aurora_readonly') ORDER BY 1, 2, 3",
    "acl": "SELECT c.relname, coalesce(c.relacl::text, '') FROM pg_class c"
    " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S') ORDER BY 1",
    "summaries": "SELECT c.relname, has_table_privilege('aurora_app', c.oid, 'SELECT') FROM pg_class c"
    " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'm' ORDER BY 1",
    "functions": "SELECT p.proname, pg_get_userbyid(p.proowner) FROM pg_proc p"
    " WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'aurora%' ORDER BY 1",
}


def catalogue(raw: str) -> dict[str, list[tuple]]:
    with psycopg.connect(raw) as conn:
        return {name: [tuple(r) for r in conn.execute(q).fetchall()] for name, q in CATALOGUE.items()}


def test_011_downgrades_to_010_and_upgrades_again(empty_db_url):
    raw = empty_db_url.replace("postgresql+psycopg", "postgresql")
    upgrade(empty_db_url, "head")
    at_head = catalogue(raw)
    assert len(at_head["policies"]) >= 20 and ("partners",) in at_head["rls"]
    assert {owner for _, owner in at_head["owners"]} == {"aurora_migrate"}, at_head["owners"]

    downgrade(empty_db_url, "010")  # 013, 012, then 011 itself
    with psycopg.connect(raw) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("010",)]
    at_010 = catalogue(raw)
    # 011's policies, forced RLS and scope functions are gone; revision 001's one policy is back.
    assert [(t, p) for t, p, *_ in at_010["policies"]] == [
        ("partner_commission_lines", "partner_commission_lines_policy")
    ]
    assert at_010["rls"] == []
    assert not any(name.startswith("aurora_scope") for name, _ in at_010["functions"])
    # Objects go back to the role that ran the downgrade; the summaries are readable again as in 010.
    assert "aurora_migrate" not in {owner for _, owner in at_010["owners"]}
    assert ("mv_partner_commissions_summary", True) in at_010["summaries"]
    assert ("mv_partner_commissions_summary", False) in at_head["summaries"]
    # The roles are the cluster's, shared by every database: they stay, still unprivileged.
    with psycopg.connect(raw) as conn:
        roles = conn.execute(
            "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname LIKE 'aurora\\_%' ORDER BY 1"
        ).fetchall()
    assert roles == [("aurora_app", False, False), ("aurora_migrate", False, False), ("aurora_readonly", False, False)]

    upgrade(empty_db_url, "head")
    assert catalogue(raw) == at_head  # policies, forcing, owners, grants and functions exactly as before

    # And they act again: with no settings, the application's role sees no partner the superuser sees.
    with psycopg.connect(raw) as conn:
        conn.execute("INSERT INTO partners (partner_name, contact_email) VALUES ('Round Trip Partners', 'rt@example.com')")
    app = CLUSTER_APP_URL(make_url(empty_db_url).database)
    with psycopg.connect(app) as conn:
        conn.execute("RESET ALL")
        assert conn.execute("SELECT count(*) FROM partners").fetchone() == (0,)
    with psycopg.connect(raw) as conn:
        assert conn.execute("SELECT count(*) FROM partners").fetchone() == (1,)


def CLUSTER_APP_URL(dbname: str) -> str:  # noqa: N802
    from tests.conftest import app_url

    return app_url(dbname).replace("postgresql+psycopg", "postgresql")
