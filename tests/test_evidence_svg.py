"""The evidence map as SVG: one bubble per non-empty cell, area by count, colour by the strongest evidence level,
each linking to the catalogue rows it counts; a legend and the same numbers in a table; no JavaScript."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from tests.conftest import write
from tests.test_answer import PLANS
from tests.test_catalogue import ISLINGTON, KENT
from web.evidence_svg import LEVEL_COLOURS, radius, strongest
from web.flows import ingest_and_index

BUBBLE = re.compile(
    r'<a href="(?P<url>[^"]+)" class="bubble" aria-label="(?P<label>[^"]+)"><title>[^<]*</title>'
    r'<circle cx="[\d.]+" cy="[\d.]+" r="(?P<r>[\d.]+)" fill="(?P<fill>#[0-9a-f]{6})"/></a>'
)


@pytest.fixture
def map_client(client, settings, tmp_path: Path):
    folder = tmp_path / "docs"
    write(folder / "kent.txt", KENT)
    write(folder / "islington.txt", ISLINGTON)
    write(folder / "sandwell.txt", PLANS)
    app = client.app
    ingest_and_index([folder], settings=settings, engine=app.state.engine, service=app.state.search)
    return client


def test_radius_grows_with_area_and_colour_follows_the_strongest_level():
    assert radius(0, 4) == 0 and radius(1, 4) < radius(2, 4) < radius(4, 4) == 20.0
    assert strongest([("1", 2), ("2", 1)]) == "2" and strongest([]) == "0"


def test_every_bubble_links_to_the_rows_it_counts(map_client):
    for rows in ("intervention_type", "care_model"):
        page = map_client.get("/evidence-map", params={"rows": rows}).text
        assert "<script" not in page.lower()
        bubbles = list(BUBBLE.finditer(page))
        cells = re.findall(r'<td class="cell"><a href="([^"]+)">(\d+)', page)
        assert bubbles and len(bubbles) == len(cells)
        table = {unescape(url): int(count) for url, count in cells}
        for bubble in bubbles:
            url = unescape(bubble["url"])
            count = int(bubble["label"].split(" ", 1)[0])
            assert table[url] == count  # the picture and the table say the same
            level = re.search(r"strongest evidence level (\d)", bubble["label"]).group(1)
            assert bubble["fill"] == LEVEL_COLOURS[level]
            query = url.split("?", 1)[1]
            listed = map_client.get(f"/api/interventions?{query}").json()
            assert listed["total"] == count
            assert max(int(r["evidence_level"]) for r in listed["results"]) == int(level)
        assert 'id="picture-legend"' in page and "Level 2: Before-and-after data" in page
