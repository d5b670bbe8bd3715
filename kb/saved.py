"""Saved searches: a member's stored query and catalogue filters, and when they last looked or were e-mailed.

What a saved search matches is worked out in search/saved_searches.py (it needs the search and catalogue
services); this module only stores searches and answers "which documents are new since then".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from sqlmodel import Session, select

from kb.errors import InvalidInput, NotFound
from kb.store.models import Document, SavedSearch, User, utcnow
from kb.taxonomy import REQUIRED_DIMENSIONS

# The catalogue's filter names: the taxonomy's tag dimensions and evidence level (not outcome kind, which is
# a property of an outcome, not a record) and the plain fields; anything else in a posted query string (q, sort,
# page, document) is not a filter and is dropped.
FILTER_NAMES = (
    *(d for d in REQUIRED_DIMENSIONS if d != "outcome_kind"),
    "site",
    "programme",
    "origin",
    "has_results",
)
MAX_FILTERS = 40
MAX_FILTER_VALUE = 200
MAX_SAVED_PER_MEMBER = 100


def as_utc(moment: datetime) -> datetime:
    """SQLite and a plain PostgreSQL timestamp give naive datetimes back; kb stores them in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_filters(text: str) -> list[tuple[str, str]]:
    """Filter pairs from what a page posts: a query string ("care_model=pacs&q=...") or JSON (an object of
    name -> value or list of values, or a list of [name, value] pairs). Non-filter names are dropped."""
    text = text.strip()
    if not text:
        return []
    raw: list[tuple[object, object]]
    if text.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except ValueError:
            raise InvalidInput("The search's filters could not be read.") from None
        if isinstance(data, dict):
            raw = [
                (name, value)
                for name, values in data.items()
                for value in (values if isinstance(values, list) else [values])
            ]
        elif isinstance(data, list) and all(isinstance(p, list) and len(p) == 2 for p in data):
            raw = [(p[0], p[1]) for p in data]
        else:
            raise InvalidInput("The search's filters could not be read.")
    else:
        raw = list(parse_qsl(text.lstrip("?"), keep_blank_values=False))
    pairs: list[tuple[str, str]] = []
    for name, value in raw:
        if name not in FILTER_NAMES or value in (None, ""):
            continue
        value = str(value).strip().lower() if isinstance(value, bool) else str(value).strip()
        if len(value) > MAX_FILTER_VALUE:
            raise InvalidInput(f"A filter value may be at most {MAX_FILTER_VALUE} characters.")
        if value and (str(name), value) not in pairs:
            pairs.append((str(name), value))
    if len(pairs) > MAX_FILTERS:
        raise InvalidInput(f"A saved search may have at most {MAX_FILTERS} filters.")
    return pairs


def filter_pairs_of(saved: SavedSearch) -> list[tuple[str, str]]:
    return [(str(name), str(value)) for name, value in json.loads(saved.filters_json or "[]")]


# --- storing and finding -------------------------------------------------------------------


def create_saved_search(
    *, session: Session, user_id: int, name: str, query: str, filters: list[tuple[str, str]]
) -> SavedSearch:
    """Save a search; saving the same query and filters again gives back the one already saved."""
    query = " ".join(query.split())
    if not query and not filters:
        raise InvalidInput("Type a search or choose a filter before saving it.")
    filters_json = json.dumps([list(p) for p in filters])
    mine = saved_searches_for(session=session, user_id=user_id)
    for saved in mine:
        if saved.query == query and saved.filters_json == filters_json:
            return saved
    if len(mine) >= MAX_SAVED_PER_MEMBER:
        raise InvalidInput(f"You can keep up to {MAX_SAVED_PER_MEMBER} saved searches; delete one first.")
    name = " ".join(name.split()) or query or "Filtered interventions"
    saved = SavedSearch(user_id=user_id, name=name[:200], query=query, filters_json=filters_json)
    session.add(saved)
    session.commit()
    session.refresh(saved)
    return saved


def saved_searches_for(*, session: Session, user_id: int) -> list[SavedSearch]:
    statement = select(SavedSearch).where(SavedSearch.user_id == user_id).order_by(SavedSearch.id)  # type: ignore[arg-type]
    return list(session.exec(statement))


def get_saved_search_or_raise(*, session: Session, search_id: int, user_id: int) -> SavedSearch:
    """The member's own saved search; anyone else's is "not found", so ids reveal nothing."""
    saved = session.get(SavedSearch, search_id)
    if saved is None or saved.user_id != user_id:
        raise NotFound(f"You have no saved search {search_id}.")
    return saved


def delete_saved_search(*, session: Session, search_id: int, user_id: int) -> None:
    session.delete(get_saved_search_or_raise(session=session, search_id=search_id, user_id=user_id))
    session.commit()


def toggle_digest(*, session: Session, search_id: int, user_id: int) -> SavedSearch:
    """Turn the e-mail digest on or off. Turning it on starts from now, so the first e-mail is not a flood
    of everything that was already there."""
    saved = get_saved_search_or_raise(session=session, search_id=search_id, user_id=user_id)
    saved.digest = not saved.digest
    if saved.digest:
        saved.last_digest_at = utcnow()
    session.add(saved)
    session.commit()
    session.refresh(saved)
    return saved


def mark_seen(*, session: Session, saved: SavedSearch, when: datetime) -> None:
    saved.last_seen_at = when
    session.add(saved)
    session.commit()


def mark_digested(*, session: Session, search_ids: list[int], when: datetime) -> None:
    for saved in session.exec(select(SavedSearch).where(SavedSearch.id.in_(search_ids))):  # type: ignore[union-attr]
        saved.last_digest_at = when
        session.add(saved)
    session.commit()


def digest_subscribers(*, session: Session) -> list[tuple[User, list[SavedSearch]]]:
    """Each active account with at least one saved search whose digest is on, with those searches."""
    rows = session.exec(
        select(User, SavedSearch)
        .join(SavedSearch, SavedSearch.user_id == User.id)  # type: ignore[arg-type]
        .where(SavedSearch.digest == True, User.disabled == False)  # noqa: E712  (SQL comparison)
        .order_by(User.id, SavedSearch.id)  # type: ignore[arg-type]
    )
    grouped: dict[int, tuple[User, list[SavedSearch]]] = {}
    for user, saved in rows:
        grouped.setdefault(user.id, (user, []))[1].append(saved)  # type: ignore[arg-type]
    return list(grouped.values())


def new_documents(*, session: Session, document_ids: list[int], since: datetime) -> list[Document]:
    """The published documents among these that appeared (or were published or re-ingested) after `since`."""
    if not document_ids:
        return []
    rows = session.exec(
        select(Document).where(Document.id.in_(document_ids), Document.status == "published")  # type: ignore[attr-defined]
    )
    since = as_utc(since)
    return [d for d in rows if as_utc(max(d.created_at, d.updated_at)) > since]
