"""Users, passwords, session and service tokens (SPEC §11).

Passwords are bcrypt hashes. Tokens are 256-bit random strings shown once; only their SHA-256 is
stored (a token has full entropy, so a fast hash is enough and lets lookup use an index).
Writes its own audit rows (users, tokens, log in/out) through the caller's trail. Never prints or
names a flag: returns values for the CLI to render.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import stat
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import bcrypt
from sqlalchemy import func, select, text

from aurora_cli.domain.permissions import Role
from aurora_cli.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, param
from aurora_cli.services.audit import AuditTrail, Recorder
from aurora_cli.settings import Settings

if TYPE_CHECKING:  # the ORM models are imported by the functions that build or change rows
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    from aurora_cli.db.models import User

SESSION_DAYS = 30
SERVICE_TOKEN_DAYS = 90  # a service token expires unless its creator opts out, audited
TOKEN_PREFIX = "aur_"
MIN_PASSWORD = 8
BCRYPT_MAX_BYTES = 72
BCRYPT_MIN_ROUNDS = 12  # production's floor; lower costs only for the test suite (AURORA_TESTING=1)
BCRYPT_MAX_ROUNDS = 16


@dataclass(frozen=True)
class AuthenticatedUser:
    user_id: uuid.UUID
    username: str
    role: str
    partner_id: str | None
    allowed_chain_ids: tuple[str, ...] | None
    allowed_validator_keys: tuple[str, ...] | None


# -- passwords ------------------------------------------------------------------------------


def bcrypt_rounds() -> int:
    """The bcrypt cost: AURORA_BCRYPT_ROUNDS, never below 12 unless AURORA_TESTING=1 says this is a test."""
    raw = os.environ.get("AURORA_BCRYPT_ROUNDS", "").strip() or str(BCRYPT_MIN_ROUNDS)
    testing = os.environ.get("AURORA_TESTING") == "1"
    floor = 4 if testing else BCRYPT_MIN_ROUNDS
    if not raw.isdigit() or not floor <= int(raw) <= BCRYPT_MAX_ROUNDS:
        lower = " (lower costs are for the test suite only, under AURORA_TESTING=1)" if not testing else ""
        raise InvalidInput(
            f"AURORA_BCRYPT_ROUNDS={raw[:20]!r} is not a bcrypt cost from {floor} to {BCRYPT_MAX_ROUNDS}"
            f"{lower}: unset it to use {BCRYPT_MIN_ROUNDS}."
        )
    return int(raw)


def hash_password(password: str) -> str:
    check_password_rules(password)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=bcrypt_rounds())).decode("ascii")


_dummy_hashes: dict[int, bytes] = {}


def _dummy_hash() -> bytes:
    """A hash no password matches, at today's cost: unknown users cost login the same bcrypt work."""
    rounds = bcrypt_rounds()
    if rounds not in _dummy_hashes:
        _dummy_hashes[rounds] = bcrypt.hashpw(secrets.token_bytes(16).hex().encode(), bcrypt.gensalt(rounds))
    return _dummy_hashes[rounds]


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password is too short: use at least {MIN_PASSWORD} characters.")
    if len(password.encode("utf-8")) > BCRYPT_MAX_BYTES:
        raise InvalidInput(f"the password is too long: bcrypt uses at most {BCRYPT_MAX_BYTES} bytes.")


def password_matches(password: str, password_hash: str | None) -> bool:
    """bcrypt's check; with no hash (unknown user) the same work against a dummy, then False."""
    encoded = password.encode("utf-8")[:BCRYPT_MAX_BYTES]
    too_long = len(password.encode("utf-8")) > BCRYPT_MAX_BYTES
    stored = password_hash.encode("ascii") if password_hash else _dummy_hash()
    matched = bcrypt.checkpw(encoded, stored)
    return matched and password_hash is not None and not too_long


# -- users ----------------------------------------------------------------------------------


def user_count(session: Session) -> int:
    # Every user, whatever the session may see of them (revision 011's definer function).
    return session.scalar(select(func.aurora_user_count())) or 0


