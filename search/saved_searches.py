"""What a saved search finds now and what is new in it since a moment, and which members' digests have news.

"New" means: a published intervention matching the query and filters whose created_at or updated_at (whichever
is later: a draft published after review counts from its publication) is after the moment, and a published
document among the search's best passages, holding at least one of the query's words or their vocabulary
expansions, created or updated after it. The moment is the member's last visit to the saved search on the
site, and the last digest sent for it in e-mail. Sending the e-mail is web/digest.py's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from kb import saved as saved_store
from kb.errors import InvalidInput
from kb.saved import as_utc
from kb.store.models import SavedSearch, User, utcnow
from search.catalogue import CatalogueService, Record
from search.listing import EVERY, filters_from_pairs, list_interventions
from search.results import SearchHit
from search.service import SearchService

PASSAGE_WINDOW = 20  # how deep into the ranked passages a document still "matches" the query


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


def is_new(record: Record, since: datetime) -> bool:
    """Created, or last changed (a draft's publication counts), after `since`."""
    return as_utc(max(record.row.created_at, record.row.updated_at)) > as_utc(since)


def find(
    saved: SavedSearch,
    *,
    since: datetime,
    session: Session,
    search: SearchService,
    catalogue: CatalogueService,
) -> Found:
    """Everything the saved search matches now, with what appeared after `since` marked new. A search whose
    filters are no longer valid (a term since removed from the taxonomy) finds nothing and says why in
    `problem`; it raises nothing for that."""
    try:
        filters = filters_from_pairs(saved_store.filter_pairs_of(saved))
        records = list_interventions(catalogue, q=saved.query or None, filters=filters, paging=EVERY).records
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


@dataclass
class DigestDue:
    """One member with the digest on: their digest searches, and those with something new since their last
    digest (empty: nothing to send)."""

    user: User
    searches: list[SavedSearch]
    news: list[tuple[SavedSearch, Found]] = field(default_factory=list)
    checked_at: datetime = field(default_factory=utcnow)  # what arrives after this is news next time


def digests_due(
    *, session: Session, search: SearchService, catalogue: CatalogueService
) -> Iterator[DigestDue]:
    """Each active member with a digest on, with what is new for each of those saved searches since its last
    digest (or since it was saved). Worked out one member at a time, as the caller asks for the next, so a
    member's checked_at is taken just before their searches are run."""
    for user, searches in saved_store.digest_subscribers(session=session):
        due = DigestDue(user=user, searches=searches)
        for saved in searches:
            since = saved.last_digest_at or saved.created_at
            found = find(saved, since=since, session=session, search=search, catalogue=catalogue)
            if found.new_count:
                due.news.append((saved, found))
        yield due
