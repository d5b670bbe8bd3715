"""Uploading in a real browser: choose files, watch each one's state change live to indexed, and refused files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from tests.browser.conftest import SCREENSHOTS, Server, serious_axe_violations, sign_in
from tests.test_uploads import CASE_STUDY

if TYPE_CHECKING:  # playwright may be absent: the suite is then skipped (see conftest.py)
    from playwright.sync_api import Page

STATUS_URL = re.compile(r"/curate/uploads/(\d+)$")


def case_study(place: str, copies: int) -> bytes:
    """A longer report (the case study for several places) so that ingesting takes a moment."""
    return "\n\n".join(CASE_STUDY.replace("Wakefield", f"{place} {n}") for n in range(copies)).encode()


def test_upload_shows_each_file_reaching_indexed_live(page: Page, kb_server: Server, axe_script: Path):
    sign_in(page, kb_server, "curator")
    page.goto("/curate/uploads")
    assert page.get_by_role("heading", name="Uploads", exact=True).is_visible()
    assert serious_axe_violations(page, axe_script) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "uploads.png", full_page=True)

    files = [
        {"name": "wakefield-care-homes.txt", "mimeType": "text/plain", "buffer": CASE_STUDY.encode()}
    ] + [
        {"name": f"{place.lower()}-care-homes.txt", "mimeType": "text/plain", "buffer": case_study(place, 60)}
        for place in ("Leeds", "Bradford", "Calderdale")
    ]
    page.get_by_label("Files to upload").set_input_files(files)
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url(STATUS_URL)
    page.evaluate("() => { window.sameDocument = true; }")  # gone if the page reloads

    rows = page.locator("#upload-files tbody tr")
    assert rows.count() == 4
    first_seen = [rows.nth(i).get_attribute("data-status") for i in range(4)]
    assert any(s != "indexed" for s in first_seen), (
        f"every file was indexed before the page loaded: {first_seen}"
    )
    page.screenshot(path=SCREENSHOTS / "upload-status-in-progress.png", full_page=True)

    page.wait_for_function(
        "() => [...document.querySelectorAll('#upload-files tbody tr')].every(r => r.dataset.status === 'indexed')",
        timeout=60_000,
    )
    assert page.evaluate("() => window.sameDocument === true"), (
        "the page reloaded instead of updating in place"
    )
    assert page.locator("#upload-progress").inner_text().startswith("4 of 4 files finished")
    assert page.locator("#upload-files .status-indexed").count() == 4
    assert page.get_by_role("link", name=re.compile(r"^Read the draft document")).count() == 4
    assert page.get_by_role("link", name=re.compile(r"^Review its interventions")).count() == 4
    assert re.match(r"\d+ interventions? found", rows.first.locator(".file-detail").inner_text())
    assert page.locator("#refresh").is_hidden()
    assert serious_axe_violations(page, axe_script) == []
    page.screenshot(path=SCREENSHOTS / "upload-status.png", full_page=True)

    # the links are the draft document, which a curator can read
    page.get_by_role("link", name="Read the draft document from leeds-care-homes.txt").click()
    assert "Leeds 0" in page.locator("h1").inner_text()


def test_a_refused_file_is_named_with_the_reason(page: Page, kb_server: Server):
    sign_in(page, kb_server, "curator")
    page.goto("/curate/uploads")
    page.get_by_label("Files to upload").set_input_files(
        [
            {"name": "setup.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00"},
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"Some notes."},
        ]
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    summary = page.get_by_role("alert")
    assert "Nothing was uploaded" in summary.inner_text()
    assert "setup.exe: a .exe file cannot be ingested" in summary.inner_text()
    page.screenshot(path=SCREENSHOTS / "upload-refused.png", full_page=True)


def test_a_failed_file_offers_a_retry(page: Page, kb_server: Server):
    sign_in(page, kb_server, "curator")
    page.goto("/curate/uploads")
    page.get_by_label("Files to upload").set_input_files(
        [{"name": "broken.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 not really"}]
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url(STATUS_URL)
    row = page.locator("#upload-files tbody tr").first
    page.wait_for_function(
        "() => document.querySelector('#upload-files tbody tr').dataset.status === 'failed'", timeout=30_000
    )
    assert "PDF" in row.locator(".file-detail").inner_text()
    page.get_by_role("button", name="Try again broken.pdf").click()
    page.wait_for_url(STATUS_URL)
    page.wait_for_function(
        "() => document.querySelector('#upload-files tbody tr').dataset.status === 'failed'", timeout=30_000
    )
    page.wait_for_function(
        "() => document.querySelector('#upload-files .file-detail').innerText.includes('tried 2 times')",
        timeout=30_000,
    )
    page.screenshot(path=SCREENSHOTS / "upload-failed.png", full_page=True)
