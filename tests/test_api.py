"""The HTTP contract: search results with citations, documents, passages, clear 4xx for bad input, pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write
from tests.test_pipeline import REPORT
from web.flows import ingest_and_index


@pytest.fixture
def loaded(client, settings, tmp_path: Path):
    app = client.app
    write(tmp_path / "docs" / "kent.txt", REPORT)
    write(
        tmp_path / "docs" / "homes.md",
        "---\ntitle: Care homes in Sutton\n---\n# Care homes\n\nThe care home team in Sutton cut emergency admissions from nursing homes with weekly GP ward rounds and staff training.\n",
    )
    ingest_and_index(
        [tmp_path / "docs"], settings=settings, engine=app.state.engine, service=app.state.search
    )
    return client


def test_search_contract(loaded):
    body = loaded.get("/api/search", params={"q": "discharge team", "limit": 5}).json()
    assert set(body) >= {"results", "took_ms"}
    assert body["results"], body
    hit = body["results"][0]
    for key in ("source", "text", "score", "heading", "document", "char_start", "char_end", "url"):
        assert key in hit
    assert hit["source"] == "kent.txt"
    assert "discharge" in hit["text"].lower()
    assert set(hit["document"]) >= {"id", "title"}
    assert hit["url"].startswith(f"/documents/{hit['document']['id']}#passage-")
    assert len(hit["text"]) <= 1300


def test_acronym_query_finds_the_spelled_out_text(loaded):
    body = loaded.get("/api/search", params={"q": "DToC"}).json()
    assert body["results"] and "Delayed transfers of care" in body["results"][0]["text"]


def test_filter_by_document(loaded):
    docs = loaded.get("/api/documents").json()["results"]
    sutton = next(d for d in docs if d["source"] == "homes.md")
    assert sutton["title"] == "Care homes in Sutton"
    body = loaded.get("/api/search", params={"q": "team", "document": sutton["id"]}).json()
    assert body["results"] and {r["source"] for r in body["results"]} == {"homes.md"}


def test_documents_and_passages(loaded):
    listing = loaded.get("/api/documents").json()
    assert listing["total"] == 2
    document = loaded.get(f"/api/documents/{listing['results'][0]['id']}").json()
    assert document["text"] and isinstance(document["outline"], list)
    hit = loaded.get("/api/search", params={"q": "care navigators"}).json()["results"][0]
    passage = loaded.get(f"/api/passages/{hit['url'].rsplit('-', 1)[1]}").json()
    assert passage["text"] == hit["text"] and passage["source"] == hit["source"]
    full = loaded.get(f"/api/documents/{hit['document']['id']}").json()["text"]
    assert full[passage["char_start"] : passage["char_end"]] == passage["text"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/search?q=",
        "/api/search?q=%20%20",
        "/api/search?q=care&limit=1000000",
        "/api/search?q=care&limit=0",
        "/api/search?q=care&limit=abc",
        "/api/search?q=care&offset=-1",
        "/api/search?q=" + "x" * 600,
        "/api/search?q=care&document=abc",
        "/api/documents/abc",
        "/api/documents/0",
        "/api/documents/99999999999999999999999",
        "/api/passages/-5",
        "/api/documents?offset=96619460971129695371264",
        "/api/documents?limit=99999999999999999999999",
        "/api/interventions/99999999999999999999999",
        "/api/uploads/99999999999999999999999",
        # A NUL byte, which PostgreSQL refuses in any text, never reaches a query.
        "/api/search?q=care&section=%00",
        "/api/sites/a%00b",
    ],
)
def test_malformed_parameters_get_a_clear_4xx(loaded, url):
    response = loaded.get(url)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]


def test_too_large_a_number_is_named_in_the_message(loaded):
    response = loaded.get("/api/documents", params={"offset": "96619460971129695371264"})
    assert response.status_code == 422
    assert response.json() == {"error": "offset: Input should be less than or equal to 100000", "status": 422}


def test_a_refused_method_keeps_its_allow_header(loaded):
    response = loaded.delete("/api/documents")
    assert response.status_code == 405 and response.headers["allow"] == "GET"
    assert response.json()["error"]


def test_unknown_ids_are_404(loaded):
    assert loaded.get("/api/documents/4242").status_code == 404
    assert loaded.get("/api/passages/4242").json()["error"] == "No passage with id 4242."


def test_hostile_queries_do_not_break_anything(loaded):
    # Each is text someone could type or paste (markup, SQL, "A&E", wildcards, an emoji, a stray NUL): none is
    # malformed the way an empty query is, so each gets an ordinary answer, echoed back as typed (JSON
    # escapes it), never a refusal and never an error.
    for q in ["<script>alert(1)</script>", "' OR 1=1 --", "a&e", "%%%", "🙂", "\x00care"]:
        response = loaded.get("/api/search", params={"q": q})
        assert response.status_code == 200, (q, response.text)
        body = response.json()
        assert body["query"] == q and isinstance(body["results"], list), (q, body)
    page = loaded.get("/search", params={"q": "<script>alert(1)</script>"})
    assert page.status_code == 200 and "<script>alert(1)" not in page.text


def test_pages_render(loaded):
    home = loaded.get("/")
    assert home.status_code == 200 and "What are you trying to improve?" in home.text
    page = loaded.get("/search", params={"q": "discharge"})
    assert (
        page.status_code == 200
        and "<mark>discharge</mark>" in page.text
        and 'class="breadcrumb"' in page.text
    )
    hit = loaded.get("/api/search", params={"q": "discharge"}).json()["results"][0]
    reader = loaded.get(hit["url"].split("#")[0])
    assert reader.status_code == 200
    assert f'id="{hit["url"].split("#")[1]}"' in reader.text
    assert loaded.get("/openapi.json").status_code == 200 and loaded.get("/docs").status_code == 200


def test_error_pages_are_in_the_site_style(loaded):
    missing = loaded.get("/documents/4242")
    assert missing.status_code == 404 and "<html" in missing.text and "Traceback" not in missing.text
    assert loaded.get("/no/such/page").status_code == 404
    # An address whose id cannot exist (not a number, or past the largest id) is a page that is not there.
    for url in (
        "/documents/abc",
        "/interventions/abc",
        "/interventions/99999999999999999999",
        "/sites/" + "x" * 101,
    ):
        bad = loaded.get(url)
        assert bad.status_code == 404 and "<html" in bad.text and "Page not found" in bad.text, url
    # A malformed query on a page still says what was wrong.
    assert loaded.get("/search", params={"q": "care", "page": "abc"}).status_code == 422
    assert loaded.get("/compare", params={"ids": "²,1"}).status_code == 422  # int() refuses this digit
