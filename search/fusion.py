"""Pure ranking functions: score normalisation, weighted fusion and near-duplicate collapse."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

import numpy as np


def max_normalise(scores: Mapping[int, float]) -> dict[int, float]:
    """Scores divided by the best one (BM25 has no fixed scale); all zero stays zero."""
    top = max(scores.values(), default=0.0)
    if top <= 0:
        return {k: 0.0 for k in scores}
    return {k: max(v, 0.0) / top for k, v in scores.items()}


def range_normalise(scores: Mapping[int, float]) -> dict[int, float]:
    """Cosine scores stretched to 0..1 over the candidates, so a weak query's best hit is not over-trusted."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high - low < 1e-9:
        return {k: 1.0 for k in scores}
    return {k: (v - low) / (high - low) for k, v in scores.items()}


def fuse(
    lexical: Mapping[int, float], dense: Mapping[int, float], *, lexical_weight: float
) -> list[tuple[int, float]]:
    """Convex combination of normalised lexical and dense scores, best first (ties by id for stability)."""
    lex, den = max_normalise(lexical), range_normalise(dense)
    combined = {
        key: lexical_weight * lex.get(key, 0.0) + (1.0 - lexical_weight) * den.get(key, 0.0)
        for key in set(lex) | set(den)
    }
    return sorted(combined.items(), key=lambda item: (-item[1], item[0]))


def top_candidates(ids: np.ndarray, scores: np.ndarray, k: int) -> dict[int, float]:
    """The k best (id, score) of an aligned pair of arrays, zero scores dropped."""
    if len(scores) == 0:
        return {}
    k = min(k, len(scores))
    positions = np.argpartition(-scores, k - 1)[:k]
    return {int(ids[p]): float(scores[p]) for p in positions if scores[p] > 0}


def shingles(text: str, size: int = 4) -> set[int]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {hash(tuple(words[i : i + size])) for i in range(max(len(words) - size + 1, 1))}


def collapse_near_duplicates(
    ranked: Iterable[int], texts: Mapping[int, str], *, threshold: float = 0.5, enough: int | None = None
) -> list[int]:
    """Keep the first of any passages sharing most of their word 4-grams (a repeated profile paragraph).

    Stops once `enough` passages are kept: the rest of a long candidate list is never shown.
    """
    kept: list[int] = []
    kept_shingles: list[set[int]] = []
    for key in ranked:
        if enough is not None and len(kept) >= enough:
            break
        grams = shingles(texts.get(key, ""))
        duplicate = any(
            grams and other and len(grams & other) / min(len(grams), len(other)) >= threshold
            for other in kept_shingles
        )
        if not duplicate:
            kept.append(key)
            kept_shingles.append(grams)
    return kept


def diversify(
    ranked: list[tuple[int, float]], group_of: Mapping[int, str], *, decay: float, k: int
) -> list[int]:
    """Greedy re-ranking that discounts each further result from the same group (document) by `decay`.

    Answers to "what worked elsewhere" are spread over many reports; without this one long report's
    many similar passages crowd out the others.
    """
    pool = list(ranked)
    seen: dict[str, int] = {}
    out: list[int] = []
    while pool and len(out) < k:
        best = max(
            range(len(pool)), key=lambda i: pool[i][1] * decay ** seen.get(group_of.get(pool[i][0], ""), 0)
        )
        key = pool.pop(best)[0]
        out.append(key)
        group = group_of.get(key, "")
        seen[group] = seen.get(group, 0) + 1
    return out


def with_neighbour_context(
    ranked: list[tuple[int, float]], same_document: Callable[[int, int], bool], *, weight: float
) -> tuple[list[tuple[int, float]], dict[int, float]]:
    """Each passage gains `weight` x the better fused score of the passages just before and after it in its
    document (ids next to it, in the same document), best first again; also returns each gain.

    Why: a passage whose neighbours also answer the question sits inside a section about it, while a lone
    passage that shares a word or two is more often a passing mention. Only candidates have a score, so a
    neighbour outside the candidates adds nothing.
    """
    if weight <= 0:
        return ranked, {}
    fused = dict(ranked)
    gains: dict[int, float] = {}
    for key in fused:
        best = max(
            (fused[other] for other in (key - 1, key + 1) if other in fused and same_document(key, other)),
            default=0.0,
        )
        if best > 0:
            gains[key] = weight * best
    rescored = [(key, score + gains.get(key, 0.0)) for key, score in ranked]
    return sorted(rescored, key=lambda item: (-item[1], item[0])), gains
