"""The lexical index: BM25 over passage text with its heading and site, as postings scored at query time.

The index keeps, for each token, the passages that hold it and how often (a sparse column), and each
passage's length; BM25 (the Lucene variant bm25s computes, k1 1.2, b 0.75) is computed from them when a
query comes. That is what lets the index change without a rebuild: passages removed since the build are
tombstones, passages added are a small second set of postings, and the statistics BM25 needs (how many
passages, their average length, how many hold each token) are those of the live passages, so the scores
are exactly those of an index built from scratch over the same passages. Precomputed scores (what bm25s
stores) bake in those statistics and would drift with every change. Scoring a query costs a few vector
operations over the columns of its tokens: well under a millisecond at seed scale, tens of milliseconds
at a million passages (bench/RESULTS.md). Saved as plain .npy/.json files (no pickle) guarded by a
manifest like the vector index. SQLite FTS5 would tie ranking to one database engine, and tantivy brings
its own tokenizer pipeline that we would have to bend to keep "a&e" and "s75".
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tempfile
from collections import ChainMap
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import Stemmer

from search.vectors import SortedIds, swap_in

FORMAT_VERSION = 3  # 2: passages indexed as own heading + site + text; 3: postings scored at query time
K1, B = 1.2, 0.75
SCORED_CACHE_BYTES = 256 * 1024 * 1024  # scored token columns kept per index (see _scored_column)
TOKEN = re.compile(r"[a-z0-9]+(?:&[a-z0-9]+)*")
STOPWORDS = frozenset(
    "a an and are as at be but by for from has have how i if in into is it its of on or our that the their "
    "there these they this to was we were what when where which who will with do does did can could would "
    "should than then them so such not no nor any all about also been being more most other some very us "
    "you your my me he she his her".split()
)
_stemmer = Stemmer.Stemmer("english")


def normalise_for_tokens(text: str) -> str:
    text = text.lower().replace("’", "'").replace("‘", "'")
    return text.replace("–", " ").replace("—", " ").replace("a & e", "a&e")


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop words dropped, Snowball-stemmed tokens; "a&e" and "s75" stay whole."""
    words = [w for w in TOKEN.findall(normalise_for_tokens(text)) if w not in STOPWORDS]
    return _stemmer.stemWords(words)


class TokenIdCorpus:
    """Every document's token ids in one int32 array with offsets, without a Python list per document."""

    def __init__(self, flat: np.ndarray, offsets: np.ndarray, vocab: dict[str, int]):
        self.flat, self.offsets, self.vocab = flat, offsets, vocab

    @classmethod
    def from_documents(cls, documents: Iterable[str]) -> TokenIdCorpus:
        vocab: dict[str, int] = {}
        pieces: list[np.ndarray] = []
        lengths: list[int] = []
        batch: list[int] = []
        for document in documents:
            tokens = tokenize(document) or ["∅"]  # why: as bm25s did, an empty passage has length one
            batch.extend(vocab.setdefault(token, len(vocab)) for token in tokens)
            lengths.append(len(tokens))
            if len(batch) >= 1_000_000:
                pieces.append(np.array(batch, dtype=np.int32))
                batch = []
        pieces.append(np.array(batch, dtype=np.int32))
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return cls(np.concatenate(pieces), offsets, vocab)

    def __len__(self) -> int:
        return len(self.offsets) - 1


@dataclass(frozen=True)
class LexicalManifest:
    count: int
    corpus_hash: str
    format_version: int = FORMAT_VERSION


