"""Search analytics for curators (top queries, queries answered with nothing or little, the content gaps they
point to) and the curation tasks made from them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import select

from kb import analytics
from kb.store.models import User
from search import query_gaps
from web.auth import CsrfDep, CuratorDep
from web.deps import SessionDep
from web.render import render

router = APIRouter(include_in_schema=False, dependencies=[CsrfDep])
DIMENSION_NAMES = {
    "care_model": "Care model",
    "intervention_type": "Intervention type",
    "population": "Population",
    "setting": "Setting",
    "outcome_measure": "Outcome measure",
}


@router.get("/curate/analytics", response_class=HTMLResponse)
def analytics_page(
    request: Request,
    user: CuratorDep,
    session: SessionDep,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> HTMLResponse:
    report = query_gaps.query_report(
        session=session,
        days=days,
        taxonomy=request.app.state.taxonomy,
        vocabulary=request.app.state.search.vocabulary,
    )
    return render(
        request,
        "analytics.html",
        {
            "report": report,
            "periods": analytics.PERIODS,
            "dimension_names": DIMENSION_NAMES,
            "poor_interventions": analytics.POOR_INTERVENTIONS,
            "poor_top_score": analytics.POOR_TOP_SCORE,
        },
    )


@router.get("/curate/tasks", response_class=HTMLResponse)
def tasks_page(request: Request, user: CuratorDep, session: SessionDep) -> HTMLResponse:
    open_tasks = analytics.list_tasks(session=session, status="open")
    done_tasks = analytics.list_tasks(session=session, status="done")
    author_ids = {t.created_by for t in [*open_tasks, *done_tasks] if t.created_by}
    authors = {
        u.id: u.name
        for u in session.exec(select(User).where(User.id.in_(author_ids)))  # type: ignore[union-attr]
    }
    return render(
        request,
        "tasks.html",
        {"open_tasks": open_tasks, "done_tasks": done_tasks, "authors": authors},
    )


@router.post("/curate/tasks")
def create_task(
    user: CuratorDep,
    session: SessionDep,
    title: Annotated[str, Form(max_length=200)] = "",
    detail: Annotated[str, Form(max_length=5000)] = "",
    query: Annotated[str, Form(max_length=500)] = "",
) -> RedirectResponse:
    task = analytics.create_task(session=session, title=title, detail=detail, query=query, created_by=user.id)
    return RedirectResponse(f"/curate/tasks#task-{task.id}", status_code=303)


@router.post("/curate/tasks/{task_id}/done")
def task_done(
    user: CuratorDep, session: SessionDep, task_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> RedirectResponse:
    analytics.mark_task_done(session=session, task_id=task_id)
    return RedirectResponse("/curate/tasks", status_code=303)
