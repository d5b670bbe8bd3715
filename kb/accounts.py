"""Accounts: users and roles, argon2 password hashes, sessions stored by token hash, sign-in rate limits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from kb.errors import Conflict, InvalidInput, NotFound
from kb.store.models import ROLES, AppSecret, LoginAttempt, User, UserSession, utcnow

MIN_PASSWORD = 12  # OWASP ASVS 2.1.1
_hasher = PasswordHasher()


@dataclass(frozen=True)
class CurrentUser:
    """Who is making a request, detached from any database session."""

    id: int
    email: str
    name: str
    role: str

    def can(self, role: str) -> bool:
        return role_rank(self.role) >= role_rank(role)


def role_rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else 0


def as_current(user: User) -> CurrentUser:
    return CurrentUser(id=user.id, email=user.email, name=user.name, role=user.role)  # type: ignore[arg-type]


# --- passwords ------------------------------------------------------------------------


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"Use a password of at least {MIN_PASSWORD} characters.")
    if len(password) > 1000:
        raise InvalidInput("That password is too long (the most is 1,000 characters).")


def hash_password(password: str) -> str:
    check_password_rules(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- users ---------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise InvalidInput("Enter an e-mail address such as name@nhs.net.")
    return email


def create_user(
    *,
    session: Session,
    email: str,
    name: str,
    password: str | None,
    role: str = "member",
    organisation: str = "",
) -> User:
    if role not in ROLES[1:]:
        raise InvalidInput(f"role must be one of {', '.join(ROLES[1:])}")
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("Enter a name.")
    user = User(
        email=normalise_email(email),
        name=name[:200],
        organisation=" ".join((organisation or "").split())[:200],
        role=role,
        password_hash=hash_password(password) if password is not None else None,
    )
    if get_user_by_email(session=session, email=user.email) is not None:
        raise Conflict("An account with that e-mail address exists already.")
    session.add(user)
    try:
        session.commit()
    except IntegrityError as err:
        session.rollback()
        raise Conflict("An account with that e-mail address exists already.") from err
    session.refresh(user)
    return user


def get_user_by_email(*, session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def get_user_or_raise(*, session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"There is no user {user_id}.")
    return user


def list_users(*, session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.id)))


def set_role(*, session: Session, user_id: int, role: str) -> User:
    if role not in ROLES[1:]:
        raise InvalidInput(f"role must be one of {', '.join(ROLES[1:])}")
    user = get_user_or_raise(session=session, user_id=user_id)
    if user.role == "admin" and not user.disabled and role != "admin" and count_admins(session=session) <= 1:
        raise Conflict("This is the only admin: make another admin first.")
    user.role = role
    session.add(user)
    session.commit()
    return user


def set_disabled(*, session: Session, user_id: int, disabled: bool) -> User:
    user = get_user_or_raise(session=session, user_id=user_id)
    if disabled and user.role == "admin" and not user.disabled and count_admins(session=session) <= 1:
        raise Conflict("This is the only admin: make another admin first.")
    user.disabled = disabled
    session.add(user)
    if disabled:
        session.exec(delete(UserSession).where(UserSession.user_id == user_id))  # type: ignore[call-overload]
    session.commit()
    return user


def set_password(*, session: Session, user_id: int, password: str) -> None:
    user = get_user_or_raise(session=session, user_id=user_id)
    user.password_hash = hash_password(password)
    session.add(user)
    session.exec(delete(UserSession).where(UserSession.user_id == user_id))  # type: ignore[call-overload]
    session.commit()


def count_admins(*, session: Session) -> int:
    statement = select(func.count()).select_from(User).where(User.role == "admin", User.disabled == False)  # noqa: E712
    return session.exec(statement).one()


def authenticate(*, session: Session, email: str, password: str) -> User | None:
    """The user if the e-mail and password match an enabled account. Takes as long either way."""
    user = get_user_by_email(session=session, email=email)
    if user is None or user.disabled or not user.password_hash:
        _hasher.hash("a password nobody has")  # why: an unknown address costs what a wrong password does
        return None
    if not verify_password(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


# --- sessions ------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(*, session: Session, user_id: int, days: int) -> str:
    """A new session for the user; returns the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(token_hash=token_hash(token), user_id=user_id, expires_at=utcnow() + timedelta(days=days))
    )
    session.exec(delete(UserSession).where(UserSession.expires_at < utcnow()))  # type: ignore[call-overload]
    session.commit()
    return token


def user_for_token(*, session: Session, token: str) -> CurrentUser | None:
    row = session.exec(
        select(User, UserSession.expires_at)
        .join(UserSession, UserSession.user_id == User.id)  # type: ignore[arg-type]
        .where(UserSession.token_hash == token_hash(token))
    ).first()
    if row is None:
        return None
    user, expires_at = row
    if user.disabled or _aware(expires_at) < utcnow():
        return None
    return as_current(user)


def end_session(*, session: Session, token: str) -> None:
    session.exec(delete(UserSession).where(UserSession.token_hash == token_hash(token)))  # type: ignore[call-overload]
    session.commit()


def _aware(moment):  # noqa: ANN001, ANN202  (SQLite hands datetimes back without their zone)
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- sign-in rate limit ----------------------------------------------------------------------


def recent_failures(*, session: Session, email: str, client: str, minutes: int) -> tuple[int, int]:
    """Failed sign-ins in the last `minutes`: (for this e-mail address, from this client)."""
    since = utcnow() - timedelta(minutes=minutes)
    by_email = session.exec(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.email == email.strip().lower(), LoginAttempt.created_at >= since)
    ).one()
    by_client = session.exec(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.client == client, LoginAttempt.created_at >= since)
    ).one()
    return by_email, by_client


def record_failure(*, session: Session, email: str, client: str) -> None:
    session.add(LoginAttempt(email=email.strip().lower()[:254], client=client[:100]))
    session.exec(delete(LoginAttempt).where(LoginAttempt.created_at < utcnow() - timedelta(days=1)))  # type: ignore[call-overload]
    session.commit()


def clear_failures(*, session: Session, email: str) -> None:
    session.exec(delete(LoginAttempt).where(LoginAttempt.email == email.strip().lower()))  # type: ignore[call-overload]
    session.commit()


# --- installation secrets ---------------------------------------------------------------------


def installation_secret(*, session: Session, name: str) -> str:
    """A random secret made the first time it is asked for and shared by every process from then on."""
    found = session.get(AppSecret, name)
    if found is not None:
        return found.value
    session.add(AppSecret(name=name, value=secrets.token_urlsafe(48)))
    try:
        session.commit()
    except IntegrityError:  # another process made it first
        session.rollback()
    return session.get(AppSecret, name).value  # type: ignore[union-attr]
