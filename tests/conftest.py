"""Test fixtures: one real PostgreSQL cluster per test session, a fresh migrated database per test.

The cluster is Aurora's own embedded cluster (so its root handling is exercised too); pytest-postgresql
clones a template database migrated to head for every test, so tests are isolated and fast.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql import factories
from pytest_postgresql.janitor import DatabaseJanitor
from sqlalchemy.engine import make_url

from aurora_cli.db.cluster import APP_ROLE, MIGRATE_ROLE, PORT, SUPERUSER, EmbeddedCluster
from aurora_cli.db.migrate import upgrade

# Short path: Unix socket paths are limited to ~107 bytes.
_PG_ROOT = Path(tempfile.mkdtemp(prefix="aurora-test-"))
_PG_ROOT.chmod(0o711)
CLUSTER = EmbeddedCluster(_PG_ROOT / "cluster", fast=True)
REPO = Path(__file__).resolve().parents[1]

# Speed: a bcrypt cost below production's minimum of 12 is honoured only under AURORA_TESTING=1.
os.environ.setdefault("AURORA_TESTING", "1")
os.environ.setdefault("AURORA_BCRYPT_ROUNDS", "4")
# The audit chain's HMAC key for tests that write audit rows outside a CLI data dir (tests of the
# key file itself unset it).
os.environ.setdefault("AURORA_AUDIT_KEY", "test-audit-key-0123456789abcdef0123456789abcdef")


def sa_url(dbname: str) -> str:
    """The superuser's URL: creating template databases and migrating them, and tests that tamper."""
    return f"postgresql+psycopg://{SUPERUSER}@/{dbname}?host={CLUSTER.socket_dir}&port={PORT}"


def app_url(dbname: str) -> str:
    """The URL the application uses at run time: aurora_app, no ownership, row-level security applies."""
    return CLUSTER.role_url(APP_ROLE, dbname, driver="postgresql+psycopg")


def _migrate_template(host: str, port: int, user: str, dbname: str, **_kwargs: object) -> None:
    upgrade(sa_url(dbname))


@pytest.fixture(scope="session", autouse=True)
def pg_cluster():
    CLUSTER.init()
    CLUSTER.start()
    CLUSTER.ensure_login_roles()
    yield CLUSTER
    CLUSTER.stop()
    shutil.rmtree(_PG_ROOT, ignore_errors=True)


aurora_pg = factories.postgresql_noproc(
    host=str(CLUSTER.socket_dir), port=PORT, user=SUPERUSER, dbname="aurora_test", load=[_migrate_template]
)
pg_conn = factories.postgresql("aurora_pg")


@pytest.fixture
def db_url(pg_conn: psycopg.Connection) -> str:
    """SQLAlchemy URL of a fresh database migrated to head, as the superuser: tests set up and inspect
    rows through it like a DBA would. The application itself runs on `app_db_url`."""
    return sa_url(pg_conn.info.dbname)


@pytest.fixture
def app_db_url(pg_conn: psycopg.Connection) -> str:
    """The same database as the application reaches it: aurora_app, no ownership, RLS applies."""
    return app_url(pg_conn.info.dbname)


@pytest.fixture
def empty_db_url(aurora_pg) -> str:
    """SQLAlchemy URL of a fresh empty database (no schema)."""
    name = "aurora_empty"
    janitor = DatabaseJanitor(
        user=SUPERUSER, host=str(CLUSTER.socket_dir), port=PORT, dbname=name, version=None
    )
    janitor.drop()
    janitor.init()
    yield sa_url(name)
    janitor.drop()


@pytest.fixture
def engine(app_db_url: str):
    from aurora_cli.db.engine import make_engine

    eng = make_engine(app_db_url)  # the library's SYSTEM scope, as the application's role
    yield eng
    eng.dispose()


@pytest.fixture
def repo() -> Path:
    return REPO


class CliResult:
    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr

    def json(self):
        import json

        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"CliResult(exit_code={self.exit_code}, stdout={self.stdout[-2000:]!r}, stderr={self.stderr[-2000:]!r})"


