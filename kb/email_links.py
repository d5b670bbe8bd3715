"""Signed, expiring e-mail links: confirming that an account's address is its owner's, and resetting a password.

A link carries a token: base64url(JSON payload) "." base64url(HMAC-SHA256 of the payload). The payload says
what the link is for (`p`), whose account it is (`u`), when it expires (`x`, Unix seconds) and binds it to
the account's state (`b`, a digest): for a confirmation, the address it was sent to (it confirms that address
and no other); for a reset, the current password hash, so the link is spent once the password changes, by
this link or any other way. The key is derived from the installation's secret under its own label, so no
other signature made with that secret (a session cookie) is ever a valid link.

Nothing here sends e-mail: web/ composes and sends the messages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from datetime import UTC, timedelta

from sqlmodel import Session

from kb import accounts
from kb.errors import InvalidInput, TooManyRequests
from kb.store.models import User, utcnow

CONFIRM = "confirm-email"
RESET = "reset-password"
LIFETIMES = {CONFIRM: timedelta(hours=48), RESET: timedelta(hours=1)}
LINK_SPACING = timedelta(minutes=1)  # why: one mailbox cannot be flooded by pressing "send again"


class LinkRefused(InvalidInput):
    """A link that cannot be used; `reason` is "invalid", "expired" or "used", `message` says it plainly."""

    status_code = 400

    def __init__(self, message: str, *, reason: str, purpose: str):
        super().__init__(message)
        self.reason = reason
        self.purpose = purpose


def lifetime_words(purpose: str) -> str:
    hours = LIFETIMES[purpose].total_seconds() / 3600
    return f"{hours:g} hour{'' if hours == 1 else 's'}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"kb e-mail links", hashlib.sha256).digest()


def _binding(user: User, purpose: str) -> str:
    state = user.email if purpose == CONFIRM else (user.password_hash or "no password")
    return hashlib.sha256(f"{purpose}\0{state}".encode()).hexdigest()[:32]


def make_token(*, secret: str, purpose: str, user: User, now: float | None = None) -> str:
    """The token for a link to `purpose` for this account, valid for LIFETIMES[purpose] from `now`."""
    issued = time.time() if now is None else now
    payload = {
        "p": purpose,
        "u": user.id,
        "x": int(issued + LIFETIMES[purpose].total_seconds()),
        "b": _binding(user, purpose),
    }
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    signature = _b64(hmac.new(_key(secret), body.encode(), hashlib.sha256).digest())
    return f"{body}.{signature}"


def user_for_token(
    *, session: Session, secret: str, token: str, purpose: str, now: float | None = None
) -> User:
    """The account a valid, unexpired, unspent link of this purpose belongs to; raises LinkRefused otherwise."""
    invalid = LinkRefused(
        "This link is not valid: it may have been cut short or changed on its way. Copy the whole link from "
        "the e-mail into the address bar, or ask for a new one.",
        reason="invalid",
        purpose=purpose,
    )
    body, _, signature = (token or "").strip().partition(".")
    if not body or not signature or len(token) > 1000:
        raise invalid
    expected = _b64(hmac.new(_key(secret), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature):
        raise invalid
    try:
        payload = json.loads(_unb64(body))
        user_id, expires, binding = int(payload["u"]), int(payload["x"]), str(payload["b"])
        signed_purpose = payload["p"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid from None
    if signed_purpose != purpose:  # why: a confirmation link must never reset a password
        raise invalid
    if (time.time() if now is None else now) > expires:
        raise LinkRefused(
            f"This link has expired: a link to {'confirm an address' if purpose == CONFIRM else 'reset a password'}"
            f" works for {lifetime_words(purpose)} after it is sent. Ask for a new one below.",
            reason="expired",
            purpose=purpose,
        )
    user = session.get(User, user_id)
    if user is None or user.disabled:
        raise invalid
    if not hmac.compare_digest(binding, _binding(user, purpose)):
        if purpose == RESET:
            raise LinkRefused(
                "This link has been used already, or the password was changed since it was sent, so it no "
                "longer works. Ask for a new one if you still need to reset your password.",
                reason="used",
                purpose=purpose,
            )
        raise LinkRefused(
            "This link was sent to an address the account no longer uses. Ask for a new one.",
            reason="used",
            purpose=purpose,
        )
    return user


# --- what following a link does ----------------------------------------------------------------------------


def confirm_email(*, session: Session, secret: str, token: str, now: float | None = None) -> User:
    """Record that the account's address is confirmed (once: a second visit keeps the first date). Commits."""
    return _confirmed(
        session, user_for_token(session=session, secret=secret, token=token, purpose=CONFIRM, now=now)
    )


def _confirmed(session: Session, user: User) -> User:
    """The account with its address confirmed now, unless it already was (the first date stays). Commits."""
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        session.add(user)
        session.commit()
        session.refresh(user)
    return user


def reset_password(*, session: Session, secret: str, token: str, password: str) -> User:
    """Set a new password through a reset link, which is then spent; every session of the account ends.
    Receiving the link proves the address, so it is confirmed too. Raises LinkRefused or InvalidInput."""
    user = user_for_token(session=session, secret=secret, token=token, purpose=RESET)
    user_id: int = user.id  # type: ignore[assignment]
    accounts.set_password(
        session=session, user_id=user_id, password=password
    )  # checks the rules; ends sessions
    return _confirmed(session, accounts.get_user_or_raise(session=session, user_id=user_id))


# --- spacing the e-mails out -------------------------------------------------------------------------------


def _sent_column(purpose: str) -> str:
    return "confirm_link_sent_at" if purpose == CONFIRM else "reset_link_sent_at"


def check_link_spacing(*, session: Session, user: User, purpose: str) -> None:
    """Raise TooManyRequests when the account was sent a link less than LINK_SPACING ago."""
    sent = getattr(user, _sent_column(purpose))
    if sent is None:
        return
    sent = sent if sent.tzinfo else sent.replace(tzinfo=UTC)  # SQLite hands back naive datetimes
    wait = sent + LINK_SPACING - utcnow()
    if wait.total_seconds() > 0:
        seconds = max(1, int(wait.total_seconds()))
        raise TooManyRequests(
            f"An e-mail was sent to {user.email} moments ago. Check your inbox (and spam folder), or wait "
            f"{seconds} second{'' if seconds == 1 else 's'} and ask again."
        )


def note_link_sent(*, session: Session, user_id: int, purpose: str) -> None:
    user = accounts.get_user_or_raise(session=session, user_id=user_id)
    setattr(user, _sent_column(purpose), utcnow())
    session.add(user)
    session.commit()
