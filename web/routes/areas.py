"""Areas like mine: a site's characteristics with their sources, a curator's corrections, and the sites whose
areas are most like it (GET /api/sites/{id}/similar and the site page)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from kb import site_profiles
from kb.errors import NotFound
from kb.store import repo
from kb.store.models import SiteCharacteristic, SiteRecord
from search.areas import AREA_LABELS, area_terms, describe, similar_sites
from search.catalogue import CatalogueService
from web.auth import CsrfDep, CuratorDep
from web.deps import SessionDep, SiteIdPath
from web.errors import error_responses
from web.routes.catalogue import CatalogueDep

router = APIRouter(tags=["catalogue"])
SIMILAR = 8


def site_or_raise(session: Session, site_id: str) -> SiteRecord:
    site = session.get(SiteRecord, site_id)
    if site is None:
        raise NotFound(f"No site with id {site_id!r}.")
    return site


def population_display(row: SiteCharacteristic) -> str:
    """A population as the document words it ("more than 320,000"), or as a curator set it (320,000)."""
    if row.provenance != "curator" and row.as_written:
        return row.as_written
    return f"{float(row.value):,.0f}" if row.value.isdigit() else row.value


def statement_view(row: SiteCharacteristic, titles: dict[int, str]) -> dict[str, Any]:
    source = ""
    if row.document_id is not None:
        anchor = f"#passage-{row.passage_id}" if row.passage_id else ""
        source = f"/documents/{row.document_id}{anchor}"
    return {
        "name": row.name,
        "label": site_profiles.CHARACTERISTICS.get(row.name, row.name),
        "value": row.value,
        "display": population_display(row) if row.name == "population" else row.value,
        "as_written": row.as_written,
        "quote": row.quote,
        "confidence": row.confidence,
        "provenance": row.provenance,
        "document_id": row.document_id,
        "document": titles.get(row.document_id or 0, ""),
        "passage_id": row.passage_id,
        "url": source,
    }


def characteristics_view(session: Session, site_id: str) -> tuple[list[dict], list[dict]]:
    """(the statement in force for each characteristic, every other statement), each with its source."""
    rows = site_profiles.characteristics_for_site(session=session, site_id=site_id)
    ids = {r.document_id for r in rows if r.document_id is not None}
    titles = {k: d.title for k, d in repo.documents_by_ids(session=session, document_ids=ids).items()}
    in_force: dict[str, dict] = {}
    others = []
    for row in rows:
        view = statement_view(row, titles)
        if row.name in in_force:
            others.append(view)
        else:
            in_force[row.name] = view
    return [v for v in in_force.values() if v["value"]], others


def similar_view(session: Session, catalogue: CatalogueService, site_id: str) -> list[dict[str, Any]]:
    catalogue.ensure_fresh()
    found = similar_sites(catalogue.areas, site_id, limit=SIMILAR)
    names: dict[str, str] = {}
    out = []
    for other, score, reasons in found:
        site = session.get(SiteRecord, other)
        names[other] = site.name if site else other
        count = sum(1 for key in catalogue.order if catalogue.records[key].row.site_id == other)
        out.append(
            {
                "id": other,
                "name": names[other],
                "score": score,
                "reasons": reasons,
                "characteristics": describe(catalogue.areas.get(other)),
                "interventions": count,
                "url": f"/sites/{other}",
                "interventions_url": "/catalogue?" + urlencode({"site": other}),
            }
        )
    return out


def area_context(session: Session, catalogue: CatalogueService, site_id: str) -> dict[str, Any]:
    """What the site page shows of the area: characteristics, other statements, areas like it, and the catalogue
    filtered to areas with the same characteristics."""
    characteristics, other_statements = characteristics_view(session, site_id)
    terms = sorted(area_terms(catalogue.areas.get(site_id)), key=list(AREA_LABELS).index)
    return {
        "characteristics": characteristics,
        "other_statements": other_statements,
        "similar": similar_view(session, catalogue, site_id),
        "area_terms": [{"id": t, "label": AREA_LABELS[t]} for t in terms],
        "areas_like_url": "/catalogue?" + urlencode([("area", t) for t in terms]) if terms else "",
        "editable": site_profiles.CHARACTERISTICS,
        "categories": site_profiles.CATEGORIES,
    }


@router.get(
    "/api/sites/{site_id}/similar",
    summary="Sites whose areas are most like this one, with the reasons",
    responses=error_responses(404, 422),
)
def similar(session: SessionDep, catalogue: CatalogueDep, site_id: SiteIdPath) -> dict:
    site_or_raise(session, site_id)
    catalogue.ensure_fresh()
    return {
        "site": site_id,
        "characteristics": describe(catalogue.areas.get(site_id)),
        "results": similar_view(session, catalogue, site_id),
    }


@router.post("/curate/sites/{site_id}/characteristics", include_in_schema=False, dependencies=[CsrfDep])
def set_characteristic(
    session: SessionDep,
    user: CuratorDep,
    site_id: SiteIdPath,
    name: Annotated[str, Form(max_length=50)],
    value: Annotated[str, Form(max_length=400)] = "",
) -> RedirectResponse:
    site_profiles.set_characteristic(
        session=session, site_id=site_id, name=name, value=value, user_id=user.id
    )
    repo.bump_generation(
        session=session, passage_ids=[]
    )  # every process reloads the catalogue's area filters
    session.commit()
    return RedirectResponse(f"/sites/{site_id}#characteristics", status_code=303)
