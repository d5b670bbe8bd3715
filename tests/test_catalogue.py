"""The catalogue: records extracted from real seed text, sites and aliases, merging, facets, export, the API."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from ingest.clean import clean_text
from ingest.interventions import find_interventions, resolve_site
from ingest.pipeline import domain_knowledge
from ingest.structure import detect_structure
from tests.conftest import SEEDS, write
from web.flows import ingest_and_index


def seed_drafts(prefix: str):
    if not SEEDS.is_dir():
        pytest.skip("the seed documents (../shared/seeds) are not beside this checkout")
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    cleaned = clean_text(path.read_text(encoding="utf-8"))
    structure = detect_structure(cleaned.text)
    vocabulary, taxonomy = domain_knowledge()
    return cleaned.text, find_interventions(
        cleaned.text, structure.sections, document_key=path.name, vocabulary=vocabulary, taxonomy=taxonomy
    )


def test_pioneer_case_studies_become_records_with_their_sites():
    text, drafts = seed_drafts("004")
    by_title = {d.title.lower(): d for d in drafts}
    kent = next(d for t, d in by_title.items() if "integrated discharge team" in t)
    assert kent.site == "Kent" and kent.programme == "Integrated Care Pioneer"
    assert any(t["dimension"] == "intervention_type" for t in kent.tags)
    for span in kent.spans:
        assert len(text[span.start : span.end]) <= 1200
    southend = next(d for d in drafts if d.title.lower() == "developing a single point of referral")
    assert "Southend" in southend.site
    assert {"62%", "132%"} <= {o["figure"] for o in southend.outcomes}


def test_site_profile_bullets_are_separate_records_linked_to_their_site():
    _, drafts = seed_drafts("000")
    salford = [d for d in drafts if d.site == "Salford Together" or "Salford" in d.site]
    # Bullets of Salford Together's "Main changes introduced" (seed 000 L726-728), each a record of its own.
    for bullet in (
        "Bringing in a new multidisciplinary crisis response team",
        "Developing an integrated care record",
        "Introducing health coaches, care navigation and social prescribing",
    ):
        assert sum(d.title.startswith(bullet) for d in salford) == 1, bullet


def test_aliases_resolve_to_one_site():
    vocabulary, _ = domain_knowledge()
    names = {
        resolve_site([alias], "", vocabulary)[1]
        for alias in [
            "Better Care Together (Morecambe Bay Health Community)",
            "Morecambe Bay",
            "Better Care Together",
        ]
    }
    assert len(names) == 1 and None not in names


def test_targets_are_never_results_in_a_plan_document():
    _, drafts = seed_drafts("001")  # a support offer: no impact outcomes at all
    assert not [o for d in drafts for o in d.outcomes if o["kind"] == "result" and "%" in o["figure"]]


@pytest.fixture
def catalogue_client(client, settings, tmp_path: Path):
    app = client.app
    folder = tmp_path / "docs"
    write(folder / "kent.txt", KENT)
    write(
        folder / "kent-again.txt",
        KENT.replace("Kent Pioneer Programme", "Kent pioneer report, second edition"),
    )
    write(folder / "islington.txt", ISLINGTON)
    ingest_and_index([folder], settings=settings, engine=app.state.engine, service=app.state.search)
    return client


KENT = """Kent Pioneer Programme

1 Case study: Kent – Integrated discharge team

The integrated discharge team was set up at Darent Valley Hospital in 2013 to bring together nurses, therapists and social workers at the front door, so that frail older people can go home the same day.

Delayed transfers of care fell by 30% between 2013 and 2014 after the team started, and readmissions reduced from 12% to 9%.

2 Case study: Kent – Care navigators

Care navigators were recruited to help people with long-term conditions find support in their own community. The service aims to reach 5,000 people by 2016.
"""

ISLINGTON = """Islington Pioneer Programme

1 Case study: Islington – Multidisciplinary team teleconferences

