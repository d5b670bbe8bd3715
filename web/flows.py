"""The few steps that cross ingest and search: ingest files then bring the index up to date, load the default corpus."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from ingest.pipeline import FileResult, RunSummary, collect_files, ingest_paths
from kb.settings import Settings
from kb.store import repo
from kb.store.db import init_db, make_engine, session_scope
from kb.store.models import SiteRecord
from kb.taxonomy import load_taxonomy
from kb.vocabulary import load_vocabulary
from search.adapt import adopted_model_path
from search.catalogue import CatalogueService
from search.embeddings import Embedder, make_embedder
from search.service import SearchService
from search.settle import settle_documents

log = logging.getLogger(__name__)


def open_engine(settings: Settings) -> Engine:
    engine = make_engine(settings)
    init_db(engine)
    return engine


def sync_sites(engine: Engine) -> int:
    """The site directory (from the vocabulary's sites) written to the database, so every process shares it.

    Processes starting together may race to insert the same site; the loser retries and finds it there."""
    import json

    from sqlalchemy.exc import IntegrityError

    vocabulary = load_vocabulary()
    for attempt in range(3):
        try:
            with Session(engine) as session:
                for site in vocabulary.sites:
                    session.merge(
                        SiteRecord(
                            id=site.id,
                            name=site.name,
                            type=site.type,
                            place=site.place,
                            aliases_json=json.dumps(list(site.aliases)),
                            population=site.population,
                        )
                    )
                session.commit()
            break
        except IntegrityError:
            if attempt == 2:
                raise
    return len(vocabulary.sites)


def build_catalogue(service: SearchService) -> CatalogueService:
    """The catalogue shares the search service's engine and embedder (one model in memory)."""
    return CatalogueService(engine=service.engine, embedder=service.embedder, taxonomy=load_taxonomy())


def build_search_service(settings: Settings, engine: Engine) -> SearchService:
    embedder = make_embedder(
        settings.embedder,
        model_path=settings.model_path or adopted_model_path(settings.adapted_dir),
        backend=settings.embed_backend,
        cache_dir=settings.encoder_dir,
    )
    return SearchService(
        engine=engine, embedder=embedder, vocabulary=load_vocabulary(), index_dir=settings.index_dir
    )


def ingest_and_index(
    paths: Iterable[Path],
    *,
    settings: Settings,
    engine: Engine,
    service: SearchService | None,
    trigger: str = "cli",
    origin: str = "ingest",
    on_file: Callable[[FileResult], None] | None = None,
    status: str = "published",
) -> RunSummary:
    """Ingest the files, then bring the search index up to date (encoding only new passages)."""
    summary = ingest_paths(
        paths,
        engine=engine,
        trigger=trigger,
        origin=origin,
        status=status,
        max_bytes=settings.max_file_mb * 1024 * 1024,
        max_passage_chars=settings.max_passage_chars,
        review_threshold=settings.review_threshold,
        on_file=on_file,
    )
    if service is not None:
        settle(engine, service.embedder, [f.document_id for f in summary.files if f.status == "indexed"])
        service.refresh()
    return summary


def settle(engine: Engine, embedder: Embedder, document_ids: list[int | None]) -> None:
    """Store the model's tags and the merges of the records found in these documents (search/settle.py)."""
    ids = [d for d in document_ids if d is not None]
    if not ids:
        return
    with session_scope(engine) as session:
        report = settle_documents(
            session=session, embedder=embedder, taxonomy=load_taxonomy(), document_ids=ids
        )
        if report.tagged or report.merged:
            repo.bump_generation(session=session, passage_ids=[])  # records only: no passage changed
    if report.merged:
        log.info("merged %d records into records of the same intervention", len(report.merged))


def default_corpus_files(settings: Settings) -> list[Path]:
    return (
        list(collect_files([settings.corpus_dir / "cases"]))
        if (settings.corpus_dir / "cases").is_dir()
        else []
    )


def load_default_corpus_if_empty(settings: Settings, engine: Engine) -> RunSummary | None:
    """A fresh install has nothing to search: ingest the bundled case studies the first time kb starts."""
    if not settings.load_default_corpus:
        return None
    with Session(engine) as session:
        if repo.count_documents(session=session):
            return None
    files = default_corpus_files(settings)
    if not files:
        return None
    summary = ingest_paths(
        files,
        engine=engine,
        trigger="startup",
        origin="corpus",
        max_bytes=settings.max_file_mb * 1024 * 1024,
        max_passage_chars=settings.max_passage_chars,
        review_threshold=settings.review_threshold,
    )
    log.info("loaded the default corpus: %d documents, %d passages", summary.indexed, summary.passages)
    return summary