def bootstrap_admin(session: Session, trail: Recorder, *, username: str, email: str, password: str) -> User:
    """Create the very first ADMIN (audited); refused once any user exists."""
    # Serialize two concurrent bootstraps: the loser sees the winner's row.
    session.execute(select(func.pg_advisory_xact_lock(0x424F4F54)))
    if user_count(session) > 0:
        raise Conflict("users already exist: bootstrap-admin only works on an empty database; ask an ADMIN.")
    user = add_user(session, username=username, email=email, password=password, role=Role.ADMIN)
    _audit_created(session, trail, user, reason="bootstrap-admin")
    return user


def _audit_created(session: Session, trail: Recorder, user: User, *, reason: str | None = None) -> None:
    trail(
        session,
        action="CREATE_USER",
        resource_type="user",
        resource_id=str(user.user_id),
        after=user_snapshot(user),
        reason=reason,
    )


def add_user(
    session: Session,
    *,
    username: str,
    email: str,
    password: str,
    role: str,
    partner_name: str | None = None,
    chains: list[str] | None = None,
    validators: list[str] | None = None,
    trail: Recorder | None = None,
) -> User:
    """Create a user; audited through `trail` (None only where fixtures seed users)."""
    from aurora_cli.db.models import Chain, Partner, User
    role = role.upper()
    errors: list[tuple[str, str]] = []
    if role not in Role.__members__:
        errors.append((param("role"), f"unknown role {role!r}; use one of {', '.join(Role)}"))
    if not re.fullmatch(r"[A-Za-z0-9_.@-]{2,100}", username):
        errors.append((param("username"), "use 2-100 letters, digits, '_', '.', '@' or '-'"))
    if not re.fullmatch(r"[^@\s]+@[^@\s]+", email) or len(email) > 200:
        errors.append((param("email"), "not an e-mail address"))
    if role == Role.PARTNER and not partner_name:
        errors.append((param("partner"), "a PARTNER user must name the partner it belongs to"))
    if role != Role.PARTNER and partner_name:
        errors.append((param("partner"), "only PARTNER users belong to a partner"))
    if errors:
        raise InvalidInput("the user was not created: fix the options below.", details=errors)
    partner_id = None
    if partner_name:
        partner_id = session.scalar(select(Partner.partner_id).where(Partner.partner_name == partner_name))
        if partner_id is None:
            raise NotFound(f"no partner named {partner_name!r}: apply its agreement first.")
    for chain in chains or []:
        if session.get(Chain, chain) is None:
            raise NotFound(f"unknown chain {chain!r}: run `aurora config apply` or fix {param('chains')}.")
    if session.scalar(select(User.user_id).where((User.username == username) | (User.email == email))):
        raise Conflict(f"a user with username {username!r} or email {email!r} already exists.")
    user = User(
        username=username,
        email=email,
        password_hash=hash_password(password),
        role=role,
        partner_id=partner_id,
        allowed_chain_ids=chains or None,
        allowed_validator_keys=validators or None,
    )
    session.add(user)
    session.flush()
    if trail is not None:
        _audit_created(session, trail, user)
    return user


def get_user(session: Session, username: str) -> User:
    from aurora_cli.db.models import User
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user named {username!r}: see `aurora users list`.")
    return user


def list_users(session: Session) -> list[User]:
    from aurora_cli.db.models import User
    return list(session.scalars(select(User).order_by(User.username)))


def deactivate_user(session: Session, trail: Recorder, username: str) -> dict:
    """Deactivate a user (audited) and revoke their tokens; never the last active ADMIN.

    There is no reactivate command, so deactivating the last active ADMIN (oneself included) would
    lock everyone out of user administration. The active ADMIN rows are locked FOR UPDATE first, so
    two ADMINs deactivating each other at once cannot both pass the check.
    """
    from aurora_cli.db.models import User, UserToken
    user = get_user(session, username)
    if user.is_active and str(getattr(user.role, "value", user.role)) == Role.ADMIN:
        active_admins = session.scalars(
            select(User.user_id).where(User.role == Role.ADMIN, User.is_active.is_(True)).with_for_update()
        ).all()
        if set(active_admins) <= {user.user_id}:
            raise Conflict(
                f"{username!r} is the last active ADMIN: add another ADMIN before deactivating this one,"
                " or nobody could administer users."
            )
    before = user_snapshot(user)
    user.is_active = False
    user.updated_at = datetime.now(UTC)
    for token in session.scalars(
        select(UserToken).where(UserToken.user_id == user.user_id, UserToken.revoked_at.is_(None))
    ):
        token.revoked_at = datetime.now(UTC)
    session.flush()
    after = user_snapshot(user)
    trail(
        session,
        action="UPDATE_USER",
        resource_type="user",
        resource_id=after["user_id"],
        before=before,
        after=after,
        reason="deactivate",
    )
    return after