class Postings:
    """For each token, the passages (by position) that hold it and how many times, as one sparse column per
    token (positions[indptr[t]:indptr[t + 1]], ascending); and each passage's length in tokens."""

    def __init__(
        self,
        vocab: list[str],
        indptr: np.ndarray,
        positions: np.ndarray,
        counts: np.ndarray,
        lengths: np.ndarray,
    ):
        self.vocab, self.indptr, self.positions, self.counts, self.lengths = (
            vocab,
            indptr,
            positions,
            counts,
            lengths,
        )
        self.token_id = {token: n for n, token in enumerate(vocab)}

    @classmethod
    def from_corpus(cls, corpus: TokenIdCorpus) -> Postings:
        """Built with one sort of (token, passage) keys: at a million passages about 60 million keys, a few
        seconds and about 1.5 GB at the peak (what bm25s needed too)."""
        count = len(corpus)
        lengths = np.diff(corpus.offsets).astype(np.int32)
        vocab = list(corpus.vocab)  # why: a dict keeps insertion order, which is the token id order
        if count == 0:
            return cls(
                vocab,
                np.zeros(len(vocab) + 1, dtype=np.int64),
                *(np.zeros(0, dtype=t) for t in (np.int32, np.float32)),
                lengths,
            )
        keys = corpus.flat.astype(np.int64) * count + np.repeat(np.arange(count, dtype=np.int64), lengths)
        keys.sort()
        first = np.empty(len(keys), dtype=bool)
        first[0] = True
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        del first
        counts = np.diff(np.append(starts, len(keys))).astype(np.float32)  # why float32: bm25s's tf dtype
        keys = keys[starts]
        del starts
        tokens = keys // count
        positions = (keys - tokens * count).astype(np.int32)
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(tokens, minlength=len(vocab)), out=indptr[1:])
        return cls(vocab, indptr, positions, counts, lengths)

    def __len__(self) -> int:
        return len(self.lengths)

    def column(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        """(positions, counts) of the passages holding the token; empty when none does."""
        token_id = self.token_id.get(token)
        if token_id is None:
            return _NO_POSITIONS, _NO_COUNTS
        start, end = self.indptr[token_id], self.indptr[token_id + 1]
        return self.positions[start:end], self.counts[start:end]

    def merged(self, alive: np.ndarray, added: Postings) -> Postings:
        """These postings less the passages not `alive`, then `added`'s passages after them: the postings an
        index built over the same passages in that order would have, without tokenizing anything again."""
        new_position = np.cumsum(alive, dtype=np.int64) - 1
        kept = int(alive.sum())
        vocab = list(self.vocab)
        token_id = dict(self.token_id)
        for token in added.vocab:
            if token not in token_id:
                token_id[token] = len(vocab)
                vocab.append(token)
        keep = alive[self.positions]
        own_tokens = np.repeat(np.arange(len(self.vocab), dtype=np.int64), np.diff(self.indptr))[keep]
        remap = np.array([token_id[t] for t in added.vocab], dtype=np.int64)
        added_tokens = remap[np.repeat(np.arange(len(added.vocab), dtype=np.int64), np.diff(added.indptr))]
        tokens = np.concatenate([own_tokens, added_tokens])
        order = np.argsort(tokens, kind="stable")  # why stable: each column's positions stay ascending
        positions = np.concatenate(
            [new_position[self.positions[keep]], added.positions.astype(np.int64) + kept]
        )
        counts = np.concatenate([self.counts[keep], added.counts])
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(tokens, minlength=len(vocab)), out=indptr[1:])
        lengths = np.concatenate([self.lengths[alive], added.lengths])
        return Postings(vocab, indptr, positions[order].astype(np.int32), counts[order], lengths)

    def save(self, folder: Path) -> None:
        (folder / "vocab.json").write_text(json.dumps(self.vocab))
        for name in ("indptr", "positions", "counts", "lengths"):
            np.save(folder / f"{name}.npy", getattr(self, name))

    @classmethod
    def load(cls, folder: Path) -> Postings:
        arrays = [np.load(folder / f"{name}.npy") for name in ("indptr", "positions", "counts", "lengths")]
        return cls(json.loads((folder / "vocab.json").read_text()), *arrays)


_NO_POSITIONS = np.zeros(0, dtype=np.int32)
_NO_COUNTS = np.zeros(0, dtype=np.float32)
EMPTY = Postings([], np.zeros(1, dtype=np.int64), _NO_POSITIONS, _NO_COUNTS, np.zeros(0, dtype=np.int32))


