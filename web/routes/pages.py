"""Server-rendered pages: home, search, the intervention catalogue, the document list and the document reader."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import replace
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session

from kb.errors import InvalidInput
from kb.store import repo
from kb.taxonomy import Taxonomy
from search.areas import AREA_LABELS
from search.catalogue import DIMENSIONS, MIN_TAG_CONFIDENCE, CatalogueService, Filters, Record, sort_records
from search.listing import Listing, Paging, list_interventions
from search.results import SearchResponse
from search.service import SearchService
from search.suggest import broader_queries, corpus_words, spelling_suggestion
from web.deps import SearchDep, SessionDep
from web.reader import reader_blocks
from web.render import render
from web.routes.answer import answer_for
from web.routes.catalogue import SORT_PATTERN, CatalogueDep, filters_from

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)
PAGE_SIZE = 10
CATALOGUE_PAGE_SIZE = 50
SEARCH_INTERVENTIONS = 5
EXAMPLES = [
    "reducing emergency admissions from care homes",
    "social prescribing",
    "DToC",
    "single point of access",
]
LEGENDS = {
    "care_model": "Care model",
    "intervention_type": "Intervention type",
    "population": "Population",
    "setting": "Setting",
    "enabler": "Enabler",
    "outcome_measure": "Outcome measure",
    "evidence_level": "Evidence level",
    "area": "Area",
}
HOME_BROWSE = ("care_model", "intervention_type", "population", "outcome_measure")
SORT_COLUMNS = {
    "title": "Title",
    "site": "Site",
    "evidence_level": "Evidence level",
    "results": "Results",
    "added": "Date added",
}
SEARCH_SORTS = {
    "": "Relevance",
    "-evidence_level": "Evidence level, strongest first",
    "-added": "Date added, newest first",
}


# --- URLs for every filter state ---------------------------------------------------------


def filter_pairs(filters: Filters) -> list[tuple[str, str]]:
    """The query-string pairs that reproduce these filters (one pair per value, so each can be removed)."""
    pairs = [(name, value) for name, values in filters.values.items() for value in values]
    pairs += [
        (name, getattr(filters, name)) for name in ("site", "programme", "origin") if getattr(filters, name)
    ]
    if filters.has_results is not None:
        pairs.append(("has_results", "true" if filters.has_results else "false"))
    return pairs


def url(path: str, pairs: list[tuple[str, str]]) -> str:
    pairs = [(k, v) for k, v in pairs if v not in (None, "")]
    return f"{path}?{urlencode(pairs)}" if pairs else path


def filter_label(taxonomy: Taxonomy, name: str, value: str) -> str:
    if name == "area":
        return AREA_LABELS.get(value, value)
    if name in LEGENDS:
        terms = {t.id: t.label for t in taxonomy.dimensions.get(name, ())}
        label = terms.get(value, value)
        return f"Level {value}: {label}" if name == "evidence_level" else label
    if name == "has_results":
        return "With measured results" if value == "true" else "Without measured results"
    return f"{name.capitalize()}: {value}"


def facet_groups(
    facets: dict[str, list[dict]], *, path: str, keep: list[tuple[str, str]], active: list[tuple[str, str]]
) -> list[dict]:
    """Each dimension's values with their counts and the URL that adds (or, when chosen, removes) that filter."""
    groups = []
    for dimension in (*DIMENSIONS, "evidence_level", "area"):
        values = []
        for facet in facets.get(dimension, []):
            pair = (dimension, facet["id"])
            chosen = pair in active
            others = [p for p in active if p != pair]
            label = (
                f"Level {facet['id']}: {facet['label']}" if dimension == "evidence_level" else facet["label"]
            )
            values.append(
                {
                    "label": label,
                    "count": facet["count"],
                    "active": chosen,
                    "url": url(path, keep + (others if chosen else [*active, pair])),
                }
            )
        if values:
            groups.append({"dimension": dimension, "legend": LEGENDS[dimension], "values": values})
    return groups


# --- the catalogue table ----------------------------------------------------------------


def table_row(record: Record, taxonomy: Taxonomy) -> dict:
    def labels(dimension: str) -> list[str]:
        return [
            t["label"]
            for t in record.tags
            if t["dimension"] == dimension and t["confidence"] >= MIN_TAG_CONFIDENCE
        ]

    row = record.row
    return {
        "id": row.id,
        "title": row.title,
        "site": row.site,
        "programme": row.programme,
        "intervention_types": labels("intervention_type"),
        "population": labels("population"),
        "evidence_level": row.evidence_level,
        "evidence_label": filter_label(taxonomy, "evidence_level", row.evidence_level),
        "results": [result_figure(o, taxonomy) for o in record.outcomes if o["kind"] == "result"],
    }


