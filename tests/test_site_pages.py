"""The site's pages: the catalogue table (facets, filters, sort, export of exactly the rows shown), search with
interventions first, spelling suggestions, honest thin-evidence messages and the query log, and the home page."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from kb.store.models import Intervention, QueryLog
from search.catalogue import Record, sort_records
from tests.conftest import write
from tests.test_catalogue import ISLINGTON, KENT
from web.flows import ingest_and_index

ROW_ID = re.compile(r'<tr data-id="(\d+)">')
FACET_LINK = re.compile(
    r'<a href="(/catalogue\?[^"]+)">([^<]+) <span class="count">\((\d+)<span class="visually-hidden">'
)


@pytest.fixture
def site(client, settings, tmp_path: Path):
    folder = tmp_path / "docs"
    write(folder / "kent.txt", KENT)
    write(folder / "islington.txt", ISLINGTON)
    ingest_and_index(
        [folder], settings=settings, engine=client.app.state.engine, service=client.app.state.search
    )
    return client


def row_ids(page: str) -> list[int]:
    return [int(i) for i in ROW_ID.findall(page)]


def link(page: str, pattern: str) -> str:
    found = re.search(pattern, page)
    assert found, pattern
    return html.unescape(found.group(1))


def api_ids(client, **params) -> list[int]:
    return [r["id"] for r in client.get("/api/interventions", params=params).json()["results"]]


# --- the catalogue -----------------------------------------------------------------------------


def test_catalogue_lists_every_intervention_with_facet_counts(site):
    page = site.get("/catalogue")
    assert page.status_code == 200
    assert sorted(row_ids(page.text)) == sorted(api_ids(site))
    assert len(row_ids(page.text)) >= 3
    for legend in ("Intervention type", "Population", "Outcome measure", "Evidence level"):
        assert f"<legend>{legend}</legend>" in page.text
    assert '<th scope="col"' in page.text and '<th scope="row">' in page.text
    assert 'href="/interventions/' in page.text
    assert "<strong>30%</strong> decrease in delayed transfers of care" in page.text
    assert "Readmissions: from 12% to <strong>9%</strong>" in page.text  # never "9% decrease"


def test_every_facet_link_filters_the_table_to_its_count(site):
    page = site.get("/catalogue").text
    links = FACET_LINK.findall(page)
    assert {"intervention_type", "population", "evidence_level"} <= {
        html.unescape(href).split("?")[1].split("=")[0] for href, _, _ in links
    }
    for href, label, count in links:
        filtered = site.get(html.unescape(href))
        assert filtered.status_code == 200
        assert len(row_ids(filtered.text)) == int(count), (href, label)
        assert 'Remove<span class="visually-hidden">' in filtered.text and label.strip() in filtered.text


def test_a_filter_is_removable_and_the_url_is_shareable(site):
    population = link(site.get("/catalogue").text, r'<a href="(/catalogue\?population=[^"]+)">')
    filtered = site.get(population).text
    removal = link(filtered, r'<li><a href="([^"]*)">Remove<span')
    assert sorted(row_ids(site.get(removal).text)) == sorted(api_ids(site))
    assert row_ids(site.get(population).text) == row_ids(filtered)  # the same URL, the same rows


def test_the_csv_and_json_links_hold_exactly_the_rows_shown(site):
    page = site.get("/catalogue", params={"has_results": "true", "sort": "-title"}).text
    shown = row_ids(page)
    assert len(shown) >= 2
    csv_url = link(page, r'<a href="(/api/interventions\.csv\?[^"]+)">CSV</a>')
    json_url = link(page, r'<a href="(/api/interventions\?[^"]+)">JSON</a>')
    exported = site.get(csv_url)
    assert exported.headers["content-type"].startswith("text/csv")
    assert [int(r["id"]) for r in csv.DictReader(io.StringIO(exported.text))] == shown
    assert [r["id"] for r in site.get(json_url).json()["results"]] == shown


def test_sorting_the_table_and_the_api_agree(site):
    titles = {r["id"]: r["title"] for r in site.get("/api/interventions").json()["results"]}
    by_title = row_ids(site.get("/catalogue", params={"sort": "title"}).text)
    assert [titles[i] for i in by_title] == sorted(titles.values(), key=str.casefold)
    assert row_ids(site.get("/catalogue", params={"sort": "-title"}).text) == by_title[::-1]
    assert api_ids(site, sort="title") == by_title
    assert api_ids(site, sort="title", limit=1, offset=1) == by_title[1:2]
    most_results = row_ids(site.get("/catalogue", params={"sort": "-results"}).text)
    navigators = next(i for i, t in titles.items() if "navigator" in t.lower())
    assert most_results[-1] == navigators  # the one with no measured result comes last
    assert site.get("/catalogue", params={"sort": "colour"}).status_code == 422
    assert site.get("/api/interventions", params={"sort": "colour"}).status_code == 422


def test_catalogue_pages_fifty_rows_at_a_time(site):
    page = site.get("/catalogue", params={"page": 2}).text
    assert row_ids(page) == [] and "offset=50" not in page  # three records: nothing on page 2, no export
    assert 'rel="prev"' in page


def test_sort_records_is_stable_and_reversible():
    def record(key: int, title: str, level: str) -> Record:
        from kb.store.models import Intervention

        return Record(Intervention(id=key, key=str(key), title=title, evidence_level=level), None, [], [], [])

    records = [record(1, "b", "2"), record(2, "a", "2"), record(3, "c", "0")]
    assert [r.row.id for r in sort_records(records, "title")] == [2, 1, 3]
    assert [r.row.id for r in sort_records(records, "-evidence_level")] == [1, 2, 3]
    assert [r.row.id for r in sort_records(records, None)] == [1, 2, 3]


# --- search -------------------------------------------------------------------------------------


def test_search_shows_interventions_before_passages(site):
    page = site.get("/search", params={"q": "discharge team"}).text
    interventions, passages = page.index("Matching interventions"), page.index('class="results"')
    first_intervention = page.index(
        'href="/interventions/', interventions
    )  # the evidence summary links above
    assert page.index('id="answer-heading"') < interventions < first_intervention < passages
    assert "discharge team</mark>" in page and 'class="breadcrumb"' in page
    assert "<legend>Intervention type</legend>" in page and 'href="/search?q=discharge+team&amp;' in page
    assert "Did you mean" not in page


def test_a_search_facet_narrows_the_interventions_and_can_be_removed(site):
    import re

    page = site.get("/search", params={"q": "discharge team"}).text
    link = re.search(
        r'<a href="(/search\?q=discharge\+team&amp;[^"]*?intervention_type=[^"]+)">([^<]+?) <span class="count">\((\d+)',
        page,
    )
    assert link, "no intervention-type facet link"
    href, count = link.group(1).replace("&amp;", "&"), int(link.group(3))
    narrowed = site.get(href).text
    assert "Remove" in narrowed and "Clear all filters" in narrowed
    listed = narrowed.split('id="interventions-heading"')[1]  # after the evidence summary, which links too
    shown = len(re.findall(r'<li class="intervention-result', listed)) or listed.count(
        'href="/interventions/'
    )
    assert 1 <= shown <= count


def test_search_can_order_interventions_by_evidence(site):
    page = site.get("/search", params={"q": "care", "sort": "-evidence_level"})
    assert page.status_code == 200 and 'value="-evidence_level" selected' in page.text
    assert site.get("/search", params={"q": "care", "sort": "colour"}).status_code == 422


def test_a_misspelt_word_gets_a_suggestion(site):
    page = site.get("/search", params={"q": "dischage"}).text
    assert "Did you mean" in page
    assert link(page, r'Did you mean: <a href="([^"]+)"') == "/search?q=discharge"


def test_thin_evidence_is_said_honestly_with_broader_queries(site):
    page = site.get("/search", params={"q": "zzqx blorf"}).text  # nothing at all: said so, with help
    assert "Nothing matches" in page and "Closest passages" not in page
    navigators = site.get("/search", params={"q": "navigators zzqx"}).text  # matches one, with no result
    assert "No intervention in kb reports a measured outcome for this yet" in navigators
    assert "Care navigators</a>" in navigators  # the closest material is still shown
    assert 'Broader searches: <a href="/search?q=navigators">' in navigators
    assert "No intervention in kb reports" not in site.get("/search", params={"q": "discharge team"}).text


def test_every_search_is_logged_and_logging_never_breaks_search(site, monkeypatch):
    site.get("/search", params={"q": "discharge team"})
    site.get("/search", params={"q": "zzqx blorf"})
    with Session(site.app.state.engine) as session:
        logged = {row.query: row for row in session.exec(select(QueryLog))}
    assert logged["discharge team"].results > 0 and logged["discharge team"].interventions >= 1
    assert logged["zzqx blorf"].interventions == 0
    assert logged["discharge team"].created_at is not None

    def broken(**_):
        raise RuntimeError("the log table is locked")

    monkeypatch.setattr("kb.store.repo.QueryLog", broken)
    assert site.get("/search", params={"q": "discharge"}).status_code == 200


# --- home ---------------------------------------------------------------------------------------


def test_home_has_counts_browse_links_and_recent_documents(site):
    page = site.get("/").text
    assert "What are you trying to improve?" in page
    assert re.search(r"<strong>2</strong> documents, <strong>3</strong> interventions", page)
    for heading in ("By care model", "By intervention type", "By population", "By outcome measure"):
        assert heading in page
    href, _, count = next(item for item in FACET_LINK.findall(page) if "intervention_type=" in item[0])
    assert len(row_ids(site.get(html.unescape(href)).text)) == int(count)
    assert "Recently added documents" in page and "kent.txt" in page and "islington.txt" in page


SEARCH_ROW_ID = re.compile(r'<li class="intervention" data-id="(\d+)">')


def test_sorting_by_date_added(site):
    # Give the three records dates in an order that is neither their id order nor their title order, so only
    # a sort on the date can list them newest first.
    with Session(site.app.state.engine) as session:
        rows = sorted(session.exec(select(Intervention)), key=lambda row: row.id)
        assert len(rows) == 3
        start = datetime(2016, 1, 1, tzinfo=UTC)
        for days, row in zip((10, 0, 20), rows, strict=True):
            row.created_at = start + timedelta(days=days)
            row.updated_at = start + timedelta(
                days=30 - days
            )  # edited later in the opposite order: not "added"
            session.add(row)
        session.commit()
        newest_first = [rows[2].id, rows[0].id, rows[1].id]
    assert api_ids(site, sort="-added") == newest_first
    assert api_ids(site, sort="added") == newest_first[::-1]
    assert row_ids(site.get("/catalogue", params={"sort": "-added"}).text) == newest_first
    assert row_ids(site.get("/catalogue", params={"sort": "added"}).text) == newest_first[::-1]
    page = site.get("/search", params={"q": "care", "sort": "-added"})
    assert page.status_code == 200 and "Date added, newest first" in page.text
    shown = [int(i) for i in SEARCH_ROW_ID.findall(page.text)]
    assert len(shown) >= 2 and shown == [i for i in newest_first if i in shown]
