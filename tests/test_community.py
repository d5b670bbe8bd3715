"""Community on the intervention page: safe Markdown, threaded comments and questions, moderation,
adopters' follow-ups and the lead's contact shown only with consent."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from sqlmodel import Session, select

from kb import community
from kb.store.models import Comment, Intervention
from tests.conftest import client_as, confirm_address, post_form, write
from tests.test_catalogue import ISLINGTON, KENT
from web.markdown import render_markdown

# --- safe Markdown --------------------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](jav&#x09;ascript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](  javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "[x](file:///etc/passwd)",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)",
    '<a href="javascript:alert(1)">x</a>',
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "[ref]: javascript:alert(1)\n\n[click][ref]",
    '<iframe src="https://example.org/evil"></iframe>',
    '<svg onload="alert(1)"></svg>',
    "<div style=\"background:url('javascript:alert(1)')\">x</div>",
]
ALLOWED_SCHEMES = ("http://", "https://", "mailto:")


def assert_inert(html: str) -> None:
    """No script, no event handler, no frame or image, and every link to a web or e-mail address only."""
    tree = HTMLParser(f"<div>{html}</div>")
    assert "<script" not in html.lower()
    for tag in ("script", "iframe", "img", "svg", "object", "embed", "style"):
        assert not tree.css(tag), f"<{tag}> in {html!r}"
    for node in tree.css("*"):
        for name, value in node.attributes.items():
            assert not name.lower().startswith("on"), f"{name}= in {html!r}"
            if name in ("href", "src", "action", "formaction"):
                assert (value or "").lower().startswith(ALLOWED_SCHEMES), f"{name}={value!r} in {html!r}"


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_is_rendered_inert(text: str):
    html = str(render_markdown(text))
    assert_inert(html)  # "onerror=" may remain as escaped text, never as an attribute


def test_ordinary_markdown_renders_with_safe_links():
    html = str(
        render_markdown(
            "# Title\n## Sub\n**bold** *it* [NHS](https://www.nhs.uk) <mailto:a@example.org>\n\n- one\n- two"
        )
    )
    tree = HTMLParser(html)
    assert not tree.css("h1") and not tree.css("h2")
    assert tree.css_first("h3").text() == "Title" and tree.css_first("h4").text() == "Sub"
    assert tree.css_first("strong").text() == "bold" and len(tree.css("li")) == 2
    links = tree.css("a")
    assert [a.attributes["href"] for a in links] == ["https://www.nhs.uk", "mailto:a@example.org"]
    assert all(a.attributes["rel"] == "nofollow ugc noopener" for a in links)


def test_an_image_becomes_a_link_not_an_image():
    tree = HTMLParser(str(render_markdown("![chart](https://example.org/chart.png)")))
    assert not tree.css("img")
    link = tree.css_first("a")
    assert link.attributes["href"] == "https://example.org/chart.png" and "chart" in link.text()


def test_raw_html_is_shown_as_text():
    html = str(render_markdown("<b>hello</b>"))
    assert "&lt;b&gt;hello&lt;/b&gt;" in html


# --- on the site ----------------------------------------------------------------------------------------


@pytest.fixture
def interventions(client: TestClient, tmp_path: Path) -> tuple[int, int]:
    """Two published interventions (Kent's and Islington's) on the client's app."""
    from web.flows import ingest_and_index

    app = client.app
    folder = tmp_path / "docs"
    write(folder / "kent.txt", KENT)
    write(folder / "islington.txt", ISLINGTON)
    ingest_and_index([folder], settings=app.state.settings, engine=app.state.engine, service=app.state.search)
    app.state.catalogue.refresh()
    results = client.get("/api/interventions", params={"limit": 100}).json()["results"]
    kent = next(r["id"] for r in results if "kent" in (r.get("site") or r["title"]).lower())
    other = next(r["id"] for r in results if r["id"] != kent)
    return kent, other


def page_of(test_client: TestClient, intervention_id: int) -> HTMLParser:
    response = test_client.get(f"/interventions/{intervention_id}")
    assert response.status_code == 200
    return HTMLParser(response.text)


def comment(test_client: TestClient, intervention_id: int, body: str, **fields):
    return post_form(
        test_client,
        f"/interventions/{intervention_id}/comments",
        {"body": body, **fields},
        follow_redirects=False,
    )


def comment_id(response) -> int:
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("#comment-", 1)[1])


