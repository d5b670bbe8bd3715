"""JSON API: search, documents, passages, the ingestion ledger and uploads. Thin handlers: parse, call one service,
return. Every status a route can answer with is in its `responses`, so /openapi.json lists all of them."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from kb import uploads
from kb.store import repo
from kb.store.models import IngestFile, IngestRun
from web.auth import CuratorDep
from web.deps import MAX_ID, NO_NUL, IdPath, SearchDep, SessionDep
from web.errors import error_responses
from web.schemas import (
    DocumentPublic,
    DocumentRef,
    DocumentSummary,
    OutlineEntry,
    PassagePublic,
    SearchResponse,
)

router = APIRouter(prefix="/api", tags=["api"])
MAX_DOCUMENT_OFFSET = 100_000


class DocumentList(BaseModel):
    results: list[DocumentSummary]
    total: int
    limit: int
    offset: int


class Stats(BaseModel):
    documents: int
    passages: int
    indexed_vectors: int
    model: str


class RunPublic(BaseModel):
    run: IngestRun
    files: list[IngestFile]


@router.get("/search", response_model=SearchResponse, responses=error_responses(422))
def search(
    search: SearchDep,
    q: Annotated[str, Query(description="what to search for", max_length=500)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    offset: Annotated[int, Query(ge=0, le=1000)] = 0,
    document: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="only passages of this document")
    ] = None,
    section: Annotated[
        str | None,
        Query(max_length=200, pattern=NO_NUL, description="only passages whose heading contains this"),
    ] = None,
) -> SearchResponse:
    return search.search(q, limit=limit, offset=offset, document_id=document, section=section)


@router.get("/documents", response_model=DocumentList, responses=error_responses(422))
def documents(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DOCUMENT_OFFSET)] = 0,
) -> DocumentList:
    rows = repo.list_documents(session=session, limit=limit, offset=offset)
    return DocumentList(
        results=[DocumentSummary.model_validate(d, from_attributes=True) for d in rows],
        total=repo.count_documents(session=session, include_drafts=False),
        limit=limit,
        offset=offset,
    )


@router.get("/documents/{document_id}", response_model=DocumentPublic, responses=error_responses(404, 422))
def document(session: SessionDep, document_id: IdPath) -> DocumentPublic:
    doc = repo.get_document_or_raise(session=session, document_id=document_id)
    return DocumentPublic(
        **DocumentSummary.model_validate(doc, from_attributes=True).model_dump(),
        text=doc.text,
        metadata=json.loads(doc.metadata_json),
        contacts=json.loads(doc.contacts_json),
        outline=[OutlineEntry(**entry) for entry in repo.document_outline(doc)],
    )


@router.get("/passages/{passage_id}", response_model=PassagePublic, responses=error_responses(404, 422))
def passage(session: SessionDep, passage_id: IdPath) -> PassagePublic:
    found = repo.get_passage_or_raise(session=session, passage_id=passage_id)
    doc = repo.get_document_or_raise(session=session, document_id=found.document_id, include_drafts=True)
    return PassagePublic(
        **found.model_dump(include=set(PassagePublic.model_fields) - {"document", "source", "url"}),
        document=DocumentRef(id=doc.id, title=doc.title, source=doc.source),  # type: ignore[arg-type]
        source=doc.source,
        url=f"/documents/{doc.id}#passage-{found.id}",
    )


@router.get("/ingest/runs", response_model=list[RunPublic], responses=error_responses(401, 403, 422))
def ingest_runs(
    session: SessionDep, user: CuratorDep, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[RunPublic]:
    """The ingestion ledger, for curators: it names files as they were on the server."""
    return [
        RunPublic(run=run, files=repo.files_for_run(session=session, run_id=run.id))  # type: ignore[arg-type]
        for run in repo.list_runs(session=session, limit=limit)
    ]


@router.get("/uploads/{upload_id}", responses=error_responses(401, 403, 404, 422))
def upload(session: SessionDep, user: CuratorDep, upload_id: IdPath) -> dict:
    """An upload and each of its files' state (queued, parsing, extracting, indexing, indexed, unchanged,
    failed with the reason), for curators: what its status page shows."""
    return uploads.upload_status(session=session, upload_id=upload_id)


@router.get("/stats", response_model=Stats)
def stats(session: SessionDep, search: SearchDep) -> Stats:
    return Stats(
        documents=repo.count_documents(session=session, include_drafts=False),
        passages=repo.count_passages(session=session, include_drafts=False),
        indexed_vectors=len(search.vectors) if search.vectors else 0,
        model=search.embedder.model_id,
    )


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
