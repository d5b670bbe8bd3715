"""What a search answers: ranked hits, each citing its passage and document."""

from __future__ import annotations

from pydantic import BaseModel


class DocumentRef(BaseModel):
    id: int
    title: str
    source: str


class SearchHit(BaseModel):
    passage_id: int
    source: str
    text: str
    score: float
    heading: str
    section_kind: str
    document: DocumentRef
    char_start: int
    char_end: int
    url: str
    highlights: list[str] = []  # query terms matched, for the page to mark


class SearchResponse(BaseModel):
    query: str
    results: list[SearchHit]
    total: int
    limit: int
    offset: int
    took_ms: float
    expansions: list[str] = []
