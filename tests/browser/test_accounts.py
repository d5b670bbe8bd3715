"""Signing in and out in a real browser: the form, the header, where each role may go."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.browser.conftest import SCREENSHOTS, Server, sign_in
from tests.conftest import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_a_curator_signs_in_reaches_curation_and_signs_out(page: Page, kb_server: Server):
    page.goto("/catalogue")
    page.get_by_role("link", name="Sign in").click()
    assert page.url.endswith("/login?next=/catalogue")
    page.screenshot(path=str(SCREENSHOTS / "sign-in.png"), full_page=True)
    page.get_by_label("E-mail address").fill(kb_server.users["curator"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/catalogue")  # back where they were
    header = page.locator("header")
    assert header.get_by_role("link", name="Cara Curator").is_visible()
    header.get_by_role("link", name="Curation").click()
    assert page.get_by_role("heading", level=1, name="Curation").is_visible()
    assert page.get_by_role("link", name="Review queue").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "curation-dashboard.png"), full_page=True)
    header.get_by_role("button", name="Sign out").click()
    assert header.get_by_role("link", name="Sign in").is_visible()
    page.goto("/curate")
    assert "/login?next=%2Fcurate" in page.url


def test_a_wrong_password_says_so_and_a_member_cannot_curate(page: Page, kb_server: Server):
    page.goto("/login")
    page.get_by_label("E-mail address").fill(kb_server.users["member"])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().count("do not match") == 1
    sign_in(page, kb_server, "member")
    assert page.locator("header").get_by_role("link", name="Curation").count() == 0
    response = page.goto("/curate")
    assert response.status == 403
    assert "needs a curator account" in page.locator("main").inner_text()
