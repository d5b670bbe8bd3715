"""Search counts only passages with real evidence of relevance, says so when nothing matches, and explains a ranking."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session

from kb.settings import get_settings
from kb.taxonomy import load_taxonomy
from search import query_gaps
from tests.conftest import write
from tests.test_catalogue import ISLINGTON, KENT
from web.cli import main
from web.flows import ingest_and_index

NONSENSE = ["zzqxv", "xyzzy", "12345"]
OTHER = """Cornwall Pioneer Programme

1 Falls prevention

Strength and balance classes in village halls were offered to people over 65 who had fallen at least once.

2 Shared premises

A health and wellbeing centre brought the surgery, the pharmacy and the library under one roof.
"""


@pytest.fixture
def site(client, tmp_path: Path):
    folder = tmp_path / "docs"
    write(folder / "kent.txt", KENT)
    write(folder / "islington.txt", ISLINGTON)
    write(folder / "cornwall.txt", OTHER)
    ingest_and_index(
        [folder],
        settings=client.app.state.settings,
        engine=client.app.state.engine,
        service=client.app.state.search,
    )
    return client


@pytest.mark.parametrize("query", NONSENSE)
def test_a_query_nothing_matches_gets_no_passages(site, query: str):
    body = site.get("/api/search", params={"q": query}).json()
    assert body["results"] == [] and body["total"] == 0


def test_total_counts_the_passages_that_hold_a_query_word(site):
    service = site.app.state.search
    passages = len(service.lexical.ids)
    assert passages >= 4
    body = site.get("/api/search", params={"q": "teleconferences"}).json()
    assert body["total"] == 1 and len(body["results"]) == 1
    assert "teleconferences" in body["results"][0]["text"]
    real = site.get("/api/search", params={"q": "discharge team"}).json()
    assert real["results"] and real["total"] == len(real["results"]) < passages


def test_stop_words_alone_are_not_evidence(site):
    assert site.get("/api/search", params={"q": "the of and"}).json()["total"] == 0


def test_the_dense_cut_off_is_what_keeps_nonsense_out(site, monkeypatch):
    monkeypatch.setattr("search.service.DENSE_MATCH", -1.0)  # every dense candidate would count
    assert site.get("/api/search", params={"q": "zzqxv"}).json()["total"] > 0


def test_the_page_says_nothing_matches_offers_help_and_logs_a_no_result_query(site):
    for query in NONSENSE:
        page = site.get("/search", params={"q": query}).text
        assert "Nothing matches" in page and "browse the catalogue" in page
        assert "Closest passages" not in page and "Evidence passages" not in page
    real = site.get("/search", params={"q": "discharge team"}).text
    assert "Nothing matches" not in real and "discharge team" in real
    with Session(site.app.state.engine) as session:
        report = query_gaps.query_report(session=session, days=7, taxonomy=load_taxonomy())
    assert {s.query for s in report.zero} == set(NONSENSE)
    assert "discharge team" in {s.query for s in report.top} - {s.query for s in report.zero}


# --- explain -----------------------------------------------------------------------------------


def test_explain_gives_each_signal_of_the_ranking_search_returns(site):
    service = site.app.state.search
    hits = service.search("MDT teleconferences Islington", limit=5).results
    explanation = service.explain("MDT teleconferences Islington", limit=5)
    assert [row.passage_id for row in explanation.results] == [hit.passage_id for hit in hits]
    top = explanation.results[0]
    assert top.lexical is not None and top.lexical > 0 and top.dense is not None
    assert top.fused == pytest.approx(top.lexical_share + top.dense_share, abs=1e-6)
    assert top.score == pytest.approx(top.fused + top.neighbour + top.site_boost, abs=1e-6)
    assert "multidisciplinary team" in top.expansions_matched  # MDT, spelled out, is in the passage
    assert top.site_boost > 0  # the query names Islington and the passage is about it
    assert hits[0].score == pytest.approx(top.score, abs=1e-4)
    assert explanation.total == len(hits)


def test_kb_search_explain_prints_the_scores(site, tmp_path: Path, monkeypatch):
    settings = site.app.state.settings
    monkeypatch.setenv("KB_DATA_DIR", str(settings.data_dir))
    if settings.database_url:  # the PostgreSQL pass: the command must open the same database as the site
        monkeypatch.setenv("KB_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KB_EMBEDDER", "hashing")
    monkeypatch.setenv("KB_LOAD_DEFAULT_CORPUS", "false")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["search", "--explain", "--limit", "2", "MDT teleconferences"])
        nothing = CliRunner().invoke(main, ["search", "--explain", "zzqxv"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "1. " in result.output and "islington.txt" in result.output
    assert "BM25" in result.output and "dense cosine" in result.output
    assert "expansions matched: multidisciplinary team" in result.output
    assert "site boost" in result.output and "neighbour" in result.output
    assert (
        nothing.exit_code == 0
        and "matching passages: 0" in nothing.output
        and "No passages match." in nothing.output
    )


def test_an_expansion_matches_a_passage_only_when_all_its_words_are_there():
    import numpy as np

    from search.lexical import LexicalIndex, LexicalManifest

    texts = ["The complex care hub opened in May.", "Care homes and a hub for the community."]
    index = LexicalIndex.build(texts, np.array([7, 8]), LexicalManifest(count=2, corpus_hash="x"))
    found = index.matching_phrases([("complex care hub", 0.3), ("care home", 0.3), ("zzqxv", 0.3)], [7, 8])
    assert found == {7: ["complex care hub"], 8: ["care home"]}


def test_evidence_counts_and_tests_matches_without_building_their_union():
    import numpy as np

    from search.service import Evidence

    evidence = Evidence([], {}, {}, np.array([2, 5, 9, 40]), np.array([5, 7, 100]))
    assert evidence.match_count == 6  # 2, 5, 7, 9, 40, 100: the shared 5 once
    assert evidence.matches(np.array([1, 2, 5, 7, 8, 40, 100, 101])).tolist() == [
        False,
        True,
        True,
        True,
        False,
        True,
        True,
        False,
    ]
    assert evidence.matched.tolist() == [2, 5, 7, 9, 40, 100]
    empty = Evidence([], {}, {}, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    assert empty.match_count == 0 and not empty.matches(np.array([3])).any()
