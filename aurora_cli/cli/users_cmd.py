"""`aurora users …`, `aurora login`, `aurora logout`, `aurora whoami`."""

from __future__ import annotations

from typing import Annotated

import typer

from aurora_cli.cli.frame import Runtime, command, read_password
from aurora_cli.domain.permissions import Permission
from aurora_cli.errors import NotAuthenticated
from aurora_cli.services import auth

app = typer.Typer(help="Users, roles and service tokens (ADMIN).", no_args_is_help=True)
token_app = typer.Typer(help="Service tokens for cron and CI.", no_args_is_help=True)
app.add_typer(token_app, name="token")

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin (for scripts)."),
]
USER_COLUMNS = [
    "user_id",
    "username",
    "email",
    "role",
    "partner_id",
    "allowed_chain_ids",
    "allowed_validator_keys",
    "is_active",
    "last_login_at",
    "created_at",
]


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@command(
    app,
    "bootstrap-admin",
    path="users bootstrap-admin",
    permission=None,
    help="Create the very first ADMIN; works only while no user exists.",
)
def bootstrap_admin(
    rt: Runtime,
    username: Annotated[str, typer.Option("--username", help="Login name.")],
    email: Annotated[str, typer.Option("--email", help="E-mail address.")],
    password_stdin: PasswordStdin = False,
) -> None:
    password = read_password(from_stdin=password_stdin, confirm=True)
    with rt.transaction() as session:
        user = auth.bootstrap_admin(session, username=username, email=email, password=password)
        rt.audit(
            session,
            action="CREATE_USER",
            resource_type="user",
            resource_id=str(user.user_id),
            after=auth.user_snapshot(user),
            reason="bootstrap-admin",
        )
    rt.output.say(f"Created ADMIN {username!r}. Log in with `aurora login --username {username}`.")


@command(app, "add", path="users add", permission=Permission.ADMINISTER, help="Add a user with a role.")
def add(
    rt: Runtime,
    username: Annotated[str, typer.Option("--username", help="Login name.")],
    email: Annotated[str, typer.Option("--email", help="E-mail address.")],
    role: Annotated[str, typer.Option("--role", help="ADMIN, FINANCE, OPS, PARTNER or AUDITOR.")],
    partner: Annotated[
        str | None, typer.Option("--partner", help="For PARTNER users: the partner's name.")
    ] = None,
    chains: Annotated[
        str | None, typer.Option("--chains", help="Comma-separated chains this user may see.")
    ] = None,
    validators: Annotated[
        str | None, typer.Option("--validators", help="Comma-separated validator keys this user may see.")
    ] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    password = read_password(from_stdin=password_stdin, confirm=True)
    with rt.transaction() as session:
        user = auth.add_user(
            session,
            username=username,
            email=email,
            password=password,
            role=role,
            partner_name=partner,
            chains=_split(chains),
            validators=_split(validators),
        )
        rt.audit(
            session,
            action="CREATE_USER",
            resource_type="user",
            resource_id=str(user.user_id),
            after=auth.user_snapshot(user),
        )
        snapshot = auth.user_snapshot(user)
    rt.output.say(f"Created {snapshot['role']} user {username!r}.")


@command(app, "list", path="users list", permission=Permission.ADMINISTER, help="List users.")
def list_users(rt: Runtime) -> None:
    with rt.transaction() as session:
        rows = [{c: getattr(u, c) for c in USER_COLUMNS} for u in auth.list_users(session)]
    rt.output.listing(
        rows,
        USER_COLUMNS,
        title="Users",
        table_columns=["username", "email", "role", "is_active", "last_login_at"],
    )


@command(
    app,
    "deactivate",
    path="users deactivate",
    permission=Permission.ADMINISTER,
    help="Deactivate a user and revoke their tokens.",
)
def deactivate(rt: Runtime, username: Annotated[str, typer.Argument(help="The user to deactivate.")]) -> None:
    with rt.transaction() as session:
        before, after = auth.deactivate_user(session, username)
        rt.audit(
            session,
            action="UPDATE_USER",
            resource_type="user",
            resource_id=after["user_id"],
            before=before,
            after=after,
            reason="deactivate",
        )
    rt.output.say(f"Deactivated {username!r}; their tokens are revoked.")


@command(
    token_app,
    "create",
    path="users token create",
    permission=Permission.ADMINISTER,
    help="Create a service token for cron/CI; printed once, alone on stdout.",
)
def token_create(
    rt: Runtime,
    user: Annotated[str, typer.Option("--user", help="The user the token acts as.")],
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", min=1, help="Lifetime in days.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="A label, e.g. 'nightly-cron'.")] = None,
) -> None:
    with rt.transaction() as session:
        target = auth.get_user(session, user)
        token = auth.issue_token(session, target, kind="SERVICE", expires_days=expires_days, name=name)
        rt.audit(
            session,
            action="CREATE_TOKEN",
            resource_type="user",
            resource_id=str(target.user_id),
            after={"kind": "SERVICE", "name": name, "expires_days": expires_days},
        )
    typer.echo(token)
    rt.output.say("Store it now: it is shown only once. Use it as AURORA_TOKEN.")


def register_session_commands(root: typer.Typer) -> None:
    @command(root, "login", path="login", permission=None, help="Log in; keeps a session token (mode 0600).")
    def login(
        rt: Runtime,
        username: Annotated[str, typer.Option("--username", help="Login name.")],
        password_stdin: PasswordStdin = False,
    ) -> None:
        password = read_password(from_stdin=password_stdin)
        with rt.transaction() as session:
            user, token = auth.login(session, username=username, password=password)
            rt.audit(session, action="LOGIN", resource_type="user", resource_id=str(user.user_id))
            role = str(getattr(user.role, "value", user.role))
        path = rt.settings.credentials_path
        auth.save_credentials(path, username=username, token=token)
        rt.output.say(f"Logged in as {username} ({role}); session kept in {path}.")

    @command(root, "logout", path="logout", permission=None, help="Forget and revoke the session token.")
    def logout(rt: Runtime) -> None:
        token = auth.forget_credentials(rt.settings.credentials_path)
        if token is None:
            rt.output.say("Not logged in.")
            return
        with rt.transaction() as session:
            try:  # so the audit row says who logged out
                rt.user = auth.authenticate(session, token)
            except NotAuthenticated:
                pass  # expired or revoked: forgetting it locally is all there is to do
            auth.revoke_token(session, token)
            rt.audit(
                session,
                action="LOGOUT",
                resource_type="user",
                resource_id=str(rt.user_id) if rt.user_id else None,
            )
        rt.output.say("Logged out.")

    @command(root, "whoami", path="whoami", permission=None, help="Show the current user and role.")
    def whoami(rt: Runtime) -> None:
        rt.authenticate()
        u = rt.user
        rt.output.single(
            {
                "user_id": u.user_id,
                "username": u.username,
                "role": u.role,
                "partner_id": u.partner_id,
                "allowed_chain_ids": u.allowed_chain_ids,
                "allowed_validator_keys": u.allowed_validator_keys,
            },
            title="Current user",
        )