def user_snapshot(user: User) -> dict:
    return {
        "user_id": str(user.user_id),
        "username": user.username,
        "email": user.email,
        "role": str(getattr(user.role, "value", user.role)),
        "partner_id": str(user.partner_id) if user.partner_id else None,
        "allowed_chain_ids": user.allowed_chain_ids,
        "allowed_validator_keys": user.allowed_validator_keys,
        "is_active": user.is_active,
    }


# -- tokens ---------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    session: Session, user: User, *, kind: str, expires_days: int | None, name: str | None = None
) -> str:
    """Create a token, store its hash, return the token itself (shown once)."""
    from aurora_cli.db.models import UserToken
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(days=expires_days) if expires_days else None
    session.add(
        UserToken(
            user_id=user.user_id, token_hash=_token_hash(token), kind=kind, name=name, expires_at=expires
        )
    )
    session.flush()
    return token


def create_service_token(
    session: Session,
    trail: Recorder,
    *,
    username: str,
    expires_days: int | None = SERVICE_TOKEN_DAYS,
    name: str | None,
    no_expiry: bool = False,
) -> str:
    """A service token for cron/CI acting as `username` (audited); returned once, stored as a hash.

    It expires after `expires_days` (90 by default); `no_expiry` is the explicit, audited opt-out.
    """
    if no_expiry and expires_days is not None:
        raise InvalidInput(f"give either {param('expires_days')} or {param('no_expiry')}, not both.")
    if not no_expiry:
        expires_days = SERVICE_TOKEN_DAYS if expires_days is None else expires_days
        if expires_days < 1:
            raise InvalidInput(f"{param('expires_days')} must be at least 1, not {expires_days}.")
    user = get_user(session, username)
    token = issue_token(
        session, user, kind="SERVICE", expires_days=None if no_expiry else expires_days, name=name
    )
    trail(
        session,
        action="CREATE_TOKEN",
        resource_type="user",
        resource_id=str(user.user_id),
        after={
            "kind": "SERVICE",
            "name": name,
            "expires_days": None if no_expiry else expires_days,
            "no_expiry": no_expiry,
        },
        reason="never expires (opted out)" if no_expiry else None,
    )
    return token


def login(session: Session, trail: Recorder, *, username: str, password: str) -> tuple[User, str]:
    """Check the password and issue a session token (audited)."""
    from aurora_cli.db.models import User
    user = session.scalar(select(User).where(User.username == username))
    # Same sentence and the same bcrypt work for an unknown user and a wrong password: neither the
    # answer nor its timing reveals which usernames exist.
    if not password_matches(password, user.password_hash if user is not None else None) or user is None:
        raise NotAuthenticated("wrong username or password.")
    if not user.is_active:
        raise NotAuthenticated(f"user {username!r} is deactivated: ask an ADMIN.")
    user.last_login_at = datetime.now(UTC)
    token = issue_token(session, user, kind="SESSION", expires_days=SESSION_DAYS)
    trail(session, action="LOGIN", resource_type="user", resource_id=str(user.user_id))
    return user, token


def logout(session: Session, trail: AuditTrail, token: str) -> AuthenticatedUser | None:
    """Revoke a session token (audited as its user, when it still identifies one); returns that user."""
    try:
        user: AuthenticatedUser | None = authenticate(session, token)
    except NotAuthenticated:
        user = None  # expired or revoked: forgetting it locally is all there is to do
    revoke_token(session, token)
    user_id = user.user_id if user is not None else trail.user_id
    trail.acting_as(user_id)(
        session, action="LOGOUT", resource_type="user", resource_id=str(user_id) if user_id else None
    )
    return user