def test_hostile_comments_posted_by_a_member_stay_inert_on_the_page(client, member, interventions):
    kent, _ = interventions
    for text in HOSTILE:
        assert comment(member, kent, text).status_code == 303
    for viewer in (client, member):
        tree = page_of(viewer, kent)
        bodies = tree.css("#discussion ~ .thread .user-content")
        assert len(bodies) == len(HOSTILE)
        for body in bodies:
            assert_inert(body.html or "")
        assert "<script>alert(1)</script>" in tree.body.text()  # shown as text, not run
        assert not tree.css("script")
        assert not any(
            (a.attributes.get("href") or "").lower().lstrip().startswith(("javascript", "data", "vbscript"))
            for a in tree.css("a")
        )


def test_a_comment_redirects_to_its_anchor_and_shows_author_and_markdown(member, interventions):
    kent, _ = interventions
    response = comment(member, kent, "We did **this** too. See [our report](https://example.org/report).")
    assert response.headers["location"].startswith(f"/interventions/{kent}#comment-")
    tree = page_of(member, kent)
    article = tree.css_first(f"#comment-{comment_id(response)}")
    assert article.css_first(".user-content strong").text() == "this"
    assert article.css_first("a[rel]").attributes["href"] == "https://example.org/report"
    assert member.user.name in article.text()


def test_replies_nest_under_their_parent_and_answered_questions_are_marked(client, member, interventions):
    kent, _ = interventions
    question = comment_id(comment(member, kent, "Who funded the team?", kind="question"))
    tree = page_of(member, kent)
    assert "Question" in tree.css_first(f"#comment-{question} .byline").text()
    assert "Answered" not in tree.css_first(f"#comment-{question}").text()

    other_member = client_as(client, "member")
    reply = comment_id(comment(other_member, kent, "I think the CCG.", parent_id=question))
    tree = page_of(member, kent)
    nested = tree.css_first(f"#comment-{question}").parent.css_first(f"ol.replies #comment-{reply}")
    assert nested is not None
    assert "Answered" not in tree.css_first(f"#comment-{question} .byline").text()  # a member is not the lead

    curator = client_as(client, "curator")
    answer = comment_id(comment(curator, kent, "The CCG and the council, jointly.", parent_id=question))
    tree = page_of(client, kent)
    assert "Answered" in tree.css_first(f"#comment-{question} .byline").text()
    deeper = comment_id(comment(member, kent, "Thank you.", parent_id=answer))
    tree = page_of(client, kent)
    assert tree.css_first(f"#comment-{answer}").parent.css_first(f"#comment-{deeper}") is not None


def test_the_lead_answering_marks_a_question_answered(client, curator, member, interventions):
    kent, _ = interventions
    lead = client_as(client, "member")
    post_form(
        curator,
        f"/curate/interventions/{kent}/contacts",
        {"name": "Lee Lead", "email": lead.user.email.upper(), "consent": "true"},
    )
    question = comment_id(comment(member, kent, "Did it last?", kind="question"))
    comment(lead, kent, "Yes, five years on.", parent_id=question)
    # Registering with the lead's address proves nothing: not the lead until the address is confirmed.
    assert "Answered" not in page_of(client, kent).css_first(f"#comment-{question} .byline").text()
    confirm_address(lead)
    assert "Answered" in page_of(client, kent).css_first(f"#comment-{question} .byline").text()


def test_a_reply_to_another_interventions_comment_is_refused(member, interventions):
    kent, other = interventions
    parent = comment_id(comment(member, kent, "On Kent."))
    response = comment(member, other, "A reply in the wrong place.", parent_id=parent)
    assert response.status_code == 422
    assert comment(member, kent, "To nothing.", parent_id=999999).status_code == 422


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"body": ""}, 422),
        ({"body": "   "}, 422),
        ({"body": "x" * (community.MAX_BODY + 1)}, 422),
        ({"body": "ok", "kind": "shout"}, 422),
    ],
)
def test_bad_comments_are_refused(member, interventions, fields, status):
    kent, _ = interventions
    body = fields.pop("body")
    response = comment(member, kent, body, **fields)
    assert response.status_code == status
    assert "Check what you entered" in response.text


def test_comments_on_a_missing_or_unpublished_intervention_are_404(client, member, interventions):
    kent, _ = interventions
    assert comment(member, 999999, "Hello").status_code == 404
    with Session(client.app.state.engine) as session:
        row = session.get(Intervention, kent)
        row.status = "draft"
        session.add(row)
        from kb.store import repo

        repo.bump_generation(session=session)
        session.commit()
    client.app.state.catalogue.refresh()
    assert comment(member, kent, "Hello").status_code == 404
    assert (
        post_form(
            member,
            f"/interventions/{kent}/follow-ups",
            {"area": "Leeds", "body": "x"},
            follow_redirects=False,
        ).status_code
        == 404
    )


