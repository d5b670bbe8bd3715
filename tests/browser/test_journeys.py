"""Journeys through the site in a real browser, done as a user would: clicking, filling the form, the keyboard."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:  # playwright may be absent: the suite is then skipped (see conftest.py)
    from playwright.sync_api import Page

INTERVENTION_HREF = re.compile(r"^/interventions/(\d+)$")


def intervention_links(page: Page, scope: str = "main") -> list[tuple[int, str]]:
    """(id, title) of each intervention linked in `scope`, in page order, once each."""
    seen: dict[int, str] = {}
    for link in page.locator(f"{scope} a[href^='/interventions/']").all():
        match = INTERVENTION_HREF.match(link.get_attribute("href") or "")
        if match:
            seen.setdefault(int(match.group(1)), " ".join(link.inner_text().split()))
    return list(seen.items())


def assert_target_passage_visible(page: Page) -> str:
    """The URL's fragment names a passage, the passage is the :target and is on screen; returns its id."""
    fragment = urlsplit(page.url).fragment
    assert fragment.startswith("passage-"), page.url
    target = page.locator(":target")
    assert target.count() == 1 and target.get_attribute("id") == fragment
    assert target.is_visible()
    viewport = page.viewport_size
    box = target.bounding_box()
    assert box and box["y"] < viewport["height"] and box["y"] + box["height"] > 0, box
    return fragment


def outline_width(page: Page) -> float:
    return page.evaluate("() => parseFloat(getComputedStyle(document.activeElement).outlineWidth) || 0")


def focused(page: Page) -> dict:
    return page.evaluate(
        """() => { const e = document.activeElement;
        return {tag: e.tagName.toLowerCase(), id: e.id, cls: e.className, type: e.type || '',
                href: e.getAttribute('href') || '', text: (e.innerText || '').trim()}; }"""
    )


