"""Query -> ranked, cited passages: lexical and dense retrieval over the same passages, fused and de-duplicated."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from kb import repo
from kb.errors import InvalidInput
from kb.models import HEADING_SEPARATOR, DocumentRef, Passage, SearchHit, SearchResponse, passage_context_text
from kb.vocabulary import Vocabulary, expand_query, sites_in
from search.embeddings import Embedder
from search.fusion import collapse_near_duplicates, diversify, fuse, top_candidates
from search.lexical import STOPWORDS, LexicalIndex, LexicalManifest, TokenIdCorpus
from search.vector_cache import encode_cached
from search.vectors import APPROXIMATE, EXACT, Manifest, VectorIndex, kind_for, lists_for

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 500
MAX_LIMIT = 100
MAX_OFFSET = 1000
CANDIDATES = 200
# Ranking settings, chosen on the judged dev queries (bench/tune_search.py) among principled variants:
LEXICAL_WEIGHT = 0.65  # share of the fused score from BM25; the rest from MiniLM cosine
EXPANSION_SCALE = 0.6  # vocabulary expansions count less than the words the user typed
SOURCE_DECAY = 0.95  # each further result from the same document is discounted by this factor
SITE_BOOST = 0.1  # added when a passage is about a site the query names
ACRONYM_WEIGHT = 0.65  # expansions at or above this weight are spelled out for the embedder too
ENCODE_BATCH = 2048  # passages read from the cache, and encoded when missing, per batch
VIEW_CHARS = 400  # passages longer than this are also embedded in pieces of about this size
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(£])|\n\s*\n")


@dataclass
class RefreshReport:
    passages: int
    encoded: int
    vectors: str  # "loaded", "built" or "current"
    lexical: str
    seconds: float


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
        self.source_of: SourceLookup = SourceLookup.of(np.zeros(0, dtype=np.int64), [])
        self._sites_of_passage: dict[int, frozenset[str]] = {}

    # --- keeping the indexes in step with the database ----------------------------

    def ensure_fresh(self) -> None:
        with Session(self.engine) as session:
            generation = repo.current_generation(session=session)
        if generation != self._generation:
            self.refresh()

    def refresh(self) -> RefreshReport:
        """Load the saved indexes if they cover exactly the stored passages, else rebuild (re-encoding only new text).

        Built to hold a million passages in a few GB: the rows are read a batch at a time and never held
        together. One pass finds what each index covers; only an index that must be built takes another
        pass (the vectors from the cache, the lexical tokens).
        """
        started = time.perf_counter()
        with self._lock, Session(self.engine) as session:
            generation = repo.current_generation(session=session)
            digest = hashlib.sha256()
            vector_count, passage_ids, sources = 0, array("q"), []
            for batch in repo.iter_index_rows(session=session):  # why: never all rows in memory at once
                for row in batch:
                    separator = "\n" if passage_ids else ""
                    digest.update(f"{separator}{row.passage_id}:{row.embed_hash}:{row.site}".encode())
                    vector_count += view_count(row.text)
                    passage_ids.append(row.passage_id)
                    sources.append(row.source)
            ids = np.frombuffer(passage_ids, dtype=np.int64).copy()
            corpus_hash = digest.hexdigest()
            kind = kind_for(vector_count)
            vector_manifest = Manifest(
                model=self.embedder.model_id,
                dimension=self.embedder.dimension,
                count=len(ids),
                corpus_hash=corpus_hash,
                views=VIEW_CHARS,
                kind=kind,
                lists=lists_for(vector_count) if kind == APPROXIMATE else 0,
            )
            lexical_manifest = LexicalManifest(count=len(ids), corpus_hash=corpus_hash)
            encoded, vector_state, lexical_state = 0, "current", "current"
            vectors: VectorIndex | None = self.vectors
            if vectors is None or vectors.manifest != vector_manifest:
                vectors, vector_state = (
                    VectorIndex.load(self.index_dir / "vectors", expected=vector_manifest),
                    "loaded",
                )
            lexical: LexicalIndex | None = self.lexical
            if lexical is None or lexical.manifest != lexical_manifest:
                lexical, lexical_state = (
                    LexicalIndex.load(self.index_dir / "lexical", expected=lexical_manifest),
                    "loaded",
                )
            self.source_of = SourceLookup.of(ids, sources)
            del sources, passage_ids
            # why this order: the BM25 build is the largest transient (about 1.5 GB at a million passages),
            # so it runs before the vector matrix is read, and each index being replaced is let go first
            # (searches wait on the lock during a rebuild either way). Measured in bench/RESULTS.md.
            if lexical is None:
                self.lexical = None
                tokens = TokenIdCorpus.from_documents(
                    lexical_text(heading=r.heading, site=r.site, text=r.text)
                    for batch in repo.iter_index_rows(session=session)
                    for r in batch
                )
                lexical = LexicalIndex.from_corpus(tokens, ids, lexical_manifest)
                del tokens
                lexical.save(self.index_dir / "lexical")
                lexical_state = "built"
            if vectors is None:
                self.vectors = None
                matrix, owners, encoded = self._vectors_for(session, vector_count)
                vectors = VectorIndex(matrix, owners, vector_manifest)
                del matrix, owners
                vectors.save(self.index_dir / "vectors")
                vector_state = "built"
            self.vectors, self.lexical = vectors, lexical
            self._sites_of_passage.clear()
            self._generation = generation
        report = RefreshReport(len(ids), encoded, vector_state, lexical_state, time.perf_counter() - started)
        log.info("search index: %s", report)
        return report

    def _vectors_for(self, session: Session, vector_count: int) -> tuple[np.ndarray, np.ndarray, int]:
        """One vector per view of each passage (see passage_views), with the passage id of each row.

        Read from the cache (encoding only what it lacks) a batch of passages at a time, into float32 for
        an exact index and float16 for an approximate one (half the memory; its 8-bit codes are coarser).
        """
        dtype = np.float32 if kind_for(vector_count) == EXACT else np.float16
        matrix = np.zeros((vector_count, self.embedder.dimension), dtype=dtype)
        owners = np.zeros(vector_count, dtype=np.int64)
        encoded, position = 0, 0
        # why: a batch at a time, committing as we go, so an interrupted build keeps its work
        for batch in repo.iter_index_rows(session=session, batch_size=ENCODE_BATCH):
            texts: list[str] = []
            for row in batch:
                views = passage_views(title=row.title, heading=row.heading, text=row.text)
                owners[position + len(texts) : position + len(texts) + len(views)] = row.passage_id
                texts.extend(views)
            vectors, newly = encode_cached(session=session, embedder=self.embedder, texts=texts)
            matrix[position : position + len(texts)] = vectors
            encoded += newly
            position += len(texts)
        if position != vector_count:
            raise RuntimeError(f"expected {vector_count} views, cut {position}")
        return matrix, owners, encoded

    # --- answering queries ---------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        offset: int = 0,
        document_id: int | None = None,
        section: str | None = None,
    ) -> SearchResponse:
        started = time.perf_counter()
        query = validate_query(query, limit, offset)
        self.ensure_fresh()
        expansions = expand_query(query, self.vocabulary)
        allowed = self._allowed(document_id, section)

        lexical_scores: dict[int, float] = {}
        if self.lexical is not None and len(self.lexical):
            weighted = [(query, 1.0), *((phrase, weight * EXPANSION_SCALE) for phrase, weight in expansions)]
            all_scores = self.lexical.scores(weighted)
            lexical_scores = top_candidates(
                self.lexical.ids, all_scores, CANDIDATES if allowed is None else len(all_scores)
            )
        dense_scores: dict[int, float] = {}
        if self.vectors is not None and len(self.vectors):
            spelled_out = [phrase for phrase, weight in expansions if weight >= ACRONYM_WEIGHT]
            dense_query = f"{query} ({'; '.join(spelled_out)})" if spelled_out else query
            vector = self.embedder.encode_query(dense_query)
            ids, scores = self.vectors.search(
                vector, 4 * CANDIDATES if allowed is None else len(self.vectors)
            )
            for passage_id, score in zip(
                ids.tolist(), scores.tolist(), strict=True
            ):  # best view of each passage
                if score > dense_scores.get(passage_id, -1.0):
                    dense_scores[passage_id] = score
        if allowed is not None:
            lexical_scores = {k: v for k, v in lexical_scores.items() if k in allowed}
            dense_scores = {k: v for k, v in dense_scores.items() if k in allowed}

        ranked = fuse(lexical_scores, dense_scores, lexical_weight=LEXICAL_WEIGHT)
        window_size = (offset + limit) * 3 + 30
        with Session(self.engine) as session:
            passages = repo.passages_by_ids(session=session, passage_ids=[k for k, _ in ranked[:window_size]])
            ranked = self._boost_named_sites(query, ranked, passages)
            window = [key for key, _ in ranked[:window_size] if key in passages]
            kept = collapse_near_duplicates(
                window, {k: p.text for k, p in passages.items()}, enough=2 * (offset + limit) + 10
            )
            scores = dict(ranked)
            ordered = diversify(
                [(k, scores[k]) for k in kept],
                {k: self.source_of.get(k) for k in kept},
                decay=SOURCE_DECAY,
                k=offset + limit,
            )
            page = ordered[offset : offset + limit]
            documents = repo.documents_by_ids(
                session=session, document_ids=[passages[k].document_id for k in page]
            )
        terms = highlight_terms(query, expansions)
        hits = []
        for key in page:
            passage = passages[key]
            document = documents[passage.document_id]
            hits.append(
                SearchHit(
                    passage_id=key,
                    source=document.source,
                    text=passage.text,
                    score=round(scores[key], 4),
                    heading=passage.heading,
                    section_kind=passage.section_kind,
                    document=DocumentRef(id=document.id, title=document.title, source=document.source),  # type: ignore[arg-type]
                    char_start=passage.char_start,
                    char_end=passage.char_end,
                    url=f"/documents/{document.id}#passage-{key}",
                    highlights=[t for t in terms if t.lower() in passage.text.lower()],
                )
            )
        return SearchResponse(
            query=query,
            results=hits,
            total=len(ranked),
            limit=limit,
            offset=offset,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            expansions=[phrase for phrase, _ in expansions],
        )

    def _boost_named_sites(
        self, query: str, ranked: list[tuple[int, float]], passages: dict[int, Passage]
    ) -> list[tuple[int, float]]:
        """A query that names a site ("What has Torbay achieved…") prefers passages about that site, by any alias."""
        named = set(sites_in(query, self.vocabulary))
        if not named:
            return ranked
        boosted = []
        for key, score in ranked:
            passage = passages.get(key)
            if passage is not None:
                if key not in self._sites_of_passage:
                    about = f"{passage.heading}\n{passage.site or ''}\n{passage.text}"
                    self._sites_of_passage[key] = frozenset(sites_in(about, self.vocabulary))
                if self._sites_of_passage[key] & named:
                    score += SITE_BOOST
            boosted.append((key, score))
        return sorted(boosted, key=lambda item: (-item[1], item[0]))

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


def lexical_text(*, heading: str, site: str | None, text: str) -> str:
    """What BM25 indexes for a passage: its own heading and site, then its text.

    Not the document title or the whole heading path: those repeat on every passage of a long report
    ("…Integrated Care for Frail Older People") and would let any query that shares a title word
    rank all of that report's passages alike.
    """
    own_heading = heading.split(HEADING_SEPARATOR)[-1] if heading else ""
    return "\n".join(part for part in (own_heading, site or "", text) if part)


def passage_views(*, title: str, heading: str, text: str) -> list[str]:
    """The texts embedded for one passage: the whole passage in context, and, for a long one, pieces of it.

    MiniLM reads at most 256 word pieces and blurs a long passage into one topic; a piece of two or three
    sentences keeps a specific point findable. A passage scores as its best view.
    """
    views = [passage_context_text(title=title, heading=heading, text=text)]
    if not is_long(text):
        return views
    prefix = heading.split(HEADING_SEPARATOR)[-1] if heading else title
    piece: list[str] = []
    size = 0
    for sentence in (s.strip() for s in SENTENCE_END.split(text)):
        if not sentence:
            continue
        if piece and size + len(sentence) > VIEW_CHARS:
            views.append(f"{prefix}\n{' '.join(piece)}")
            piece, size = [], 0
        piece.append(sentence)
        size += len(sentence) + 1
    if piece and size > VIEW_CHARS / 4:
        views.append(f"{prefix}\n{' '.join(piece)}")
    return views


def is_long(text: str) -> bool:
    return len(text) > VIEW_CHARS * 1.5


def view_count(text: str) -> int:
    """How many views passage_views cuts for a passage of this text (without building the texts of a short one)."""
    return len(passage_views(title="", heading="", text=text)) if is_long(text) else 1


class SourceLookup:
    """passage id -> source file name for every indexed passage, as two arrays and the distinct names, where a
    dict would cost ~100 bytes a passage (a million passages name a few thousand files)."""

    def __init__(self, ids: np.ndarray, codes: np.ndarray, names: list[str]):
        order = np.argsort(ids, kind="stable")
        self.ids, self.codes, self.names = ids[order], codes[order], names

    @classmethod
    def of(cls, ids: np.ndarray, sources: Iterable[str]) -> SourceLookup:
        code_of: dict[str, int] = {}
        codes = np.fromiter(
            (code_of.setdefault(s, len(code_of)) for s in sources), dtype=np.int32, count=len(ids)
        )
        return cls(ids, codes, list(code_of))

    def get(self, passage_id: int, default: str = "") -> str:
        at = int(np.searchsorted(self.ids, passage_id))
        if at < len(self.ids) and self.ids[at] == passage_id:
            return self.names[self.codes[at]]
        return default

    def __len__(self) -> int:
        return len(self.ids)


def highlight_terms(query: str, expansions: list[tuple[str, float]]) -> list[str]:
    """Words and phrases worth marking in a result: the query's own words, then the expansions used."""
    words = [w for w in re.findall(r"[A-Za-z0-9&'-]+", query) if len(w) > 2 and w.lower() not in STOPWORDS]
    seen: dict[str, str] = {}
    for term in [*words, *(phrase for phrase, _ in expansions)]:
        seen.setdefault(term.lower(), term)
    return list(seen.values())
