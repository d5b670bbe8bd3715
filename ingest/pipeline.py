"""File -> stored document and passages: idempotent by content hash, one transaction per file, a ledger entry each."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from ingest.clean import clean_text
from ingest.interventions import (
    REVIEW_THRESHOLD,
    InterventionDraft,
    curated_intervention,
    find_interventions,
    is_curated,
)
from ingest.parse import SUPPORTED_SUFFIXES, ParseError, parse_bytes
from ingest.passages import split_passages
from ingest.site_profile import Characteristic, extract_characteristics
from ingest.structure import detect_structure
from kb import site_profiles
from kb.passage_text import HEADING_SEPARATOR, passage_context_text
from kb.store import repo
from kb.store.db import session_scope
from kb.store.models import Document, IngestFile, Intervention, Passage, SiteCharacteristic
from kb.taxonomy import Taxonomy, load_taxonomy
from kb.vocabulary import Vocabulary, load_vocabulary

log = logging.getLogger(__name__)
# Bumped whenever parsing, cleaning, structure or splitting changes what a file turns into, so that
# re-ingesting an unchanged file under a new pipeline re-processes it instead of reporting "unchanged".
PIPELINE_VERSION = (
    "4"  # 2: intervention records; 3: refined units, sites and summaries; 4: site characteristics
)


def fingerprint(data: bytes) -> str:
    return f"{hashlib.sha256(data).hexdigest()}:{PIPELINE_VERSION}"


@dataclass
class FileResult:
    path: str
    status: str  # indexed, unchanged, failed
    reason: str | None = None
    document_id: int | None = None
    passages: int = 0
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class RunSummary:
    run_id: int
    files: list[FileResult]
    seconds: float

    @property
    def indexed(self) -> int:
        return sum(f.status == "indexed" for f in self.files)

    @property
    def unchanged(self) -> int:
        return sum(f.status == "unchanged" for f in self.files)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def passages(self) -> int:
        return sum(f.passages for f in self.files if f.status == "indexed")


@dataclass(frozen=True)
class PreparedDocument:
    """Everything stored for one file, computed before the database is touched."""

    document: Document
    passages: list[Passage]
    interventions: list[Intervention]
    timings: dict[str, float]
    characteristics: list[Characteristic] = field(default_factory=list)  # what its site profiles state


def collect_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named, and the supported files below any folder named (recursively, sorted, hidden ones skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and not hidden and child.suffix.lower() in SUPPORTED_SUFFIXES:
                    yield child
        else:
            yield path


def prepare_document(
    data: bytes,
    *,
    filename: str,
    identity: str,
    origin: str,
    max_bytes: int,
    max_passage_chars: int,
    review_threshold: float = REVIEW_THRESHOLD,
    status: str = "published",
    on_stage: Callable[[str], None] | None = None,
) -> PreparedDocument:
    """Parse, clean, section and split one file's bytes. Raises ParseError for a file that cannot be used.

    `status` "draft" keeps the document and its interventions from readers until a curator publishes them;
    `on_stage` hears "parsing" and then "extracting" as the work reaches them."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if on_stage:
        on_stage("parsing")
    parsed = parse_bytes(data, filename=filename, max_bytes=max_bytes)
    t1 = time.perf_counter()
    cleaned = clean_text(parsed.text)
    if not cleaned.text.strip():
        raise ParseError("no text is left after cleaning")
    t2 = time.perf_counter()
    structure = detect_structure(cleaned.text, title=parsed.title)
    title = (parsed.title or structure.title or Path(filename).stem).strip()[:300]
    drafts = split_passages(cleaned.text, structure.sections, max_chars=max_passage_chars)
    t3 = time.perf_counter()
    if on_stage:
        on_stage("extracting")
    vocabulary, taxonomy = domain_knowledge()
    if is_curated(parsed.metadata):
        found = [
            curated_intervention(cleaned.text, parsed.metadata, vocabulary=vocabulary, taxonomy=taxonomy)
        ]
    else:
        found = find_interventions(
            cleaned.text,
            structure.sections,
            document_key=identity,
            vocabulary=vocabulary,
            taxonomy=taxonomy,
            title=title,
        )
    characteristics = (
        []
        if is_curated(parsed.metadata)
        else extract_characteristics(cleaned.text, structure.sections, vocabulary=vocabulary)
    )
    t4 = time.perf_counter()
    timings.update(
        parse_ms=(t1 - t0) * 1000,
        clean_ms=(t2 - t1) * 1000,
        segment_ms=(t3 - t2) * 1000,
        extract_ms=(t4 - t3) * 1000,
    )

    outline = [
        {"path": list(s.path), "kind": s.kind, "start": s.start, "end": s.end, "site": s.site}
        for s in structure.sections
        if s.path
    ]
    document = Document(
        source=filename,
        title=title,
        format=parsed.format,
        origin=origin,
        status=status,
        path=identity,
        content_hash=fingerprint(data),
        raw_text=parsed.text,
        text=cleaned.text,
        metadata_json=json.dumps(parsed.metadata, default=str),
        contacts_json=json.dumps(cleaned.contacts),
        outline_json=json.dumps(outline),
    )
    passages = []
    for ordinal, draft in enumerate(drafts):
        heading = HEADING_SEPARATOR.join(draft.heading_path)
        context_text = passage_context_text(title=title, heading=heading, text=draft.text)
        passages.append(
            Passage(
                ordinal=ordinal,
                text=draft.text,
                heading=heading,
                section_kind=draft.section_kind,
                site=draft.site,
                char_start=draft.char_start,
                char_end=draft.char_end,
                embed_hash=hashlib.sha256(context_text.encode()).hexdigest(),
            )
        )
    interventions = [
        intervention_row(
            draft,
            source=filename,
            text=cleaned.text,
            origin="curated" if is_curated(parsed.metadata) else "auto",
            status=status,
            review_threshold=review_threshold,
        )
        for draft in found
    ]
    return PreparedDocument(
        document=document,
        passages=passages,
        interventions=interventions,
        timings=timings,
        characteristics=characteristics,
    )


