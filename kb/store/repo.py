"""Storage functions: keyword-only, each taking the session; `*_or_raise` for lookups that must succeed."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import numpy as np
from sqlalchemy import delete, func, insert, or_, update
from sqlmodel import Session, select

from kb.errors import NotFound
from kb.store.models import (
    Document,
    EmbeddingCache,
    IndexChange,
    IndexState,
    IngestFile,
    IngestRun,
    Intervention,
    Passage,
    QueryLog,
    utcnow,
)

# --- documents and passages ------------------------------------------------------


def get_document_by_path(*, session: Session, path: str) -> Document | None:
    return session.exec(select(Document).where(Document.path == path)).first()


# A passage is public when its document is published, or when a curator published a record that cites it
# (its draft document's other passages stay private until they are reviewed too).
PUBLIC_PASSAGE = or_(Document.status == "published", Passage.released)  # type: ignore[arg-type]


def get_document_or_raise(*, session: Session, document_id: int, include_drafts: bool = False) -> Document:
    """The document; a draft (an upload not yet published) only for those who may review it."""
    document = session.get(Document, document_id)
    if document is None or (document.status != "published" and not include_drafts):
        raise NotFound(f"No document with id {document_id}.")
    return document


def get_readable_document_or_raise(
    *, session: Session, document_id: int, include_drafts: bool = False
) -> tuple[Document, set[int] | None]:
    """The document and which of its passages a reader may see: None for all of them (it is published, or the
    reader may review drafts); for a draft, the passages that published records released. A draft with none
    is not found, in the words used for an id that never existed."""
    document = session.get(Document, document_id)
    if document is not None and (document.status == "published" or include_drafts):
        return document, None
    released = set(
        session.exec(
            select(Passage.id).where(Passage.document_id == document_id, Passage.released)  # type: ignore[arg-type]
        )
    )
    if document is None or not released:
        raise NotFound(f"No document with id {document_id}.")
    return document, released  # type: ignore[return-value]


def get_passage_or_raise(*, session: Session, passage_id: int, include_drafts: bool = False) -> Passage:
    """The passage; one of a draft document only for those who may review it, or once a published record
    released it. A private passage is not found in exactly the words of a passage that never existed, so the
    answer does not reveal the draft."""
    passage = session.get(Passage, passage_id)
    document = session.get(Document, passage.document_id) if passage is not None else None
    public = document is not None and (document.status == "published" or passage.released)  # type: ignore[union-attr]
    if passage is None or document is None or not (public or include_drafts):
        raise NotFound(f"No passage with id {passage_id}.")
    return passage


def sync_released(*, session: Session, document_id: int | None) -> set[int]:
    """Release exactly the passages of a draft document that published records cite (by passage id or by
    character span), and withdraw the rest: called after every change to a record's
    status or passages. Returns the passages whose flag changed (for the index's change log). A published document needs none of this: all its
    passages are public anyway, and the flags are kept true for when it is withdrawn."""
    if document_id is None:
        return set()
    citing = session.exec(
        select(Intervention.document_id, Intervention.passages_json).where(
            Intervention.status == "published",
            or_(
                Intervention.document_id == document_id,
                Intervention.passages_json.contains(f'"document_id": {document_id}'),  # type: ignore[attr-defined]
            ),
        )
    )
    ids: set[int] = set()
    spans: list[tuple[int, int]] = []
    for record_document, passages_json in citing:
        for span in json.loads(passages_json or "[]"):
            if span.get("document_id", record_document) != document_id:
                continue
            if isinstance(span.get("passage_id"), int):
                ids.add(span["passage_id"])
            # the span too: still right after a re-ingest renumbers the passages
            if isinstance(span.get("char_start"), int) and isinstance(span.get("char_end"), int):
                spans.append((span["char_start"], span["char_end"]))
    changed: set[int] = set()
    for passage in session.exec(select(Passage).where(Passage.document_id == document_id)):
        cited = passage.id in ids or any(a < passage.char_end and passage.char_start < b for a, b in spans)
        if passage.released != cited:
            passage.released = cited
            session.add(passage)
            changed.add(passage.id)  # type: ignore[arg-type]
    return changed


def list_documents(
    *, session: Session, limit: int = 100, offset: int = 0, include_drafts: bool = False
) -> list[Document]:
    """Documents in source order; a draft (an upload not yet published) only when asked for."""
    statement = select(Document)
    if not include_drafts:
        statement = statement.where(Document.status == "published")
    statement = statement.order_by(Document.source, Document.id).offset(offset).limit(limit)
    return list(session.exec(statement))


def count_documents(*, session: Session, include_drafts: bool = True) -> int:
    statement = select(func.count()).select_from(Document)
    if not include_drafts:
        statement = statement.where(Document.status == "published")
    return session.exec(statement).one()


def count_held_for_review(*, session: Session) -> int:
    """Records found by ingest and held as drafts for a curator (not local interventions, or not sure enough)."""
    statement = (
        select(func.count())
        .select_from(Intervention)
        .where(Intervention.status == "draft", Intervention.origin == "auto")
    )
    return session.exec(statement).one()


def count_passages(*, session: Session, include_drafts: bool = True) -> int:
    statement = select(func.count()).select_from(Passage)
    if not include_drafts:
        statement = statement.join(Document, Document.id == Passage.document_id).where(  # type: ignore[arg-type]
            PUBLIC_PASSAGE
        )
    return session.exec(statement).one()


def passages_for_document(*, session: Session, document_id: int) -> list[Passage]:
    statement = select(Passage).where(Passage.document_id == document_id).order_by(Passage.ordinal)
    return list(session.exec(statement))


def passages_by_ids(*, session: Session, passage_ids: Sequence[int]) -> dict[int, Passage]:
    if not passage_ids:
        return {}
    rows = session.exec(select(Passage).where(Passage.id.in_(list(passage_ids))))  # type: ignore[union-attr]
    return {p.id: p for p in rows}  # type: ignore[misc]


def documents_by_ids(*, session: Session, document_ids: Iterable[int]) -> dict[int, Document]:
    ids = list(set(document_ids))
    if not ids:
        return {}
    rows = session.exec(select(Document).where(Document.id.in_(ids)))  # type: ignore[union-attr]
    return {d.id: d for d in rows}  # type: ignore[misc]


def replace_document(
    *,
    session: Session,
    document: Document,
    passages: list[Passage],
    interventions: list[Intervention] | None = None,
) -> Document:
    """Store a document and its passages in the caller's transaction, replacing any earlier version.

    The caller commits once, so a reader sees either the old passages or the new ones, never a mix.
    """
    existing = get_document_by_path(session=session, path=document.path)
    kept: list[Intervention] = []
    replaced: list[int] = []
    if existing is not None:
        replaced = list(session.exec(select(Passage.id).where(Passage.document_id == existing.id)))  # type: ignore[arg-type]
        session.exec(delete(Passage).where(Passage.document_id == existing.id))  # type: ignore[call-overload]
        kept = interventions_people_touched(session=session, document_id=existing.id)  # type: ignore[arg-type]
        kept_ids = [k.id for k in kept]
        session.exec(
            delete(Intervention).where(
                Intervention.document_id == existing.id,  # type: ignore[arg-type]
                Intervention.id.not_in(kept_ids),  # type: ignore[union-attr]
            )
        )  # type: ignore[call-overload]
        for field in (
            "source",
            "title",
            "format",
            "origin",
            "content_hash",
            "raw_text",
            "text",
            "metadata_json",
            "contacts_json",
            "outline_json",
        ):
            setattr(existing, field, getattr(document, field))
        existing.updated_at = utcnow()
        document = existing
    document.passage_count = len(passages)
    session.add(document)
    session.flush()
    for passage in passages:
        passage.document_id = document.id  # type: ignore[assignment]
        session.add(passage)
    session.flush()
    kept_keys = {k.key for k in kept}
    for record in kept:  # its cited spans now point at the new passages (or at none, if the text changed)
        record.passages_json = json.dumps(
            [
                link_span(span, document_id=document.id, passages=passages)
                for span in json.loads(record.passages_json)
            ]  # type: ignore[arg-type]
        )
        session.add(record)
    for intervention in interventions or []:
        if intervention.key in kept_keys:
            continue
        intervention.document_id = document.id
        intervention.passages_json = json.dumps(
            [
                link_span(span, document_id=document.id, passages=passages)
                for span in json.loads(intervention.passages_json)
            ]  # type: ignore[arg-type]
        )
        session.add(intervention)
    session.flush()
    sync_released(session=session, document_id=document.id)  # a re-ingested draft keeps what was released
    bump_generation(session=session, passage_ids=[*replaced, *(p.id for p in passages)])  # type: ignore[misc]
    return document


def interventions_people_touched(*, session: Session, document_id: int) -> list[Intervention]:
    """A document's interventions that a person edited, reviewed or discussed: a re-ingest keeps them."""
    from kb.store.models import Comment, FollowUp, InterventionRevision, LeadContact

    rows = list(session.exec(select(Intervention).where(Intervention.document_id == document_id)))
    ids = [r.id for r in rows]
    referenced: set[int] = set()
    for model in (Comment, FollowUp, LeadContact, InterventionRevision):
        referenced |= set(
            session.exec(select(model.intervention_id).where(model.intervention_id.in_(ids)))  # type: ignore[attr-defined]
        )
    return [r for r in rows if r.edited or r.id in referenced]


def link_span(span: dict, *, document_id: int, passages: list[Passage]) -> dict:
    """A supporting span, linked to the indexed passage it overlaps most, so a citation opens the reader there."""
    best, best_overlap = None, 0
    for passage in passages:
        overlap = min(span["char_end"], passage.char_end) - max(span["char_start"], passage.char_start)
        if overlap > best_overlap:
            best, best_overlap = passage, overlap
    anchor = f"#passage-{best.id}" if best is not None else ""
    return span | {
        "document_id": document_id,
        "passage_id": best.id if best else None,
        "url": f"/documents/{document_id}{anchor}",
    }


def document_outline(document: Document) -> list[dict]:
    return json.loads(document.outline_json or "[]")


# --- index generation ---------------------------------------------------------------


CHANGES_KEPT = 1000  # generations of the change log kept; older rows are deleted


def bump_generation(*, session: Session, passage_ids: Iterable[int] | None = None) -> int:
    """Tell every server process that the database changed, in the caller's transaction; returns the new generation.

    `passage_ids` names the passages whose searchable state may have changed (added, removed, replaced,
    published or hidden): processes re-read just those and update their indexes in place. An empty list
    declares that no searchable passage changed. Left out (None), processes cannot tell and compare every
    passage with what they hold: always correct, but a scan of the whole table, so a change that knows
    which passages it touched should say so.

    The counter is incremented by one UPDATE, so two concurrent changes never share a generation and a
    generation is visible only once every change at or below it is committed (the row stays locked until
    commit)."""
    bumped = session.exec(  # type: ignore[call-overload]
        update(IndexState)
        .where(IndexState.id == 1)
        .values(generation=IndexState.generation + 1, updated_at=utcnow())  # type: ignore[arg-type]
    )
    if bumped.rowcount == 0:
        session.add(IndexState(id=1, generation=1))
        session.flush()
    generation = session.exec(select(IndexState.generation).where(IndexState.id == 1)).one()
    if passage_ids is not None:
        rows = [{"generation": generation, "passage_id": int(key)} for key in set(passage_ids)]
        session.exec(insert(IndexChange), params=rows or [{"generation": generation, "passage_id": None}])  # type: ignore[call-overload]
    if generation % CHANGES_KEPT == 0:
        # why safe: a reader further behind finds generations with no row, which it treats as unknown, and
        # compares every passage instead (kb/models.py IndexChange)
        session.exec(delete(IndexChange).where(IndexChange.generation <= generation - CHANGES_KEPT))  # type: ignore[call-overload, arg-type, operator]
    return generation


def current_generation(*, session: Session) -> int:
    state = session.exec(select(IndexState.generation).where(IndexState.id == 1)).first()
    return state or 0


class PassageChanges(NamedTuple):
    generation: int  # the generation these changes bring a reader to
    passage_ids: frozenset[int]  # passages to re-read
    unknown: bool  # some generation in the range did not say what it changed: compare every passage


def passage_changes_since(*, session: Session, generation: int) -> PassageChanges:
    """What changed after `generation`, up to the current one (see bump_generation)."""
    current = current_generation(session=session)
    if current <= generation:
        return PassageChanges(current, frozenset(), current < generation)
    rows = session.exec(
        select(IndexChange.generation, IndexChange.passage_id).where(
            IndexChange.generation > generation,  # type: ignore[operator]
            IndexChange.generation <= current,  # type: ignore[operator]
        )
    ).all()
    said = {g for g, _ in rows}
    passage_ids = frozenset(p for _, p in rows if p is not None)
    return PassageChanges(current, passage_ids, len(said) < current - generation)


class IndexRow(NamedTuple):
    passage_id: int
    embed_hash: str
    text: str
    heading: str
    title: str
    source: str
    site: str | None


def index_rows(*, session: Session) -> list[IndexRow]:
    """What the search indexes need of every passage, in passage id order."""
    return [row for batch in iter_index_rows(session=session) for row in batch]


def _searchable_rows(*columns):  # noqa: ANN002, ANN202
    """The passages the search indexes hold: the public ones (PUBLIC_PASSAGE: those of published documents, and
    those a published record released). The one place this is decided, for full builds and for the passages a
    change names alike."""
    return (
        select(*columns)
        .join(Document, Document.id == Passage.document_id)  # type: ignore[arg-type]
        .where(PUBLIC_PASSAGE)
    )


_INDEX_COLUMNS = (
    Passage.id,
    Passage.embed_hash,
    Passage.text,
    Passage.heading,
    Document.title,
    Document.source,
    Passage.site,
)


def index_rows_for(*, session: Session, passage_ids: Iterable[int]) -> list[IndexRow]:
    """index_rows for these passages only (those not searchable, or gone, are left out), in passage id order."""
    wanted = sorted(set(passage_ids))
    found: list[IndexRow] = []
    for start in range(0, len(wanted), 500):  # why: stay under SQLite's bound-parameter limit
        statement = _searchable_rows(*_INDEX_COLUMNS).where(Passage.id.in_(wanted[start : start + 500]))  # type: ignore[union-attr]
        found.extend(IndexRow(*row) for row in session.exec(statement))
    return sorted(found)


def iter_index_fingerprints(
    *, session: Session, batch_size: int = 20_000
) -> Iterator[list[tuple[int, str, str | None]]]:
    """(passage id, embed hash, site) of every searchable passage, in id order, a batch at a time: what decides
    a passage's entries in the indexes, without its text."""
    after = 0
    while True:
        statement = (
            _searchable_rows(Passage.id, Passage.embed_hash, Passage.site)
            .where(Passage.id > after)  # type: ignore[operator]
            .order_by(Passage.id)
            .limit(batch_size)
        )
        batch = [tuple(row) for row in session.exec(statement)]
        if not batch:
            return
        yield batch  # type: ignore[misc]
        after = batch[-1][0]


def iter_index_rows(*, session: Session, batch_size: int = 5000) -> Iterator[list[IndexRow]]:
    """index_rows a batch at a time (keyset paging on the passage id), so a million passages are never all
    in memory at once. Only searchable passages (see _searchable_rows)."""
    after = 0
    while True:
        statement = (
            _searchable_rows(*_INDEX_COLUMNS)
            .where(Passage.id > after)  # type: ignore[operator]
            .order_by(Passage.id)
            .limit(batch_size)
        )
        batch = [IndexRow(*row) for row in session.exec(statement)]
        if not batch:
            return
        yield batch
        after = batch[-1].passage_id


def recent_documents(*, session: Session, limit: int) -> list[dict]:
    """The most recently added published documents, without their text (a draft is for curators only)."""
    statement = (
        select(Document.id, Document.title, Document.source, Document.passage_count, Document.created_at)  # type: ignore[call-overload]
        .where(Document.status == "published")
        .order_by(Document.created_at.desc(), Document.id.desc())  # type: ignore[attr-defined]
        .limit(limit)
    )
    keys = ("id", "title", "source", "passage_count", "created_at")
    return [dict(zip(keys, row, strict=True)) for row in session.exec(statement)]


def record_query(
    *, session: Session, query: str, results: int, interventions: int, top_score: float | None = None
) -> None:
    """Keep a search for the curators' analytics."""
    session.add(
        QueryLog(query=query[:500], results=results, interventions=interventions, top_score=top_score)
    )
    session.commit()


# --- cached vectors --------------------------------------------------------------------


def cached_vectors(*, session: Session, keys: Sequence[str]) -> dict[str, np.ndarray]:
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(keys), 500):  # why: stay under SQLite's bound-parameter limit
        chunk = list(keys[start : start + 500])
        rows = session.exec(select(EmbeddingCache).where(EmbeddingCache.key.in_(chunk)))  # type: ignore[attr-defined]
        for row in rows:
            found[row.key] = np.frombuffer(row.vector, dtype=np.float32)
    return found


