"""The e-mails that prove an address is its owner's: a link to confirm it after registering, and a link to reset
a forgotten password. Sent through the SMTP server in KB_SMTP_* with the digest's own sender (web/digest.py)."""

from __future__ import annotations

import html
import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import urlencode

from sqlmodel import Session

from kb import email_links
from kb.settings import Settings
from kb.store.models import User
from web.digest import deliver

log = logging.getLogger(__name__)

LINK_PATHS = {email_links.CONFIRM: "/confirm-email", email_links.RESET: "/reset-password"}
NO_SMTP = (
    "This site has no e-mail server set up, so it cannot send you a link. Ask the site's administrators: "
    "they can set KB_SMTP_HOST."
)


def link_for(settings: Settings, purpose: str, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}{LINK_PATHS[purpose]}?{urlencode({'token': token})}"


def link_message(user: User, *, settings: Settings, purpose: str, link: str) -> EmailMessage:
    """A short plain-text e-mail with the link, and the same as simple HTML."""
    lasts = email_links.lifetime_words(purpose)
    if purpose == email_links.CONFIRM:
        subject = "kb: confirm your e-mail address"
        lines = [
            f"Hello {user.name},",
            "",
            f"To confirm that {user.email} is your address on kb, follow this link (it works for {lasts}):",
            "",
            link,
            "",
            "Until you do, kb does not treat you as the lead of any intervention that lists this address.",
            "If you did not make an account on kb, ignore this e-mail: nothing happens without the link.",
        ]
    else:
        subject = "kb: reset your password"
        lines = [
            f"Hello {user.name},",
            "",
            f"Someone (we hope you) asked to reset the password of the kb account for {user.email}.",
            f"To choose a new password, follow this link (it works once, for {lasts}):",
            "",
            link,
            "",
            "If you did not ask, ignore this e-mail: your password stays as it is.",
        ]
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = user.email
    message["Subject"] = subject
    message.set_content("\n".join(lines) + "\n")
    paragraphs = "".join(
        f'<p><a href="{html.escape(line)}">{html.escape(line)}</a></p>'
        if line == link
        else f"<p>{html.escape(line)}</p>"
        for line in lines
        if line
    )
    message.add_alternative(f"<!doctype html><html><body>{paragraphs}</body></html>", subtype="html")
    return message


def send_link(*, session: Session, settings: Settings, secret: str, user: User, purpose: str) -> str | None:
    """E-mail the account a fresh link of this purpose. None when the SMTP server accepted it; otherwise a
    sentence saying why it was not sent (no server set, or the server refused), safe to show the user."""
    if not settings.smtp_host:
        return NO_SMTP
    token = email_links.make_token(secret=secret, purpose=purpose, user=user)
    try:
        message = link_message(
            user, settings=settings, purpose=purpose, link=link_for(settings, purpose, token)
        )
        deliver(message, settings=settings)
    except (smtplib.SMTPException, OSError, ValueError) as err:
        log.warning("could not send the %s e-mail to %s: %s", purpose, user.email, err)
        return (
            "The e-mail could not be sent just now (the mail server did not accept it). Try again in a few "
            "minutes; if it keeps failing, tell the site's administrators."
        )
    email_links.note_link_sent(session=session, user_id=user.id, purpose=purpose)  # type: ignore[arg-type]
    return None
