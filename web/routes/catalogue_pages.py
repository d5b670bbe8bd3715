"""Server-rendered catalogue pages: an intervention, a comparison, the evidence map, sites and a site."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session, select

from kb.errors import InvalidInput, NotFound
from kb.store import repo
from kb.store.models import SiteRecord
from kb.taxonomy import Taxonomy
from search.catalogue import MIN_TAG_CONFIDENCE, CatalogueService, Filters, Record
from search.listing import EVERY, list_interventions
from web.deps import SessionDep, SiteIdPath
from web.evidence_map import ROW_DIMENSIONS, build_evidence_map
from web.evidence_svg import draw
from web.render import render
from web.routes.areas import area_context
from web.routes.catalogue import CatalogueDep
from web.routes.community import community_context

router = APIRouter(include_in_schema=False)

DIMENSION_LABELS = {
    "care_model": "Care model",
    "intervention_type": "Intervention type",
    "population": "Population",
    "setting": "Setting",
    "enabler": "Enablers",
    "outcome_measure": "Outcome measures",
}
KIND_ORDER = ("result", "activity", "baseline", "target", "projection", "illustrative")
PASSAGE_CHARS = 400
COMPARE_MIN, COMPARE_MAX = 2, 4


# --- view models: plain dicts the templates read, built without touching the request -------------------


def trim(text: str, limit: int = PASSAGE_CHARS) -> str:
    """The text cut at a word boundary near `limit` characters, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.–- ") + "…"


def label(taxonomy: Taxonomy, dimension: str, value: str) -> str:
    """A term's label, or the value as stored when the taxonomy does not know it."""
    term = taxonomy.resolve(dimension, value) if value else None
    return term.label if term else value


def evidence(taxonomy: Taxonomy, record: Record) -> dict[str, Any]:
    level = record.row.evidence_level
    term = taxonomy.resolve("evidence_level", level)
    return {
        "level": level,
        "label": term.label if term else "Unknown",
        "meaning": term.description if term else "",
        "confidence": record.row.evidence_confidence,
        "provenance": record.row.evidence_provenance,
        "scale": taxonomy.scale.get("name", "Nesta Standards of Evidence"),
    }


def tag_groups(record: Record) -> list[dict[str, Any]]:
    """Tags grouped by dimension in taxonomy order, the most confident first in each group."""
    groups = []
    for dimension, heading in DIMENSION_LABELS.items():
        tags = sorted(
            (t for t in record.tags if t["dimension"] == dimension), key=lambda t: -float(t["confidence"])
        )
        if tags:
            groups.append({"dimension": dimension, "heading": heading, "tags": tags})
    return groups


def outcome_rows(taxonomy: Taxonomy, record: Record) -> tuple[list[dict], list[dict]]:
    """(results, everything else): a target, projection or baseline is never listed among the results."""

    def view(outcome: dict) -> dict:
        kind = outcome.get("kind") or "illustrative"
        return outcome | {
            "measure_label": label(taxonomy, "outcome_measure", outcome.get("measure") or ""),
            "kind": kind,
            "kind_label": label(taxonomy, "outcome_kind", kind),
        }

    rows = [view(o) for o in record.outcomes]
    rank = {kind: n for n, kind in enumerate(KIND_ORDER)}
    results = [o for o in rows if o["kind"] == "result"]
    others = sorted((o for o in rows if o["kind"] != "result"), key=lambda o: rank.get(o["kind"], len(rank)))
    return results, others


