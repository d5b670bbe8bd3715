"""Listing the catalogue: the one way to page through the interventions matching typed filters and an optional
query, in a chosen order, with the total and facet counts; and the filters a query string (or a saved search's
stored pairs) names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kb.errors import InvalidInput
from search.catalogue import DIMENSIONS, MAX_LIMIT, CatalogueService, Filters, Record, sort_records

HAS_RESULTS_VALUES = ("true", "false", "1", "0", "yes", "no")
LIST_FILTERS = (*DIMENSIONS, "evidence_level", "area")  # repeatable, or comma-separated


@dataclass(frozen=True)
class Paging:
    """Which part of the ordered matches to list: `limit` records (1 to MAX_LIMIT) from `offset`, or every
    record from `offset` when limit is None."""

    limit: int | None = 50
    offset: int = 0


EVERY = Paging(limit=None)


@dataclass
class Listing:
    records: list[Record]  # the page, in order
    total: int  # every record matching, before paging
    facets: dict[str, list[dict]]  # counts for every dimension over all the matching records


def list_interventions(
    catalogue: CatalogueService,
    *,
    q: str | None = None,
    filters: Filters | None = None,
    sort: str | None = None,
    paging: Paging = Paging(),
) -> Listing:
    """The published interventions matching `filters` (and `q`, best first, when given), put in `sort` order
    (search.catalogue.sort_records; none keeps relevance or id order) before the page is cut, so every page,
    the API and its CSV list the same rows in the same order.

    Raises InvalidInput for a limit outside 1..MAX_LIMIT, a negative offset, an unknown filter value or an
    unknown sort key.
    """
    if paging.limit is not None and not 1 <= paging.limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.")
    if paging.offset < 0:
        raise InvalidInput("offset must be 0 or more.")
    matching = [record for record, _score in catalogue.matching(q=q, filters=filters)]
    ordered = sort_records(matching, sort)
    end = None if paging.limit is None else paging.offset + paging.limit
    return Listing(ordered[paging.offset : end], len(matching), catalogue.facet_counts(matching))


def _split(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def filters_from_pairs(pairs: Iterable[tuple[str, str]]) -> Filters:
    """Filters from query-string pairs: every taxonomy dimension, evidence_level and area (repeatable or
    comma-separated), site, programme and origin (the last one given), and has_results (true or false, 1 or 0,
    yes or no). Other names are ignored. Raises InvalidInput for another has_results value; whether a term id
    exists is checked when the filters are used."""
    given: dict[str, list[str]] = {}
    for name, value in pairs:
        given.setdefault(name, []).append(value)
    has_results = given.get("has_results", [None])[-1]
    if has_results not in (None, "", *HAS_RESULTS_VALUES):
        raise InvalidInput("has_results must be true or false.")
    return Filters(
        values={name: _split(given[name]) for name in LIST_FILTERS if name in given},
        site=given.get("site", [""])[-1] or None,
        programme=given.get("programme", [""])[-1] or None,
        has_results=None if has_results in (None, "") else has_results in ("true", "1", "yes"),
        origin=given.get("origin", [""])[-1] or None,
    )
