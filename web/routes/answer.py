"""The evidence summary as JSON: GET /api/answer with a question and the catalogue's filters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlmodel import Session

from kb.store import repo
from search.answer import Answer, summarise
from web.deps import SessionDep
from web.errors import error_responses
from web.routes.catalogue import FILTER_PARAMETERS, CatalogueDep, filters_from

router = APIRouter(prefix="/api", tags=["catalogue"])


def passage_lookup(session: Session):  # noqa: ANN201 - a PassageLookup bound to this session
    def lookup(passage_ids: Iterable[int]) -> dict[int, tuple[int, str]]:
        found = repo.passages_by_ids(session=session, passage_ids=list(passage_ids))
        return {key: (p.document_id, p.text) for key, p in found.items()}

    return lookup


def answer_for(request: Request, session: Session, catalogue, q: str | None) -> Answer:  # noqa: ANN001
    """The summary for this request's question and filters (shared by the API and the search page)."""
    return summarise(
        catalogue=catalogue,
        taxonomy=request.app.state.taxonomy,
        lookup=passage_lookup(session),
        q=q,
        filters=filters_from(request),
    )


@router.get(
    "/answer",
    summary="An evidence summary: what the closest interventions report, each figure cited",
    responses=error_responses(422),
    openapi_extra={"parameters": FILTER_PARAMETERS},
)
def answer(
    request: Request,
    session: SessionDep,
    catalogue: CatalogueDep,
    q: Annotated[str | None, Query(max_length=500)] = None,
) -> dict:
    return answer_for(request, session, catalogue, q).as_dict()
