"""The evidence summary: only results are findings, each figure cited in a stored passage; fixed-template
verdicts and gaps; the JSON contract; the top of /search; and every dev query over the five seeds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from kb.store import repo
from kb.taxonomy import load_taxonomy
from search.answer import measures_named
from tests.conftest import REPO, SEEDS, make_settings, write
from tests.test_catalogue import ISLINGTON, KENT
from web.flows import ingest_and_index

DEV_QUERIES = REPO.parent / "shared" / "eval" / "dev_queries.jsonl"
CONTRACT = {"query", "interventions", "sites", "by_evidence_level", "findings", "gaps", "verdict"}
FINDING = {
    "measure", "direction", "figure", "kind", "intervention_id", "site", "evidence_level", "passage_id", "url",
}  # fmt: skip

# Only plans and targets: nothing here may ever be counted as a result.
PLANS = """Sandwell Pioneer Programme

1 Case study: Sandwell – Care home support team

The care home support team will start in 2016. It aims to reduce emergency admissions from care homes by 20% by 2018, and we project savings of £2m over five years.
"""


@pytest.fixture
def answer_client(client, settings, tmp_path: Path):
    folder = tmp_path / "docs"
    write(folder / "kent.txt", KENT)
    write(folder / "islington.txt", ISLINGTON)
    write(folder / "sandwell.txt", PLANS)
    app = client.app
    ingest_and_index([folder], settings=settings, engine=app.state.engine, service=app.state.search)
    return client


def passage_text(app, passage_id: int) -> str:
    with Session(app.state.engine) as session:
        return repo.get_passage_or_raise(session=session, passage_id=passage_id).text


def test_the_contract_and_a_cited_result(answer_client):
    body = answer_client.get("/api/answer", params={"q": "emergency admissions"}).json()
    assert CONTRACT <= body.keys()
    assert body["findings"], body
    for finding in body["findings"]:
        assert FINDING <= finding.keys()
        assert finding["kind"] == "result"
        assert finding["figure"] in passage_text(answer_client.app, finding["passage_id"])
        assert finding["url"].endswith(f"#passage-{finding['passage_id']}")
    islington = next(f for f in body["findings"] if f["site"] == "Islington")
    assert (islington["figure"], islington["measure"], islington["direction"]) == (
        "27%", "emergency-admissions", "decrease",
    )  # fmt: skip
    assert "20%" not in {f["figure"] for f in body["findings"]}  # Sandwell's target
    assert body["verdict"].startswith("Tried at ")
    assert "1 reports fewer emergency admissions (27%)" in body["verdict"]
    assert "no comparison-group evidence" in body["gaps"]


def test_targets_and_projections_are_never_findings(answer_client):
    body = answer_client.get("/api/answer", params={"q": "care home support team", "site": "sandwell"}).json()
    assert body["interventions"] >= 1
    assert body["findings"] == []
    assert body["verdict"] == "Tried at 1 site; none reports a measured result; all are plans."
    assert body["gaps"][:2] == ["only plans", "no measured results"]


def test_catalogue_filters_narrow_the_summary(answer_client):
    everything = answer_client.get("/api/answer", params={"q": "team"}).json()
    at_level_two = answer_client.get("/api/answer", params={"q": "team", "evidence_level": "2"}).json()
    assert set(at_level_two["by_evidence_level"]) == {"2"}
    assert at_level_two["interventions"] <= everything["interventions"]
    assert answer_client.get("/api/answer", params={"q": "team", "care_model": "nonsense"}).status_code == 422


def test_nothing_matching_says_so(answer_client):
    body = answer_client.get("/api/answer", params={"q": "zzqx"}).json()
    assert (body["interventions"], body["findings"]) == (0, [])
    assert body["verdict"] == "Nothing in kb matches this question yet."


def test_measures_named_include_narrower_terms_and_skip_other():
    taxonomy = load_taxonomy()
    ids = [t.id for t in measures_named("How have others cut emergency admissions?", taxonomy)]
    assert "emergency-admissions" in ids and "avoidable-admissions" in ids
    assert measures_named("What did other areas do?", taxonomy) == []


def test_search_page_opens_with_the_summary(answer_client):
    page = answer_client.get("/search", params={"q": "emergency admissions"}).text
    assert page.index('id="answer-heading"') < page.index('id="interventions-heading"')
    assert "reports fewer emergency admissions (27%)" in page
    assert 'class="cited-passage"' in page
    later = answer_client.get("/search", params={"q": "emergency admissions", "page": 2}).text
    assert 'id="answer-heading"' not in later


# --- every dev query over the five seeds -------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeds_client(tmp_path_factory):
    if not SEEDS.is_dir() or not DEV_QUERIES.is_file():
        pytest.skip("the seed documents and dev queries (../shared) are not beside this checkout")
    from web.app import create_app

    settings = make_settings(tmp_path_factory.mktemp("answer-seeds"))
    with TestClient(create_app(settings)) as test_client:
        app = test_client.app
        ingest_and_index([SEEDS], settings=settings, engine=app.state.engine, service=app.state.search)
        yield test_client


def test_every_dev_query_cites_each_figure_and_counts_only_results(seeds_client):
    queries = [json.loads(line)["query"] for line in DEV_QUERIES.read_text().splitlines() if line.strip()]
    assert len(queries) == 45
    catalogue = seeds_client.app.state.catalogue
    with_findings = 0
    for query in queries:
        body = seeds_client.get("/api/answer", params={"q": query}).json()
        assert CONTRACT <= body.keys(), query
        assert sum(body["by_evidence_level"].values()) == body["interventions"], query
        with_findings += bool(body["findings"])
        for finding in body["findings"]:
            assert finding["kind"] == "result", (query, finding)
            text = passage_text(seeds_client.app, finding["passage_id"])
            assert finding["figure"] in text, (query, finding["figure"], text[:300])
            outcomes = catalogue.get(finding["intervention_id"]).outcomes
            kinds = {
                o["kind"]
                for o in outcomes
                if o["figure"] == finding["figure"] and o["measure"] == finding["measure"]
            }
            assert "result" in kinds, (query, finding)
    assert with_findings >= 5  # the check above is not passing vacuously
