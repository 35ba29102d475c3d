"""`aurora db up|status|stop` on a real embedded cluster, as the current user."""

from __future__ import annotations

import psycopg

from aurora_cli.db.migrate import head_revision


def test_db_up_status_stop(cli, tmp_path):
    data_dir = tmp_path / "d"
    env = {"AURORA_DATABASE_URL": None, "AURORA_DATA_DIR": str(data_dir)}
    try:
        up = cli("--format", "json", "db", "up", env=env)
        assert up.exit_code == 0, up
        status = cli("--format", "json", "db", "status", env=env)
        doc = status.json()
        assert doc["running"] is True and doc["revision"] == head_revision()
        assert doc["data_dir"] == str(data_dir)
        # The URL is one a plain PostgreSQL client connects with.
        with psycopg.connect(doc["url"]) as conn:
            assert conn.execute("SELECT count(*) FROM chains").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM audit_log WHERE action = 'DB_MIGRATE'").fetchone() == (
                1,
            )
        again = cli("db", "up", env=env)
        assert again.exit_code == 0 and "already current" in again.stderr
        stop = cli("db", "stop", env=env)
        assert stop.exit_code == 0 and "Stopped" in stop.stderr
        down = cli("--format", "json", "db", "status", env=env).json()
        assert down["running"] is False and down["revision"] is None
    finally:
        cli("db", "stop", env=env)
