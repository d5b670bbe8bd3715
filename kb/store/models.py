"""The tables: documents, passages, cached vectors, the ingestion ledger, interventions, accounts, curation."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- documents ---------------------------------------------------------------


class DocumentBase(SQLModel):
    source: str = Field(index=True)  # the ingested file's name, as shown in citations
    title: str
    format: str
    origin: str = (
        "ingest"  # "corpus" (bundled), "ingest" (CLI), "upload" (site) or "submission" (member form)
    )
    status: str = Field(default="published", index=True)  # "draft" until a curator publishes an upload


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
    # a curator published a record that cites this passage: it is searchable and readable on its own while the
    # rest of its draft document waits for review (kb.store.repo.sync_released keeps it true to the records)
    released: bool = Field(default=False, index=True)


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


class IndexChange(SQLModel, table=True):
    """What changed at a generation, written in the same transaction as the change: each server process
    re-reads only these passages instead of rebuilding its indexes (search/service.py).

    A row per passage whose searchable state may have changed (added, removed, replaced, published); a row
    with no passage id says the generation changed no searchable passage. A generation with no row at all
    says nothing about what changed, so processes compare every passage with what they hold."""

    id: int | None = Field(default=None, primary_key=True)
    generation: int = Field(index=True)
    passage_id: int | None = None


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
    origin: str = "auto"  # auto, curated or submitted
    status: str = Field(default="published", index=True)  # draft, published or rejected
    review_note: str = ""  # why it was rejected, or the last change's reason
    version: int = 1  # bumped by every change a person makes (see InterventionRevision)
    edited: bool = False  # a person changed it: a re-ingest of its document keeps it as it is
    submitted_by: int | None = Field(default=None, foreign_key="account.id")
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
    # what the unit it came from was judged to be at ingest (ingest/interventions/classes.py): only a local intervention
    # is published by a trusted ingest; anything else waits in the review queue with the reason
    unit_class: str = "local_intervention"
    class_confidence: float = 1.0
    class_reason: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# --- query log -------------------------------------------------------------------


class QueryLog(SQLModel, table=True):
    """One search as typed on the site, for curators: what people look for and how much kb holds on it."""

    id: int | None = Field(default=None, primary_key=True)
    query: str
    results: int = 0  # passages found
    interventions: int = 0  # interventions matching the query
    top_score: float | None = None  # the best passage's score, to spot poor answers
    created_at: datetime = Field(default_factory=utcnow, index=True)


# --- accounts ----------------------------------------------------------------------

ROLES = ("reader", "member", "curator", "admin")  # each can do everything the ones before it can


class User(SQLModel, table=True):
    __tablename__ = "account"  # why: "user" is a reserved word in PostgreSQL
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True)  # stored lower-case
    name: str
    organisation: str = ""
    role: str = "member"  # member, curator or admin (a reader has no account)
    password_hash: str | None = None  # argon2; None: cannot sign in until a password is set
    disabled: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None
    # when the owner followed a signed link sent to `email` (None: never); only then is the address theirs
    email_confirmed_at: datetime | None = None
    # the last confirmation and reset e-mails, to space them out
    confirm_link_sent_at: datetime | None = None
    reset_link_sent_at: datetime | None = None


class UserSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a signed random token; only its hash is stored."""

    token_hash: str = Field(primary_key=True)
    user_id: int = Field(foreign_key="account.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class LoginAttempt(SQLModel, table=True):
    """A failed sign-in, kept for a while to rate-limit guessing (shared by every server process)."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True)
    client: str = Field(index=True)  # the client's address
    created_at: datetime = Field(default_factory=utcnow, index=True)


class AppSecret(SQLModel, table=True):
    """Secrets made once per installation and shared by every process (the cookie signing key)."""

    name: str = Field(primary_key=True)
    value: str


# --- uploads ---------------------------------------------------------------------------


class Upload(SQLModel, table=True):
    """Files a curator uploaded together; each file is ingested in the background."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = Field(default_factory=utcnow)


class UploadFile(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    upload_id: int = Field(foreign_key="upload.id", index=True)
    filename: str  # the name as uploaded (shown, never used as a path)
    stored_name: str  # what it is stored as: <sha256 of content><suffix>
    size: int
    status: str = Field(
        default="queued", index=True
    )  # queued, parsing, extracting, indexing, indexed, unchanged, failed
    reason: str | None = None
    document_id: int | None = None
    attempts: int = 0
    worker: str | None = None  # which process claimed it
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class UploadContent(SQLModel, table=True):
    """An uploaded file's bytes, in the database so any server process (on any machine) can ingest it."""

    file_id: int = Field(primary_key=True, foreign_key="uploadfile.id")
    data: bytes


# --- curation --------------------------------------------------------------------------


class InterventionRevision(SQLModel, table=True):
    """One version of an intervention: who changed it, when, what (a snapshot of its fields) and why."""

    id: int | None = Field(default=None, primary_key=True)
    intervention_id: int = Field(foreign_key="intervention.id", index=True)
    version: int
    user_id: int | None = Field(default=None, foreign_key="account.id")
    action: str  # extracted, edited, published, rejected, merged, reverted, submitted
    reason: str = ""
    snapshot_json: str  # the intervention's fields after this change
    created_at: datetime = Field(default_factory=utcnow)


class CurationTask(SQLModel, table=True):
    """Something for the programme team to do, often from a query kb answered poorly."""

    id: int | None = Field(default=None, primary_key=True)
    title: str
    detail: str = ""
    query: str | None = None
    status: str = "open"  # open or done
    created_by: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = Field(default_factory=utcnow)
    done_at: datetime | None = None


# --- community -------------------------------------------------------------------------


class Comment(SQLModel, table=True):
    """A comment on, or question about, an intervention; replies point at their parent."""

    id: int | None = Field(default=None, primary_key=True)
    intervention_id: int = Field(foreign_key="intervention.id", index=True)
    parent_id: int | None = Field(default=None, foreign_key="comment.id")
    user_id: int = Field(foreign_key="account.id")
    kind: str = "comment"  # comment or question
    body: str  # Markdown, rendered safely
    status: str = "visible"  # visible or hidden (by a curator)
    moderation_note: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class FollowUp(SQLModel, table=True):
    """An adopter's report: "we tried this in our area, and this happened"."""

    id: int | None = Field(default=None, primary_key=True)
    intervention_id: int = Field(foreign_key="intervention.id", index=True)
    user_id: int = Field(foreign_key="account.id")
    area: str  # where they tried it
    body: str  # Markdown: what they did and what happened
    outcome: str = ""  # an optional figure as the member wrote it; not verified
    status: str = "visible"
    created_at: datetime = Field(default_factory=utcnow)


class LeadContact(SQLModel, table=True):
    """The lead for an intervention; shown to readers only with consent, with the date it was last confirmed."""

    id: int | None = Field(default=None, primary_key=True)
    intervention_id: int = Field(foreign_key="intervention.id", index=True)
    name: str
    role: str = ""
    organisation: str = ""
    email: str = ""
    phone: str = ""
    consent: bool = False
    confirmed_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class SavedSearch(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="account.id", index=True)
    name: str
    query: str = ""
    filters_json: str = "{}"  # catalogue filters as query-string pairs
    digest: bool = False  # e-mail what is new
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    last_digest_at: datetime | None = None


# --- site characteristics ----------------------------------------------------------------


class SiteCharacteristic(SQLModel, table=True):
    """One characteristic of a site's area (population, rurality, deprivation, age profile, GP practices,
    organisation footprint) as a document states it, or as a curator set it, with where it was read."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(
        index=True
    )  # a site id from the vocabulary (no foreign key: a CLI ingest may precede sync)
    name: str  # population, rurality, deprivation, age_profile, gp_practices, footprint
    value: (
        str  # normalised: "365000", "rural", "high", "older than average", "17", "1 CCG, 2 local authorities"
    )
    as_written: str = ""  # the words the value was read from
    number: float | None = None  # population or number of practices
    document_id: int | None = Field(default=None, index=True)
    passage_id: int | None = None
    char_start: int | None = None
    char_end: int | None = None
    quote: str = ""  # the sentence that states it
    confidence: float = 0.5
    provenance: str = "rule"  # "rule: <rule name>" or "curator"
    edited_by: int | None = None  # the curator's account id
    updated_at: datetime = Field(default_factory=utcnow)
