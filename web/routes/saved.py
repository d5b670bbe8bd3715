"""A member's saved searches: save one from the search or catalogue page, list them with what is new since
the last visit, view one (which counts as a visit), delete one, and turn its e-mail digest on or off."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from kb import saved as saved_store
from kb.store.models import SavedSearch, utcnow
from search.listing import Paging, filters_from_pairs, list_interventions
from search.saved_searches import Found, find
from web.auth import CsrfDep, MemberDep
from web.deps import SearchDep, SessionDep
from web.render import render
from web.routes.catalogue import CatalogueDep
from web.routes.pages import LEGENDS, filter_label, table_row, url

router = APIRouter(include_in_schema=False, dependencies=[CsrfDep])
SearchId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SHOWN_INTERVENTIONS = 10
SHOWN_PASSAGES = 5


def describe(request: Request, saved: SavedSearch) -> dict:
    """What a page says about a saved search: its words, its filters in plain labels and links to run it."""
    pairs = saved_store.filter_pairs_of(saved)
    taxonomy = request.app.state.taxonomy
    return {
        "id": saved.id,
        "name": saved.name,
        "query": saved.query,
        "digest": saved.digest,
        "created_at": saved.created_at,
        "last_seen_at": saved.last_seen_at,
        "filters": [
            {
                "legend": LEGENDS.get(name, name.replace("_", " ").capitalize()),
                "label": filter_label(taxonomy, name, value),
            }
            for name, value in pairs
        ],
        "search_url": url("/search", [("q", saved.query), *pairs]) if saved.query else None,
        "catalogue_url": url("/catalogue", [("q", saved.query), *pairs]),
    }


@router.post("/saved-searches")
def save_search(
    request: Request,
    user: MemberDep,
    session: SessionDep,
    catalogue: CatalogueDep,
    query: Annotated[str, Form(max_length=500)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    filters: Annotated[str, Form(max_length=4000)] = "",
) -> RedirectResponse:
    pairs = saved_store.parse_filters(filters)
    # refuses unknown filter values (422) before saving
    list_interventions(catalogue, filters=filters_from_pairs(pairs), paging=Paging(1))
    saved_store.create_saved_search(session=session, user_id=user.id, name=name, query=query, filters=pairs)
    return RedirectResponse("/account/saved", status_code=303)


@router.get("/account/saved", response_class=HTMLResponse)
def saved_searches_page(
    request: Request, user: MemberDep, session: SessionDep, search: SearchDep, catalogue: CatalogueDep
) -> HTMLResponse:
    rows = []
    for saved in saved_store.saved_searches_for(session=session, user_id=user.id):
        found = find(saved, since=saved.last_seen_at, session=session, search=search, catalogue=catalogue)
        rows.append(
            describe(request, saved)
            | {
                "matching": len(found.interventions),
                "new_interventions": len(found.new_interventions),
                "new_documents": len(found.new_documents),
                "problem": found.problem,
            }
        )
    return render(request, "saved_searches.html", {"searches": rows, "email": user.email})


@router.get("/saved-searches/{search_id}", response_class=HTMLResponse)
def saved_search_page(
    request: Request,
    user: MemberDep,
    session: SessionDep,
    search: SearchDep,
    catalogue: CatalogueDep,
    search_id: SearchId,
) -> HTMLResponse:
    saved = saved_store.get_saved_search_or_raise(session=session, search_id=search_id, user_id=user.id)
    visited = utcnow()
    found: Found = find(saved, since=saved.last_seen_at, session=session, search=search, catalogue=catalogue)
    context = describe(request, saved)
    new_first = sorted(found.interventions, key=lambda item: not item[1])  # stable: relevance order kept
    taxonomy = request.app.state.taxonomy
    context |= {
        "interventions": [
            table_row(record, taxonomy) | {"new": new} for record, new in new_first[:SHOWN_INTERVENTIONS]
        ],
        "matching": len(found.interventions),
        "new_interventions": len(found.new_interventions),
        "new_documents": found.new_documents,
        "passages": [{"hit": hit, "new": new} for hit, new in found.passages[:SHOWN_PASSAGES]],
        "problem": found.problem,
    }
    saved_store.mark_seen(session=session, saved=saved, when=visited)
    return render(request, "saved_search.html", context)


@router.post("/saved-searches/{search_id}/delete")
def delete_saved_search(user: MemberDep, session: SessionDep, search_id: SearchId) -> RedirectResponse:
    saved_store.delete_saved_search(session=session, search_id=search_id, user_id=user.id)
    return RedirectResponse("/account/saved", status_code=303)


@router.post("/saved-searches/{search_id}/digest")
def toggle_digest(user: MemberDep, session: SessionDep, search_id: SearchId) -> RedirectResponse:
    saved_store.toggle_digest(session=session, search_id=search_id, user_id=user.id)
    return RedirectResponse(f"/account/saved#saved-{search_id}", status_code=303)
