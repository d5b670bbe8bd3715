"""Query -> ranked, cited passages: lexical and dense retrieval over the same passages, fused and de-duplicated."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from kb.errors import InvalidInput
from kb.passage_text import HEADING_SEPARATOR, passage_context_text
from kb.store import repo
from kb.store.models import Document, Passage
from kb.text import paragraph_spans, sentence_spans
from kb.vocabulary import Vocabulary, sites_in
from search.embeddings import Embedder
from search.expansion import expand_query
from search.explain import ExplainedResult, Explanation
from search.fusion import (
    collapse_near_duplicates,
    diversify,
    fuse,
    max_normalise,
    range_normalise,
    top_candidates,
    with_neighbour_context,
)
from search.lexical import STOPWORDS, LexicalIndex, LexicalManifest, TokenIdCorpus, tokenize
from search.results import DocumentRef, SearchHit, SearchResponse
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
# share of the better neighbour's fused score a passage gains (search.fusion.with_neighbour_context); chosen by
# 5-fold cross-validation over the dev queries (bench/tune_search.py --cv), 0.15 on every fold
NEIGHBOUR_WEIGHT = 0.15
# A passage that holds no word of the query (nor of its expansions) counts as a match only when its best view's
# cosine is at least this. Calibrated for the bundled MiniLM on the dev judgments by `bench/tune_search.py
# --calibrate`: the highest cut-off that loses at most 2% of the judged-relevant passages (0.30 on all 45 queries;
# in 5-fold cross-validation the cut-offs chosen on four folds lose 2.5% of the fifth's relevant passages on
# average). Nonsense queries ("zzqxv", "12345", "hello") reach at most 0.28 with any passage, so they match
# nothing; a looser tolerance (1%: 0.26) would let them in. Recalibrate when the encoder changes.
DENSE_MATCH = 0.30
ACRONYM_WEIGHT = 0.65  # expansions at or above this weight are spelled out for the embedder too
ENCODE_BATCH = 2048  # passages read from the cache, and encoded when missing, per batch
VIEW_CHARS = 400  # passages longer than this are also embedded in pieces of about this size


@dataclass(frozen=True)
class Evidence:
    """What the indexes say about one query, before fusion."""

    expansions: list[tuple[str, float]]
    lexical: dict[int, float]  # BM25 of the best lexical candidates
    dense: dict[int, float]  # best-view cosine of the best dense candidates
    lexical_matches: (
        np.ndarray
    )  # ids of every passage a word of the query matches, sorted (can be most of them)
    dense_matches: np.ndarray  # ids of the dense candidates at DENSE_MATCH or more (a few hundred)

    # why not one union of the two: at a million passages a common word matches half of them, and merging
    # that with the dense matches (np.union1d) cost a third of a second a query; the count and a membership
    # test for the candidates need only a binary search in the sorted lexical matches
    def matches(self, ids: np.ndarray) -> np.ndarray:
        """For each id, whether that passage has real evidence of relevance."""
        return _in_sorted(self.lexical_matches, ids) | np.isin(ids, self.dense_matches)

    @property
    def match_count(self) -> int:
        """How many passages have real evidence of relevance (lexical or dense, each counted once)."""
        return len(self.lexical_matches) + int((~_in_sorted(self.lexical_matches, self.dense_matches)).sum())

    @property
    def matched(self) -> np.ndarray:
        """Every matching id, sorted (for tools and tests; the search path never builds it)."""
        return np.union1d(self.lexical_matches, self.dense_matches)


def _in_sorted(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    if not len(haystack) or not len(needles):
        return np.zeros(len(needles), dtype=bool)
    at = np.minimum(np.searchsorted(haystack, needles), len(haystack) - 1)
    return haystack[at] == needles


@dataclass(frozen=True)
class RankedPassage:
    passage_id: int
    passage: Passage
    document: Document
    score: float  # what the order is by: fused, plus the neighbour's share and the site boost
    fused: float
    neighbour: float  # NEIGHBOUR_WEIGHT x the better neighbour's fused score
    lexical: float | None  # raw BM25; None when not a lexical candidate
    lexical_normalised: float
    dense: float | None  # raw cosine; None when not a dense candidate
    dense_normalised: float
    site_boost: float
    source_discount: float  # SOURCE_DECAY for each result above it from the same document


@dataclass(frozen=True)
class Ranking:
    expansions: list[tuple[str, float]]
    total: int
    rows: list[RankedPassage]


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


# A change naming at most this many passages (or this share of the index, if more) is applied in place;
# a larger one is built afresh in the background. The same bound on the passages changed since the last
# build starts a compaction, so the tombstones and the added set stay small enough to search quickly.
DELTA_AT_LEAST = 5_000
DELTA_SHARE = 0.02
# Below this many passages, comparing every passage with the database (a change that did not say which
# passages it touched) takes a few milliseconds, so it is done before answering rather than in the background.
COMPARE_IN_LINE_UP_TO = 50_000


@dataclass(frozen=True)
class IndexSnapshot:
    """Everything one search reads, never changed once made: a change makes a new snapshot and the service swaps
    its reference, so a search that began with the old one finishes with it, and none waits for a rebuild."""

    generation: int  # the database generation the indexes reflect
    vectors: VectorIndex
    lexical: LexicalIndex
    source_of: SourceLookup  # also each passage's fingerprint, to compare with the database

    @property
    def changed(self) -> int:
        """Passages removed or added since the indexes were built."""
        return self.lexical.changed

    def delta_limit(self) -> int:
        return max(DELTA_AT_LEAST, int(DELTA_SHARE * len(self.source_of)))


class SearchService:
    """Holds the indexes for the passages in the database and keeps them in step with it.

    A change that names its passages (kb.store.repo.bump_generation) is applied in place in milliseconds: the
    passages are re-read, their vectors taken from the cache, and a new snapshot made that shares the large
    indexes with the old one. A full build (the first load, another model, a change too large, a compaction)
    runs in a background thread while the current snapshot keeps answering, then is swapped in.
    """

    def __init__(self, *, engine: Engine, embedder: Embedder, vocabulary: Vocabulary, index_dir: Path):
        self.engine, self.embedder, self.vocabulary, self.index_dir = engine, embedder, vocabulary, index_dir
        self._update_lock = threading.Lock()  # one updater at a time; searches never take it
        self._background: threading.Thread | None = None
        self._snapshot: IndexSnapshot | None = None
        self._handed_over = -1  # the generation last left to the background thread
        self._sites_of_passage: dict[int, frozenset[str]] = {}

    @property
    def snapshot(self) -> IndexSnapshot | None:
        return self._snapshot

    @property
    def vectors(self) -> VectorIndex | None:
        return self._snapshot.vectors if self._snapshot else None

    @vectors.setter
    def vectors(self, value: None) -> None:
        """Only None: forget the indexes, so the next refresh loads or builds them."""
        if value is not None:
            raise ValueError("indexes change through refresh, not by assignment")
        self._snapshot = None

    @property
    def lexical(self) -> LexicalIndex | None:
        return self._snapshot.lexical if self._snapshot else None

    @lexical.setter
    def lexical(self, value: None) -> None:
        self.vectors = value

    @property
    def source_of(self) -> SourceLookup:
        return (
            self._snapshot.source_of if self._snapshot else SourceLookup.of(np.zeros(0, dtype=np.int64), [])
        )

    # --- keeping the indexes in step with the database ----------------------------

    def ensure_fresh(self) -> None:
        """Called before each search: catch up with the database if it changed, never waiting for a build.

        Only the very first load waits (there is nothing to answer from yet). Changes that name their passages
        are applied here; anything larger is handed to the background thread and this search answers from
        the current snapshot. If another thread is already updating, this search does not wait for it either.
        """
        snapshot = self._snapshot
        if snapshot is None:
            self.refresh()
            return
        with Session(self.engine) as session:
            generation = repo.current_generation(session=session)
        if generation in (snapshot.generation, self._handed_over):
            return
        if not self._update_lock.acquire(blocking=False):
            return
        try:
            with Session(self.engine) as session:
                snapshot = self._snapshot
                assert snapshot is not None
                changes = repo.passage_changes_since(session=session, generation=snapshot.generation)
                if changes.unknown and len(snapshot.source_of) > COMPARE_IN_LINE_UP_TO:
                    self._hand_over(changes.generation)
                    return
                generation, touched = self._to_apply(session, snapshot, changes)
                if len(touched) > snapshot.delta_limit():
                    self._hand_over(changes.generation)
                    return
                self._snapshot, _ = self._applied(session, snapshot, touched, generation)
        except (
            Exception
        ):  # why: a change that cannot be applied now must not fail the search; the next one retries
            log.exception("search index: could not apply the changes up to generation %s", generation)
        finally:
            self._update_lock.release()
        self._compact_if_due()

    def refresh(self) -> RefreshReport:
        """Bring the indexes up to date now, waiting for it: the passages a change names are applied in place;
        the first load, or a change too large to apply, loads the saved indexes if they cover exactly the stored
        passages, else builds them (re-encoding only new text). Searches meanwhile answer from the old snapshot.
        """
        started = time.perf_counter()
        with self._update_lock, Session(self.engine) as session:
            snapshot = self._snapshot
            if snapshot is not None:
                changes = repo.passage_changes_since(session=session, generation=snapshot.generation)
                generation, touched = self._to_apply(session, snapshot, changes)
                if len(touched) <= snapshot.delta_limit():
                    state = "updated" if generation != snapshot.generation else "current"
                    self._snapshot, encoded = self._applied(session, snapshot, touched, generation)
                    report = RefreshReport(
                        len(self._snapshot.source_of), encoded, state, state, time.perf_counter() - started
                    )
                    log.info("search index: %s", report)
                    return report
            self._snapshot, report = self._built(session)
        self._compact_if_due()
        report.seconds = time.perf_counter() - started
        log.info("search index: %s", report)
        return report

    def _hand_over(self, generation: int) -> None:
        """Leave the changes up to this generation to the background thread; until the database moves on,
        searches do not read the change log again (a large change names many passages)."""
        self._handed_over = generation  # why first: the thread resets it when done, however soon that is
        self._start_background(self._catch_up_in_background)

    def rebuild_in_background(self) -> bool:
        """Build the indexes afresh in the background and swap them in when done (the current ones answer
        meanwhile); False if a background build is already running."""
        return self._start_background(self._rebuild_in_background)

    def compact(self) -> None:
        """Fold the changes since the last build into the main indexes now (done in the background on its own
        once they pass the delta limit)."""
        self._compact()

    def wait_for_background(self, timeout: float | None = None) -> bool:
        """Wait for the background build, if any; True when none is running."""
        thread = self._background
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def _start_background(self, target: Callable[[], None]) -> bool:
        if self._background is not None and self._background.is_alive():
            return False
        self._background = threading.Thread(
            target=self._logged(target), name="search-index-build", daemon=True
        )
        self._background.start()
        return True

    def _logged(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except (
                Exception
            ):  # why: a failed build leaves the current snapshot answering; the next search retries
                log.exception("search index: background build failed")
            finally:
                self._handed_over = (
                    -1
                )  # why: whatever is still to do, the next search finds and hands over again

        return run

    def _catch_up_in_background(self) -> None:
        """A change too large, or that did not name its passages: compare or rebuild, outside the update lock."""
        snapshot = self._snapshot
        assert snapshot is not None
        with Session(self.engine) as session:
            changes = repo.passage_changes_since(session=session, generation=snapshot.generation)
            generation, touched = self._to_apply(session, snapshot, changes)
            if len(touched) > snapshot.delta_limit():
                self._rebuild_in_background()
                return
            with self._update_lock:
                current = self._snapshot
                assert current is not None
                self._snapshot, _ = self._applied(
                    session, current, touched, max(generation, current.generation)
                )
        self._compact_if_due()

    def _rebuild_in_background(self) -> None:
        started = time.perf_counter()
        with Session(self.engine) as session:
            built, report = self._built(session)
            # why a replay: changes committed while the build read the database are applied on top
            changes = repo.passage_changes_since(session=session, generation=built.generation)
            generation, touched = self._to_apply(session, built, changes)
            with self._update_lock:
                self._snapshot, _ = self._applied(session, built, touched, generation)
        report.seconds = time.perf_counter() - started
        log.info("search index rebuilt in the background: %s", report)

    def _compact_if_due(self) -> None:
        snapshot = self._snapshot
        if snapshot is not None and snapshot.changed > snapshot.delta_limit():
            self._start_background(self._compact)

    def _compact(self) -> None:
        """Fold the changes into the main indexes (FAISS remove_ids / add_with_ids, postings merged): seconds at
        a million passages. Holds the update lock meanwhile, so changes wait; searches do not."""
        with self._update_lock:
            snapshot = self._snapshot
            if snapshot is None or not snapshot.changed:
                return
            count = len(snapshot.source_of)
            vector_count = len(snapshot.vectors)
            if kind_for(vector_count) != snapshot.vectors.manifest.kind:
                self._start_later(self._rebuild_in_background)
                return
            started = time.perf_counter()
            signature = f"compacted:{snapshot.lexical.manifest.corpus_hash}"
            vectors = snapshot.vectors.compacted(
                replace(snapshot.vectors.manifest, count=count, corpus_hash=signature)
            )
            lexical = snapshot.lexical.compacted(LexicalManifest(count=count, corpus_hash=signature))
            self._snapshot = IndexSnapshot(
                snapshot.generation, vectors, lexical, snapshot.source_of.compacted()
            )
        log.info(
            "search index: %d changes compacted in %.2f s", snapshot.changed, time.perf_counter() - started
        )

    def _start_later(self, target: Callable[[], None]) -> None:
        threading.Thread(
            target=lambda: (self.wait_for_background(), self._start_background(target)), daemon=True
        ).start()

    def _to_apply(
        self, session: Session, snapshot: IndexSnapshot, changes: repo.PassageChanges
    ) -> tuple[int, frozenset[int]]:
        """(generation, passages to re-read) to bring the snapshot to the changes' generation: the passages the
        changes name, and, if some change did not say, every passage that differs from the database."""
        if not changes.unknown:
            return changes.generation, changes.passage_ids
        return changes.generation, changes.passage_ids | self._differences(session, snapshot)

    def _differences(self, session: Session, snapshot: IndexSnapshot) -> frozenset[int]:
        """Passages searchable in the database but not indexed, indexed but no longer searchable, or indexed
        with another text or site: one pass over (id, embed hash, site), about a second at a million."""
        ids, prints = array("q"), array("q")
        for batch in repo.iter_index_fingerprints(session=session):
            for passage_id, embed_hash, site in batch:
                ids.append(passage_id)
                prints.append(fingerprint(embed_hash, site))
        stored_ids, stored_prints = np.frombuffer(ids, dtype=np.int64), np.frombuffer(prints, dtype=np.int64)
        held_ids, held_prints = snapshot.source_of.fingerprints()
        both, at_stored, at_held = np.intersect1d(
            stored_ids, held_ids, assume_unique=True, return_indices=True
        )
        differ = both[stored_prints[at_stored] != held_prints[at_held]]
        return frozenset(
            np.concatenate([np.setxor1d(stored_ids, held_ids, assume_unique=True), differ]).tolist()
        )

    def _applied(
        self, session: Session, snapshot: IndexSnapshot, touched: frozenset[int], generation: int
    ) -> tuple[IndexSnapshot, int]:
        """A new snapshot with these passages re-read from the database (added, replaced or removed) and how
        many views had to be encoded (none when the cache has them, as after an upload)."""
        if not touched:
            return replace(snapshot, generation=generation), 0
        rows = repo.index_rows_for(session=session, passage_ids=touched)
        texts: list[str] = []
        owners: list[int] = []
        for row in rows:
            views = passage_views(title=row.title, heading=row.heading, text=row.text)
            owners.extend([row.passage_id] * len(views))
            texts.extend(views)
        matrix, encoded = encode_cached(session=session, embedder=self.embedder, texts=texts)
        removed = touched - {row.passage_id for row in rows}
        for key in touched:
            self._sites_of_passage.pop(key, None)
        changed = IndexSnapshot(
            generation=generation,
            vectors=snapshot.vectors.with_changes(
                removed=removed, vectors=matrix, ids=np.array(owners, dtype=np.int64)
            ),
            lexical=snapshot.lexical.with_changes(
                removed=removed,
                added={r.passage_id: lexical_text(heading=r.heading, site=r.site, text=r.text) for r in rows},
            ),
            source_of=snapshot.source_of.with_changes(
                removed=removed,
                added={r.passage_id: (r.source, fingerprint(r.embed_hash, r.site)) for r in rows},
            ),
        )
        return changed, encoded

    def _built(self, session: Session) -> tuple[IndexSnapshot, RefreshReport]:
        """The saved indexes if they cover exactly the stored passages, else indexes built afresh (re-encoding
        only new text) and saved. Touches no state of the service: the caller swaps the snapshot in.

        Built to hold a million passages in a few GB: the rows are read a batch at a time and never held
        together. One pass finds what each index covers; only an index that must be built takes another
        pass (the vectors from the cache, the lexical tokens).
        """
        started = time.perf_counter()
        generation = repo.current_generation(session=session)
        digest = hashlib.sha256()
        vector_count, passage_ids, prints, sources = 0, array("q"), array("q"), []
        for batch in repo.iter_index_rows(session=session):  # why: never all rows in memory at once
            for row in batch:
                separator = "\n" if passage_ids else ""
                digest.update(f"{separator}{row.passage_id}:{row.embed_hash}:{row.site}".encode())
                vector_count += view_count(row.text)
                passage_ids.append(row.passage_id)
                prints.append(fingerprint(row.embed_hash, row.site))
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
        source_of = SourceLookup.of(ids, sources, np.frombuffer(prints, dtype=np.int64).copy())
        del sources, passage_ids, prints
        vectors = VectorIndex.load(self.index_dir / "vectors", expected=vector_manifest)
        lexical = LexicalIndex.load(self.index_dir / "lexical", expected=lexical_manifest)
        encoded, vector_state, lexical_state = 0, "loaded", "loaded"
        # why this order: the lexical build is the largest transient (about 1.5 GB at a million passages),
        # so it runs before the vector matrix is read. Measured in bench/RESULTS.md.
        if lexical is None:
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
            matrix, owners, encoded = self._vectors_for(session, vector_count)
            vectors = VectorIndex(matrix, owners, vector_manifest)
            del matrix, owners
            vectors.save(self.index_dir / "vectors")
            vector_state = "built"
        self._sites_of_passage.clear()
        snapshot = IndexSnapshot(generation, vectors, lexical, source_of)
        report = RefreshReport(len(ids), encoded, vector_state, lexical_state, time.perf_counter() - started)
        return snapshot, report

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
        """The passages with real evidence of relevance to the query, best first, with their citations.

        Raises InvalidInput for an empty or over-long query or a limit or offset out of range. `total` counts
        the matching passages (see Evidence.matched); a query nothing matches gets no results and total 0.
        """
        started = time.perf_counter()
        query = validate_query(query, limit, offset)
        ranking = self._rank(query, limit=limit, offset=offset, document_id=document_id, section=section)
        terms = highlight_terms(query, ranking.expansions)
        hits = []
        for row in ranking.rows:
            passage, document = row.passage, row.document
            hits.append(
                SearchHit(
                    passage_id=row.passage_id,
                    source=document.source,
                    text=passage.text,
                    score=round(row.score, 4),
                    heading=passage.heading,
                    section_kind=passage.section_kind,
                    document=DocumentRef(id=document.id, title=document.title, source=document.source),  # type: ignore[arg-type]
                    char_start=passage.char_start,
                    char_end=passage.char_end,
                    url=f"/documents/{document.id}#passage-{row.passage_id}",
                    highlights=[t for t in terms if t.lower() in passage.text.lower()],
                )
            )
        return SearchResponse(
            query=query,
            results=hits,
            total=ranking.total,
            limit=limit,
            offset=offset,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            expansions=[phrase for phrase, _ in ranking.expansions],
        )

    def explain(self, query: str, *, limit: int = 10) -> Explanation:
        """Why each of the query's first `limit` results ranks where it does: the score of each signal.

        Raises InvalidInput as search does. The ranking is the one search returns, computed the same way.
        """
        query = validate_query(query, limit, 0)
        ranking = self._rank(query, limit=limit, offset=0)
        weighted = [(phrase, weight * EXPANSION_SCALE) for phrase, weight in ranking.expansions]
        matched = (
            self.lexical.matching_phrases(weighted, [row.passage_id for row in ranking.rows])
            if self.lexical is not None
            else {}
        )
        rows = [
            ExplainedResult(
                rank=rank,
                passage_id=row.passage_id,
                title=row.document.title,
                source=row.document.source,
                heading=row.passage.heading,
                score=row.score,
                fused=row.fused,
                neighbour=row.neighbour,
                lexical=row.lexical,
                lexical_share=LEXICAL_WEIGHT * row.lexical_normalised,
                dense=row.dense,
                dense_share=(1.0 - LEXICAL_WEIGHT) * row.dense_normalised,
                expansions_matched=matched.get(row.passage_id, []),
                site_boost=row.site_boost,
                source_discount=row.source_discount,
            )
            for rank, row in enumerate(ranking.rows, start=1)
        ]
        return Explanation(
            query=query,
            expansions=ranking.expansions,
            total=ranking.total,
            lexical_weight=LEXICAL_WEIGHT,
            expansion_scale=EXPANSION_SCALE,
            neighbour_weight=NEIGHBOUR_WEIGHT,
            dense_match=DENSE_MATCH,
            results=rows,
        )

    def evidence(
        self, query: str, *, allowed: set[int] | None = None, snapshot: IndexSnapshot | None = None
    ) -> Evidence:
        """The raw signals for a query: its expansions, the best lexical and dense candidates, and which
        passages match at all (a lexical hit on a non-stop word, or a dense cosine of DENSE_MATCH or more).
        Read from one snapshot (the current one unless given), whatever changes meanwhile."""
        snapshot = snapshot or self._snapshot
        lexical_index = snapshot.lexical if snapshot else None
        vector_index = snapshot.vectors if snapshot else None
        expansions = expand_query(query, self.vocabulary)
        lexical_scores: dict[int, float] = {}
        lexical_matches = np.zeros(0, dtype=np.int64)
        if not tokenize(query) and not expansions:  # only stop words ("the of and"): nothing to look for
            return Evidence(expansions, {}, {}, lexical_matches, lexical_matches)
        if lexical_index is not None and len(lexical_index):
            weighted = [(query, 1.0), *((phrase, weight * EXPANSION_SCALE) for phrase, weight in expansions)]
            all_scores = lexical_index.scores(weighted)
            # why: the tokenizer drops stop words, so a positive score is a match on a word that carries meaning
            lexical_matches = lexical_index.ids[all_scores > 0]
            if len(lexical_matches) > 1 and not bool(np.all(lexical_matches[:-1] <= lexical_matches[1:])):
                lexical_matches = np.sort(
                    lexical_matches
                )  # passages added since the build come after the main part
            lexical_scores = top_candidates(
                lexical_index.ids, all_scores, CANDIDATES if allowed is None else len(all_scores)
            )
        dense_scores: dict[int, float] = {}
        if vector_index is not None and len(vector_index):
            spelled_out = [phrase for phrase, weight in expansions if weight >= ACRONYM_WEIGHT]
            dense_query = f"{query} ({'; '.join(spelled_out)})" if spelled_out else query
            vector = self.embedder.encode_query(dense_query)
            ids, scores = vector_index.search(
                vector, 4 * CANDIDATES if allowed is None else len(vector_index)
            )
            for passage_id, score in zip(ids.tolist(), scores.tolist(), strict=True):  # best view of each
                if score > dense_scores.get(passage_id, -1.0):
                    dense_scores[passage_id] = score
        dense_matches = np.fromiter((k for k, v in dense_scores.items() if v >= DENSE_MATCH), dtype=np.int64)
        if allowed is not None:
            lexical_scores = {k: v for k, v in lexical_scores.items() if k in allowed}
            dense_scores = {k: v for k, v in dense_scores.items() if k in allowed}
            keep = np.fromiter(allowed, dtype=np.int64, count=len(allowed))
            lexical_matches = lexical_matches[np.isin(lexical_matches, keep)]
            dense_matches = dense_matches[np.isin(dense_matches, keep)]
        return Evidence(expansions, lexical_scores, dense_scores, lexical_matches, dense_matches)

    def _rank(
        self,
        query: str,
        *,
        limit: int,
        offset: int,
        document_id: int | None = None,
        section: str | None = None,
    ) -> Ranking:
        self.ensure_fresh()
        snapshot = self._snapshot
        source_of = snapshot.source_of if snapshot else self.source_of
        evidence = self.evidence(query, allowed=self._allowed(document_id, section), snapshot=snapshot)
        lexical, dense = evidence.lexical, evidence.dense
        # why: normalised over every candidate, matched or not, so dropping the non-matches leaves the order
        # of the rest exactly as it was
        fused_all = fuse(lexical, dense, lexical_weight=LEXICAL_WEIGHT)
        fused = dict(fused_all)
        with_context, neighbour_gains = with_neighbour_context(
            fused_all, lambda a, b: source_of.get(a) == source_of.get(b), weight=NEIGHBOUR_WEIGHT
        )
        # a neighbour lends weight, never evidence: only matching passages are ranked
        candidates = np.fromiter((k for k, _ in with_context), dtype=np.int64, count=len(with_context))
        ranked = [
            pair for pair, match in zip(with_context, evidence.matches(candidates), strict=True) if match
        ]
        window_size = (offset + limit) * 3 + 30
        with Session(self.engine) as session:
            passages = repo.passages_by_ids(session=session, passage_ids=[k for k, _ in ranked[:window_size]])
            ranked, boosts = self._boost_named_sites(query, ranked, passages)
            window = [key for key, _ in ranked[:window_size] if key in passages]
            kept = collapse_near_duplicates(
                window, {k: p.text for k, p in passages.items()}, enough=2 * (offset + limit) + 10
            )
            scores = dict(ranked)
            groups = {k: source_of.get(k) for k in kept}
            ordered = diversify([(k, scores[k]) for k in kept], groups, decay=SOURCE_DECAY, k=offset + limit)
            page = ordered[offset : offset + limit]
            documents = repo.documents_by_ids(
                session=session, document_ids=[passages[k].document_id for k in page]
            )
        before: dict[str, int] = {}
        for key in ordered[:offset]:
            before[groups[key]] = before.get(groups[key], 0) + 1
        lexical_norm, dense_norm = max_normalise(lexical), range_normalise(dense)
        rows = []
        for key in page:
            discount = SOURCE_DECAY ** before.get(groups[key], 0)
            before[groups[key]] = before.get(groups[key], 0) + 1
            rows.append(
                RankedPassage(
                    passage_id=key,
                    passage=passages[key],
                    document=documents[passages[key].document_id],
                    score=scores[key],
                    fused=fused[key],
                    neighbour=neighbour_gains.get(key, 0.0),
                    lexical=lexical.get(key),
                    lexical_normalised=lexical_norm.get(key, 0.0),
                    dense=dense.get(key),
                    dense_normalised=dense_norm.get(key, 0.0),
                    site_boost=boosts.get(key, 0.0),
                    source_discount=discount,
                )
            )
        return Ranking(evidence.expansions, evidence.match_count, rows)

    def _boost_named_sites(
        self, query: str, ranked: list[tuple[int, float]], passages: dict[int, Passage]
    ) -> tuple[list[tuple[int, float]], dict[int, float]]:
        """A query that names a site ("What has Torbay achieved…") prefers passages about that site, by any alias.

        Returns the re-ranked list and the boost each passage got."""
        named = set(sites_in(query, self.vocabulary))
        if not named:
            return ranked, {}
        boosted, boosts = [], {}
        for key, score in ranked:
            passage = passages.get(key)
            if passage is not None:
                sites = self._sites_of_passage.get(key)  # why get: a change may drop the entry meanwhile
                if sites is None:
                    about = f"{passage.heading}\n{passage.site or ''}\n{passage.text}"
                    sites = self._sites_of_passage[key] = frozenset(sites_in(about, self.vocabulary))
                if sites & named:
                    score += SITE_BOOST
                    boosts[key] = SITE_BOOST
            boosted.append((key, score))
        return sorted(boosted, key=lambda item: (-item[1], item[0])), boosts

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
    sentences = [text[s:e] for p, q in paragraph_spans(text) for s, e in sentence_spans(text, p, q)]
    for sentence in sentences:
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
    """passage id -> source file name (and fingerprint) for every indexed passage, as arrays and the distinct
    names, where a dict would cost ~100 bytes a passage (a million passages name a few thousand files).
    Immutable like the indexes: `with_changes` lays a small overlay of changed passages over shared arrays."""

    def __init__(
        self,
        ids: np.ndarray,
        codes: np.ndarray,
        names: list[str],
        prints: np.ndarray | None = None,
        *,
        removed: frozenset[int] = frozenset(),
        overlay: dict[int, tuple[str, int]] | None = None,
    ):
        order = np.argsort(ids, kind="stable")
        self.ids, self.codes, self.names = ids[order], codes[order], names
        self.prints = (prints if prints is not None else np.zeros(len(ids), dtype=np.int64))[order]
        self.removed, self.overlay = removed, overlay or {}
        self._count = (
            len(self.ids) - self._held(removed) + sum(1 for k in self.overlay if not self._in_base(k))
        )

    @classmethod
    def of(cls, ids: np.ndarray, sources: Iterable[str], prints: np.ndarray | None = None) -> SourceLookup:
        code_of: dict[str, int] = {}
        codes = np.fromiter(
            (code_of.setdefault(s, len(code_of)) for s in sources), dtype=np.int32, count=len(ids)
        )
        return cls(ids, codes, list(code_of), prints)

    def _at(self, passage_id: int) -> int | None:
        at = int(np.searchsorted(self.ids, passage_id))
        return at if at < len(self.ids) and self.ids[at] == passage_id else None

    def _held(self, passage_ids: frozenset[int]) -> int:
        """How many of these passages the sorted arrays hold (a binary search each, not a pass over them all)."""
        if not passage_ids or not len(self.ids):
            return 0
        wanted = np.fromiter(passage_ids, dtype=np.int64, count=len(passage_ids))
        at = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        return int((self.ids[at] == wanted).sum())

    def _in_base(self, passage_id: int) -> bool:
        return passage_id not in self.removed and self._at(passage_id) is not None

    def get(self, passage_id: int, default: str = "") -> str:
        if passage_id in self.overlay:
            return self.overlay[passage_id][0]
        at = None if passage_id in self.removed else self._at(passage_id)
        return default if at is None else self.names[self.codes[at]]

    def __len__(self) -> int:
        return self._count

    def with_changes(self, *, removed: Iterable[int], added: dict[int, tuple[str, int]]) -> SourceLookup:
        """Without the `removed` passages, with `added` (passage id -> (source, fingerprint)) in their place."""
        gone = frozenset(removed)
        changed = SourceLookup.__new__(SourceLookup)
        changed.ids, changed.codes, changed.names, changed.prints = (
            self.ids,
            self.codes,
            self.names,
            self.prints,
        )
        changed.removed = self.removed | gone | frozenset(added)
        changed.overlay = {k: v for k, v in self.overlay.items() if k not in gone} | added
        changed._count = len(self.ids) - changed._held(changed.removed) + len(changed.overlay)
        return changed

    def fingerprints(self) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids, fingerprints) of every passage, sorted by id."""
        keep = ~np.isin(self.ids, list(self.removed)) if self.removed else np.ones(len(self.ids), dtype=bool)
        extra_ids = np.fromiter(self.overlay, dtype=np.int64, count=len(self.overlay))
        extra_prints = np.fromiter(
            (v[1] for v in self.overlay.values()), dtype=np.int64, count=len(self.overlay)
        )
        ids = np.concatenate([self.ids[keep], extra_ids])
        prints = np.concatenate([self.prints[keep], extra_prints])
        order = np.argsort(ids, kind="stable")
        return ids[order], prints[order]

    def compacted(self) -> SourceLookup:
        """The same lookup with the overlay folded into the arrays."""
        if not self.removed and not self.overlay:
            return self
        keep = ~np.isin(self.ids, list(self.removed))
        ids, prints = self.fingerprints()
        source_of = {int(k): self.names[c] for k, c in zip(self.ids[keep], self.codes[keep], strict=True)}
        source_of |= {k: v[0] for k, v in self.overlay.items()}
        return SourceLookup.of(ids, (source_of[int(k)] for k in ids), prints)


def fingerprint(embed_hash: str, site: str | None) -> int:
    """What decides a passage's entries in the indexes (its embedded text, by hash, and its site), as one number
    (Python's string hash: stable within a process, which is all a comparison with the database needs)."""
    return hash((embed_hash, site))


def highlight_terms(query: str, expansions: list[tuple[str, float]]) -> list[str]:
    """Words and phrases worth marking in a result: the query's own words, then the expansions used."""
    words = [w for w in re.findall(r"[A-Za-z0-9&'-]+", query) if len(w) > 2 and w.lower() not in STOPWORDS]
    seen: dict[str, str] = {}
    for term in [*words, *(phrase for phrase, _ in expansions)]:
        seen.setdefault(term.lower(), term)
    return list(seen.values())
