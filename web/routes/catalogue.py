"""Catalogue API: the taxonomy, interventions with filters, facets and export, comparable interventions, sites."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import select

from kb.errors import NotFound
from kb.store.models import SiteRecord
from search.catalogue import DIMENSIONS, MAX_LIMIT, CatalogueService, Filters, Record
from search.listing import EVERY, Paging, filters_from_pairs, list_interventions
from web.deps import IdPath, SessionDep, SiteIdPath
from web.errors import error_responses

router = APIRouter(prefix="/api", tags=["catalogue"])
SORT_PATTERN = "^-?(title|site|evidence_level|results|added)$"
CSV_CONTENT = {"text/csv": {"schema": {"type": "string"}}}


def _filter_parameter(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


# The filters, as /openapi.json lists them: filters_from reads them from the query string itself (the pages share
# it), so they are described here rather than declared as the routes' parameters.
FILTER_PARAMETERS = [
    *(
        _filter_parameter(
            name,
            f"{name} term ids from /api/taxonomy; repeat the parameter or separate ids with commas; all must hold "
            "(an unknown id is refused with 422)",
            {"type": "array", "items": {"type": "string"}},
        )
        for name in (*DIMENSIONS, "evidence_level")
    ),
    _filter_parameter(
        "area",
        "area characteristics of the record's site (rural, urban, population-over-300000, older-than-average, …); "
        "repeat the parameter or separate them with commas; all must hold",
        {"type": "array", "items": {"type": "string"}},
    ),
    _filter_parameter("site", "a site's id (from /api/sites) or name", {"type": "string"}),
    _filter_parameter("programme", "a programme's name", {"type": "string"}),
    _filter_parameter(
        "has_results",
        "only records that report (true) or do not report (false) a measured result",
        {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no"]},
    ),
    _filter_parameter("origin", "auto (found in a document) or curated", {"type": "string"}),
]
CSV_COLUMNS = [
    "id",
    "title",
    "site",
    "programme",
    "care_model",
    "intervention_types",
    "population",
    "setting",
    "outcome_measures",
    "evidence_level",
    "has_results",
    "results",
    "source",
    "summary",
]


def get_catalogue(request: Request) -> CatalogueService:
    return request.app.state.catalogue


CatalogueDep = Annotated[CatalogueService, Depends(get_catalogue)]


def filters_from(request: Request) -> Filters:
    """The catalogue filters the request's query string names (search.listing.filters_from_pairs)."""
    return filters_from_pairs(request.query_params.multi_items())


def public(record: Record, *, full: bool = True) -> dict[str, Any]:
    row = record.row
    out: dict[str, Any] = {
        "id": row.id,
        "title": row.title,
        "site": row.site,
        "site_id": row.site_id,
        "programme": row.programme,
        "care_model": row.care_model,
        "summary": row.summary,
        "evidence_level": row.evidence_level,
        "evidence": {
            "level": row.evidence_level,
            "confidence": row.evidence_confidence,
            "provenance": row.evidence_provenance,
            "scale": "Nesta Standards of Evidence (0 = plan only)",
        },
        "has_results": any(o["kind"] == "result" for o in record.outcomes),
        "origin": row.origin,
        "tags": record.tags,
        "outcomes": record.outcomes,
        "passages": [
            {k: p.get(k) for k in ("source", "text", "char_start", "char_end", "field", "passage_id", "url")}
            for p in record.passages
        ],
        "document": record.document,
        "url": f"/interventions/{row.id}",
    }
    if full:
        out |= {
            "context": row.context,
            "implementation": row.implementation,
            "lessons": row.lessons,
            "barriers": row.barriers,
            "merged": record.merged,
        }
    return out


def spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (members' text reaches the export once published)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_row(record: Record) -> dict[str, str]:
    def labels(dimension: str) -> str:
        return "; ".join(
            t["label"] for t in record.tags if t["dimension"] == dimension and t["confidence"] >= 0.5
        )

    row = record.row
    results = "; ".join(f"{o['measure']}: {o['figure']}" for o in record.outcomes if o["kind"] == "result")
    return {
        "id": str(row.id),
        "title": row.title,
        "site": row.site,
        "programme": row.programme,
        "care_model": labels("care_model"),
        "intervention_types": labels("intervention_type"),
        "population": labels("population"),
        "setting": labels("setting"),
        "outcome_measures": labels("outcome_measure"),
        "evidence_level": row.evidence_level,
        "has_results": "yes" if results else "no",
        "results": results,
        "source": (record.document or {}).get("source", ""),
        "summary": row.summary,
    }


def to_csv(records: list[Record]) -> Response:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows({k: spreadsheet_safe(v) for k, v in csv_row(r).items()} for r in records)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="interventions.csv"'},
    )


