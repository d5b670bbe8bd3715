"""Why a result ranks where it does: each signal's score for each result, and a plain-text rendering of them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExplainedResult:
    rank: int
    passage_id: int
    title: str
    source: str
    heading: str
    score: float  # fused + neighbour + site boost; the order is by this times source_discount
    fused: float  # lexical_share + dense_share
    neighbour: float  # NEIGHBOUR_WEIGHT x the better fused score of the passages next to it in its document
    lexical: float | None  # raw BM25 (query words plus weighted expansions); None: not a lexical candidate
    lexical_share: float  # LEXICAL_WEIGHT x BM25 / best BM25
    dense: float | None  # raw MiniLM cosine of the passage's best view; None: not a dense candidate
    dense_share: float  # (1 - LEXICAL_WEIGHT) x cosine stretched to 0..1 over the candidates
    expansions_matched: list[str]  # vocabulary expansions with every word in this passage
    site_boost: float  # added because the passage is about a site the query names
    source_discount: float  # SOURCE_DECAY per earlier result from the same document


@dataclass(frozen=True)
class Explanation:
    query: str
    expansions: list[tuple[str, float]]
    total: int
    lexical_weight: float
    expansion_scale: float
    neighbour_weight: float
    dense_match: float
    results: list[ExplainedResult]


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def explanation_text(explanation: Explanation) -> str:
    """The explanation as lines for a terminal: the query's settings, then one block per result."""
    lines = [
        f"query: {explanation.query}",
        f"matching passages: {explanation.total}"
        f" (a lexical hit on a non-stop word, or a dense cosine of {explanation.dense_match:.2f} or more)",
        f"fused = {explanation.lexical_weight:.2f} x BM25/best + {1 - explanation.lexical_weight:.2f} x cosine"
        " stretched over the candidates",
        f"neighbour = {explanation.neighbour_weight:.2f} x the better fused score of the passages before and after"
        " it in its document",
    ]
    if explanation.expansions:
        expansions = ", ".join(
            f"{phrase} ({weight * explanation.expansion_scale:.2f})"
            for phrase, weight in explanation.expansions
        )
        lines.append(f"expansions (weight in BM25): {expansions}")
    else:
        lines.append("expansions: none")
    if not explanation.results:
        lines.append("No passages match.")
    for row in explanation.results:
        lines.append("")
        lines.append(f"{row.rank}. {row.title} [{row.source}, passage {row.passage_id}]")
        if row.heading:
            lines.append(f"   {row.heading}")
        lines.append(
            f"   score {row.score:.3f} = fused {row.fused:.3f}"
            f" (lexical {_number(row.lexical, 2)} BM25 -> {row.lexical_share:.3f};"
            f" dense cosine {_number(row.dense)} -> {row.dense_share:.3f})"
            f" + neighbour {row.neighbour:.3f} + site boost {row.site_boost:.2f}"
        )
        if row.source_discount < 1:
            lines.append(f"   x {row.source_discount:.3f} for earlier results from the same document")
        matched = ", ".join(row.expansions_matched) if row.expansions_matched else "none"
        lines.append(f"   expansions matched: {matched}")
    return "\n".join(lines)
