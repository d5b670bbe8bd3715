"""The community on an intervention page in a real browser: a member comments in Markdown, replies and reports a
follow-up; a curator moderates and records the lead's contact; the page stays accessible and scripts stay inert."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from tests.browser.conftest import SCREENSHOTS, Server, serious_axe_violations, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

COMMENT = (
    "Did the **single point of access** keep going after the pilot?\n\n"
    "- we tried a similar *hub*\n- see [the NHS page](https://www.nhs.uk)\n\n"
    "<script>window.pwned = 1</script> [click](javascript:window.pwned=2)"
)


def case_study_intervention(page: Page) -> int:
    """One of the curated case studies (corpus/cases), not the first listed (the accessibility suite's)."""
    results = page.request.get("/api/interventions", params={"limit": 200}).json()["results"]
    curated = [r for r in results if r.get("origin") == "curated"] or results
    return curated[-1]["id"]


def section_screenshot(page: Page, first: str, last: str, name: str) -> None:
    """The page from `first` down to the end of `last` (the community part of a long intervention page)."""
    top, bottom = page.locator(first).first.bounding_box(), page.locator(last).last.bounding_box()
    scroll = page.evaluate("() => window.scrollY")
    y = max(0, top["y"] + scroll - 60)
    height = bottom["y"] + scroll + bottom["height"] + 20 - y
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(SCREENSHOTS / name),
        full_page=True,
        clip={"x": 0, "y": y, "width": page.viewport_size["width"], "height": height},
    )


def test_a_member_comments_replies_and_reports_a_follow_up(page: Page, kb_server: Server, axe_script: Path):
    intervention = case_study_intervention(page)
    page.goto(f"/interventions/{intervention}")
    assert page.get_by_role("link", name="Sign in to comment").is_visible()
    assert page.locator("#comment-body").count() == 0

    sign_in(page, kb_server, "member")
    page.goto(f"/interventions/{intervention}")
    page.get_by_role("radio", name="Question").check()
    page.get_by_label("Your comment or question").fill(COMMENT)
    page.get_by_role("button", name="Post", exact=True).click()
    match = re.search(r"#comment-(\d+)$", page.url)
    assert match, page.url
    question = page.locator(f"#comment-{match.group(1)}")
    assert question.locator(".badge-question").inner_text() == "Question"
    assert question.locator(".user-content strong").inner_text() == "single point of access"
    assert question.locator(".user-content li").count() == 2
    link = question.get_by_role("link", name="the NHS page")
    assert link.get_attribute("href") == "https://www.nhs.uk"
    assert link.get_attribute("rel") == "nofollow ugc noopener"
    assert "<script>window.pwned = 1</script>" in question.inner_text()  # shown, not run
    assert question.get_by_role("link", name="click").count() == 0
    assert page.evaluate("() => window.pwned === undefined")

    question.locator("summary", has_text="Reply").click()
    question.get_by_label("Your reply to Maya Member").fill("Answering myself: _yes_, three years on.")
    question.get_by_role("button", name="Post reply").click()
    reply_id = re.search(r"#comment-(\d+)$", page.url).group(1)
    reply = page.locator(f"#comment-{match.group(1)} + ol.replies #comment-{reply_id}")
    assert reply.is_visible()
    assert reply.locator(".user-content em").inner_text() == "yes"

    if page.locator("details.community-form[open]").count() == 0:  # open already when there are none yet
        page.locator("summary", has_text="Tell others how it went").click()
    page.get_by_label("Where you tried it").fill("North Tyneside")
    page.get_by_label("What you did and what happened").fill("We ran it with **two** teams for a year.")
    page.get_by_label("Outcome figure (optional)").fill("Emergency admissions down 6% in 12 months")
    page.get_by_role("button", name="Add follow-up").click()
    follow_up = page.locator(":target")
    assert follow_up.get_attribute("id").startswith("follow-up-")
    text = follow_up.inner_text()
    assert "Tried in North Tyneside" in text and "Member report, not verified" in text
    assert "Emergency admissions down 6% in 12 months" in text
    assert page.get_by_role("heading", name="Follow-up evidence from adopters").is_visible()

    section_screenshot(page, "#follow-ups", "#comment-form", "community-member.png")
    assert not serious_axe_violations(page, axe_script)


def test_a_curator_moderates_and_records_the_leads_contact(page: Page, kb_server: Server, axe_script: Path):
    intervention = case_study_intervention(page)
    sign_in(page, kb_server, "member")
    page.goto(f"/interventions/{intervention}")
    page.get_by_label("Your comment or question").fill("Something a moderator should remove")
    page.get_by_role("button", name="Post", exact=True).click()
    comment_id = re.search(r"#comment-(\d+)$", page.url).group(1)
    page.locator("header").get_by_role("button", name="Sign out").click()

    sign_in(page, kb_server, "curator")
    page.goto("/curate/moderation")
    item = page.locator(f"li#comment-{comment_id}")
    assert "Maya Member" in item.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "community-moderation.png"), full_page=True)
    assert not serious_axe_violations(page, axe_script)
    item.get_by_label("Moderator's note (optional) for this comment").fill("Off topic")
    item.get_by_role("button", name=re.compile("^Hide")).click()
    assert "/curate/moderation" in page.url
    assert "Hidden" in page.locator(f"li#comment-{comment_id} .status").inner_text()

    page.goto(f"/interventions/{intervention}")
    page.locator("summary", has_text="Add a lead contact").click()
    form = page.locator(".contact-form").last
    form.get_by_label("Name").fill("Dana Lead")
    form.get_by_label("Role").fill("Programme director")
    form.get_by_label("Organisation").fill("Northumberland CCG")
    form.get_by_label("E-mail address").fill("dana.lead@example.nhs.uk")
    form.get_by_label("The lead has agreed").check()
    form.get_by_label("Consent confirmed on").fill("2025-03-04")
    form.get_by_role("button", name="Add contact").click()
    lead = page.locator(".lead-contact")
    assert "Dana Lead" in lead.inner_text()
    assert "Consent last confirmed on 4 March 2025" in lead.inner_text()
    section_screenshot(page, "#lead", "details.community-form", "community-curator.png")
    assert not serious_axe_violations(page, axe_script)

    page.locator("header").get_by_role("button", name="Sign out").click()
    page.goto(f"/interventions/{intervention}")
    removed = page.locator(f"#comment-{comment_id}")
    assert removed.inner_text().strip() == "This comment was removed by a moderator."
    assert "Dana Lead" in page.locator(".lead-contact").inner_text()
    assert page.locator(".curator-panel").count() == 0
    section_screenshot(page, "#lead", "#discussion ~ p", "community-reader.png")
