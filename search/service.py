"""Query -> ranked, cited passages: lexical and dense retrieval over the same passages, fused and de-duplicated."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from kb import repo
from kb.errors import InvalidInput
from kb.models import DocumentRef, Passage, SearchHit, SearchResponse, passage_context_text
from search.embeddings import Embedder
from search.fusion import collapse_near_duplicates, fuse, top_candidates
from search.lexical import STOPWORDS, LexicalIndex, LexicalManifest
from search.vectors import Manifest, VectorIndex
from search.vocabulary import Vocabulary, expand_query

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 500
MAX_LIMIT = 100
MAX_OFFSET = 1000
CANDIDATES = 200
LEXICAL_WEIGHT = 0.5
ACRONYM_WEIGHT = 0.65  # expansions at or above this weight are spelled out for the embedder too


@dataclass
class RefreshReport:
    passages: int
    encoded: int
    vectors: str  # "loaded", "built" or "current"
    lexical: str
    seconds: float


def cache_key(model_id: str, embed_hash: str) -> str:
    return hashlib.sha256(f"{model_id}:{embed_hash}".encode()).hexdigest()


def validate_query(query: str, limit: int, offset: int) -> str:
    cleaned = " ".join((query or "").split())
    if not cleaned:
        raise InvalidInput("The query is empty: type a few words to search for.")
    if len(cleaned) > MAX_QUERY_CHARS:
        raise InvalidInput(f"The query is {len(cleaned)} characters long; the most is {MAX_QUERY_CHARS}.")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"offset must be between 0 and {MAX_OFFSET}.")
    return cleaned


class SearchService:
    """Holds the indexes for the passages in the database and rebuilds them when the passages change."""

    def __init__(self, *, engine: Engine, embedder: Embedder, vocabulary: Vocabulary, index_dir: Path):
        self.engine, self.embedder, self.vocabulary, self.index_dir = engine, embedder, vocabulary, index_dir
        self._lock = threading.Lock()
        self._generation = -1
        self.vectors: VectorIndex | None = None
        self.lexical: LexicalIndex | None = None
        self.document_of: dict[int, int] = {}

    # --- keeping the indexes in step with the database ----------------------------

    def ensure_fresh(self) -> None:
        with Session(self.engine) as session:
            generation = repo.current_generation(session=session)
        if generation != self._generation:
            self.refresh()

    def refresh(self) -> RefreshReport:
        """Load the saved indexes if they cover exactly the stored passages, else rebuild (re-encoding only new text)."""
        started = time.perf_counter()
        with self._lock, Session(self.engine) as session:
            generation = repo.current_generation(session=session)
            rows = repo.index_rows(session=session)
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            corpus_hash = hashlib.sha256("\n".join(f"{r[0]}:{r[1]}" for r in rows).encode()).hexdigest()
            vector_manifest = Manifest(
                model=self.embedder.model_id, dimension=self.embedder.dimension, count=len(rows), corpus_hash=corpus_hash
            )
            encoded, vector_state, lexical_state = 0, "current", "current"
            if self.vectors is None or self.vectors.manifest != vector_manifest:
                vectors = VectorIndex.load(self.index_dir / "vectors", expected=vector_manifest)
                vector_state = "loaded"
                if vectors is None:
                    matrix, encoded = self._vectors_for(session, rows)
                    vectors = VectorIndex(matrix, ids, vector_manifest)
                    vectors.save(self.index_dir / "vectors")
                    vector_state = "built"
                self.vectors = vectors
            lexical_manifest = LexicalManifest(count=len(rows), corpus_hash=corpus_hash)
            if self.lexical is None or self.lexical.manifest != lexical_manifest:
                lexical = LexicalIndex.load(self.index_dir / "lexical", expected=lexical_manifest)
                lexical_state = "loaded"
                if lexical is None:
                    documents = [passage_context_text(title=r[4], heading=r[3], text=r[2]) for r in rows]
                    lexical = LexicalIndex.build(documents, ids, lexical_manifest)
                    lexical.save(self.index_dir / "lexical")
                    lexical_state = "built"
                self.lexical = lexical
            self.document_of = dict(
                session.exec(select(Passage.id, Passage.document_id)).all()  # type: ignore[arg-type]
            )
            self._generation = generation
        report = RefreshReport(len(rows), encoded, vector_state, lexical_state, time.perf_counter() - started)
        log.info("search index: %s", report)
        return report

    def _vectors_for(self, session: Session, rows: list) -> tuple[np.ndarray, int]:
        keys = [cache_key(self.embedder.model_id, r[1]) for r in rows]
        found = repo.cached_vectors(session=session, keys=keys)
        missing = [i for i, key in enumerate(keys) if key not in found]
        if missing:
            texts = [passage_context_text(title=rows[i][4], heading=rows[i][3], text=rows[i][2]) for i in missing]
            vectors = self.embedder.encode(texts)
            new = {keys[i]: vectors[n] for n, i in enumerate(missing)}
            repo.store_vectors(session=session, vectors=new)
            session.commit()
            found.update(new)
        matrix = np.zeros((len(rows), self.embedder.dimension), dtype=np.float32)
        for i, key in enumerate(keys):
            matrix[i] = found[key]
        return matrix, len(missing)

    # --- answering queries ---------------------------------------------------------

    def search(
        self, query: str, *, limit: int = 10, offset: int = 0,
        document_id: int | None = None, section: str | None = None,
    ) -> SearchResponse:
        started = time.perf_counter()
        query = validate_query(query, limit, offset)
        self.ensure_fresh()
        expansions = expand_query(query, self.vocabulary)
        allowed = self._allowed(document_id, section)

        lexical_scores: dict[int, float] = {}
        if self.lexical is not None and len(self.lexical):
            all_scores = self.lexical.scores([(query, 1.0), *expansions])
            lexical_scores = top_candidates(self.lexical.ids, all_scores, CANDIDATES if allowed is None else len(all_scores))
        dense_scores: dict[int, float] = {}
        if self.vectors is not None and len(self.vectors):
            spelled_out = [phrase for phrase, weight in expansions if weight >= ACRONYM_WEIGHT]
            dense_query = f"{query} ({'; '.join(spelled_out)})" if spelled_out else query
            vector = self.embedder.encode([dense_query])[0]
            ids, scores = self.vectors.search(vector, CANDIDATES if allowed is None else len(self.vectors))
            dense_scores = {int(i): float(s) for i, s in zip(ids, scores)}
        if allowed is not None:
            lexical_scores = {k: v for k, v in lexical_scores.items() if k in allowed}
            dense_scores = {k: v for k, v in dense_scores.items() if k in allowed}

        ranked = fuse(lexical_scores, dense_scores, lexical_weight=LEXICAL_WEIGHT)
        window = [key for key, _ in ranked[: (offset + limit) * 3 + 10]]
        with Session(self.engine) as session:
            passages = repo.passages_by_ids(session=session, passage_ids=window)
            kept = collapse_near_duplicates(
                [k for k in window if k in passages], {k: p.text for k, p in passages.items()}
            )
            page = kept[offset : offset + limit]
            documents = repo.documents_by_ids(session=session, document_ids=[passages[k].document_id for k in page])
        scores = dict(ranked)
        terms = highlight_terms(query, expansions)
        hits = []
        for key in page:
            passage = passages[key]
            document = documents[passage.document_id]
            hits.append(
                SearchHit(
                    passage_id=key, source=document.source, text=passage.text, score=round(scores[key], 4),
                    heading=passage.heading, section_kind=passage.section_kind,
                    document=DocumentRef(id=document.id, title=document.title, source=document.source),  # type: ignore[arg-type]
                    char_start=passage.char_start, char_end=passage.char_end,
                    url=f"/documents/{document.id}#passage-{key}",
                    highlights=[t for t in terms if t.lower() in passage.text.lower()],
                )
            )
        return SearchResponse(
            query=query, results=hits, total=len(ranked), limit=limit, offset=offset,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            expansions=[phrase for phrase, _ in expansions],
        )

    def _allowed(self, document_id: int | None, section: str | None) -> set[int] | None:
        if document_id is None and not section:
            return None
        with Session(self.engine) as session:
            statement = select(Passage.id)
            if document_id is not None:
                statement = statement.where(Passage.document_id == document_id)
            if section:
                statement = statement.where(Passage.heading.contains(section))  # type: ignore[attr-defined]
            return set(session.exec(statement).all())  # type: ignore[arg-type]


def highlight_terms(query: str, expansions: list[tuple[str, float]]) -> list[str]:
    """Words and phrases worth marking in a result: the query's own words, then the expansions used."""
    words = [w for w in re.findall(r"[A-Za-z0-9&'-]+", query) if len(w) > 2 and w.lower() not in STOPWORDS]
    seen: dict[str, str] = {}
    for term in [*words, *(phrase for phrase, _ in expansions)]:
        seen.setdefault(term.lower(), term)
    return list(seen.values())
