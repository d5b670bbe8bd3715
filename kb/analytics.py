"""Search analytics for curators (what people look for, and where kb answers poorly) and curation tasks.
The report of a period, with its content gaps, is built by search/query_gaps.py (it expands queries).

A query is judged by its latest search in the period, so a gap that new content has since filled drops off:
- no results: that search found no passage and no intervention (search counts only passages with evidence of
  relevance, so a query nothing in kb matches, such as a nonsense word, is logged with none);
- poor results: it found fewer than POOR_INTERVENTIONS interventions, or its best passage scored below
  POOR_TOP_SCORE. Search scores are a fusion of max-normalised BM25 (weight 0.65) and range-normalised
  MiniLM cosine (0.35), so a best passage under 0.4 means no passage holds the query's words at all: only
  loose semantic neighbours answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from kb.errors import InvalidInput, NotFound
from kb.store.models import CurationTask, QueryLog, utcnow

PERIODS = (7, 30, 90)
POOR_INTERVENTIONS = 2  # fewer matching interventions than this is a poor answer
POOR_TOP_SCORE = 0.4  # see the module docstring


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
