"""The lexical index: BM25 over passage text with its heading and title, through bm25s.

Why bm25s: it precomputes every term's BM25 contribution into a sparse matrix, so scoring a query is a
few column sums (well under a millisecond at seed scale, tens of milliseconds at a million passages);
it takes our own tokens (NHS acronyms such as "a&e" survive), scores weighted query expansions by
calling it once per phrase, and saves as plain .npy/.json files (no pickle) that we guard with a
manifest like the vector index. SQLite FTS5 would tie ranking to one database engine, and tantivy
brings its own tokenizer pipeline that we would have to bend to keep "a&e" and "s75".
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from search.vectors import swap_in

FORMAT_VERSION = 2  # 2: passages indexed as own heading + site + text
TOKEN = re.compile(r"[a-z0-9]+(?:&[a-z0-9]+)*")
STOPWORDS = frozenset(
    "a an and are as at be but by for from has have how i if in into is it its of on or our that the their "
    "there these they this to was we were what when where which who will with do does did can could would "
    "should than then them so such not no nor any all about also been being more most other some very us "
    "you your my me he she his her".split()
)
_stemmer = Stemmer.Stemmer("english")
logging.getLogger("bm25s").setLevel(logging.WARNING)  # why: it logs every build at DEBUG to stderr


def normalise_for_tokens(text: str) -> str:
    text = text.lower().replace("’", "'").replace("‘", "'")
    return text.replace("–", " ").replace("—", " ").replace("a & e", "a&e")


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop words dropped, Snowball-stemmed tokens; "a&e" and "s75" stay whole."""
    words = [w for w in TOKEN.findall(normalise_for_tokens(text)) if w not in STOPWORDS]
    return _stemmer.stemWords(words)


class TokenIdCorpus:
    """Every document's token ids in one int32 array with offsets: what bm25s indexes, without a Python list
    per document. bm25s reads it through `ids` (iterated once per pass, a list per document at a time)
    and `vocab` (token -> id)."""

    def __init__(self, flat: np.ndarray, offsets: np.ndarray, vocab: dict[str, int]):
        self.flat, self.offsets, self.vocab = flat, offsets, vocab

    @classmethod
    def from_documents(cls, documents: Iterable[str]) -> TokenIdCorpus:
        vocab: dict[str, int] = {}
        pieces: list[np.ndarray] = []
        lengths: list[int] = []
        batch: list[int] = []
        for document in documents:
            tokens = tokenize(document) or ["∅"]  # why: bm25s needs every document to have a token
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

    @property
    def ids(self) -> TokenIdCorpus:
        return self

    def __iter__(self) -> Iterator[list[int]]:
        for start, end in zip(self.offsets[:-1].tolist(), self.offsets[1:].tolist(), strict=True):
            yield self.flat[start:end].tolist()


@dataclass(frozen=True)
class LexicalManifest:
    count: int
    corpus_hash: str
    format_version: int = FORMAT_VERSION


class LexicalIndex:
    def __init__(self, retriever: bm25s.BM25 | None, ids: np.ndarray, manifest: LexicalManifest):
        self.retriever, self.ids, self.manifest = retriever, ids.astype(np.int64), manifest

    @classmethod
    def build(cls, documents: Iterable[str], ids: np.ndarray, manifest: LexicalManifest) -> LexicalIndex:
        """BM25 over the documents (aligned with `ids`), tokenized one at a time into one int32 array.

        Scores are those bm25s gives for the same token lists; what changes is the memory: a million
        passages held as lists of token strings cost several GB, as token ids in one array about 250 MB.
        """
        return cls.from_corpus(TokenIdCorpus.from_documents(documents), ids, manifest)

    @classmethod
    def from_corpus(cls, corpus: TokenIdCorpus, ids: np.ndarray, manifest: LexicalManifest) -> LexicalIndex:
        if not len(corpus):
            return cls(None, ids, manifest)
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        retriever.index(corpus, show_progress=False)
        return cls(retriever, ids, manifest)

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, weighted_phrases: list[tuple[str, float]]) -> np.ndarray:
        """Sum of weight × BM25 over the phrases, one score per passage (aligned with `ids`).

        Each token's column of the BM25 matrix is added once with the summed weight of the phrases it is
        in, rather than scoring each phrase over every passage (a million-long array per phrase).
        """
        total = np.zeros(len(self.ids), dtype=np.float32)
        if self.retriever is None:
            return total
        vocabulary = self.retriever.vocab_dict
        weight_of: dict[int, float] = {}
        for phrase, weight in weighted_phrases:
            for token in tokenize(phrase):
                if token in vocabulary:
                    token_id = vocabulary[token]
                    weight_of[token_id] = weight_of.get(token_id, 0.0) + weight
        matrix = self.retriever.scores
        data, indices, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
        for token_id, weight in weight_of.items():
            start, end = indptr[token_id], indptr[token_id + 1]
            # why: a column holds each passage at most once, so plain fancy-index addition is exact
            total[indices[start:end]] += np.float32(weight) * data[start:end]
        return total

    def matching_phrases(
        self, weighted_phrases: list[tuple[str, float]], passage_ids: list[int]
    ) -> dict[int, list[str]]:
        """For each of these passages, the phrases every (non-stop, stemmed) word of which is in it, anywhere:
        BM25 scores words, not phrases, so that is what a phrase contributes to a passage's score."""
        found: dict[int, list[str]] = {key: [] for key in passage_ids}
        if self.retriever is None or not passage_ids:
            return found
        positions = {int(self.ids[p]): int(p) for p in np.flatnonzero(np.isin(self.ids, passage_ids))}
        vocabulary = self.retriever.vocab_dict
        indices, indptr = self.retriever.scores["indices"], self.retriever.scores["indptr"]
        for phrase, _weight in weighted_phrases:
            tokens = tokenize(phrase)
            if not tokens or any(token not in vocabulary for token in tokens):
                continue
            holders = set(positions.values())
            for token in tokens:
                token_id = vocabulary[token]
                holders &= set(indices[indptr[token_id] : indptr[token_id + 1]].tolist())
            for key, position in positions.items():
                if position in holders and phrase not in found[key]:
                    found[key].append(phrase)
        return found

    def save(self, folder: Path) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".lexical-", dir=folder.parent))
        if self.retriever is not None:
            self.retriever.save(str(staging), show_progress=False)
        np.save(staging / "ids.npy", self.ids)
        (staging / "manifest.json").write_text(json.dumps(asdict(self.manifest)))
        swap_in(staging, folder)

    @classmethod
    def load(cls, folder: Path, *, expected: LexicalManifest) -> LexicalIndex | None:
        try:
            manifest = LexicalManifest(**json.loads((folder / "manifest.json").read_text()))
            if manifest != expected:
                return None
            ids = np.load(folder / "ids.npy")
            retriever = bm25s.BM25.load(str(folder), show_progress=False) if manifest.count else None
        except (OSError, ValueError, TypeError, KeyError):
            return None
        if len(ids) != manifest.count:
            return None
        return cls(retriever, ids, manifest)