def test_a_reader_sees_the_discussion_and_a_sign_in_link_not_the_form(client, member, interventions):
    kent, _ = interventions
    comment(member, kent, "Visible to everyone.")
    tree = page_of(client, kent)
    assert "Visible to everyone." in tree.body.text()
    assert not tree.css(f'form[action="/interventions/{kent}/comments"]')
    assert any("Sign in to comment" in a.text() for a in tree.css("a[href^='/login']"))
    response = client.post(
        f"/interventions/{kent}/comments",
        data={"body": "anonymous", "csrf_token": client.cookies.get("kb_csrf") or ""},
        follow_redirects=False,
    )
    assert response.status_code in (401, 303)
    tree = page_of(member, kent)
    assert tree.css(f'form[action="/interventions/{kent}/comments"] textarea[name=body]')


# --- moderation -----------------------------------------------------------------------------------------


def test_moderation_hides_and_restores_a_comment_keeping_its_replies(client, curator, member, interventions):
    kent, _ = interventions
    rude = comment_id(comment(member, kent, "Something rude"))
    reply = comment_id(comment(member, kent, "A reply that stays", parent_id=rude))

    listing = curator.get("/curate/moderation")
    assert listing.status_code == 200
    items = HTMLParser(listing.text).css(".moderation-item")
    assert items[0].attributes["id"] == f"comment-{reply}"  # newest first
    assert member.user.name in items[1].text() and member.user.email in items[1].text()

    response = post_form(
        curator, f"/curate/comments/{rude}/hide", {"note": "Personal attack"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/interventions/{kent}#comment-{rude}"
    reader_view = page_of(client, kent)
    hidden = reader_view.css_first(f"#comment-{rude}")
    assert "This comment was removed by a moderator" in hidden.text()
    assert "Something rude" not in reader_view.body.text()
    assert "Personal attack" not in reader_view.body.text()
    assert hidden.parent.css_first(f"#comment-{reply}") is not None  # the reply keeps its place
    assert "Something rude" in page_of(curator, kent).body.text()  # a curator still sees it, marked
    assert "Hidden" in HTMLParser(curator.get("/curate/moderation").text).css_first(f"#comment-{rude}").text()
    assert comment(member, kent, "Replying to removed", parent_id=rude).status_code == 422

    response = post_form(
        curator, f"/curate/comments/{rude}/restore", {"back": "moderation"}, follow_redirects=False
    )
    assert response.headers["location"] == f"/curate/moderation#comment-{rude}"
    assert "Something rude" in page_of(client, kent).body.text()


def test_moderation_routes_refuse_readers_and_members(client, member, interventions):
    kent, _ = interventions
    target = comment_id(comment(member, kent, "Mine"))
    reader = client_as(client, "reader")
    for path in (
        f"/curate/comments/{target}/hide",
        f"/curate/comments/{target}/restore",
        "/curate/follow-ups/1/hide",
        "/curate/follow-ups/1/restore",
        f"/curate/interventions/{kent}/contacts",
        "/curate/contacts/1/delete",
    ):
        assert post_form(member, path, {"name": "x"}, follow_redirects=False).status_code == 403
        assert post_form(reader, path, {"name": "x"}, follow_redirects=False).status_code == 401
    assert member.get("/curate/moderation", follow_redirects=False).status_code == 403
    assert reader.get("/curate/moderation", follow_redirects=False).headers["location"].startswith("/login")
    with Session(client.app.state.engine) as session:
        assert session.exec(select(Comment).where(Comment.id == target)).one().status == "visible"


def test_unknown_comment_or_follow_up_is_404(curator):
    assert post_form(curator, "/curate/comments/999/hide", follow_redirects=False).status_code == 404
    assert post_form(curator, "/curate/follow-ups/999/restore", follow_redirects=False).status_code == 404
    assert post_form(curator, "/curate/contacts/999/delete", follow_redirects=False).status_code == 404


# --- follow-ups -----------------------------------------------------------------------------------------


def test_follow_ups_show_labelled_as_unverified_member_reports(client, curator, member, interventions):
    kent, _ = interventions
    response = post_form(
        member,
        f"/interventions/{kent}/follow-ups",
        {
            "area": "North Tyneside",
            "body": "We ran it for a year with *two* teams.\n\n<script>alert(1)</script>",
            "outcome": "Emergency admissions down 6% in 12 months",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    anchor = response.headers["location"].rsplit("#", 1)[1]
    assert response.headers["location"] == f"/interventions/{kent}#{anchor}"
    tree = page_of(client, kent)
    assert tree.css_first("#follow-ups").text() == "Follow-up evidence from adopters"
    item = tree.css_first(f"#{anchor}")
    text = item.text()
    assert "North Tyneside" in text and "Emergency admissions down 6% in 12 months" in text
    assert "not verified" in text and member.user.name in text
    assert item.css_first(".user-content em").text() == "two"
    assert_inert(item.css_first(".user-content").html or "")
    assert not tree.css("script")

    follow_up = anchor.removeprefix("follow-up-")
    post_form(curator, f"/curate/follow-ups/{follow_up}/hide", follow_redirects=False)
    assert not page_of(client, kent).css(f"#{anchor}")
    assert page_of(curator, kent).css_first(f"#{anchor}.is-hidden") is not None
    post_form(curator, f"/curate/follow-ups/{follow_up}/restore", follow_redirects=False)
    assert page_of(client, kent).css(f"#{anchor}")


def test_a_follow_up_needs_an_area_and_a_body(member, interventions):
    kent, _ = interventions
    url = f"/interventions/{kent}/follow-ups"
    assert post_form(member, url, {"area": "", "body": "x"}, follow_redirects=False).status_code == 422
    assert post_form(member, url, {"area": "Leeds", "body": ""}, follow_redirects=False).status_code == 422


# --- contact the lead -----------------------------------------------------------------------------------


def save_contact(curator: TestClient, intervention_id: int, **fields):
    return post_form(
        curator, f"/curate/interventions/{intervention_id}/contacts", fields, follow_redirects=False
    )


def test_contact_is_shown_only_with_consent_and_its_confirmed_date(client, curator, interventions):
    kent, _ = interventions
    response = save_contact(
        curator, kent, name="Dana Lead", role="Programme director", organisation="Kent Community Health",
        email="dana.lead@example.nhs.uk", phone="01234 567890",
    )  # fmt: skip
    assert response.status_code == 303 and response.headers["location"] == f"/interventions/{kent}#lead"
    reader_page = client.get(f"/interventions/{kent}").text
    assert "Dana Lead" not in reader_page and "dana.lead@" not in reader_page
    assert "Contact the lead" not in reader_page
    curator_tree = page_of(curator, kent)
    assert "without consent" in curator_tree.css_first(".curator-panel").text()
    contact = curator_tree.css_first(".curator-panel input[name=contact_id]").attributes["value"]

    save_contact(
        curator, kent, contact_id=contact, name="Dana Lead", role="Programme director",
        organisation="Kent Community Health", email="dana.lead@example.nhs.uk", phone="01234 567890",
        consent="true", confirmed_on="2025-03-04",
    )  # fmt: skip
    tree = page_of(client, kent)
    block = tree.css_first(".lead-contact")
    assert tree.css_first("#lead").text() == "Contact the lead"
    assert "Dana Lead" in block.text() and "Programme director" in block.text()
    assert block.css_first("a").attributes["href"] == "mailto:dana.lead@example.nhs.uk"
    assert "Consent last confirmed on 4 March 2025" in block.text()
    assert not tree.css(".curator-panel")  # readers never see the management form

    save_contact(curator, kent, contact_id=contact, name="Dana Lead", email="dana.lead@example.nhs.uk")
    assert "Dana Lead" not in client.get(f"/interventions/{kent}").text  # consent withdrawn

    post_form(curator, f"/curate/contacts/{contact}/delete", follow_redirects=False)
    assert "Dana Lead" not in curator.get(f"/interventions/{kent}").text


def test_consent_without_a_date_is_dated_today_and_a_future_date_is_refused(client, curator, interventions):
    kent, other = interventions
    save_contact(curator, kent, name="Sam Lead", consent="true", confirmed_on="")
    today = date.today()
    assert (
        f"Consent last confirmed on {today.day} {today.strftime('%B %Y')}"
        in client.get(f"/interventions/{kent}").text
    )
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert save_contact(curator, kent, name="X", consent="true", confirmed_on=tomorrow).status_code == 422
    assert save_contact(curator, kent, name="").status_code == 422
    assert save_contact(curator, kent, name="X", email="not an address").status_code == 422
    with Session(client.app.state.engine) as session:
        contact_id = community.contacts(session=session, intervention_id=kent)[0].id
    assert save_contact(curator, other, name="X", contact_id=contact_id).status_code == 422