class LexicalIndex:
    """BM25 over the passages of one build (`main`), less those removed since (tombstones), plus a small set of
    postings for the passages added since (`added`), scored as one corpus. Immutable: `with_changes` returns
    a new index that shares the main postings, so a search holding the old one is never disturbed."""

    def __init__(
        self,
        main: Postings,
        ids: np.ndarray,
        manifest: LexicalManifest,
        *,
        dead: np.ndarray | None = None,
        added_texts: dict[int, str] | None = None,
    ):
        self.main, self.main_ids, self.main_manifest = main, ids.astype(np.int64), manifest
        self.dead = dead  # bool per main position, True when removed since the build; None: nothing removed
        self.added_texts = dict(sorted((added_texts or {}).items()))
        self.added = (
            Postings.from_corpus(TokenIdCorpus.from_documents(self.added_texts.values()))
            if self.added_texts
            else EMPTY
        )
        self.added_ids = np.fromiter(self.added_texts, dtype=np.int64, count=len(self.added_texts))
        self.ids = np.concatenate([self.main_ids, self.added_ids]) if self.added_texts else self.main_ids
        alive_lengths = main.lengths if dead is None else main.lengths[~dead]
        self.live_count = len(alive_lengths) + len(self.added)
        total_length = int(alive_lengths.sum(dtype=np.int64)) + int(self.added.lengths.sum(dtype=np.int64))
        average = total_length / self.live_count if self.live_count else 1.0
        # why per passage and float64: the same operations, in the same order, as bm25s's term-frequency part
        self._main_norm = K1 * ((1 - B) + B * main.lengths / average)
        self._added_norm = K1 * ((1 - B) + B * self.added.lengths / average)
        self.lookup = SortedIds(self.main_ids)
        self._scored: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        self._scored_bytes = 0
        self.manifest = (
            manifest
            if dead is None and not self.added_texts
            else LexicalManifest(
                count=self.live_count,
                corpus_hash=_changed_hash(manifest.corpus_hash, ids, dead, self.added_texts),
            )
        )

    @classmethod
    def build(cls, documents: Iterable[str], ids: np.ndarray, manifest: LexicalManifest) -> LexicalIndex:
        """BM25 over the documents (aligned with `ids`), tokenized one at a time into one int32 array."""
        return cls.from_corpus(TokenIdCorpus.from_documents(documents), ids, manifest)

    @classmethod
    def from_corpus(cls, corpus: TokenIdCorpus, ids: np.ndarray, manifest: LexicalManifest) -> LexicalIndex:
        return cls(Postings.from_corpus(corpus), ids, manifest)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def retriever(self) -> LexicalIndex | None:
        """Kept for the callers that asked bm25s for its vocabulary (`retriever.vocab_dict`)."""
        return self if self.live_count else None

    @property
    def vocab_dict(self) -> Mapping[str, int]:
        return ChainMap(self.main.token_id, self.added.token_id)

    # --- changing ---------------------------------------------------------------------

    def with_changes(self, *, removed: Iterable[int], added: dict[int, str]) -> LexicalIndex:
        """A new index without the `removed` passages and with `added` (passage id -> text) in place of any
        earlier text of theirs; the main postings are shared, not copied."""
        touched = np.fromiter({*removed, *added}, dtype=np.int64)
        dead = np.zeros(len(self.main_ids), dtype=bool) if self.dead is None else self.dead.copy()
        dead[self.lookup.positions(touched)] = True
        texts = {k: v for k, v in self.added_texts.items() if k not in set(touched.tolist())} | added
        changed = LexicalIndex(
            self.main, self.main_ids, self.main_manifest, dead=dead if dead.any() else None, added_texts=texts
        )
        changed.lookup = (
            self.lookup
        )  # why shared: the main ids are sorted once per build, not once per change
        return changed

    @property
    def changed(self) -> int:
        """Passages removed or added since the build: what a compaction would fold in."""
        return (0 if self.dead is None else int(self.dead.sum())) + len(self.added_texts)

    def compacted(self, manifest: LexicalManifest) -> LexicalIndex:
        """One set of postings over the live passages (the main ones still alive, then those added)."""
        alive = np.ones(len(self.main_ids), dtype=bool) if self.dead is None else ~self.dead
        postings = self.main.merged(alive, self.added)
        return LexicalIndex(postings, np.concatenate([self.main_ids[alive], self.added_ids]), manifest)

    # --- scoring ----------------------------------------------------------------------

    def _columns(self, token: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        positions, counts = self.main.column(token)
        if self.dead is not None and len(positions):
            alive = ~self.dead[positions]
            positions, counts = positions[alive], counts[alive]
        added_positions, added_counts = self.added.column(token)
        return positions, counts, added_positions, added_counts

    def _scored_column(self, token: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """(positions, BM25 scores) of the live passages holding the token, main then added; None if none does.

        Kept per index (an index never changes) up to SCORED_CACHE_BYTES, so a common token ("care": a third of
        a million passages) is scored once per change, not once per query."""
        cached = self._scored.get(token)
        if cached is not None:
            return cached
        positions, counts, added_positions, added_counts = self._columns(token)
        holders = len(positions) + len(added_positions)
        if not holders:
            return None
        idf = self._idf(holders)
        # why this form: bm25s's, idf (float32) x tf / (norm + tf) (float64), stored as float32
        scored = (
            positions,
            (idf * (counts / (self._main_norm[positions] + counts))).astype(np.float32),
            added_positions,
            (idf * (added_counts / (self._added_norm[added_positions] + added_counts))).astype(np.float32),
        )
        size = 8 * (len(positions) + len(added_positions))
        if self._scored_bytes + size <= SCORED_CACHE_BYTES:
            self._scored[token] = scored
            self._scored_bytes += size
        return scored

    def _idf(self, holders: int) -> np.float32:
        return np.float32(math.log(1 + (self.live_count - holders + 0.5) / (holders + 0.5)))

    def scores(self, weighted_phrases: list[tuple[str, float]]) -> np.ndarray:
        """Sum of weight × BM25 over the phrases, one score per passage (aligned with `ids`; 0 for a removed one).

        Each token's column is scored once with the summed weight of the phrases it is in, rather than
        scoring each phrase over every passage (a million-long array per phrase).
        """
        own = np.zeros(len(self.main_ids), dtype=np.float32)
        added = np.zeros(len(self.added_ids), dtype=np.float32)
        if not self.live_count:
            return np.concatenate([own, added])
        weight_of: dict[str, float] = {}
        for phrase, weight in weighted_phrases:
            for token in tokenize(phrase):
                weight_of[token] = weight_of.get(token, 0.0) + weight
        for token, weight in weight_of.items():
            scored = self._scored_column(token)
            if scored is None:
                continue
            positions, scores, added_positions, added_scores = scored
            factor = np.float32(weight)
            own[positions] += factor * scores
            if len(added_positions):
                added[added_positions] += factor * added_scores
        return np.concatenate([own, added]) if len(added) else own

    def matching_phrases(
        self, weighted_phrases: list[tuple[str, float]], passage_ids: list[int]
    ) -> dict[int, list[str]]:
        """For each of these passages, the phrases every (non-stop, stemmed) word of which is in it, anywhere:
        BM25 scores words, not phrases, so that is what a phrase contributes to a passage's score."""
        found: dict[int, list[str]] = {key: [] for key in passage_ids}
        if not self.live_count or not passage_ids:
            return found
        wanted = np.array(passage_ids, dtype=np.int64)
        for phrase, _weight in weighted_phrases:
            tokens = tokenize(phrase)
            if not tokens:
                continue
            holders = set(passage_ids)
            for token in tokens:
                positions, _, added_positions, _ = self._columns(token)
                holding = np.concatenate([self.main_ids[positions], self.added_ids[added_positions]])
                holders &= set(wanted[np.isin(wanted, holding)].tolist())
            for key in passage_ids:
                if key in holders and phrase not in found[key]:
                    found[key].append(phrase)
        return found

    # --- saving -----------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the index (compacted first if it has changed since its build) and swap it in by rename."""
        if self.dead is not None or self.added_texts:
            raise ValueError("compact a changed lexical index before saving it")
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".lexical-", dir=folder.parent))
        self.main.save(staging)
        np.save(staging / "ids.npy", self.main_ids)
        (staging / "manifest.json").write_text(json.dumps(asdict(self.manifest)))
        swap_in(staging, folder)

    @classmethod
    def load(cls, folder: Path, *, expected: LexicalManifest) -> LexicalIndex | None:
        try:
            manifest = LexicalManifest(**json.loads((folder / "manifest.json").read_text()))
            if manifest != expected:
                return None
            ids = np.load(folder / "ids.npy")
            postings = Postings.load(folder)
        except (OSError, ValueError, TypeError, KeyError):
            return None
        if (
            not (len(ids) == manifest.count == len(postings))
            or len(postings.indptr) != len(postings.vocab) + 1
        ):
            return None
        return cls(postings, ids, manifest)


def _changed_hash(base: str, ids: np.ndarray, dead: np.ndarray | None, added: dict[int, str]) -> str:
    """A corpus hash for a changed index: the build's, the passages removed and the texts added."""
    digest = hashlib.sha256(base.encode())
    if dead is not None:
        digest.update(np.sort(ids[dead]).tobytes())
    for key, text in added.items():
        digest.update(f"\n{key}:{text}".encode())
    return digest.hexdigest()
