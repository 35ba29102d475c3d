"""`aurora providers check` under --quiet: nothing on stdout or stderr, only the exit code.

Given the committed providers pointed at a closed loopback port (offline), when `providers check`
runs with and without `--quiet`, then the plain run names each offline provider and exits 1, and the
quiet run exits 1 with both streams empty; a check of the local file importer exits 0, silently.
"""

from __future__ import annotations

from tests.statement_fixtures import sql


def test_quiet_providers_check_prints_nothing_and_keeps_the_exit_code(admin_cli):
    sql(admin_cli.db_url, "UPDATE providers SET base_url = 'http://127.0.0.1:9' WHERE provider_name = 'jito'")

    loud = admin_cli("providers", "check", "jito", "file")
    assert loud.exit_code == 1, loud
    assert "offline:" in loud.stderr and "jito" in loud.stderr

    quiet = admin_cli("--quiet", "providers", "check", "jito", "file")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (1, "", "")

    fine = admin_cli("--quiet", "providers", "check", "file")
    assert (fine.exit_code, fine.stdout, fine.stderr) == (0, "", "")