def tab_until(page: Page, wanted: Callable[[dict], object], limit: int = 40) -> dict:
    """Press Tab until `wanted(focused element)` holds; every element reached on the way shows its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        element = focused(page)
        assert outline_width(page) > 0, f"no visible focus outline on {element}"
        if wanted(element):
            return element
    raise AssertionError(f"{limit} presses of Tab never reached the element wanted")


def apply_first_facet(page: Page) -> int:
    """Click the first facet value offered, check the catalogue it opens counts what the facet promised;
    returns that count."""
    facet = page.locator("main .facet-panel a[href*='/catalogue?']").first
    count = int(re.search(r"\((\d+)", facet.inner_text()).group(1))
    facet.click()
    page.wait_for_url(re.compile(r"/catalogue\?"))
    assert catalogue_total(page) == count
    return count


def catalogue_total(page: Page) -> int:
    """The total the catalogue says it lists, and a check that the rows shown are the range it says."""
    status = page.locator(".catalogue-rows [role=status]").inner_text()
    match = re.search(r"Showing (\d+)–(\d+) of (\d+) intervention", status)
    if not match:
        assert "No intervention matches" in status, status
        return 0
    first, last, total = map(int, match.groups())
    assert len(catalogue_rows_shown(page)) == last - first + 1, status
    return total


def catalogue_rows_shown(page: Page) -> list[tuple[int, str]]:
    return intervention_links(page, ".catalogue-table tbody")


def all_catalogue_rows(page: Page) -> list[tuple[int, str]]:
    """Every row of the filtered catalogue, following its Next links."""
    rows = catalogue_rows_shown(page)
    while page.locator(".pagination a[rel=next]").count():
        page.locator(".pagination a[rel=next]").click()
        page.wait_for_load_state()
        rows += catalogue_rows_shown(page)
    return rows


def skip_to_main(page: Page) -> None:
    """From the top of a page: the first Tab reaches the skip link, shown and outlined; Enter moves focus to main."""
    page.keyboard.press("Tab")
    skip = focused(page)
    assert skip["text"] == "Skip to main content" and skip["href"] == "#main", skip
    assert outline_width(page) > 0 and page.locator(".skip-link").is_visible()
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main"


def test_search_facet_intervention_citation_and_back(page: Page):
    page.goto("/")
    page.get_by_label("What are you trying to improve?").fill("care home admissions")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/search\?q=care\+home\+admissions$"))
    assert page.locator("ol.results li.result").count() >= 3
    assert "care home admissions" in page.get_by_role("status").inner_text()
    assert intervention_links(page, ".intervention-list")

    facet = page.locator("main .facet-panel a[href*='/search?']").first
    count = int(re.search(r"\((\d+)", facet.inner_text()).group(1))
    facet.click()
    page.wait_for_url(re.compile(r"/search\?"))
    assert parse_qs(urlsplit(page.url).query)["q"] == ["care home admissions"]
    assert page.locator(".active-filters a", has_text="Remove").count() == 1  # shown, and removable
    shown = intervention_links(page, ".intervention-list")
    assert 0 < len(shown) <= count

    intervention_id, title = shown[0]
    page.locator(f".intervention-list a[href='/interventions/{intervention_id}']").click()
    page.wait_for_url(f"**/interventions/{intervention_id}")
    assert page.get_by_role("heading", level=1).inner_text().strip() == title
    intervention_url = page.url

    citation = page.locator("main a[href*='#passage-']").first
    href = citation.get_attribute("href")
    citation.click()
    page.wait_for_url("**" + href)
    assert re.search(r"/documents/\d+#passage-\d+$", page.url)
    assert_target_passage_visible(page)

    page.go_back()
    page.wait_for_url(intervention_url)
    assert page.get_by_role("heading", level=1).inner_text().strip() == title


def test_catalogue_filter_then_csv_has_exactly_the_rows_shown(page: Page):
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalogue").click()
    page.wait_for_url("**/catalogue")
    everything = catalogue_total(page)
    page.get_by_label("Only interventions that report measured results").check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"/catalogue\?.*has_results=true"))
    filtered = catalogue_total(page)
    assert 0 < filtered < everything
    shown = catalogue_rows_shown(page)

    download = page.get_by_role("link", name="CSV", exact=True)
    response = page.request.get(download.get_attribute("href"))
    assert response.ok and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text())))
    assert [(int(r["id"]), r["title"]) for r in rows] == shown
    assert {r["has_results"] for r in rows} == {"yes"}


def test_compare_two_interventions_chosen_from_the_catalogue(page: Page):
    page.goto("/catalogue")
    (first_id, first_title), (second_id, second_title) = catalogue_rows_shown(page)[:2]
    page.get_by_label(f"Compare {first_title}", exact=True).check()
    page.get_by_label(f"Compare {second_title}", exact=True).check()
    page.get_by_role("button", name="Compare selected").click()
    page.wait_for_url(re.compile(r"/compare\?"))
    assert parse_qs(urlsplit(page.url).query)["ids"] == [str(first_id), str(second_id)]
    header = page.get_by_role("table").locator("thead")
    assert (
        header.get_by_role("link", name=first_title, exact=True).get_attribute("href")
        == f"/interventions/{first_id}"
    )
    assert (
        header.get_by_role("link", name=second_title, exact=True).get_attribute("href")
        == f"/interventions/{second_id}"
    )


def test_evidence_map_cell_opens_the_catalogue_with_that_many_rows(page: Page):
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Evidence map").click()
    page.wait_for_url("**/evidence-map")
    cells = page.locator("table.evidence-map td.cell a")
    assert cells.count() > 0
    # The fullest cell, so the check covers as many rows as the map offers (and pagination if it comes to that).
    counts = [int(re.match(r"\d+", text).group()) for text in cells.all_inner_texts()]
    fullest = max(range(len(counts)), key=counts.__getitem__)
    cells.nth(fullest).click()
    page.wait_for_url(re.compile(r"/catalogue\?"))
    assert catalogue_total(page) == counts[fullest]
    rows = all_catalogue_rows(page)
    assert len(rows) == len(set(rows)) == counts[fullest]


def test_keyboard_only_search_and_open_a_result(page: Page):
    page.goto("/")
    skip_to_main(page)
    tab_until(page, lambda e: e["id"] == "q")
    page.keyboard.type("social prescribing")
    page.keyboard.press("Enter")  # Enter in the search box submits
    page.wait_for_url(re.compile(r"/search\?q=social\+prescribing$"))
    assert page.locator("ol.results li.result").count() > 0

    skip_to_main(page)
    tab_until(page, lambda e: e["id"] == "q")
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("care home")
    tab_until(page, lambda e: e["tag"] == "button" and e["text"] == "Search", limit=1)
    page.keyboard.press("Enter")  # Enter on the button submits
    page.wait_for_url(re.compile(r"/search\?q=care\+home$"))
    result_links = "main section.answer a, main .intervention-list a, main ol.results a"  # summary first
    first_result = page.locator(result_links).first.get_attribute("href")

    skip_to_main(page)
    tab_until(page, lambda e: e["id"] == "q")
    tab_until(page, lambda e: e["tag"] == "button", limit=1)
    link = tab_until(page, lambda e: re.match(r"/(interventions|documents)/\d+", e["href"]))
    assert link["href"] == first_result, (
        "the first result link reached after the button is not the first result"
    )
    page.keyboard.press("Enter")
    page.wait_for_url("**" + first_result)
    if "#passage-" in first_result:
        assert_target_passage_visible(page)
    else:  # the summary's links name the site; the intervention list's name the intervention
        title = page.request.get("/api" + first_result).json()["title"]
        assert page.get_by_role("heading", level=1).inner_text().strip() == title
