"""`aurora login|logout|whoami`: the session on this machine. Parse, call `services.auth`, render."""

from __future__ import annotations

from typing import Annotated

import typer

from aurora_cli.cli.frame import Runtime, command, read_password
from aurora_cli.cli.options import PasswordStdin
from aurora_cli.services import auth

app = typer.Typer()


@command(app, "login", path="login", permission=None, help="Log in; keeps a session token (mode 0600).")
def login(
    rt: Runtime,
    username: Annotated[str, typer.Option("--username", help="Login name.")],
    password_stdin: PasswordStdin = False,
) -> None:
    password = read_password(from_stdin=password_stdin)
    rt.authenticating_as(username)
    with rt.transaction() as session:
        user, token = auth.login(session, rt.trail, username=username, password=password)
        role = str(getattr(user.role, "value", user.role))
    path = rt.settings.credentials_path
    auth.save_credentials(path, username=username, token=token)
    rt.output.say(f"Logged in as {username} ({role}); session kept in {path}.")


@command(app, "logout", path="logout", permission=None, help="Forget and revoke the session token.")
def logout(rt: Runtime) -> None:
    token = auth.forget_credentials(rt.settings.credentials_path)
    if token is None:
        rt.output.say("Not logged in.")
        return
    rt.presenting(token)  # the file is gone: the database is shown the token being revoked
    with rt.transaction() as session:
        # The invocation's own audit row names who logged out, when the token still says.
        rt.user = auth.logout(session, rt.trail, token) or rt.user
    rt.output.say("Logged out.")


@command(app, "whoami", path="whoami", permission=None, help="Show the current user and role.")
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