def revoke_token(session: Session, token: str) -> bool:
    from aurora_cli.db.models import UserToken
    row = session.scalar(select(UserToken).where(UserToken.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = datetime.now(UTC)
    return True


_TOKEN_USER = text(
    """
    SELECT t.token_id, t.revoked_at, t.expires_at, u.user_id, u.username, u.role::text AS role, u.partner_id,
           u.allowed_chain_ids, u.allowed_validator_keys, u.is_active
    FROM user_tokens t JOIN users u ON u.user_id = t.user_id
    WHERE t.token_hash = :token_hash
    """
)
_TOKEN_USED = text("UPDATE user_tokens SET last_used_at = :now WHERE token_id = :token_id")


def authenticate(session: Session | Connection, token: str | None) -> AuthenticatedUser:
    if not token:
        raise NotAuthenticated(
            f"not logged in: run `aurora login {param('username')} U`, or set AURORA_TOKEN to a service token."
        )
    now = datetime.now(UTC)
    # Core SQL, not the ORM models: every authenticated command passes here, most need no model.
    user = session.execute(_TOKEN_USER, {"token_hash": _token_hash(token)}).first()
    if user is None:
        raise NotAuthenticated(
            "the token is not valid for this database: log in again or use a current token."
        )
    if user.revoked_at is not None:
        raise NotAuthenticated("the token was revoked: log in again.")
    if user.expires_at is not None and user.expires_at <= now:
        raise NotAuthenticated("the token has expired: log in again, or create a new service token.")
    if not user.is_active:
        raise NotAuthenticated(f"user {user.username!r} is deactivated: ask an ADMIN.")
    session.execute(_TOKEN_USED, {"token_id": user.token_id, "now": now})
    return AuthenticatedUser(
        user_id=user.user_id,
        username=user.username,
        role=user.role,
        partner_id=str(user.partner_id) if user.partner_id else None,
        allowed_chain_ids=tuple(user.allowed_chain_ids) if user.allowed_chain_ids else None,
        allowed_validator_keys=tuple(user.allowed_validator_keys) if user.allowed_validator_keys else None,
    )


# -- the credentials file ---------------------------------------------------------------------


def presented_token(settings: Settings) -> str | None:
    """AURORA_TOKEN wins over the credentials file written by `aurora login`."""
    if settings.token:
        return settings.token
    path = settings.credentials_path
    if not path.exists() and not path.is_symlink():
        return None
    check_credentials_file(path)
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("token")
    except (OSError, ValueError):
        return None


def check_credentials_file(path: Path) -> None:
    """Refuse a credentials file that is a symlink (it could point anywhere) or that others may read."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        raise NotAuthenticated(f"the credentials file {path} is a symbolic link: remove it and log in again.")
    if not stat.S_ISREG(info.st_mode):
        raise NotAuthenticated(
            f"the credentials file {path} is not a regular file: remove it and log in again."
        )
    if stat.S_IMODE(info.st_mode) != 0o600:
        raise NotAuthenticated(
            f"the credentials file {path} has mode {stat.S_IMODE(info.st_mode):04o}, not 0600: "
            "run chmod 600 on it, or remove it and log in again."
        )
    if info.st_uid != os.geteuid():
        raise NotAuthenticated(
            f"the credentials file {path} belongs to another user: remove it and log in again."
        )


def save_credentials(path: Path, *, username: str, token: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.is_symlink():
        raise NotAuthenticated(f"the credentials file {path} is a symbolic link: remove it and log in again.")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"username": username, "token": token}, handle)
    path.chmod(0o600)


def forget_credentials(path: Path) -> str | None:
    if path.is_symlink():
        path.unlink()  # never follow it; forgetting the link is all logout needs
        return None
    if not path.is_file():
        return None
    token = None
    try:
        token = json.loads(path.read_text(encoding="utf-8")).get("token")
    except (OSError, ValueError):
        pass
    path.unlink()
    return token
