"""What the JSON API returns for documents and passages (never a table model itself), and search's results."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from kb.store.models import PassageBase
from search.results import DocumentRef, SearchHit, SearchResponse

__all__ = [
    "DocumentPublic",
    "DocumentRef",
    "DocumentSummary",
    "OutlineEntry",
    "PassagePublic",
    "SearchHit",
    "SearchResponse",
]


class DocumentSummary(BaseModel):
    id: int
    source: str
    title: str
    format: str
    origin: str
    passage_count: int
    updated_at: datetime


class OutlineEntry(BaseModel):
    path: list[str]
    kind: str
    start: int
    end: int
    site: str | None = None
    first_passage_id: int | None = None


class DocumentPublic(DocumentSummary):
    text: str
    metadata: dict
    contacts: list[str]
    outline: list[OutlineEntry]


class PassagePublic(PassageBase):
    id: int
    document: DocumentRef
    source: str
    url: str
