"""Search analytics for curators (what people look for, and where kb answers poorly) and curation tasks.

A query is judged by its latest search in the period, so a gap that new content has since filled drops off:
- no results: that search found no passage and no intervention (search counts only passages with evidence of
  relevance, so a query nothing in kb matches, such as a nonsense word, is logged with none);
- poor results: it found fewer than POOR_INTERVENTIONS interventions, or its best passage scored below
  POOR_TOP_SCORE. Search scores are a fusion of max-normalised BM25 (weight 0.65) and range-normalised
  MiniLM cosine (0.35), so a best passage under 0.4 means no passage holds the query's words at all: only
  loose semantic neighbours answered.
Content gaps group those queries by the taxonomy terms they name (directly or through the vocabulary's
acronyms and synonyms), so the programme team sees which care models and intervention types need content.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, select

from kb.errors import InvalidInput, NotFound
from kb.models import CurationTask, QueryLog, utcnow
from kb.taxonomy import Taxonomy
from kb.vocabulary import ACRONYM_WEIGHT, Key, Vocabulary, expand_query, phrase_key

PERIODS = (7, 30, 90)
POOR_INTERVENTIONS = 2  # fewer matching interventions than this is a poor answer
POOR_TOP_SCORE = 0.4  # see the module docstring
GAP_DIMENSIONS = ("care_model", "intervention_type", "population", "setting", "outcome_measure")
TOP_LIMIT = 25


def normalise_query(query: str) -> str:
    """One key for the same question typed differently: case and spacing ignored."""
    return " ".join(query.casefold().split())


@dataclass
class QueryStat:
    query: str  # normalised
    searches: int = 0
    total_results: int = 0
    total_interventions: int = 0
    last_results: int = 0
    last_interventions: int = 0
    last_top_score: float | None = None
    last_at: datetime | None = None
    open_task: int | None = None  # id of an open curation task for this query

    @property
    def average_results(self) -> float:
        return self.total_results / self.searches if self.searches else 0.0

    @property
    def average_interventions(self) -> float:
        return self.total_interventions / self.searches if self.searches else 0.0

    @property
    def zero(self) -> bool:
        return self.last_results == 0 and self.last_interventions == 0

    @property
    def poor(self) -> bool:
        if self.zero:
            return False
        low_score = self.last_top_score is not None and self.last_top_score < POOR_TOP_SCORE
        return self.last_interventions < POOR_INTERVENTIONS or low_score


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


def query_stats(*, session: Session, since: datetime) -> list[QueryStat]:
    """Every distinct (normalised) query searched since then, most searched first."""
    rows = session.exec(
        select(QueryLog).where(QueryLog.created_at >= since).order_by(QueryLog.created_at, QueryLog.id)  # type: ignore[arg-type]
    )
    stats: dict[str, QueryStat] = {}
    for row in rows:
        key = normalise_query(row.query)
        if not key:
            continue
        stat = stats.setdefault(key, QueryStat(query=key))
        stat.searches += 1
        stat.total_results += row.results
        stat.total_interventions += row.interventions
        stat.last_results, stat.last_interventions = row.results, row.interventions
        stat.last_top_score, stat.last_at = row.top_score, row.created_at
    return sorted(stats.values(), key=lambda s: (-s.searches, s.query))


def query_report(
    *, session: Session, days: int, taxonomy: Taxonomy, vocabulary: Vocabulary | None = None
) -> QueryReport:
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


# --- curation tasks ----------------------------------------------------------------------------


def create_task(
    *, session: Session, title: str, detail: str = "", query: str | None = None, created_by: int | None
) -> CurationTask:
    title = " ".join(title.split())
    if not title:
        raise InvalidInput("A task needs a title.")
    task = CurationTask(
        title=title[:200],
        detail=detail.strip(),
        query=normalise_query(query) if query and query.strip() else None,
        created_by=created_by,
    )
    session.add(task)
    session.commit()
    session.refresh(task)
    return task


def list_tasks(*, session: Session, status: str) -> list[CurationTask]:
    order = CurationTask.created_at.desc() if status == "open" else CurationTask.done_at.desc()  # type: ignore[union-attr]
    statement = (
        select(CurationTask).where(CurationTask.status == status).order_by(order, CurationTask.id.desc())
    )  # type: ignore[union-attr]
    return list(session.exec(statement))


def mark_task_done(*, session: Session, task_id: int) -> CurationTask:
    task = session.get(CurationTask, task_id)
    if task is None:
        raise NotFound(f"No curation task {task_id}.")
    if task.status != "done":
        task.status, task.done_at = "done", utcnow()
        session.add(task)
        session.commit()
        session.refresh(task)
    return task


def open_tasks_by_query(*, session: Session) -> dict[str, int]:
    """Normalised query -> id of an open task about it, so analytics does not offer a second one."""
    rows = session.exec(
        select(CurationTask.id, CurationTask.query).where(  # type: ignore[call-overload]
            CurationTask.status == "open",
            CurationTask.query.is_not(None),  # type: ignore[union-attr]
        )
    )
    return {normalise_query(query): task_id for task_id, query in rows}