@router.get("/taxonomy")
def taxonomy(request: Request) -> dict:
    return request.app.state.taxonomy.as_dict()


def _list(
    request: Request,
    catalogue: CatalogueService,
    q: str | None,
    limit: int,
    offset: int,
    fmt: str,
    sort: str | None = None,
) -> Response:
    filters = filters_from(request)
    listing = list_interventions(catalogue, q=q, filters=filters, sort=sort, paging=Paging(limit, offset))
    if fmt == "csv":
        return to_csv(listing.records)
    return JSONResponse(
        {
            "results": [public(r, full=False) for r in listing.records],
            "total": listing.total,
            "limit": limit,
            "offset": offset,
            "facets": listing.facets,
            "filters": filters.active(),
        }
    )


@router.get(
    "/interventions",
    summary="Interventions, filtered, with facet counts for every dimension",
    responses={200: {"content": CSV_CONTENT, "description": "JSON, or CSV with format=csv"}}
    | error_responses(422),
    openapi_extra={"parameters": FILTER_PARAMETERS},
)
def interventions(
    request: Request,
    catalogue: CatalogueDep,
    q: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=100000)] = 0,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
    sort: Annotated[str | None, Query(pattern=SORT_PATTERN)] = None,
) -> Response:
    return _list(request, catalogue, q, limit, offset, format, sort)


@router.get(
    "/interventions.csv",
    summary="The same list as CSV",
    response_class=Response,
    responses={200: {"content": CSV_CONTENT, "description": "CSV"}} | error_responses(422),
    openapi_extra={"parameters": FILTER_PARAMETERS},
)
def interventions_csv(
    request: Request,
    catalogue: CatalogueDep,
    q: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
    offset: Annotated[int, Query(ge=0, le=100000)] = 0,
    sort: Annotated[str | None, Query(pattern=SORT_PATTERN)] = None,
) -> Response:
    return _list(request, catalogue, q, limit, offset, "csv", sort)


@router.get("/interventions/{intervention_id}", responses=error_responses(404, 422))
def intervention(catalogue: CatalogueDep, intervention_id: IdPath) -> dict:
    record = catalogue.get(intervention_id)
    return public(record) | {
        "comparable": [
            {
                "id": other.row.id,
                "title": other.row.title,
                "site": other.row.site,
                "score": score,
                "reason": reason,
                "url": f"/interventions/{other.row.id}",
            }
            for other, score, reason in catalogue.comparable(record.row.id)  # type: ignore[arg-type]
        ]
    }


def _site_public(site: SiteRecord, records: list[Record]) -> dict:
    documents = {r.document["id"]: r.document for r in records if r.document}
    return {
        "id": site.id,
        "name": site.name,
        "type": site.type,
        "place": site.place,
        "aliases": json.loads(site.aliases_json),
        "population": site.population,
        "intervention_count": len(records),
        "documents": list(documents.values()),
        "url": f"/sites/{site.id}",
    }


@router.get("/sites")
def sites(session: SessionDep, catalogue: CatalogueDep) -> dict:
    counts: dict[str, list[Record]] = {}
    for record in list_interventions(catalogue, paging=EVERY).records:
        if record.row.site_id:
            counts.setdefault(record.row.site_id, []).append(record)
    rows = session.exec(select(SiteRecord).order_by(SiteRecord.name)).all()
    return {"results": [_site_public(s, counts.get(s.id, [])) for s in rows], "total": len(rows)}


@router.get("/sites/{site_id}", responses=error_responses(404, 422))
def site(session: SessionDep, catalogue: CatalogueDep, site_id: SiteIdPath) -> dict:
    found = session.get(SiteRecord, site_id)
    if found is None:
        raise NotFound(f"No site with id {site_id!r}.")
    records = list_interventions(catalogue, filters=Filters(site=site_id), paging=Paging(MAX_LIMIT)).records
    return _site_public(found, records) | {
        "characteristics": {
            name: {
                "value": c.value,
                "as_written": c.as_written,
                "quote": c.quote,
                "confidence": c.confidence,
                "provenance": c.provenance,
                "document_id": c.document_id,
                "passage_id": c.passage_id,
            }
            for name, c in catalogue.areas.get(site_id, {}).items()
        },
        "similar_url": f"/api/sites/{site_id}/similar",
        "interventions": [public(r, full=False) for r in records],
    }
