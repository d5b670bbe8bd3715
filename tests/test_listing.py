"""search/listing.py: the one way the API, the pages and the digest page through the catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.errors import InvalidInput
from search.catalogue import MAX_LIMIT, Filters, sort_records
from search.listing import EVERY, Paging, filters_from_pairs, list_interventions
from tests.conftest import write
from tests.test_site_pages import ISLINGTON, KENT
from web.flows import ingest_and_index

SORTS = (None, "title", "-title", "site", "-evidence_level", "results", "-added")


@pytest.fixture
def catalogue(client, settings, tmp_path: Path):
    folder = tmp_path / "docs"
    write(folder / "kent.txt", KENT)
    write(folder / "islington.txt", ISLINGTON)
    ingest_and_index(
        [folder], settings=settings, engine=client.app.state.engine, service=client.app.state.search
    )
    return client.app.state.catalogue


def ids(records) -> list[int]:
    return [r.row.id for r in records]


def every_by_query(catalogue, q: str | None, filters: Filters | None = None) -> list:
    """The reference: catalogue.query's own pages, one after another."""
    records, total, _ = catalogue.query(q=q, filters=filters, limit=MAX_LIMIT)
    while len(records) < total:
        records += catalogue.query(q=q, filters=filters, limit=MAX_LIMIT, offset=len(records))[0]
    return records


@pytest.mark.parametrize("q", [None, "discharge team"])
def test_pages_put_together_are_the_whole_sorted_listing(catalogue, q):
    reference = every_by_query(catalogue, q)
    assert len(reference) >= 2  # enough records for the order and the pages to mean something
    _, _, facets = catalogue.query(q=q, limit=1)
    for sort in SORTS:
        whole = list_interventions(catalogue, q=q, sort=sort, paging=EVERY)
        assert ids(whole.records) == ids(sort_records(reference, sort)), sort
        assert whole.total == len(reference) and whole.facets == facets
        pages = []
        for offset in range(0, whole.total + 2, 2):
            page = list_interventions(catalogue, q=q, sort=sort, paging=Paging(2, offset))
            assert page.total == whole.total and len(page.records) <= 2
            pages += page.records
        assert ids(pages) == ids(whole.records), sort


def test_filters_narrow_the_listing_and_the_facets(catalogue):
    islington = list_interventions(catalogue, filters=Filters(site="islington"), paging=EVERY)
    assert islington.records and {r.row.site_id for r in islington.records} == {"islington"}
    assert ids(islington.records) == ids(every_by_query(catalogue, None, Filters(site="islington")))
    everything = list_interventions(catalogue, paging=Paging(1))
    assert islington.total < everything.total and len(everything.records) == 1
    count = sum(f["count"] for f in islington.facets["evidence_level"])
    assert count == islington.total  # every record has one evidence level


def test_the_api_lists_what_list_interventions_lists(catalogue, client):
    body = client.get("/api/interventions", params={"sort": "-title", "limit": 2, "offset": 1}).json()
    expected = list_interventions(catalogue, sort="-title", paging=Paging(2, 1))
    assert [r["id"] for r in body["results"]] == ids(expected.records) and body["total"] == expected.total


@pytest.mark.parametrize(
    ("paging", "message"),
    [(Paging(0), "limit"), (Paging(MAX_LIMIT + 1), "limit"), (Paging(5, -1), "offset")],
)
def test_impossible_paging_is_refused(catalogue, paging, message):
    with pytest.raises(InvalidInput, match=message):
        list_interventions(catalogue, paging=paging)


def test_an_unknown_filter_value_or_sort_is_refused(catalogue):
    with pytest.raises(InvalidInput, match="care_model"):
        list_interventions(catalogue, filters=Filters(values={"care_model": ["no-such-model"]}))
    with pytest.raises(InvalidInput, match="sort"):
        list_interventions(catalogue, sort="colour")


def test_filters_from_pairs_reads_a_query_string_as_the_pages_write_it():
    filters = filters_from_pairs(
        [
            ("care_model", "pacs, mcp"),
            ("care_model", "ehch"),
            ("area", "rural"),
            ("site", "kent"),
            ("site", "islington"),  # the last one given counts
            ("has_results", "yes"),
            ("programme", ""),
            ("q", "not a filter"),
        ]
    )
    assert filters.values == {"care_model": ["pacs", "mcp", "ehch"], "area": ["rural"]}
    assert (filters.site, filters.programme, filters.has_results, filters.origin) == (
        "islington",
        None,
        True,
        None,
    )
    assert filters_from_pairs([("has_results", "0")]).has_results is False
    assert filters_from_pairs([("has_results", "")]).has_results is None
    with pytest.raises(InvalidInput, match="has_results"):
        filters_from_pairs([("has_results", "maybe")])