def store_vectors(*, session: Session, vectors: dict[str, np.ndarray]) -> None:
    for key, vector in vectors.items():
        session.merge(
            EmbeddingCache(
                key=key, dimension=int(vector.shape[0]), vector=vector.astype(np.float32).tobytes()
            )
        )


# --- the ingestion ledger -----------------------------------------------------------


def start_run(*, session: Session, trigger: str, files_total: int) -> int:
    run = IngestRun(trigger=trigger, files_total=files_total)
    session.add(run)
    session.commit()
    return run.id  # type: ignore[return-value]


def record_file(*, session: Session, entry: IngestFile) -> None:
    session.add(entry)
    session.commit()


def finish_run(*, session: Session, run_id: int, seconds: float) -> IngestRun:
    run = session.get(IngestRun, run_id)
    if run is None:
        raise NotFound(f"No ingestion run with id {run_id}.")
    files = list(session.exec(select(IngestFile).where(IngestFile.run_id == run_id)))
    run.files_indexed = sum(f.status == "indexed" for f in files)
    run.files_unchanged = sum(f.status == "unchanged" for f in files)
    run.files_failed = sum(f.status == "failed" for f in files)
    run.passages_added = sum(f.passages for f in files if f.status == "indexed")
    run.status = "done"
    run.finished_at = utcnow()
    run.seconds = seconds
    session.add(run)
    session.commit()
    return run


def list_runs(*, session: Session, limit: int = 20) -> list[IngestRun]:
    return list(session.exec(select(IngestRun).order_by(IngestRun.id.desc()).limit(limit)))  # type: ignore[union-attr]


def files_for_run(*, session: Session, run_id: int) -> list[IngestFile]:
    return list(session.exec(select(IngestFile).where(IngestFile.run_id == run_id).order_by(IngestFile.id)))
