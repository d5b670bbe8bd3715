"""Query expansion: the weighted phrases the vocabulary adds to a query (acronyms spelled out, site names,
synonyms), looked up in the phrase index kb/vocabulary.py builds when it loads the vocabulary."""

from __future__ import annotations

from kb.vocabulary import Key, Vocabulary, longest_matches, phrase_key

MAX_EXPANSIONS = 12


def _contains(haystack: Key, needle: Key) -> bool:
    width = len(needle)
    return any(haystack[i : i + width] == needle for i in range(len(haystack) - width + 1))


def expand_query(query: str, vocabulary: Vocabulary) -> list[tuple[str, float]]:
    """Return weighted phrases to add to a lexical query, without the query's own terms.

    Acronyms give their expansions (weight ~0.7), site names and aliases give the site's
    other names (~0.6), synonym-group phrases give the rest of the group (~0.5). Matching
    is case-, hyphen- and plural-insensitive, longest phrase first; results are
    de-duplicated and capped at MAX_EXPANSIONS, shared out across the matched terms.
    """
    keys = phrase_key(query)
    if not keys:
        return []
    candidates: list[tuple[float, list[str]]] = []
    for _start, _end, matched in longest_matches(keys, vocabulary.phrase_index):
        for entry in vocabulary.phrase_index[matched]:
            candidates.append((entry.weight, list(entry.phrases)))
    # Round-robin over matches (strongest weight first) so one long synonym group
    # cannot use up the whole budget when the query names several concepts.
    candidates.sort(key=lambda item: -item[0])
    expansions: list[tuple[str, float]] = []
    seen: set[Key] = set()
    rank = 0
    while len(expansions) < MAX_EXPANSIONS and any(rank < len(phrases) for _w, phrases in candidates):
        for weight, phrases in candidates:
            if rank >= len(phrases):
                continue
            phrase = phrases[rank]
            candidate_key = phrase_key(phrase)
            if not candidate_key or candidate_key in seen or _contains(keys, candidate_key):
                continue
            seen.add(candidate_key)
            expansions.append((phrase, weight))
            if len(expansions) >= MAX_EXPANSIONS:
                break
        rank += 1
    return expansions