In 2014 we evaluated our multidisciplinary team teleconferences for complex patients: 500 patients were discussed, and emergency admissions for them reduced by 27% in the following six months.
"""


def test_facet_counts_equal_filtered_counts(catalogue_client):
    body = catalogue_client.get("/api/interventions").json()
    assert body["total"] >= 3
    for dimension in ("intervention_type", "population", "evidence_level"):
        for facet in body["facets"][dimension]:
            filtered = catalogue_client.get("/api/interventions", params={dimension: facet["id"]}).json()
            assert filtered["total"] == facet["count"], (dimension, facet)


def test_the_same_intervention_in_two_documents_is_merged(catalogue_client):
    body = catalogue_client.get("/api/interventions", params={"limit": 100}).json()
    discharge = [r for r in body["results"] if "discharge" in r["title"].lower()]
    assert len(discharge) == 1
    sources = {p["source"] for p in discharge[0]["passages"]}
    assert sources == {"kent.txt", "kent-again.txt"}


def test_outcomes_keep_targets_apart(catalogue_client):
    body = catalogue_client.get("/api/interventions", params={"limit": 100}).json()
    navigators = next(r for r in body["results"] if "navigator" in r["title"].lower())
    assert all(o["kind"] != "result" for o in navigators["outcomes"])
    assert not navigators["has_results"]
    discharge = next(r for r in body["results"] if "discharge" in r["title"].lower())
    assert any(o["kind"] == "result" and o["figure"] == "30%" for o in discharge["outcomes"])
    with_results = catalogue_client.get("/api/interventions", params={"has_results": "true"}).json()
    assert navigators["id"] not in {r["id"] for r in with_results["results"]}


def test_export_equals_the_listed_records(catalogue_client):
    params = {"has_results": "true"}
    listed = catalogue_client.get("/api/interventions", params=params).json()["results"]
    exported = catalogue_client.get("/api/interventions.csv", params=params)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(r["id"]) for r in rows] == [r["id"] for r in listed]
    assert [r["title"] for r in rows] == [r["title"] for r in listed]
    same = catalogue_client.get("/api/interventions", params=params | {"format": "csv"})
    assert same.text == exported.text


def test_detail_has_comparable_with_reasons_and_passages(catalogue_client):
    listed = catalogue_client.get("/api/interventions").json()["results"]
    kent = next(r for r in listed if "discharge" in r["title"].lower())
    detail = catalogue_client.get(f"/api/interventions/{kent['id']}").json()
    for key in (
        "id",
        "title",
        "site",
        "programme",
        "summary",
        "tags",
        "outcomes",
        "evidence_level",
        "passages",
    ):
        assert key in detail
    assert all({"source", "text", "char_start", "char_end"} <= set(p) for p in detail["passages"])
    assert all(t["provenance"] and 0 < t["confidence"] <= 1 for t in detail["tags"])
    assert detail["comparable"] and all(c["reason"] for c in detail["comparable"])
    assert all(c["site"] != "Kent" for c in detail["comparable"])


def test_bad_catalogue_parameters_are_4xx(catalogue_client):
    for url in [
        "/api/interventions?intervention_type=no-such-thing",
        "/api/interventions?limit=100000",
        "/api/interventions?has_results=maybe",
        "/api/interventions/0",
        "/api/interventions/424242",
        "/api/sites/no-such-site",
        "/api/interventions?format=xml",
    ]:
        response = catalogue_client.get(url)
        assert 400 <= response.status_code < 500, url
        assert response.json()["error"]


def test_taxonomy_and_sites(catalogue_client):
    taxonomy = catalogue_client.get("/api/taxonomy").json()
    assert {
        "care_model",
        "intervention_type",
        "population",
        "setting",
        "enabler",
        "outcome_measure",
        "evidence_level",
    } <= set(taxonomy["dimensions"])
    sites = catalogue_client.get("/api/sites").json()["results"]
    kent = next(s for s in sites if s["name"] == "Kent")
    assert kent["intervention_count"] >= 2
    detail = catalogue_client.get(f"/api/sites/{kent['id']}").json()
    assert detail["interventions"] and all(i["site"] == "Kent" for i in detail["interventions"])


CURATED = """---
id: kent-idt-curated
title: Kent's integrated discharge team at the front door
site: Kent
programme: Integrated Care Pioneer
care_model: pioneer
intervention_types: [discharge and reablement, multidisciplinary team]
population: [frail older people]
setting: [acute]
evidence_level: 2
outcomes:
  - measure: delayed transfers
    direction: decrease
    figure: "30%"
    kind: result
    period: "2013 to 2014"
