"""The one audited-command wrapper: authenticate, authorize, call one service, render, audit.

Every subcommand is registered with `@command(...)`. The wrapper owns the cross-cutting concerns
(SPEC §12, §13): one correlation id per invocation, one `audit_log` row per invocation whatever its
outcome, typed errors mapped to one sentence and one exit code, no traceback unless --verbose.
It builds the invocation's `AuditTrail` (`rt.trail`) that services write their own rows through,
and it is the one place where a service error's named inputs (`errors.param`) become flags.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import sys
import traceback
import typing
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import typer
from rich.markup import escape
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# typer >= 0.29 vendors click; this is the piece of it the frame needs.
from typer._click.globals import get_current_context

from aurora_cli.cli.exit_codes import ExitCode, UsageError, exit_code_for, outcome_of
from aurora_cli.db.cluster import EmbeddedCluster
from aurora_cli.db.engine import connection, make_engine, resolve_url, set_scope, transaction
from aurora_cli.domain.permissions import WHO_MAY, Permission, Scope, allows
from aurora_cli.errors import AuroraError, DatabaseUnavailable, InvalidInput, PermissionDenied, write_failed
from aurora_cli.render.output import Output
from aurora_cli.services import audit, auth
from aurora_cli.services.locks import period_lock
from aurora_cli.settings import Settings, load_settings, reach_settings

if TYPE_CHECKING:  # the ORM is imported by the first command that opens an ORM session, not by the frame
    from sqlalchemy.orm import Session

# Options whose value is a secret (none should exist, SPEC §11: a password is never an argument;
# but a user may still type one, and that invocation is audited too).
SECRET_OPTIONS = ("--password", "--token", "--secret", "--api-key", "--audit-key", "--key")


def database_url(settings: Settings) -> str:
    """The URL to connect to; a malformed one is refused in one sentence that never shows its password."""
    url = resolve_url(settings)
    try:
        parsed = make_url(url)
        _ = parsed.port  # a non-numeric port fails here
        if not parsed.drivername.startswith("postgresql"):
            raise ValueError(f"{parsed.drivername} is not PostgreSQL")
    except Exception as exc:
        raise UsageError(
            f"--database-url (or AURORA_DATABASE_URL) {_without_password(url)!r} is not a PostgreSQL URL "
            f"({one_line(exc)}): write it as postgresql://USER@HOST:PORT/DATABASE."
        ) from None
    return url


def database_gone(exc: DBAPIError | psycopg.Error) -> DatabaseUnavailable:
    """A driver error that escaped a transaction (a lock's connection, a stream): one sentence."""
    orig = getattr(exc, "orig", None)
    cause = one_line(orig if orig is not None else exc)
    return DatabaseUnavailable(
        f"the database connection failed mid-command ({cause}); nothing of the unfinished step was kept: "
        "check that the database is running (`aurora db status`) and rerun."
    )


def flag(name: str) -> str:
    """The command-line option for a service input: `skip_invalid` is `--skip-invalid`."""
    return "--" + name.replace("_", "-")


def error_sentence(exc: AuroraError) -> tuple[str, list[tuple[str, str]]]:
    """The error as users read it: the sentence and its details, inputs spelled as flags."""
    return exc.spelled(flag)


@dataclass
class GlobalOptions:
    format: str = "table"
    config: Path | None = None
    database_url: str | None = None
    correlation_id: uuid.UUID | None = None
    verbose: bool = False
    quiet: bool = False
    argv: list[str] = field(default_factory=list)


class Runtime:
    """What one invocation works with: settings, output, the database, the acting user."""

    def __init__(self, options: GlobalOptions) -> None:
        self.options = options
        self.correlation_id = options.correlation_id or uuid.uuid4()
        self.output = Output(options.format, quiet=options.quiet)
        self._settings: Settings | None = None
        self._engine: Engine | None = None
        self.user: Any = None  # services.auth.AuthenticatedUser once authenticated
        self._scope: Scope | None = None  # built once: Scope.of(user) after authentication
        self.audited = False  # set when a command wrote its own invocation row (db stop)
        self._keyring: audit.Keyring | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            config = self.options.config
            if config is not None and not config.expanduser().is_file():
                raise UsageError(f"--config {config}: no such file.")
            try:
                self._settings = load_settings(config, database_url=self.options.database_url)
            except (ValueError, OSError) as exc:  # pydantic's ValidationError and TOML errors are ValueErrors
                first = str(exc).strip().splitlines()
                raise InvalidInput(f"the settings could not be read: {' '.join(first[:3])}") from exc
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(database_url(self.settings), self.scope)
        return self._engine

    @property
    def scope(self) -> Scope:
        """Who this invocation acts for: the one value the database (RLS) and the services read.

        Before anyone is authenticated it is the AUTHENTICATING scope, which shows only the user
        named by `authenticating_as` or the one holding the presented token.
        """
        if self._scope is None:
            token = None
            try:
                token = auth.presented_token(self.settings)
            except Exception:  # unreadable settings: nothing to present, and still a scope that shows nothing
                token = None
            self._scope = Scope.authenticating(
                token_hash=hashlib.sha256(token.encode("utf-8")).hexdigest() if token else None
            )
        return self._scope

    def _set_scope(self, scope: Scope) -> None:
        self._scope = scope
        if self._engine is not None:
            set_scope(self._engine, scope)

    def authenticating_as(self, username: str) -> None:
        """Before logging in or bootstrapping `username`: let the database show that user's row only."""
        self._set_scope(
            replace(Scope.authenticating(token_hash=self.scope.auth_token_hash), auth_username=username)
        )

    def presenting(self, token: str) -> None:
        """Before acting on `token` (logout, once the credentials file is gone): let the database show
        the row of that token and its user only."""
        digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
        self._set_scope(
            replace(Scope.authenticating(token_hash=digest), auth_username=self.scope.auth_username)
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.engine) as session:
            yield session

    def period_lock(self, chain_id: str, period: str, *, no_wait: bool) -> Any:
        """The advisory lock on (chain, period), for compute-commissions (the period pipeline's own
        commands lock inside `services.pipeline.run_period`): wait up to the configured timeout, or not."""
        return period_lock(
            self.engine,
            chain_id,
            period,
            wait=not no_wait,
            timeout_seconds=self.settings.lock_timeout_seconds,
        )

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.user.user_id if self.user is not None else None

    def authenticate(self) -> None:
        with connection(self.engine) as conn:  # Core SQL: a simple read never loads the ORM models
            self.user = auth.authenticate(conn, auth.presented_token(self.settings))
        # From the next transaction on, the database acts for this user (RLS reads the scope).
        self._set_scope(Scope.of(self.user))

    def require(self, permission: Permission) -> None:
        if self.user is None:
            self.authenticate()
        scope = self.scope  # the one value the services' filters and the database's policies read
        if not allows(scope.role, permission):
            raise PermissionDenied(
                f"permission denied: {scope.username} ({scope.role}) may not {permission.value}; "
                f"that needs the {WHO_MAY[permission]} role."
            )

    def require_chain(self, chain: str) -> None:
        """Users limited to some chains (`users add --chains`) act on those alone."""
        allowed = self.scope.allowed_chain_ids
        if not self.scope.chain_allowed(chain):
            raise PermissionDenied(
                f"permission denied: {self.scope.username} may only work on {', '.join(allowed)}, not {chain}."
            )

    @property
    def keyring(self) -> audit.Keyring:
        """The audit chain's keys (never printed): from these settings, or only what reaches the database."""
        if self._keyring is None:
            try:
                settings = self.settings
            except (AuroraError, UsageError):
                settings = reach_settings(self.options.database_url)
            self._keyring = audit.load_keyring(settings)
        return self._keyring

    @property
    def data_dir(self) -> Path:
        try:
            return self.settings.data_dir
        except (AuroraError, UsageError):
            return reach_settings(self.options.database_url).data_dir

    @property
    def trail(self) -> audit.AuditTrail:
        """What services write their audit rows through: this invocation, the user acting now."""
        return audit.AuditTrail(self.correlation_id, self.user_id, self.keyring.current)

    def audit_invocation(self, path: str, code: ExitCode, error: str | None) -> None:
        """Best effort: the invocation's own audit row, in its own transaction, then its checkpoint."""
        if self.audited:
            return
        engine = self._engine_if_reachable()
        if engine is None:
            return
        try:
            with connection(engine) as conn:
                row = audit.record_invocation(
                    conn,
                    correlation_id=self.correlation_id,
                    user_id=self.user_id,
                    command=" ".join(redact(path.split()))[:100],
                    argv=redact(self.options.argv),
                    exit_code=int(code),
                    outcome=outcome_of(code),
                    error=redact_text(error, self.options.argv) if error else None,
                    key=self.keyring.current,
                )
                seq, head = row.seq, row.row_hash
            self.audited = True
            audit.append_checkpoint(audit.checkpoint_path(self.data_dir, engine), seq, head)
        except Exception as exc:  # the command's own outcome stands; say why auditing failed
            if self.options.verbose:
                self.output.err.print(f"[yellow]audit row not written: {escape(one_line(exc))}[/yellow]")

    def _engine_if_reachable(self) -> Engine | None:
        if self._engine is not None:
            return self._engine
        try:
            try:
                settings = self.settings
            except (AuroraError, UsageError):
                # A malformed config or a bad AURORA_* value: audit it in the database it would reach.
                settings = reach_settings(self.options.database_url)
            if settings.database_url is None:
                cluster = EmbeddedCluster(settings.data_dir)
                if not cluster.initialized or not cluster.is_running():
                    return None
            self._engine = make_engine(database_url(settings), self.scope)
            return self._engine
        except Exception:
            return None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def _without_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: keep only what carries no credential
        return audit.redact_text(url) if "://" in url or "=" in url else "***"


def hidden_values(argv: list[str]) -> list[str]:
    """The values `redact` hides, so an error message quoting one can be redacted too."""
    hidden: list[str] = []
    for i, token in enumerate(argv):
        name, _, value = token.partition("=")
        if name in SECRET_OPTIONS and value:
            hidden.append(value)
        elif token in SECRET_OPTIONS and i + 1 < len(argv):
            hidden.append(argv[i + 1])
    return hidden


def redact(argv: list[str]) -> list[str]:
    """The command line as audited: secrets replaced, database URLs without their password."""
    out: list[str] = []
    hide_next = False
    url_next = False
    for token in argv:
        if hide_next:
            out.append("***")
            hide_next = False
        elif url_next:
            out.append(_without_password(token))
            url_next = False
        elif token == "--database-url":
            out.append(token)
            url_next = True
        elif token.startswith("--database-url="):
            out.append("--database-url=" + _without_password(token.split("=", 1)[1]))
        elif token in SECRET_OPTIONS:
            out.append(token)
            hide_next = True
        elif any(token.startswith(opt + "=") for opt in SECRET_OPTIONS):
            out.append(token.split("=", 1)[0] + "=***")
        else:
            out.append(audit.redact_text(token))
    return out


def redact_text(text: str, argv: list[str] | None = None) -> str:
    """An error message as audited: no credential, nor any value the command line's secrets held."""
    return audit.redact_text(text, hidden_values(argv or []))


def one_line(exc: BaseException) -> str:
    """An exception as one line of text: its first line, credentials removed."""
    text = str(exc).strip().splitlines()
    return audit.redact_text(text[0] if text else type(exc).__name__)


def global_options() -> GlobalOptions:
    ctx = get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    if root is not None and isinstance(root.obj, GlobalOptions):
        return root.obj
    return GlobalOptions()


def run_command(
    path: str, permission: Permission | None, body: Callable[[Runtime], Any], *, chains: Sequence[str] = ()
) -> None:
    """Run one invocation under the frame and exit with its code."""
    options = global_options()
    rt = Runtime(options)
    if options.verbose:
        rt.output.err.print(f"correlation id {rt.correlation_id}", markup=False, highlight=False)
    code = ExitCode.OK
    error: str | None = None
    try:
        if permission is not None:
            rt.require(permission)
            for chain in chains:  # every --chain of a multi-chain command, not just the first
                rt.require_chain(chain)
        result = body(rt)
        if isinstance(result, int):
            code = ExitCode(result)
    except AuroraError as exc:
        code, error = exit_code_for(exc), error_sentence(exc)[0]
        render_error(rt, exc)
    except KeyboardInterrupt:
        code, error = ExitCode.ERROR, "interrupted"
        rt.output.err.print("Interrupted; nothing of the unfinished step was kept.")
    except typer.Abort:
        # A prompt met the end of input (cron, CI, a pipe): say how to run it unattended.
        code, error = ExitCode.USAGE, "input needed but none was given"
        rt.output.err.print(
            "Error: this command asked for input but none was given: pass the password with "
            "--password-stdin, or confirm with --yes.",
            markup=False,
        )
    except (
        OperationalError,
        InterfaceError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
        OSError,
    ) as exc:
        # The database went away mid-command, or the disk is full: one sentence, not the driver's text.
        failure = write_failed(exc, exc.filename) if isinstance(exc, OSError) else database_gone(exc)
        code, error = exit_code_for(failure), error_sentence(failure)[0]
        render_error(rt, failure)
        if options.verbose:
            rt.output.err.print(traceback.format_exc(), markup=False)
    except Exception as exc:
        code, error = ExitCode.ERROR, f"{type(exc).__name__}: {one_line(exc)}"
        rt.output.err.print(
            f"[red]Error:[/red] unexpected {type(exc).__name__}: {escape(one_line(exc))}; rerun with --verbose for the "
            f"traceback [dim](correlation id {rt.correlation_id})[/dim]",
            markup=True,
        )
        if options.verbose:
            rt.output.err.print(traceback.format_exc(), markup=False)
    finally:
        rt.audit_invocation(path, code, error)
        rt.close()
    raise typer.Exit(int(code))


def render_error(rt: Runtime, exc: AuroraError) -> None:
    err = rt.output.err
    message, details = error_sentence(exc)
    err.print(
        f"[red]Error:[/red] {escape(message)} [dim](correlation id {rt.correlation_id})[/dim]",
        highlight=False,
    )
    for where, reason in details:
        err.print(f"  - {where}: {reason}", markup=False, highlight=False)
    if rt.options.verbose:
        err.print("".join(traceback.format_exception(exc)), markup=False)


# The permission each command path needs (None: anyone), for the README's generated command table.
PERMISSIONS: dict[str, Permission | None] = {}


def command(
    app: typer.Typer, name: str, *, path: str, permission: Permission | None, help: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `fn(rt, **options)` as the subcommand `name`, run under the audited frame.

    `permission=None` is for the few commands that must work before anyone can log in
    (db up/status/stop, users bootstrap-admin, login, logout).
    """

    PERMISSIONS[path] = permission

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        # Resolve string annotations (PEP 563) in fn's module; Typer reads them off the wrapper.
        hints = typing.get_type_hints(fn, include_extras=True)
        signature = inspect.signature(fn)
        params = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in list(signature.parameters.values())[1:]
        ]

        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> None:
            chain = kwargs.get("chain")
            chains = [chain] if isinstance(chain, str) else [c for c in chain or () if isinstance(c, str)]
            run_command(path, permission, lambda rt: fn(rt, **kwargs), chains=chains)

        wrapper.__signature__ = signature.replace(parameters=params, return_annotation=None)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        del wrapper.__wrapped__
        app.command(name, help=help)(wrapper)
        return fn

    return decorator


def read_password(*, from_stdin: bool, confirm: bool = False) -> str:
    """Passwords are prompted for or read from stdin, never taken as arguments."""
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=confirm, err=True)
