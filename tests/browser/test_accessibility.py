"""axe-core over every page type at desktop and phone widths, with a full-page screenshot of each in tests/screenshots.

A serious or critical violation fails; moderate and minor ones are printed (run with -s to see them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import DESKTOP, MOBILE, SCREENSHOTS, add_axe

if TYPE_CHECKING:
    from playwright.sync_api import Page


def first_intervention_ids(page: Page, count: int) -> list[int]:
    body = page.request.get("/api/interventions", params={"limit": count}).json()
    return [r["id"] for r in body["results"]]


def busiest_site(page: Page) -> str:
    sites = page.request.get("/api/sites").json()["results"]
    return max(sites, key=lambda s: s["intervention_count"])["id"]


def sectioned_document(page: Page) -> int:
    documents = page.request.get("/api/documents", params={"limit": 200}).json()["results"]
    return next(d["id"] for d in documents if d["source"] == "sunderland-recovery-at-home.txt")


PAGE_TYPES = {
    "home": lambda page: "/",
    "search": lambda page: "/search?q=care+home+admissions",
    "catalogue": lambda page: "/catalogue",
    "intervention": lambda page: f"/interventions/{first_intervention_ids(page, 1)[0]}",
    "compare": lambda page: "/compare?ids=" + ",".join(map(str, first_intervention_ids(page, 2))),
    "evidence-map": lambda page: "/evidence-map",
    "site": lambda page: f"/sites/{busiest_site(page)}",
    "document": lambda page: f"/documents/{sectioned_document(page)}",
    "not-found": lambda page: "/no-such-page",
}


def describe(violation: dict) -> str:
    targets = "; ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
    return f"[{violation['impact']}] {violation['id']}: {violation['help']} ({len(violation['nodes'])}× e.g. {targets})"


@pytest.mark.parametrize("name", PAGE_TYPES)
def test_no_serious_accessibility_violations(page: Page, axe_script: Path, name: str):
    url = PAGE_TYPES[name](page)
    response = page.goto(url)
    assert response.status == (404 if name == "not-found" else 200), f"{url}: {response.status}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    add_axe(page, axe_script)
    problems = []
    for viewport in (DESKTOP, MOBILE):
        page.set_viewport_size(viewport)
        page.screenshot(
            path=SCREENSHOTS / f"{name}-{viewport['width']}x{viewport['height']}.png", full_page=True
        )
        result = json.loads(page.evaluate("async () => JSON.stringify(await axe.run(document))"))
        for violation in result["violations"]:
            line = f"{name} {viewport['width']}px {url}: {describe(violation)}"
            print(line)
            if violation["impact"] in ("serious", "critical"):
                problems.append(line)
        for unsure in result["incomplete"]:  # what axe could not decide (contrast over images, for example)
            print(f"{name} {viewport['width']}px {url}: needs review: {describe(unsure)}")
    assert not problems, "\n".join(problems)
