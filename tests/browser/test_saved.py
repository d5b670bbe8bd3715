"""Saved searches and search analytics in a real browser: a member saves a search and finds it in their
account; a curator reads the analytics and turns a poorly answered query into a curation task."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from tests.browser.conftest import SCREENSHOTS, add_axe, sign_in
from tests.browser.test_accessibility import describe

if TYPE_CHECKING:  # playwright may be absent: the suite is then skipped (see conftest.py)
    from playwright.sync_api import Page

    from tests.browser.conftest import Server


def test_a_member_saves_a_search_and_sees_it_in_their_account(page: Page, kb_server: Server):
    sign_in(page, kb_server, "member")
    page.goto("/search")
    page.get_by_label("What are you trying to improve?").fill("care home admissions")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_load_state()
    save_button = page.get_by_role("button", name="Save this search")
    assert save_button.is_visible()
    page.get_by_label("Name this search").fill("Care home admissions")
    page.screenshot(path=str(SCREENSHOTS / "saved-search-page.png"), full_page=False)
    save_button.click()
    page.wait_for_load_state()

    assert page.url.endswith("/account/saved")
    assert page.get_by_role("heading", name="Your saved searches").is_visible()
    link = page.get_by_role("link", name="Care home admissions")
    assert link.is_visible()
    assert "Nothing new since your last visit" in page.inner_text("main")
    assert "E-mail digest off" in page.inner_text("main")
    page.get_by_role("button", name="Turn on the e-mail digest for Care home admissions").click()
    page.wait_for_load_state()
    assert "E-mail digest on" in page.inner_text("main")
    assert page.get_by_role("button", name="Turn off the e-mail digest for Care home admissions").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "saved-list.png"), full_page=True)

    page.get_by_role("link", name="Care home admissions").first.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Care home admissions", level=1).is_visible()
    assert page.get_by_role("heading", name="Matching interventions").is_visible()
    assert page.locator("main .results li").count() > 0  # the top passages
    page.screenshot(path=str(SCREENSHOTS / "saved-view.png"), full_page=True)


def test_a_curator_sees_analytics_and_makes_a_task(page: Page, kb_server: Server):
    sign_in(page, kb_server, "curator")
    for query in ("care home admissions", "Care  Home admissions", "falls in care homes", "zzyzx quilting"):
        page.goto(f"/search?q={query}")
    page.goto("/curate/analytics")
    assert page.get_by_role("heading", name="Search analytics", level=1).is_visible()
    main = page.inner_text("main")
    assert "care home admissions" in main  # the two spellings are counted as one query
    assert page.get_by_role("heading", name="Queries with poor results").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "analytics.png"), full_page=True)

    page.get_by_role("button", name="Make a curation task for zzyzx quilting").click()
    page.wait_for_load_state()
    assert "/curate/tasks" in page.url
    assert page.get_by_role("heading", name="Content gap: zzyzx quilting").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "saved-tasks.png"), full_page=True)
    page.get_by_role("button", name=re.compile(r"Mark as done\W+Content gap: zzyzx quilting")).click()
    page.wait_for_load_state()
    assert "Content gap: zzyzx quilting" in page.locator("ul.task-list.done").inner_text()


def test_the_saved_search_and_analytics_pages_have_no_serious_accessibility_problems(
    page: Page, kb_server: Server, axe_script: Path
):
    sign_in(page, kb_server, "curator")  # a curator is a member too: every page here is open to them
    page.goto("/search?q=social+prescribing")
    page.get_by_role("button", name="Save this search").click()
    page.wait_for_load_state()
    saved_url = page.get_by_role("link", name="social prescribing").first.get_attribute("href")
    problems = []
    for url in (
        "/search?q=social+prescribing",
        "/account/saved",
        saved_url,
        "/curate/analytics",
        "/curate/tasks",
    ):
        assert page.goto(url).status == 200, url
        add_axe(page, axe_script)
        result = json.loads(page.evaluate("async () => JSON.stringify(await axe.run(document))"))
        problems += [
            f"{url}: {describe(v)}" for v in result["violations"] if v["impact"] in ("serious", "critical")
        ]
    assert not problems, "\n".join(problems)