class Cli:
    """Runs `aurora …` in-process with Typer's CliRunner against the test's database."""

    def __init__(
        self, db_url: str, home: Path, app_db_url: str | None = None, migrate_db_url: str | None = None
    ) -> None:
        self.db_url = db_url  # the superuser's, for a test's own set-up and checks
        self.app_db_url = app_db_url or db_url  # what the CLI runs on
        self.migrate_db_url = migrate_db_url  # what `db upgrade/downgrade` run on (issue 10)
        self.home = home
        self.credentials = home / "credentials"
        self.token: str | None = None

    def __call__(
        self, *args: str, input: str | None = None, token: str | None = None, env: dict | None = None
    ):
        from typer.testing import CliRunner

        from aurora_cli.cli.app import app

        environment = {
            "AURORA_DATABASE_URL": self.app_db_url,
            **({"AURORA_MIGRATION_DATABASE_URL": self.migrate_db_url} if self.migrate_db_url else {}),
            "AURORA_CREDENTIALS": str(self.credentials),
            "AURORA_TOKEN": token if token is not None else self.token,
            "AURORA_DATA_DIR": str(self.home / "data"),
            "HOME": str(self.home),
            "COLUMNS": "200",
        }
        environment.update(env or {})
        if environment["AURORA_DATABASE_URL"] is None and "AURORA_MIGRATION_DATABASE_URL" not in (env or {}):
            environment["AURORA_MIGRATION_DATABASE_URL"] = None  # no external database: the embedded one
        result = CliRunner().invoke(app, list(args), input=input, env=environment, catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    def login_as(self, username: str, password: str) -> None:
        result = self("login", "--username", username, "--password-stdin", input=password + "\n")
        assert result.exit_code == 0, result

    def admin(self, username: str = "root-admin", password: str = "correct-horse-1") -> None:
        """Bootstrap an ADMIN, apply the committed config, and act as that admin via a service token."""
        r = self(
            "users",
            "bootstrap-admin",
            "--username",
            username,
            "--email",
            f"{username}@example.com",
            "--password-stdin",
            input=password + "\n",
        )
        assert r.exit_code == 0, r
        self.login_as(username, password)

    def add_user(self, username: str, role: str, password: str = "password-123", *extra: str) -> None:
        r = self(
            "users",
            "add",
            "--username",
            username,
            "--email",
            f"{username}@example.com",
            "--role",
            role,
            *extra,
            "--password-stdin",
            input=password + "\n",
        )
        assert r.exit_code == 0, r

    def add_epoch_850(self) -> None:
        """Register Solana epoch 850 with the sample data's bounds (config/samples/periods.toml)."""
        r = self(
            "periods",
            "add",
            "--chain",
            "solana-mainnet",
            "--period",
            "850",
            "--start",
            "2025-09-01T00:00:00Z",
            "--end",
            "2025-09-03T01:12:00Z",
        )
        assert r.exit_code == 0, r

    def token_for(self, username: str) -> str:
        r = self("users", "token", "create", "--user", username)
        assert r.exit_code == 0, r
        return r.stdout.strip()


@pytest.fixture
def cli(db_url: str, app_db_url: str, tmp_path: Path) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    dbname = make_url(db_url).database
    return Cli(db_url, home, app_db_url, CLUSTER.role_url(MIGRATE_ROLE, dbname, driver="postgresql+psycopg"))


@pytest.fixture
def admin_cli(cli: Cli) -> Cli:
    """A CLI logged in as an ADMIN, with the committed configuration applied."""
    cli.admin()
    r = cli("config", "apply", "--dir", str(REPO / "config"))
    assert r.exit_code == 0, r
    return cli


@pytest.fixture
def ops(admin_cli):
    """The admin's CLI acting through an OPS service token, with Solana epoch 850 registered."""
    admin_cli.add_user("ops", "OPS")
    admin_cli.token = admin_cli.token_for("ops")
    admin_cli.add_epoch_850()
    return admin_cli