source:
  document: kent.txt
  location: "§1 Case study: Kent – Integrated discharge team, lines 3–7"
---
## What was done

A team of nurses, therapists and social workers at the hospital front door helps frail older people home.

## Results

Delayed transfers fell by 30% in a year.
"""


def test_a_curated_record_takes_precedence_over_the_automatic_one(client, settings, tmp_path: Path):
    app = client.app
    write(tmp_path / "docs" / "kent.txt", KENT)
    write(tmp_path / "docs" / "kent-idt.md", CURATED)
    ingest_and_index(
        [tmp_path / "docs"], settings=settings, engine=app.state.engine, service=app.state.search
    )
    records = client.get("/api/interventions", params={"limit": 100}).json()["results"]
    discharge = [r for r in records if "discharge" in r["title"].lower()]
    assert [r["origin"] for r in discharge] == ["curated"]
    curated = discharge[0]
    assert curated["title"] == "Kent's integrated discharge team at the front door"
    assert {p["source"] for p in curated["passages"]} == {"kent-idt.md", "kent.txt"}
    assert all(t["provenance"] == "curator" for t in curated["tags"])
    assert [o["figure"] for o in curated["outcomes"]] == ["30%"]
    assert any(
        "navigator" in r["title"].lower() for r in records
    )  # the other intervention stays its own record


def test_the_reader_lists_the_interventions_found_in_the_document(catalogue_client):
    documents = catalogue_client.get("/api/documents").json()["results"]
    kent = next(d for d in documents if d["source"] == "kent.txt")
    page = catalogue_client.get(f"/documents/{kent['id']}").text
    assert "Interventions found in this document" in page
    assert "Integrated discharge team" in page and 'href="/interventions/' in page


def test_the_csv_export_never_hands_a_spreadsheet_a_formula():
    from web.routes.catalogue import spreadsheet_safe

    assert spreadsheet_safe('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    for risky in ("+1", "-1+2", "@SUM(A1)", "\t=1"):
        assert spreadsheet_safe(risky).startswith("'")
    assert spreadsheet_safe("Care home huddles") == "Care home huddles"


def test_merges_made_after_ingest_are_stored_where_curators_see_them(catalogue_client, curator):
    """The fold is a stored decision (one merge mechanism, kb.curation.fold), not a read-time view: the
    duplicate is rejected as "merged into #N" in the database, its address shows the record it went into,
    and a curator finds it under "rejected" and can publish it again."""
    from sqlmodel import Session, select

    from kb.store.models import Intervention
    from tests.conftest import post_form

    with Session(catalogue_client.app.state.engine) as session:
        discharge = session.exec(
            select(Intervention).where(Intervention.title.contains("discharge")).order_by(Intervention.id)  # type: ignore[attr-defined]
        ).all()
    kept, folded = discharge
    assert kept.status == "published" and folded.status == "rejected"
    assert folded.review_note == f"merged into #{kept.id}"
    assert folded.key in json.loads(kept.merged_keys_json)
    assert catalogue_client.get(f"/api/interventions/{folded.id}").json()["id"] == kept.id
    assert f"merged into #{kept.id}" in curator.get("/curate/queue?status=rejected").text
    assert post_form(curator, f"/curate/interventions/{folded.id}/publish").status_code == 200
    listed = catalogue_client.get("/api/interventions", params={"limit": 100}).json()["results"]
    assert {kept.id, folded.id} <= {r["id"] for r in listed}  # the curator's decision stands
