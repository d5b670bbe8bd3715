"""The catalogue pages: intervention, compare, evidence map, sites, their error pages, and the evidence grid."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from kb.store.models import Intervention
from kb.taxonomy import load_taxonomy
from search.catalogue import Record
from tests.conftest import write
from tests.test_catalogue import CURATED, ISLINGTON, KENT
from web.evidence_map import build_evidence_map, catalogue_url
from web.routes import catalogue_pages
from web.routes.catalogue_pages import parse_ids, trim


def with_pages(app):
    """The app with this router included, unless app.py already includes it."""
    if not any(getattr(r, "path", None) == "/evidence-map" for r in app.routes):
        app.include_router(catalogue_pages.router)
    return app


@pytest.fixture
def pages(settings, tmp_path: Path):
    from web.app import create_app
    from web.flows import ingest_and_index

    app = with_pages(create_app(settings))
    with TestClient(app) as client:
        folder = tmp_path / "docs"
        write(folder / "kent.txt", KENT)
        write(folder / "kent-idt.md", CURATED)
        write(folder / "islington.txt", ISLINGTON)
        ingest_and_index([folder], settings=settings, engine=app.state.engine, service=app.state.search)
        yield client


def listed(client) -> dict[str, dict]:
    results = client.get("/api/interventions", params={"limit": 100}).json()["results"]
    return {r["title"]: r for r in results}


def find(client, word: str) -> dict:
    return next(r for title, r in listed(client).items() if word in title.lower())


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def assert_error_page(response, status: int) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>" in response.text and "Traceback" not in response.text


# --- intervention ------------------------------------------------------------------------------------


def test_intervention_page_shows_record_outcomes_passages_and_citation(pages):
    discharge = find(pages, "discharge")
    response = pages.get(f"/interventions/{discharge['id']}")
    assert response.status_code == 200
    html = response.text
    assert "<h1>Kent&#39;s integrated discharge team at the front door</h1>" in html
    assert '<a href="/sites/kent">Kent</a>' in html
    assert "Level 2: Before-and-after data" in html
    assert "without a comparison" in html  # what the level means, in plain English
    assert '<caption id="results-caption">Results' in html
    results = html.split('id="results-caption"')[1].split("</table>")[0]
    assert "30%" in results and "Delayed transfers of care" in results
    assert "curator" in html  # provenance of the tags
    assert "Frail older people" in html


def test_a_target_is_labelled_a_target_not_a_result(pages):
    navigators = find(pages, "navigator")
    html = pages.get(f"/interventions/{navigators['id']}").text
    assert "No measured results are reported" in html
    assert 'id="results-caption"' not in html
    other = html.split('id="other-caption"')[1].split("</table>")[0]
    assert "5,000" in other and '<span class="kind kind-target">Target</span>' in other
    assert "Targets, plans and context" in html
    assert "Level 0: Plan only" in html


def test_citation_links_open_the_reader_at_the_passage(pages):
    discharge = find(pages, "discharge")
    html = pages.get(f"/interventions/{discharge['id']}").text
    links = re.findall(r'href="(/documents/\d+#passage-\d+)"', html)
    assert links
    for link in links:
        path, anchor = link.split("#")
        reader = pages.get(path)
        assert reader.status_code == 200
        assert f'id="{anchor}"' in reader.text
    assert "Source: kent.txt" in html and "Source: kent-idt.md" in html


def test_passages_are_trimmed():
    assert trim("word " * 200).endswith("…") and len(trim("word " * 200)) <= 401
    assert trim("short text") == "short text"


def test_comparable_interventions_show_their_reasons(pages):
    islington = find(pages, "teleconference")
    html = pages.get(f"/interventions/{islington['id']}").text
    comparable = pages.get(f"/api/interventions/{islington['id']}").json()["comparable"]
    assert comparable
    for other in comparable:
        assert f'href="/interventions/{other["id"]}"' in html
        assert f"Why: {other['reason']}" in text_of(html)


def test_cite_this_block(pages):
    discharge = find(pages, "discharge")
    html = pages.get(f"/interventions/{discharge['id']}").text
    citation = unescape(html.split('id="citation"')[1].split("</textarea>")[0])
    assert "Kent's integrated discharge team at the front door" in citation
    assert f"http://testserver/interventions/{discharge['id']}" in citation
    assert "kent-idt.md" in citation and "Kent Pioneer Programme (kent.txt)" in citation
    assert "Retrieved 20" in citation
    assert '<label class="label" for="citation">' in html


def test_unknown_intervention_is_a_404_page(pages):
    assert_error_page(pages.get("/interventions/424242"), 404)
    assert_error_page(pages.get("/interventions/0"), 404)  # no id is 0: a page that is not there
    assert_error_page(pages.get("/interventions/abc"), 404)


# --- compare -----------------------------------------------------------------------------------------


def test_compare_shows_both_interventions_side_by_side(pages):
    discharge, islington = find(pages, "discharge"), find(pages, "teleconference")
    response = pages.get(f"/compare?ids={discharge['id']},{islington['id']}")
    assert response.status_code == 200
    html = response.text
    for record in (discharge, islington):
        assert f'<th scope="col"><a href="/interventions/{record["id"]}">' in html
    text = text_of(html)
    assert "Kent's integrated discharge team at the front door" in text
    assert "Multidisciplinary team teleconferences" in text
    for row in ("Site", "Programme", "Population", "Setting", "Intervention types", "Enablers", "Outcomes"):
        assert f'<th scope="row">{row}</th>' in html
    assert "Evidence level" in html and "Sources" in html
    assert "27%" in html and "30%" in html


@pytest.mark.parametrize("ids", ["", "1", "1,2,3,4,5", "1,x", "1,1", "-1,2", "1,424242"])
def test_compare_refuses_bad_ids(pages, ids):
    assert_error_page(pages.get("/compare", params={"ids": ids}), 422)


def test_parse_ids():
    assert parse_ids("3, 1,2") == [3, 1, 2]
    assert parse_ids("4,4,5") == [4, 5]


# --- evidence map ------------------------------------------------------------------------------------


def test_evidence_map_cells_link_to_a_catalogue_with_the_same_count(pages):
    response = pages.get("/evidence-map")
    assert response.status_code == 200
    html = response.text
    assert "How to read the map" in html and '<th scope="col">Intervention type</th>' in html
    cells = re.findall(r'<a href="(/catalogue\?[^"]+)">(\d+)<', html)
    assert cells
    for url, count in cells:
        query = parse_qs(urlsplit(unescape(url)).query)
        assert set(query) == {"intervention_type", "outcome_measure"}
        api = pages.get("/api/interventions", params={k: v[0] for k, v in query.items()}).json()
        assert api["total"] == int(count), url
    assert '<span aria-hidden="true">–</span>' in html  # gaps are visible


def test_evidence_map_by_care_model_and_bad_rows(pages):
    html = pages.get("/evidence-map", params={"rows": "care_model"}).text
    assert "care_model=integrated-care-pioneer" in html
    assert_error_page(pages.get("/evidence-map", params={"rows": "population"}), 422)


def make_record(key: int, level: str, **tags: list[str]) -> Record:
    row = Intervention(id=key, key=f"k{key}", title=f"Record {key}", evidence_level=level)
    return Record(
        row=row,
        document=None,
        tags=[
            {"dimension": dim, "id": term, "label": term, "confidence": 0.9, "provenance": "rule"}
            for dim, terms in tags.items()
            for term in terms
        ]
        + [
            {
                "dimension": "outcome_measure",
                "id": "readmissions",
                "label": "x",
                "confidence": 0.2,
                "provenance": "model",
            }
        ],
        outcomes=[],
        passages=[],
    )


def test_build_evidence_map_counts_by_level():
    taxonomy = load_taxonomy()
    records = [
        make_record(
            1, "2", intervention_type=["multidisciplinary-team"], outcome_measure=["emergency-admissions"]
        ),
        make_record(
            2, "1", intervention_type=["multidisciplinary-team"], outcome_measure=["emergency-admissions"]
        ),
        make_record(
            3,
            "1",
            intervention_type=["multidisciplinary-team", "care-coordination"],
            outcome_measure=["emergency-admissions", "delayed-transfers"],
        ),
        make_record(4, "3", intervention_type=["care-coordination"]),  # no outcome measure: no column
    ]
    grid = build_evidence_map(records, taxonomy=taxonomy, rows="intervention_type")
    assert grid.total == 4
    assert [c.id for c in grid.columns] == ["emergency-admissions", "delayed-transfers"]
    assert len(grid.rows) == len(taxonomy.dimensions["intervention_type"])  # every type, so gaps show
    cell = grid.cell("multidisciplinary-team", "emergency-admissions")
    assert cell.count == 3 and cell.levels() == [("2", 1), ("1", 2)]
    assert cell.url == catalogue_url("intervention_type", "multidisciplinary-team", "emergency-admissions")
    assert grid.cell("care-coordination", "delayed-transfers").count == 1
    assert grid.cell("care-coordination", "emergency-admissions").count == 1
    assert grid.cell("risk-stratification", "emergency-admissions").count == 0  # a gap
    with pytest.raises(KeyError):
        build_evidence_map(records, taxonomy=taxonomy, rows="population")


# --- sites -------------------------------------------------------------------------------------------


def test_sites_table(pages):
    response = pages.get("/sites")
    assert response.status_code == 200
    html = response.text
    assert '<th scope="col">Interventions</th>' in html or "Interventions</th>" in html
    row = html.split('<a href="/sites/kent">Kent</a>')[1].split("</tr>")[0]
    api_count = next(s for s in pages.get("/api/sites").json()["results"] if s["id"] == "kent")
    assert f">{api_count['intervention_count']}</td>" in row
    assert api_count["intervention_count"] >= 2


def test_site_page_lists_its_interventions_and_documents(pages):
    response = pages.get("/sites/kent")
    assert response.status_code == 200
    html = response.text
    assert "<h1>Kent</h1>" in html
    for record in pages.get("/api/sites/kent").json()["interventions"]:
        assert f'href="/interventions/{record["id"]}"' in html
    assert "Level 0: Plan only" in html and "Level 2: Before-and-after data" in html
    assert "kent.txt" in html
    assert_error_page(pages.get("/sites/no-such-site"), 404)
