"""Tables and their request/response models: documents, passages, cached vectors, the ingestion ledger."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- documents ---------------------------------------------------------------


class DocumentBase(SQLModel):
    source: str = Field(index=True)  # the ingested file's name, as shown in citations
    title: str
    format: str
    origin: str = "ingest"  # "corpus" (bundled), "ingest" (CLI) or "upload" (site)


class Document(DocumentBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    path: str = Field(unique=True, index=True)  # where it was ingested from; the identity for re-ingest
    content_hash: str
    raw_text: str  # the parsed text before cleaning: nothing cleaning removed is lost
    text: str  # the cleaned text; passage offsets point into it
    metadata_json: str = "{}"  # front matter, parser metadata
    contacts_json: str = "[]"  # contact lines removed from the passages
    outline_json: str = "[]"  # sections: [{"path": [...], "kind", "start", "end", "site"}]
    passage_count: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


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


# --- passages ----------------------------------------------------------------


class PassageBase(SQLModel):
    ordinal: int
    text: str
    heading: str  # heading path joined with " › "
    section_kind: str = "section"
    site: str | None = None
    char_start: int
    char_end: int


class Passage(PassageBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    embed_hash: str = Field(index=True)  # hash of the text the embedder sees (context + passage)


class DocumentRef(BaseModel):
    id: int
    title: str
    source: str


class PassagePublic(PassageBase):
    id: int
    document: DocumentRef
    source: str
    url: str


# --- vectors -----------------------------------------------------------------


class EmbeddingCache(SQLModel, table=True):
    """One vector per (model, embedded text): an index rebuild never re-encodes an unchanged passage."""

    key: str = Field(primary_key=True)  # sha256 of model id + embedded text
    dimension: int
    vector: bytes


class IndexState(SQLModel, table=True):
    """A counter bumped by every change to the passages, so every server process sees it is stale."""

    id: int = Field(default=1, primary_key=True)
    generation: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


# --- the ingestion ledger ------------------------------------------------------


class IngestRun(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    status: str = "running"  # running, done, failed
    trigger: str = "cli"  # cli, startup, upload
    files_total: int = 0
    files_indexed: int = 0
    files_unchanged: int = 0
    files_failed: int = 0
    passages_added: int = 0
    seconds: float = 0.0


class IngestFile(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="ingestrun.id", index=True)
    path: str
    status: str  # indexed, unchanged, failed
    reason: str | None = None
    document_id: int | None = None
    passages: int = 0
    parse_ms: float = 0.0
    clean_ms: float = 0.0
    segment_ms: float = 0.0
    extract_ms: float = 0.0
    store_ms: float = 0.0
    finished_at: datetime = Field(default_factory=utcnow)


# --- search ------------------------------------------------------------------


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


HEADING_SEPARATOR = " › "


def passage_context_text(*, title: str, heading: str, text: str) -> str:
    """What the embedder and the lexical index see for a passage: its text in its document and section context."""
    context = HEADING_SEPARATOR.join(part for part in (title, heading) if part)
    return f"{context}\n{text}" if context else text


# --- sites and interventions -------------------------------------------------------


class SiteRecord(SQLModel, table=True):
    """A place the documents name: a vanguard, a pioneer, an STP footprint."""

    __tablename__ = "site"
    id: str = Field(primary_key=True)  # slug from the vocabulary
    name: str
    type: str  # pioneer, pacs, mcp, ehch, uec, acc, stp, other
    place: str = ""
    aliases_json: str = "[]"
    population: str | None = None


class Intervention(SQLModel, table=True):
    """One intervention in the catalogue: found in a document (origin "auto") or written by a curator ("curated")."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(
        unique=True, index=True
    )  # stable identity: "<document path>#<char start>" or "curated:<id>"
    document_id: int | None = Field(default=None, foreign_key="document.id", index=True)
    origin: str = "auto"  # auto or curated
    status: str = "published"
    title: str
    site: str = ""  # the site as named for readers ("Anonymised" where the source anonymises it)
    site_id: str | None = Field(default=None, index=True)
    programme: str = ""
    care_model: str = ""
    summary: str = ""
    context: str = ""
    implementation: str = ""
    lessons: str = ""
    barriers: str = ""
    evidence_level: str = "1"
    evidence_confidence: float = 0.5
    evidence_provenance: str = "rule"
    has_results: bool = False
    tags_json: str = "[]"  # [{"dimension", "id", "label", "confidence", "provenance"}]
    outcomes_json: str = (
        "[]"  # [{"measure", "direction", "figure", "kind", "period", "baseline", "second_hand", ...}]
    )
    passages_json: str = "[]"  # [{"source", "text", "char_start", "char_end", "field", "document_id"}]
    contacts_json: str = "[]"
    merged_keys_json: str = "[]"  # keys of the records merged into this one
    curated_key: str | None = None  # the curated record that takes precedence over this automatic one
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# --- query log -------------------------------------------------------------------


class QueryLog(SQLModel, table=True):
    """One search as typed on the site, for curators: what people look for and how much kb holds on it."""

    id: int | None = Field(default=None, primary_key=True)
    query: str
    results: int = 0  # passages found
    interventions: int = 0  # interventions matching the query
    created_at: datetime = Field(default_factory=utcnow, index=True)
