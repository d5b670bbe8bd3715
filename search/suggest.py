"""Help for a searcher: a spelling suggestion for words kb does not know, and broader queries when it holds little."""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from sqlmodel import Session

from kb.store import repo
from kb.vocabulary import Vocabulary
from search.expansion import expand_query
from search.lexical import STOPWORDS, TOKEN, normalise_for_tokens, tokenize
from search.service import SearchService


@dataclass(frozen=True)
class CorpusWords:
    """The unstemmed words of the passages, most frequent first, and how many passages hold each stem."""

    words: list[str]
    passages_with: Counter[str]


_corpus_words: dict[str, CorpusWords] = {}
_corpus_lock = threading.Lock()


def corpus_words(session: Session, search: SearchService) -> CorpusWords | None:
    """Built from the passage texts once per index generation (keyed by the lexical index's corpus hash)."""
    if search.lexical is None or search.lexical.retriever is None:
        return None
    key = search.lexical.manifest.corpus_hash
    with _corpus_lock:
        if key not in _corpus_words:
            word_counts: Counter[str] = Counter()
            passages_with: Counter[str] = Counter()
            stem_of: dict[str, str] = {}
            # why batches: a million passages never held at once (repo.iter_index_rows, as the index build reads)
            for row in (r for batch in repo.iter_index_rows(session=session) for r in batch):
                words = {
                    w
                    for w in TOKEN.findall(normalise_for_tokens(f"{row.heading}\n{row.text}"))
                    if w not in STOPWORDS and len(w) > 2 and not any(c.isdigit() for c in w)
                }
                word_counts.update(words)
                for word in words:
                    if word not in stem_of:
                        stem_of[word] = (tokenize(word) or [word])[0]
                passages_with.update({stem_of[w] for w in words})
            _corpus_words.clear()  # only the current generation is worth keeping
            _corpus_words[key] = CorpusWords([w for w, _ in word_counts.most_common()], passages_with)
        return _corpus_words[key]


def query_words(q: str) -> list[str]:
    return [w for w in TOKEN.findall(normalise_for_tokens(q)) if w not in STOPWORDS]


def spelling_suggestion(q: str, *, known: dict, words: list[str], vocabulary: Vocabulary) -> str | None:
    """The query with each word the index does not know replaced by the closest corpus word (edit distance
    1, or 2 for longer words), or None when every word is known or nothing is close."""
    corrected, changed = q, False
    for word in query_words(q):
        if len(word) < 4 or any(c.isdigit() for c in word):
            continue
        stems = tokenize(word)
        if not stems or stems[0] in known or expand_query(word, vocabulary):
            continue  # indexed, or an acronym or synonym the vocabulary spells out
        match = process.extractOne(
            word, words, scorer=Levenshtein.distance, score_cutoff=1 if len(word) < 6 else 2
        )
        if match:
            pattern = re.compile(rf"(?<![\w&]){re.escape(word)}(?![\w&])", re.IGNORECASE)
            corrected, changed = pattern.sub(match[0], corrected), True
    return corrected if changed and corrected.lower() != q.lower() else None


def broader_queries(q: str, *, corpus: CorpusWords | None, expansions: list[str]) -> list[str]:
    """Queries likely to find more: this one without its least common word, and the vocabulary's synonyms."""
    out: list[str] = []
    words = [w for w in query_words(q) if len(w) > 1]
    if len(words) > 1 and corpus is not None:

        def passages_with(word: str) -> int:
            return corpus.passages_with.get((tokenize(word) or [word])[0], 0)

        rarest = min(reversed(words), key=passages_with)
        rest = [w for w in words if w != rarest]
        if any(passages_with(w) for w in rest):  # only worth offering if kb holds the words left
            out.append(" ".join(rest))
    out += [e for e in expansions[:4] if e.lower() != q.lower()]
    return list(dict.fromkeys(o for o in out if o))