def source_documents(records: list[Record], titles: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """The documents behind these records, once each: each record's own document, then those its passages cite
    (titled from `titles` when given, else by their source file name)."""
    titles = titles or {}
    documents: dict[int, dict[str, Any]] = {}
    for record in records:
        if record.document:
            documents.setdefault(record.document["id"], dict(record.document))
    for record in records:
        for passage in record.passages:
            document_id = passage.get("document_id")
            if document_id is not None and document_id not in documents:
                source = passage.get("source") or f"Document {document_id}"
                documents[document_id] = {
                    "id": document_id,
                    "title": titles.get(document_id) or source,
                    "source": source,
                }
    return [doc | {"url": f"/documents/{doc['id']}"} for doc in documents.values()]


def document_titles(session: Session, records: list[Record]) -> dict[int, str]:
    """Titles of the documents these records' passages cite, which the records themselves do not carry."""
    ids = {p["document_id"] for r in records for p in r.passages if p.get("document_id") is not None}
    return {key: doc.title for key, doc in repo.documents_by_ids(session=session, document_ids=ids).items()}


def passage_views(record: Record) -> list[dict[str, Any]]:
    return [
        {
            "text": trim(p.get("text") or ""),
            "source": p.get("source") or "",
            "field": p.get("field") or "",
            "url": p.get("url") or "",
        }
        for p in record.passages
    ]


def citation(record: Record, *, record_url: str, retrieved: date, titles: dict[int, str]) -> str:
    row = record.row
    sources = "; ".join(
        doc["source"] if doc["title"] == doc["source"] else f"{doc['title']} ({doc['source']})"
        for doc in source_documents([record], titles)
    )
    parts = [row.title, row.site or "Site not named", f"kb record {record_url}"]
    if sources:
        parts.append(f"Source: {sources}")
    parts.append(f"Retrieved {retrieved.isoformat()}")
    return ". ".join(p.rstrip(".") for p in parts) + "."


def intervention_view(
    record: Record,
    *,
    taxonomy: Taxonomy,
    comparable: list[tuple[Record, float, str]],
    record_url: str,
    retrieved: date,
    titles: dict[int, str],
) -> dict[str, Any]:
    results, others = outcome_rows(taxonomy, record)
    contacts = json.loads(record.row.contacts_json or "[]")
    return {
        "record": record,
        "row": record.row,
        "evidence": evidence(taxonomy, record),
        "tag_groups": tag_groups(record),
        "results": results,
        "other_outcomes": others,
        "passages": passage_views(record),
        "comparable": [{"record": other, "reason": reason} for other, _score, reason in comparable],
        "contacts": [c if isinstance(c, str) else ", ".join(map(str, c.values())) for c in contacts],
        "citation": citation(record, record_url=record_url, retrieved=retrieved, titles=titles),
        "min_confidence": MIN_TAG_CONFIDENCE,
    }


def compare_column(taxonomy: Taxonomy, record: Record, titles: dict[int, str]) -> dict[str, Any]:
    def labels(dimension: str) -> list[str]:
        return sorted(label(taxonomy, dimension, v) for v in record.values(dimension))

    results, others = outcome_rows(taxonomy, record)
    return {
        "record": record,
        "row": record.row,
        "population": labels("population"),
        "setting": labels("setting"),
        "intervention_type": labels("intervention_type"),
        "enabler": labels("enabler"),
        "results": results,
        "other_outcomes": others,
        "evidence": evidence(taxonomy, record),
        "documents": source_documents([record], titles),
    }


def parse_ids(raw: str) -> list[int]:
    """2 to 4 distinct intervention ids from "1,2,3"; raises InvalidInput otherwise."""
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not all(p.isdecimal() and 1 <= int(p) <= 2**31 - 1 for p in parts):  # isdigit() takes '²'
        raise InvalidInput("ids must be intervention numbers separated by commas, for example ids=1,2.")
    ids = list(dict.fromkeys(int(p) for p in parts))
    if not COMPARE_MIN <= len(ids) <= COMPARE_MAX:
        raise InvalidInput(
            f"Choose between {COMPARE_MIN} and {COMPARE_MAX} different interventions to compare."
        )
    return ids


def records_for_comparison(catalogue: CatalogueService, ids: list[int]) -> list[Record]:
    """The records to compare; an unknown id is a mistake in the address (422), not a missing page."""
    records: dict[int, Record] = {}
    for intervention_id in ids:
        try:
            record = catalogue.get(intervention_id)
        except NotFound as err:
            raise InvalidInput(f"{err.message} Check the ids in the address.") from err
        records.setdefault(record.row.id, record)  # type: ignore[arg-type]
    if len(records) < COMPARE_MIN:
        raise InvalidInput("Those ids are the same intervention; choose at least two different ones.")
    return list(records.values())


def site_row(taxonomy: Taxonomy, site: SiteRecord, records: list[Record]) -> dict[str, Any]:
    return {
        "site": site,
        "type_label": label(taxonomy, "care_model", site.type),  # site types are care model ids or synonyms
        "aliases": json.loads(site.aliases_json or "[]"),
        "records": records,
        "count": len(records),
        "url": f"/sites/{site.id}",
    }


# --- routes ------------------------------------------------------------------------------------------


@router.get("/interventions/{intervention_id}", response_class=HTMLResponse)
def intervention_page(
    request: Request,
    session: SessionDep,
    catalogue: CatalogueDep,
    intervention_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> HTMLResponse:
    record = catalogue.get(intervention_id)
    view = intervention_view(
        record,
        taxonomy=request.app.state.taxonomy,
        comparable=catalogue.comparable(record.row.id),  # type: ignore[arg-type]
        record_url=str(request.url_for("intervention_page", intervention_id=record.row.id)),
        retrieved=date.today(),
        titles=document_titles(session, [record]),
    )
    view |= community_context(
        session=session,
        intervention_id=record.row.id,  # type: ignore[arg-type]
        user=request.state.user,
    )
    return render(request, "intervention.html", view)


@router.get("/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    session: SessionDep,
    catalogue: CatalogueDep,
    ids: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    # ids=1,2 from a link, or ids=1&ids=2 from the catalogue's checkboxes
    records = records_for_comparison(
        catalogue, parse_ids(",".join(request.query_params.getlist("ids")) or ids)
    )
    taxonomy, titles = request.app.state.taxonomy, document_titles(session, records)
    return render(
        request, "compare.html", {"columns": [compare_column(taxonomy, r, titles) for r in records]}
    )


@router.get("/evidence-map", response_class=HTMLResponse)
def evidence_map_page(
    request: Request,
    catalogue: CatalogueDep,
    rows: Annotated[str, Query(max_length=50)] = "intervention_type",
) -> HTMLResponse:
    if rows not in ROW_DIMENSIONS:
        raise InvalidInput(f"rows must be one of: {', '.join(ROW_DIMENSIONS)}.")
    taxonomy = request.app.state.taxonomy
    grid = build_evidence_map(
        list_interventions(catalogue, paging=EVERY).records, taxonomy=taxonomy, rows=rows
    )
    return render(
        request,
        "evidence_map.html",
        {
            "grid": grid,
            "row_label": ROW_DIMENSIONS[rows],
            "row_choices": ROW_DIMENSIONS,
            "levels": taxonomy.dimensions["evidence_level"],
            "picture": draw(
                grid,
                level_labels={t.id: t.label for t in taxonomy.dimensions["evidence_level"]},
                row_label=ROW_DIMENSIONS[rows],
            ),
        },
    )


@router.get("/sites", response_class=HTMLResponse)
def sites_page(request: Request, session: SessionDep, catalogue: CatalogueDep) -> HTMLResponse:
    by_site: dict[str, list[Record]] = {}
    for record in list_interventions(catalogue, paging=EVERY).records:
        if record.row.site_id:
            by_site.setdefault(record.row.site_id, []).append(record)
    # Sites are a small reference table with no storage function yet; the JSON API reads it the same way.
    sites = session.exec(select(SiteRecord).order_by(SiteRecord.name)).all()
    taxonomy = request.app.state.taxonomy
    return render(
        request, "sites.html", {"sites": [site_row(taxonomy, s, by_site.get(s.id, [])) for s in sites]}
    )


@router.get("/sites/{site_id}", response_class=HTMLResponse)
def site_page(
    request: Request,
    session: SessionDep,
    catalogue: CatalogueDep,
    site_id: SiteIdPath,
) -> HTMLResponse:
    site = session.get(SiteRecord, site_id)
    if site is None:
        raise NotFound(f"No site with id {site_id!r}.")
    records = list_interventions(catalogue, filters=Filters(site=site_id), paging=EVERY).records
    taxonomy = request.app.state.taxonomy
    return render(
        request,
        "site.html",
        site_row(taxonomy, site, records)
        | {
            "evidence": {r.row.id: evidence(taxonomy, r) for r in records},
            "documents": source_documents(records, document_titles(session, records)),
        }
        | area_context(session, catalogue, site_id),
    )