@lru_cache(maxsize=1)
def domain_knowledge() -> tuple[Vocabulary, Taxonomy]:
    """The site directory and vocabulary, and the taxonomy, loaded once per process."""
    return load_vocabulary(), load_taxonomy()


def intervention_row(
    draft: InterventionDraft,
    *,
    source: str,
    text: str,
    origin: str,
    status: str = "published",
    review_threshold: float = REVIEW_THRESHOLD,
) -> Intervention:
    """The stored record of a draft. A trusted ingest publishes it only when its unit is a local intervention
    judged with at least `review_threshold` confidence; otherwise it waits in the review queue with the reason."""
    passages = [
        {
            "source": source,
            "text": text[span.start : span.end],
            "char_start": span.start,
            "char_end": span.end,
            "field": span.field,
        }
        for span in draft.spans
    ]
    held = status == "published" and not draft.unit_class.publishable(review_threshold)
    return Intervention(
        key=draft.key,
        origin=origin,
        status="draft" if held else status,
        review_note=f"Held for review: {draft.unit_class.reason}" if held else "",
        unit_class=draft.unit_class.name,
        class_confidence=draft.unit_class.confidence,
        class_reason=draft.unit_class.reason,
        title=draft.title,
        site=draft.site,
        site_id=draft.site_id,
        programme=draft.programme,
        care_model=draft.care_model,
        summary=draft.summary,
        context=draft.context,
        implementation=draft.implementation,
        lessons=draft.lessons,
        barriers=draft.barriers,
        evidence_level=draft.evidence_level,
        evidence_confidence=draft.evidence_confidence,
        evidence_provenance="curator" if origin == "curated" else "rule",
        has_results=draft.has_results,
        tags_json=json.dumps(draft.tags),
        outcomes_json=json.dumps(draft.outcomes),
        passages_json=json.dumps(passages),
    )


def characteristic_rows(
    found: list[Characteristic], *, document_id: int, passages: list[Passage]
) -> list[SiteCharacteristic]:
    """Stored rows for the characteristics a document states, each linked to the passage that holds its sentence."""
    rows = []
    for c in found:
        span = repo.link_span(
            {"char_start": c.start, "char_end": c.end}, document_id=document_id, passages=passages
        )
        rows.append(
            SiteCharacteristic(
                site_id=c.site_id,
                name=c.name,
                value=c.value,
                as_written=c.as_written,
                number=c.number,
                passage_id=span["passage_id"],
                char_start=c.start,
                char_end=c.end,
                quote=c.quote,
                confidence=c.confidence,
                provenance=f"rule: {c.rule}",
            )
        )
    return rows


