"""Journeys for issue 13 in a real browser: ask a question, read the evidence summary, open a cited passage;
open a site, go to areas like it, then to their interventions; follow an evidence-map bubble to the catalogue.
Screenshots of the summary, a site page and the map at 1280 and 390 px go to tests/screenshots/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from tests.browser.conftest import DESKTOP, MOBILE, SCREENSHOTS, serious_axe_violations
from tests.browser.test_journeys import assert_target_passage_visible, catalogue_total

if TYPE_CHECKING:
    from playwright.sync_api import Page


def screenshots(page: Page, name: str, part: str) -> None:
    """The whole page and the part this issue added (`part`, a selector), at desktop and phone widths."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for viewport in (DESKTOP, MOBILE):
        page.set_viewport_size(viewport)
        page.screenshot(path=SCREENSHOTS / f"answer-{name}-{viewport['width']}.png", full_page=True)
        page.locator(part).first.screenshot(path=SCREENSHOTS / f"answer-{name}-{viewport['width']}-part.png")
    page.set_viewport_size(DESKTOP)


def test_ask_read_the_summary_and_open_a_cited_passage(page: Page, axe_script: Path):
    page.goto("/")
    page.get_by_label("What are you trying to improve?").fill("emergency admissions")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/search\?q=emergency\+admissions"))
    summary = page.locator("section.answer")
    assert summary.locator("h2").inner_text() == "Evidence summary"
    verdict = summary.locator(".verdict").inner_text()
    assert verdict.startswith("Tried at ") and "fewer emergency admissions" in verdict
    assert serious_axe_violations(page, axe_script) == []
    screenshots(page, "summary", "section.answer")
    first = summary.locator("table.findings tbody tr").first
    figure = first.locator("td strong").inner_text().split(" to ")[-1]
    first.locator("a.cited-passage").click()
    page.wait_for_url(re.compile(r"/documents/\d+#passage-\d+"))
    fragment = assert_target_passage_visible(page)
    assert figure in page.locator(f"#{fragment}").inner_text()


def test_a_site_then_areas_like_it_then_their_interventions(page: Page, axe_script: Path):
    page.goto("/sites")
    page.get_by_role("link", name=re.compile("Northumberland")).first.click()
    page.wait_for_url("**/sites/northumberland")
    area = page.locator("table.characteristics")
    assert "A very large and highly rural geography." in area.inner_text()
    assert serious_axe_violations(page, axe_script) == []
    screenshots(page, "site", "main")
    alike = page.locator("ol.similar-areas li").first
    assert "both rural" in alike.inner_text()
    count = int(re.match(r"\d+", alike.locator("a.similar-interventions").inner_text()).group())
    name = alike.locator("a.similar-site").inner_text()
    alike.locator("a.similar-site").click()
    page.wait_for_url("**/sites/south-somerset")
    assert page.locator("h1").inner_text() == name
    page.go_back()
    page.locator("ol.similar-areas li a.similar-interventions").first.click()
    page.wait_for_url(re.compile(r"/catalogue\?site=south-somerset"))
    assert catalogue_total(page) == count > 0


def test_an_evidence_map_bubble_opens_the_catalogue(page: Page, axe_script: Path):
    page.goto("/evidence-map")
    bubbles = page.locator("svg.evidence-svg a.bubble")
    assert bubbles.count() == page.locator("table.evidence-map td.cell a").count() > 0
    assert serious_axe_violations(page, axe_script) == []
    screenshots(page, "map", "figure.map-picture")
    labels = [bubbles.nth(i).get_attribute("aria-label") for i in range(bubbles.count())]
    fullest = max(range(len(labels)), key=lambda i: int(labels[i].split(" ", 1)[0]))
    bubbles.nth(fullest).click()
    page.wait_for_url(re.compile(r"/catalogue\?"))
    assert catalogue_total(page) == int(labels[fullest].split(" ", 1)[0])
