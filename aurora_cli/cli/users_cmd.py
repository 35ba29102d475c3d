"""`aurora users bootstrap-admin|add|list|deactivate|token create`: parse, call `services.auth`, render.

The service checks the rules and writes the audit rows; nothing here touches the database itself.
"""

from __future__ import annotations

from typing import Annotated

import typer

from aurora_cli.cli.frame import Runtime, command, read_password
from aurora_cli.cli.options import PasswordStdin
from aurora_cli.domain.permissions import Permission
from aurora_cli.services import auth

app = typer.Typer(help="Users, roles and service tokens (ADMIN).", no_args_is_help=True)
token_app = typer.Typer(help="Service tokens for cron and CI.", no_args_is_help=True)
app.add_typer(token_app, name="token")

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
    rt.authenticating_as(username)
    with rt.transaction() as session:
        auth.bootstrap_admin(session, rt.trail, username=username, email=email, password=password)
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
            trail=rt.trail,
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
        auth.deactivate_user(session, rt.trail, username)
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
        int | None,
        typer.Option("--expires-days", min=1, help=f"Lifetime in days (default {auth.SERVICE_TOKEN_DAYS})."),
    ] = None,
    no_expiry: Annotated[
        bool, typer.Option("--no-expiry", help="A token that never expires (audited as such).")
    ] = False,
    name: Annotated[str | None, typer.Option("--name", help="A label, e.g. 'nightly-cron'.")] = None,
) -> None:
    with rt.transaction() as session:
        token = auth.create_service_token(
            session, rt.trail, username=user, expires_days=expires_days, name=name, no_expiry=no_expiry
        )
    typer.echo(token)
    rt.output.say("Store it now: it is shown only once. Use it as AURORA_TOKEN.")
