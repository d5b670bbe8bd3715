"""The e-mail digest of saved searches: what is new for each member (search/saved_searches.py) put in an
e-mail and sent, and a report of what was sent."""

from __future__ import annotations

import html
import logging
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage

from sqlalchemy.engine import Engine
from sqlmodel import Session

from kb import saved as saved_store
from kb.errors import InvalidInput
from kb.settings import Settings
from kb.store.models import SavedSearch, User
from search.catalogue import CatalogueService
from search.saved_searches import Found, digests_due
from search.service import SearchService

log = logging.getLogger(__name__)
SMTP_TIMEOUT = 30


@dataclass
class DigestReport:
    sent: list[str] = field(default_factory=list)  # e-mail addresses
    skipped: list[str] = field(default_factory=list)  # nothing new for them
    failed: list[tuple[str, str]] = field(default_factory=list)  # (address, reason)
    dry_run: bool = False
    messages: list[EmailMessage] = field(default_factory=list)  # what was (or, in a dry run, would be) sent

    def __str__(self) -> str:
        verb = "would be sent" if self.dry_run else "sent"
        lines = [
            f"Digests: {len(self.sent)} {verb}, {len(self.skipped)} skipped (nothing new), "
            f"{len(self.failed)} failed."
        ]
        lines += [f"  failed: {address}: {reason}" for address, reason in self.failed]
        if self.dry_run:
            for message in self.messages:
                lines += ["", f"To: {message['To']}", f"Subject: {message['Subject']}", ""]
                lines.append(message.get_body(("plain",)).get_content().rstrip())  # type: ignore[union-attr]
        return "\n".join(lines)


def send_digests(
    *,
    settings: Settings,
    engine: Engine,
    dry_run: bool = False,
    search: SearchService | None = None,
    catalogue: CatalogueService | None = None,
) -> DigestReport:
    """E-mail each member what is new for their saved searches with the digest on, one e-mail each.

    A search's last_digest_at moves on only after its e-mail was accepted by the SMTP server; a failure for
    one member is reported and the others still get theirs. The search and catalogue services are built
    from the settings when not given (the `kb digest` command).
    """
    if not settings.smtp_host and not dry_run:
        raise InvalidInput(
            "No SMTP server is set, so digests cannot be sent: set KB_SMTP_HOST (and KB_SMTP_PORT, "
            "KB_SMTP_FROM), or use --dry-run to see what would be sent."
        )
    report = DigestReport(dry_run=dry_run)
    with Session(engine) as session:
        if not saved_store.digest_subscribers(session=session):
            return report
        if search is None or catalogue is None:
            from web.flows import build_catalogue, build_search_service

            search = build_search_service(settings, engine)
            search.refresh()
            catalogue = build_catalogue(search)
        search.ensure_fresh()
        catalogue.ensure_fresh()
        for due in digests_due(session=session, search=search, catalogue=catalogue):
            user = due.user
            if not due.news:
                report.skipped.append(user.email)
                continue
            try:
                message = digest_message(user, due.news, settings=settings)
            except ValueError as err:  # why: one unusable address (say, from an import) must not stop the run
                report.failed.append((user.email, f"cannot address an e-mail to it: {err}"))
                continue
            report.messages.append(message)
            if dry_run:
                report.sent.append(user.email)
                continue
            try:
                deliver(message, settings=settings)
            except (smtplib.SMTPException, OSError) as err:
                log.warning("could not send the digest to %s: %s", user.email, err)
                report.failed.append((user.email, str(err) or type(err).__name__))
                continue
            saved_store.mark_digested(  # what arrived while this ran is caught next time
                session=session,
                search_ids=[s.id for s in due.searches if s.id is not None],
                when=due.checked_at,
            )
            report.sent.append(user.email)
    return report


def deliver(message: EmailMessage, *, settings: Settings) -> None:
    with smtplib.SMTP(settings.smtp_host or "", settings.smtp_port, timeout=SMTP_TIMEOUT) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


def digest_message(user: User, news: list[tuple[SavedSearch, Found]], *, settings: Settings) -> EmailMessage:
    """One plain-text e-mail, with a simple HTML alternative, listing what is new for each saved search."""
    base = settings.base_url.rstrip("/")
    total = sum(found.new_count for _, found in news)
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = user.email
    message["Subject"] = f"kb: {total} new item{'' if total == 1 else 's'} for your saved searches"
    text = [f"Hello {user.name},", "", "There is something new in kb for your saved searches.", ""]
    parts = [
        f"<p>Hello {html.escape(user.name)},</p>",
        "<p>There is something new in kb for your saved searches.</p>",
    ]
    for saved, found in news:
        link = f"{base}/saved-searches/{saved.id}"
        text += [saved.name, "=" * min(len(saved.name), 70)]
        parts.append(f'<h2><a href="{html.escape(link)}">{html.escape(saved.name)}</a></h2>')
        sections = [
            (
                "New interventions",
                [
                    (
                        r.row.title + (f" ({r.row.site})" if r.row.site else ""),
                        f"{base}/interventions/{r.row.id}",
                    )
                    for r in found.new_interventions
                ],
            ),
            ("New documents", [(d["title"], f"{base}/documents/{d['id']}") for d in found.new_documents]),
        ]
        for heading, items in sections:
            if not items:
                continue
            text.append(f"{heading}:")
            parts.append(f"<h3>{heading}</h3><ul>")
            for title, item_link in items:
                text += [f"- {title}", f"  {item_link}"]
                parts.append(f'<li><a href="{html.escape(item_link)}">{html.escape(title)}</a></li>')
            parts.append("</ul>")
        text += [f"See everything for this search: {link}", ""]
    manage = f"{base}/account/saved"
    text += [
        "You get this e-mail because you turned on the digest for these saved searches.",
        f"To turn it off, visit {manage}",
    ]
    parts.append(
        "<p>You get this e-mail because you turned on the digest for these saved searches. "
        f'<a href="{html.escape(manage)}">Turn it off</a>.</p>'
    )
    message.set_content("\n".join(text) + "\n")
    message.add_alternative(
        "<!doctype html><html><body>" + "\n".join(parts) + "</body></html>", subtype="html"
    )
    return message