def result_figure(outcome: dict, taxonomy: Taxonomy) -> dict:
    """A result as the page words it: the figure, its measure's label, its direction and any baseline, so
    "reduced from 12% to 9%" never reads as a 9% reduction."""
    measure = str(outcome.get("measure") or "")
    term = taxonomy.resolve("outcome_measure", measure) if measure else None
    label = term.label if term else measure.replace("-", " ")
    return {
        "figure": outcome["figure"],
        "label": label,
        "direction": str(outcome.get("direction") or ""),
        "baseline": str(outcome.get("baseline") or ""),
    }


def sort_headers(path: str, keep: list[tuple[str, str]], sort: str) -> dict[str, dict]:
    """For each sortable column: the URL that sorts by it (again: the other way), and its aria-sort state."""
    headers = {}
    for column, label in SORT_COLUMNS.items():
        state = "ascending" if sort == column else "descending" if sort == f"-{column}" else None
        first = f"-{column}" if column in ("evidence_level", "results") else column  # strongest first
        next_sort = column if state == "descending" else f"-{column}" if state == "ascending" else first
        headers[column] = {"label": label, "state": state, "url": url(path, [*keep, ("sort", next_sort)])}
    return headers


# --- spelling and broader queries for search ----------------------------------------------


def record_query(
    engine: Engine, *, query: str, results: int, interventions: int, top_score: float | None = None
) -> None:
    """Log a search for curators in its own short transaction; a failure is logged, never raised."""
    try:
        with Session(engine) as session:
            repo.record_query(
                session=session,
                query=query,
                results=results,
                interventions=interventions,
                top_score=top_score,
            )
    except Exception:  # why: losing one log line must never cost the reader their search
        log.warning("could not record the query %r", query[:80], exc_info=True)


def search_extras(
    request: Request,
    *,
    search: SearchService,
    catalogue: CatalogueService,
    session: Session,
    response: SearchResponse,
    sort: str,
) -> dict:
    """What the search page shows beside the passages: matching interventions and their facets, a spelling
    suggestion, and broader queries for when kb holds little on the question."""
    taxonomy = request.app.state.taxonomy
    filters = filters_from(request)
    active = filter_pairs(filters)
    found = list_interventions(
        catalogue, q=response.query, filters=filters, paging=Paging(SEARCH_INTERVENTIONS)
    )
    with_results = list_interventions(
        catalogue, q=response.query, filters=replace(filters, has_results=True), paging=Paging(1)
    ).total
    corpus = corpus_words(session, search)
    suggestion = None
    if corpus is not None and search.lexical is not None and search.lexical.retriever is not None:
        suggestion = spelling_suggestion(
            response.query,
            known=search.lexical.retriever.vocab_dict,
            words=corpus.words,
            vocabulary=search.vocabulary,
        )
    keep = [("q", response.query), ("sort", sort)]
    return {
        "interventions": [table_row(r, taxonomy) for r in sort_records(found.records, sort or None)],
        "intervention_total": found.total,
        "with_results": with_results,
        "catalogue_url": url("/catalogue", [("q", response.query), *active, ("sort", sort)]),
        "facet_groups": facet_groups(found.facets, path="/search", keep=keep, active=active),
        "removals": [
            {
                "label": filter_label(taxonomy, name, value),
                "legend": LEGENDS.get(name, name.replace("_", " ").capitalize()),
                "url": url("/search", [*keep, *(p for p in active if p != (name, value))]),
            }
            for name, value in active
        ],
        "clear_url": url("/search", keep),
        "active": active,
        "suggestion": suggestion,
        "broader": broader_queries(response.query, corpus=corpus, expansions=response.expansions),
    }


def catalogue_context(
    taxonomy: Taxonomy,
    *,
    q: str,
    sort: str,
    page: int,
    filters: Filters,
    found: Listing,
) -> dict:
    """Everything the catalogue page shows for one filter state, with a URL for every change to it."""
    records, total, facets = found.records, found.total, found.facets
    offset = (page - 1) * CATALOGUE_PAGE_SIZE
    active = filter_pairs(filters)
    keep = [("q", q.strip())]
    state = [*keep, *active, ("sort", sort)]
    rows_query = [*state, ("limit", str(CATALOGUE_PAGE_SIZE)), ("offset", str(offset))]
    pages = max(1, math.ceil(total / CATALOGUE_PAGE_SIZE))
    return {
        "q": q,
        "sort": sort,
        "rows": [table_row(r, taxonomy) for r in records],
        "total": total,
        "offset": offset,
        "page": page,
        "pages": pages,
        "previous_url": url("/catalogue", [*state, ("page", str(page - 1))]) if page > 1 else None,
        "next_url": url("/catalogue", [*state, ("page", str(page + 1))]) if page < pages else None,
        "headers": sort_headers("/catalogue", [*keep, *active], sort),
        "facet_groups": facet_groups(facets, path="/catalogue", keep=[*keep, ("sort", sort)], active=active),
        "removals": [
            {
                "label": filter_label(taxonomy, name, value),
                "legend": LEGENDS.get(name, name.replace("_", " ").capitalize()),
                "url": url("/catalogue", [*keep, ("sort", sort), *(p for p in active if p != (name, value))]),
            }
            for name, value in active
        ],
        "hidden": [p for p in active if p[0] != "evidence_level" and p != ("has_results", "true")],
        "evidence_levels": taxonomy.dimensions.get("evidence_level", ()),
        "chosen_levels": filters.values.get("evidence_level", []),
        "has_results": filters.has_results,
        "sort_columns": SORT_COLUMNS,
        "csv_url": url("/api/interventions.csv", rows_query),
        "json_url": url("/api/interventions", rows_query),
        "clear_url": url("/catalogue", keep),
    }


