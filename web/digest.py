"""What a saved search finds and what is new in it since a moment, and the e-mail digest of that news.

"New" means: a published intervention matching the query and filters whose created_at or updated_at (whichever
is later: a draft published after review counts from its publication) is after the moment, and a published
document among the search's best passages, holding at least one of the query's words or their vocabulary
expansions, created or updated after it. The moment is the member's last visit to the saved search on the
site, and the last digest sent for it in e-mail.
"""

from __future__ import annotations

import html
import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.datastructures import QueryParams

from kb import saved as saved_store
from kb.errors import InvalidInput
from kb.models import SavedSearch, User, utcnow
from kb.saved import as_utc
from kb.settings import Settings
from search.catalogue import MAX_LIMIT, CatalogueService, Filters, Record
from search.results import SearchHit
from search.service import SearchService
from web.routes.catalogue import filters_from

log = logging.getLogger(__name__)
PASSAGE_WINDOW = 20  # how deep into the ranked passages a document still "matches" the query
SMTP_TIMEOUT = 30


@dataclass
class Found:
    """What one saved search matches now, each item marked new or not."""

    interventions: list[tuple[Record, bool]]
    passages: list[tuple[SearchHit, bool]]
    new_documents: list[dict]  # {"id", "title", "source"}
    problem: str | None = None  # why the search could not be run (its filters are no longer valid)

    @property
    def new_interventions(self) -> list[Record]:
        return [record for record, new in self.interventions if new]

    @property
    def new_count(self) -> int:
        return len(self.new_interventions) + len(self.new_documents)


class _QueryOnly:
    """Just enough of a request for web.routes.catalogue.filters_from: a saved search's filters are read
    exactly as the catalogue page reads its URL."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self.query_params = QueryParams(pairs)


def filters_for(pairs: list[tuple[str, str]]) -> Filters:
    return filters_from(_QueryOnly(pairs))  # type: ignore[arg-type]


def all_matching(catalogue: CatalogueService, *, query: str, filters: Filters) -> list[Record]:
    """Every intervention matching, best first (the catalogue pages at most MAX_LIMIT at a time)."""
    records, total, _ = catalogue.query(q=query or None, filters=filters, limit=MAX_LIMIT)
    while len(records) < total:
        more, _, _ = catalogue.query(q=query or None, filters=filters, limit=MAX_LIMIT, offset=len(records))
        if not more:
            break
        records += more
    return records


def is_new(record: Record, since: datetime) -> bool:
    return as_utc(max(record.row.created_at, record.row.updated_at)) > as_utc(since)


def find(
    saved: SavedSearch,
    *,
    since: datetime,
    session: Session,
    search: SearchService,
    catalogue: CatalogueService,
) -> Found:
    """Everything the saved search matches now, with what appeared after `since` marked new."""
    try:
        filters = filters_for(saved_store.filter_pairs_of(saved))
        records = all_matching(catalogue, query=saved.query, filters=filters)
        hits: list[SearchHit] = []
        if saved.query:
            hits = [hit for hit in search.search(saved.query, limit=PASSAGE_WINDOW).results if hit.highlights]
    except InvalidInput as err:  # why: a filter term since removed from the taxonomy must not break the page
        return Found([], [], [], problem=err.message)
    interventions = [(record, is_new(record, since)) for record in records]
    document_ids = list(dict.fromkeys(hit.document.id for hit in hits))
    new_docs = saved_store.new_documents(session=session, document_ids=document_ids, since=since)
    new_ids = {d.id for d in new_docs}
    return Found(
        interventions=interventions,
        passages=[(hit, hit.document.id in new_ids) for hit in hits],
        new_documents=[
            {"id": d.id, "title": d.title, "source": d.source}
            for d in sorted(new_docs, key=lambda d: document_ids.index(d.id))
        ],
    )


# --- the e-mail digest ------------------------------------------------------------------------


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
        subscribers = saved_store.digest_subscribers(session=session)
        if not subscribers:
            return report
        if search is None or catalogue is None:
            from web.flows import build_catalogue, build_search_service

            search = build_search_service(settings, engine)
            search.refresh()
            catalogue = build_catalogue(search)
        search.ensure_fresh()
        catalogue.ensure_fresh()
        for user, searches in subscribers:
            started = utcnow()  # what arrives while this runs is caught next time
            news = []
            for saved in searches:
                since = saved.last_digest_at or saved.created_at
                found = find(saved, since=since, session=session, search=search, catalogue=catalogue)
                if found.new_count:
                    news.append((saved, found))
            if not news:
                report.skipped.append(user.email)
                continue
            try:
                message = digest_message(user, news, settings=settings)
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
            saved_store.mark_digested(
                session=session, search_ids=[s.id for s in searches if s.id is not None], when=started
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