def ingest_file(
    path: Path,
    *,
    engine: Engine,
    origin: str = "ingest",
    max_bytes: int = 50 * 1024 * 1024,
    max_passage_chars: int = 1200,
    review_threshold: float = REVIEW_THRESHOLD,
    identity: str | None = None,
    status: str = "published",
    on_stage: Callable[[str], None] | None = None,
) -> FileResult:
    """Ingest one file. Never raises for a bad file: the result says why it failed, and the store is untouched.

    A file ingested as a "draft" waits for a curator to publish it (see prepare_document)."""
    identity = identity or str(path.resolve())
    result = FileResult(path=str(path), status="failed")
    try:
        if not path.is_file():
            raise ParseError("no such file")
        size = path.stat().st_size
        if size > max_bytes:
            raise ParseError(f"the file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit")
        data = path.read_bytes()
        content_hash = fingerprint(data)
        with Session(engine) as session:
            existing = repo.get_document_by_path(session=session, path=identity)
            if existing is not None and existing.content_hash == content_hash:
                result.status, result.document_id = "unchanged", existing.id
                result.passages = existing.passage_count
                return result
        prepared = prepare_document(
            data,
            filename=path.name,
            identity=identity,
            origin=origin,
            max_bytes=max_bytes,
            max_passage_chars=max_passage_chars,
            review_threshold=review_threshold,
            status=status,
            on_stage=on_stage,
        )
        t0 = time.perf_counter()
        with session_scope(engine) as session:
            document = repo.replace_document(
                session=session,
                document=prepared.document,
                passages=prepared.passages,
                interventions=prepared.interventions,
            )
            result.document_id = document.id
            site_profiles.replace_extracted(
                session=session,
                document_id=document.id,  # type: ignore[arg-type]
                rows=characteristic_rows(
                    prepared.characteristics, document_id=document.id, passages=prepared.passages
                ),  # type: ignore[arg-type]
            )
        result.timings = prepared.timings | {"store_ms": (time.perf_counter() - t0) * 1000}
        result.status, result.passages = "indexed", len(prepared.passages)
    except ParseError as err:
        result.reason = err.reason
    except OSError as err:
        result.reason = f"could not read the file: {err.strerror or err}"
    except Exception as err:  # why: one bad file must never stop a run or leave a half-written document
        log.exception("ingesting %s failed", path)
        result.reason = f"internal error while ingesting ({type(err).__name__}); nothing was stored"
    return result


def ingest_paths(
    paths: Iterable[Path],
    *,
    engine: Engine,
    trigger: str = "cli",
    origin: str = "ingest",
    max_bytes: int = 50 * 1024 * 1024,
    max_passage_chars: int = 1200,
    review_threshold: float = REVIEW_THRESHOLD,
    on_file: Callable[[FileResult], None] | None = None,
    status: str = "published",
) -> RunSummary:
    """Ingest every file named or found below a folder named, recording the run and each file in the ledger."""
    files = list(collect_files(paths))
    started = time.perf_counter()
    with Session(engine) as session:
        run_id = repo.start_run(session=session, trigger=trigger, files_total=len(files))
    results = []
    for path in files:
        result = ingest_file(
            path,
            engine=engine,
            origin=origin,
            max_bytes=max_bytes,
            max_passage_chars=max_passage_chars,
            review_threshold=review_threshold,
            status=status,
        )
        results.append(result)
        with Session(engine) as session:
            repo.record_file(
                session=session,
                entry=IngestFile(
                    run_id=run_id,
                    path=result.path,
                    status=result.status,
                    reason=result.reason,
                    document_id=result.document_id,
                    passages=result.passages,
                    **{
                        k: v
                        for k, v in result.timings.items()
                        if k in ("parse_ms", "clean_ms", "segment_ms", "extract_ms", "store_ms")
                    },
                ),
            )
        if on_file:
            on_file(result)
    seconds = time.perf_counter() - started
    with Session(engine) as session:
        repo.finish_run(session=session, run_id=run_id, seconds=seconds)
    return RunSummary(run_id=run_id, files=results, seconds=seconds)