# --- pages ------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, catalogue: CatalogueDep) -> HTMLResponse:
    everything = list_interventions(catalogue, paging=Paging(1))
    intervention_count, facets = everything.total, everything.facets
    browse = [
        {
            "legend": LEGENDS[dimension],
            "values": [
                {"label": f["label"], "count": f["count"], "url": url("/catalogue", [(dimension, f["id"])])}
                for f in facets.get(dimension, [])
            ],
        }
        for dimension in HOME_BROWSE
    ]
    return render(
        request,
        "home.html",
        {
            "recent": repo.recent_documents(session=session, limit=8),
            "document_count": repo.count_documents(session=session, include_drafts=False),
            "passage_count": repo.count_passages(session=session),
            "intervention_count": intervention_count,
            "browse": browse,
            "examples": EXAMPLES,
        },
    )


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    search: SearchDep,
    catalogue: CatalogueDep,
    session: SessionDep,
    q: Annotated[str, Query(max_length=500)] = "",
    page: Annotated[int, Query(ge=1, le=100)] = 1,
    document: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    sort: Annotated[str, Query(pattern="^(-evidence_level|-added)?$")] = "",
) -> HTMLResponse:
    context: dict = {
        "q": q,
        "page": page,
        "document": document,
        "sort": sort,
        "sorts": SEARCH_SORTS,
        "response": None,
        "error": None,
        "interventions": [],
        "intervention_total": 0,
        "with_results": 0,
        "facet_groups": [],
        "suggestion": None,
        "broader": [],
        "answer": None,
    }
    if q.strip():
        try:
            context["response"] = response = search.search(
                q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, document_id=document
            )
        except InvalidInput as err:
            context["error"] = err.message
    if context["response"] is not None:
        context |= search_extras(
            request, search=search, catalogue=catalogue, session=session, response=response, sort=sort
        )
        if page == 1:  # the summary and the query log belong to the question, not to later pages
            context["answer"] = answer_for(request, session, catalogue, response.query)
            record_query(
                request.app.state.engine,
                query=response.query,
                results=response.total,
                interventions=context["intervention_total"],
                top_score=max((hit.score for hit in response.results), default=None),
            )
    return render(request, "search.html", context, status_code=422 if context["error"] else 200)


@router.get("/catalogue", response_class=HTMLResponse)
def catalogue_page(
    request: Request,
    session: SessionDep,
    catalogue: CatalogueDep,
    q: Annotated[str, Query(max_length=500)] = "",
    sort: Annotated[str, Query(pattern=f"({SORT_PATTERN})|^$")] = "",
    page: Annotated[int, Query(ge=1, le=2000)] = 1,
) -> HTMLResponse:
    filters = filters_from(request)
    found = list_interventions(
        catalogue,
        q=q.strip() or None,
        filters=filters,
        sort=sort or None,
        paging=Paging(CATALOGUE_PAGE_SIZE, (page - 1) * CATALOGUE_PAGE_SIZE),
    )
    context = catalogue_context(
        request.app.state.taxonomy, q=q, sort=sort, page=page, filters=filters, found=found
    )
    context["held_for_review"] = repo.count_held_for_review(session=session)
    return render(request, "catalogue.html", context)


@router.get("/documents", response_class=HTMLResponse)
def documents_page(request: Request, session: SessionDep) -> HTMLResponse:
    return render(request, "documents.html", {"documents": repo.list_documents(session=session, limit=500)})


@router.get("/documents/{document_id}", response_class=HTMLResponse)
def document_page(
    request: Request,
    session: SessionDep,
    catalogue: CatalogueDep,
    document_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> HTMLResponse:
    user = request.state.user
    doc, released = repo.get_readable_document_or_raise(
        session=session, document_id=document_id, include_drafts=user is not None and user.can("curator")
    )
    outline = repo.document_outline(doc)
    passages = repo.passages_for_document(session=session, document_id=document_id)
    blocks = reader_blocks(doc.text, outline, passages)
    if released is not None:  # a draft of which published records released some passages: only those
        blocks = [b for b in blocks if b.kind == "passage" and b.passage_id in released]
        outline = []
    return render(
        request,
        "document.html",
        {
            "doc": doc,
            "partial": released is not None,
            "outline": list(enumerate(outline)),
            "blocks": blocks,
            "metadata": json.loads(doc.metadata_json),
            "contacts": json.loads(doc.contacts_json),
            "interventions": [
                table_row(r, request.app.state.taxonomy) for r in catalogue.for_document(document_id)
            ],
        },
    )
