"""Content gaps and the curators' search report: poorly answered queries grouped by the taxonomy terms they
name, directly or through the vocabulary's acronyms (search.expansion), so the programme team sees which care
models and intervention types need content. The query log it reads is kb/analytics.py's."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import Session

from kb.analytics import PERIODS, QueryStat, open_tasks_by_query, query_stats
from kb.errors import InvalidInput
from kb.store.models import utcnow
from kb.taxonomy import Taxonomy
from kb.vocabulary import ACRONYM_WEIGHT, Key, Vocabulary, phrase_key
from search.expansion import expand_query

GAP_DIMENSIONS = ("care_model", "intervention_type", "population", "setting", "outcome_measure")
TOP_LIMIT = 25


@dataclass
class ContentGap:
    dimension: str
    term_id: str
    label: str
    queries: list[QueryStat] = field(default_factory=list)

    @property
    def searches(self) -> int:
        return sum(q.searches for q in self.queries)


@dataclass
class QueryReport:
    days: int
    searches: int
    distinct: int
    top: list[QueryStat]
    zero: list[QueryStat]
    poor: list[QueryStat]
    gaps: list[ContentGap]
    unmatched: list[QueryStat]  # zero or poor queries that name no taxonomy term


def query_report(
    *, session: Session, days: int, taxonomy: Taxonomy, vocabulary: Vocabulary | None = None
) -> QueryReport:
    """The last `days` days of searches (one of PERIODS): the most searched, those answered with nothing or
    little, and the content gaps those point to. Raises InvalidInput for another period."""
    if days not in PERIODS:
        raise InvalidInput(f"The period must be one of {', '.join(map(str, PERIODS))} days.")
    stats = query_stats(session=session, since=utcnow() - timedelta(days=days))
    tasks = open_tasks_by_query(session=session)
    for stat in stats:
        stat.open_task = tasks.get(stat.query)
    zero = [s for s in stats if s.zero]
    poor = [s for s in stats if s.poor]
    gaps, unmatched = content_gaps([*zero, *poor], taxonomy=taxonomy, vocabulary=vocabulary)
    return QueryReport(
        days=days,
        searches=sum(s.searches for s in stats),
        distinct=len(stats),
        top=stats[:TOP_LIMIT],
        zero=zero,
        poor=poor,
        gaps=gaps,
        unmatched=unmatched,
    )


# --- content gaps ----------------------------------------------------------------------------


def _span(haystack: Key, needle: Key) -> tuple[int, int] | None:
    """Where the needle's tokens first occur in the haystack, as (start, end)."""
    width = len(needle)
    for i in range(len(haystack) - width + 1):
        if needle and haystack[i : i + width] == needle:
            return i, i + width
    return None


def term_keys(taxonomy: Taxonomy) -> list[tuple[str, str, str, list[Key]]]:
    """(dimension, term id, label, matching keys of its label, id and synonyms) for the gap dimensions."""
    return [
        (
            dimension,
            term.id,
            term.label,
            [phrase_key(p) for p in (term.label, term.id.replace("-", " "), *term.synonyms)],
        )
        for dimension in GAP_DIMENSIONS
        for term in taxonomy.dimensions.get(dimension, ())
    ]


def terms_named(
    query: str, *, terms: list[tuple[str, str, str, list[Key]]], vocabulary: Vocabulary | None
) -> list[tuple[str, str, str]]:
    """(dimension, term id, label) of the taxonomy terms a query names by label or synonym, counting what
    the vocabulary spells its acronyms out as ("DToC" names delayed transfers of care). A term named only
    inside a longer term's words ("home" in "hospital at home") is left out: the query is about the longer
    one. The vocabulary's looser synonym expansions are not used: they name too much by the way."""
    expansions = expand_query(query, vocabulary) if vocabulary else []
    texts = [query, *(phrase for phrase, weight in expansions if weight >= ACRONYM_WEIGHT)]
    keys = [phrase_key(text) for text in texts]
    found: dict[tuple[str, str, str], list[tuple[int, int, int]]] = {}  # term -> [(text, start, end)]
    for dimension, term_id, label, phrases in terms:
        for n, key in enumerate(keys):
            for phrase in phrases:
                span = _span(key, phrase)
                if span:
                    found.setdefault((dimension, term_id, label), []).append((n, *span))
    every = [span for spans in found.values() for span in spans]

    def inside_another(span: tuple[int, int, int]) -> bool:
        text, start, end = span
        return any(
            o[0] == text and o[1] <= start and end <= o[2] and o[2] - o[1] > end - start for o in every
        )

    return [term for term, spans in found.items() if not all(inside_another(span) for span in spans)]


def content_gaps(
    stats: Iterable[QueryStat], *, taxonomy: Taxonomy, vocabulary: Vocabulary | None
) -> tuple[list[ContentGap], list[QueryStat]]:
    """Poorly answered queries grouped by the terms they name, most searched first; and those naming none."""
    terms = term_keys(taxonomy)
    gaps: dict[tuple[str, str], ContentGap] = {}
    unmatched = []
    for stat in stats:
        named = terms_named(stat.query, terms=terms, vocabulary=vocabulary)
        if not named:
            unmatched.append(stat)
        for dimension, term_id, label in named:
            gaps.setdefault((dimension, term_id), ContentGap(dimension, term_id, label)).queries.append(stat)
    ordered = sorted(gaps.values(), key=lambda g: (-g.searches, GAP_DIMENSIONS.index(g.dimension), g.label))
    return ordered, unmatched
