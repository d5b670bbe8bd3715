"""Verified identities: the confirmation and password-reset links, sent through a real local SMTP server
(aiosmtpd), followed from the received e-mail; a lead contact's address makes an account the lead only once
confirmed; expired, tampered and spent links are refused with a plain message."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from sqlmodel import Session, select

from kb import email_links
from kb.store.models import User, UserSession
from tests.conftest import PASSWORD, add_user, make_settings, post_form, sign_in
from tests.test_community import comment, comment_id, interventions, page_of  # noqa: F401  (a fixture)
from tests.test_saved import Collector, free_port

BASE = "https://kb.example.nhs.uk"
NEW_PASSWORD = "a different long password"


@pytest.fixture
def smtp_sink():
    from aiosmtpd.controller import Controller

    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, collector
    controller.stop()


@pytest.fixture
def settings(tmp_path, smtp_sink):
    """The app's settings (used by conftest's `client`) point at the SMTP sink."""
    controller, _ = smtp_sink
    return make_settings(
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        smtp_from="kb@example.nhs.uk",
        base_url=BASE + "/",
    )


@pytest.fixture
def inbox(smtp_sink) -> Collector:
    return smtp_sink[1]


def link_in(inbox: Collector, *, to: str, path: str) -> str:
    """The one link to `path` in the newest e-mail to this address, as a site-relative URL."""
    for recipients, message in reversed(inbox.messages):
        if to in recipients:
            text = message.get_body(("plain",)).get_content()
            [link] = re.findall(rf"{re.escape(BASE)}{re.escape(path)}\?token=\S+", text)
            return link.removeprefix(BASE)
    raise AssertionError(f"no e-mail to {to}: {[r for r, _ in inbox.messages]}")


def register(browser: TestClient, email: str, name: str = "Lee Lewis"):
    return post_form(
        browser,
        "/register",
        {"email": email, "name": name, "organisation": "Kent", "password": PASSWORD},
        follow_redirects=False,
    )


def account(app, email: str) -> User:  # noqa: ANN001
    with Session(app.state.engine) as session:
        user = session.exec(select(User).where(User.email == email)).one()
        session.expunge(user)
        return user


def badges(tree: HTMLParser, comment_number: int) -> list[str]:
    return [badge.text() for badge in tree.css(f"#comment-{comment_number} .byline .badge")]


def allow_another_link(app, email: str) -> None:  # noqa: ANN001
    """As if a minute had passed since the last e-mail (links are spaced a minute apart)."""
    with Session(app.state.engine) as session:
        user = session.exec(select(User).where(User.email == email)).one()
        user.confirm_link_sent_at = user.reset_link_sent_at = None
        session.add(user)
        session.commit()


# --- confirming an address ----------------------------------------------------------------------------------


def test_an_account_is_the_lead_only_after_following_the_link_sent_to_its_address(
    client: TestClient,
    curator: TestClient,
    member: TestClient,
    inbox: Collector,
    interventions,  # noqa: F811  (the fixture imported from tests.test_community)
):
    kent, _ = interventions
    post_form(
        curator,
        f"/curate/interventions/{kent}/contacts",
        {"name": "Lee Lewis", "email": "Lee.Lewis@Kent.nhs.uk", "consent": "true"},
    )
    lead = TestClient(client.app)
    response = register(lead, "lee.lewis@kent.nhs.uk")
    assert response.status_code == 303 and response.headers["location"] == "/account/check-email?done=sent"
    page = lead.get(response.headers["location"])
    assert "Check your e-mail" in page.text and "lee.lewis@kent.nhs.uk" in page.text
    assert "We sent you an e-mail with a link to confirm your address." in page.text

    [(recipients, message)] = inbox.messages
    assert recipients == ["lee.lewis@kent.nhs.uk"] and message["From"] == "kb@example.nhs.uk"
    assert message["Subject"] == "kb: confirm your e-mail address"
    link = link_in(inbox, to="lee.lewis@kent.nhs.uk", path="/confirm-email")

    # Registered with the lead's address, but not confirmed: the answer is a member's, not the lead's.
    question = comment_id(comment(member, kent, "Did it last?", kind="question"))
    reply = comment_id(comment(lead, kent, "Yes, five years on.", parent_id=question))
    tree = page_of(client, kent)
    assert badges(tree, reply) == []
    assert "Answered" not in tree.css_first(f"#comment-{question} .byline").text()
    assert account(client.app, "lee.lewis@kent.nhs.uk").email_confirmed_at is None

    landing = lead.get(link)
    assert landing.status_code == 200
    assert "Your address is confirmed" in landing.text and "lee.lewis@kent.nhs.uk" in landing.text
    assert account(client.app, "lee.lewis@kent.nhs.uk").email_confirmed_at is not None
    tree = page_of(client, kent)
    assert badges(tree, reply) == ["Lead"]
    assert "Answered" in tree.css_first(f"#comment-{question} .byline").text()
    assert "(confirmed)" in lead.get("/account").text

    # Following it again changes nothing and still says it is confirmed; the check-email page moves on.
    first = account(client.app, "lee.lewis@kent.nhs.uk").email_confirmed_at
    assert "Your address is confirmed" in lead.get(link).text
    assert account(client.app, "lee.lewis@kent.nhs.uk").email_confirmed_at == first
    assert lead.get("/account/check-email", follow_redirects=False).headers["location"] == "/account"


def test_the_link_can_be_sent_again_but_not_twice_within_a_minute(client: TestClient, inbox: Collector):
    browser = TestClient(client.app)
    register(browser, "again@example.nhs.uk")
    assert len(inbox.messages) == 1

    too_soon = post_form(browser, "/account/confirm/resend", follow_redirects=False)
    assert too_soon.status_code == 429 and "moments ago" in too_soon.text
    assert len(inbox.messages) == 1

    allow_another_link(client.app, "again@example.nhs.uk")
    response = post_form(browser, "/account/confirm/resend", follow_redirects=False)
    assert response.headers["location"] == "/account/check-email?done=again"
    assert "We sent the link again." in browser.get(response.headers["location"]).text
    assert len(inbox.messages) == 2
    assert browser.get(link_in(inbox, to="again@example.nhs.uk", path="/confirm-email")).status_code == 200
    assert account(client.app, "again@example.nhs.uk").email_confirmed_at is not None


def test_an_expired_confirmation_link_is_refused_and_confirms_nothing(client: TestClient):
    user = add_user(client.app, email="late@example.nhs.uk")
    two_days_ago = time.time() - email_links.LIFETIMES[email_links.CONFIRM].total_seconds() - 60
    token = email_links.make_token(
        secret=client.app.state.secret, purpose=email_links.CONFIRM, user=user, now=two_days_ago
    )
    response = client.get("/confirm-email", params={"token": token})
    assert response.status_code == 400
    assert "This link has expired" in response.text and "48 hours" in response.text
    assert account(client.app, "late@example.nhs.uk").email_confirmed_at is None


@pytest.mark.parametrize(
    "spoil",
    [
        lambda token: token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),  # the signature changed
        lambda token: token.split(".")[0] + "." + token.split(".")[0][:43],  # a made-up signature
        lambda token: token[: len(token) // 2],  # cut short
        lambda token: "",
        lambda token: "not a token at all",
        lambda token: "€" * 50 + ".x",
    ],
)
def test_a_tampered_confirmation_link_is_refused(client: TestClient, spoil):
    user = add_user(client.app, email="spoilt@example.nhs.uk")
    token = email_links.make_token(secret=client.app.state.secret, purpose=email_links.CONFIRM, user=user)
    response = client.get("/confirm-email", params={"token": spoil(token)})
    assert response.status_code == 400
    assert "This link is not valid" in response.text
    assert account(client.app, "spoilt@example.nhs.uk").email_confirmed_at is None


def test_a_link_signed_for_another_account_or_purpose_or_with_another_secret_is_refused(client: TestClient):
    import base64
    import json

    victim = add_user(client.app, email="victim@example.nhs.uk")
    attacker = add_user(client.app, email="attacker@example.nhs.uk")
    secret = client.app.state.secret
    own = email_links.make_token(secret=secret, purpose=email_links.CONFIRM, user=attacker)
    body, signature = own.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["u"] = victim.id  # the attacker's valid link, pointed at the victim's account
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode() + "." + signature
    assert "not valid" in client.get("/confirm-email", params={"token": forged}).text

    reset = email_links.make_token(secret=secret, purpose=email_links.RESET, user=victim)
    assert "not valid" in client.get("/confirm-email", params={"token": reset}).text  # a reset link
    other_secret = email_links.make_token(secret="another site", purpose=email_links.CONFIRM, user=victim)
    assert "not valid" in client.get("/confirm-email", params={"token": other_secret}).text
    assert account(client.app, "victim@example.nhs.uk").email_confirmed_at is None


def test_without_an_smtp_server_registering_says_the_link_cannot_be_sent(tmp_path):
    from web.app import create_app

    with TestClient(create_app(make_settings(tmp_path))) as client:
        response = register(client, "nomail@example.nhs.uk")
        page = client.get(response.headers["location"])
        assert "no e-mail server set up" in page.text
        assert account(client.app, "nomail@example.nhs.uk").email_confirmed_at is None


# --- resetting a password -----------------------------------------------------------------------------------


def test_a_forgotten_password_is_reset_through_the_link_once(client: TestClient, inbox: Collector):
    user = add_user(client.app, email="forgetful@example.nhs.uk")
    signed_in_elsewhere = TestClient(client.app)
    sign_in(signed_in_elsewhere, user.email)
    browser = TestClient(client.app)
    assert "Forgotten your password?" in browser.get("/login").text

    page = post_form(browser, "/forgot-password", {"email": " Forgetful@Example.NHS.uk "})
    assert page.status_code == 200 and "If a kb account uses" in page.text
    [(recipients, message)] = inbox.messages
    assert recipients == ["forgetful@example.nhs.uk"] and message["Subject"] == "kb: reset your password"
    link = link_in(inbox, to="forgetful@example.nhs.uk", path="/reset-password")

    form = browser.get(link)
    assert form.status_code == 200 and "Choose a new password" in form.text
    token = parse_qs(urlsplit(link).query)["token"][0]
    too_short = post_form(browser, "/reset-password", {"token": token, "password": "short"})
    assert too_short.status_code == 422 and "at least 12 characters" in too_short.text

    done = post_form(
        browser, "/reset-password", {"token": token, "password": NEW_PASSWORD}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/login?done=password-reset"
    assert "Your password is changed" in browser.get(done.headers["location"]).text

    # The old password no longer works, the new one does, and the other browser was signed out.
    refused = post_form(
        browser, "/login", {"email": user.email, "password": PASSWORD}, follow_redirects=False
    )
    assert refused.status_code == 401
    sign_in(browser, user.email, NEW_PASSWORD)
    assert "forgetful@example.nhs.uk" in browser.get("/account").text
    assert signed_in_elsewhere.get("/account", follow_redirects=False).status_code == 303
    # Receiving the link proved the address.
    assert account(client.app, user.email).email_confirmed_at is not None

    # The link is spent: neither its page nor its form works again.
    again = browser.get(link)
    assert again.status_code == 400 and "This link has been used already" in again.text
    reuse = post_form(browser, "/reset-password", {"token": token, "password": "yet another password"})
    assert reuse.status_code == 400 and "used already" in reuse.text
    sign_in(TestClient(client.app), user.email, NEW_PASSWORD)  # still the password set through the link


def test_an_unknown_address_gets_the_same_answer_and_no_e_mail(client: TestClient, inbox: Collector):
    add_user(client.app, email="known@example.nhs.uk")
    unknown = post_form(client, "/forgot-password", {"email": "nobody@example.nhs.uk"})
    known = post_form(client, "/forgot-password", {"email": "known@example.nhs.uk"})
    assert unknown.status_code == known.status_code == 200
    strip = lambda text: text.replace("nobody@", "X@").replace("known@", "X@")  # noqa: E731
    assert strip(HTMLParser(unknown.text).css_first("main").text()) == strip(
        HTMLParser(known.text).css_first("main").text()
    )
    assert [recipients for recipients, _ in inbox.messages] == [["known@example.nhs.uk"]]
    # asked again at once: the same page, and no second e-mail to flood the mailbox
    assert post_form(client, "/forgot-password", {"email": "known@example.nhs.uk"}).status_code == 200
    assert len(inbox.messages) == 1
    bad = post_form(client, "/forgot-password", {"email": "not an address"})
    assert bad.status_code == 422 and "Enter an e-mail address" in bad.text


def test_an_expired_or_tampered_reset_link_is_refused_and_changes_nothing(client: TestClient):
    user = add_user(client.app, email="careful@example.nhs.uk")
    secret = client.app.state.secret
    an_hour_ago = time.time() - email_links.LIFETIMES[email_links.RESET].total_seconds() - 1
    expired = email_links.make_token(secret=secret, purpose=email_links.RESET, user=user, now=an_hour_ago)
    page = client.get("/reset-password", params={"token": expired})
    assert page.status_code == 400 and "This link has expired" in page.text and "1 hour" in page.text
    posted = post_form(client, "/reset-password", {"token": expired, "password": NEW_PASSWORD})
    assert posted.status_code == 400 and "expired" in posted.text

    valid = email_links.make_token(secret=secret, purpose=email_links.RESET, user=user)
    tampered = valid[:-2] + ("xy" if not valid.endswith("xy") else "zw")
    posted = post_form(client, "/reset-password", {"token": tampered, "password": NEW_PASSWORD})
    assert posted.status_code == 400 and "This link is not valid" in posted.text
    sign_in(TestClient(client.app), user.email, PASSWORD)  # the password is unchanged


def test_changing_the_password_spends_an_outstanding_reset_link(client: TestClient):
    browser = TestClient(client.app)
    user = add_user(client.app, email="changer@example.nhs.uk")
    token = email_links.make_token(secret=client.app.state.secret, purpose=email_links.RESET, user=user)
    sign_in(browser, user.email)
    post_form(browser, "/account/password", {"current": PASSWORD, "new": NEW_PASSWORD})
    assert "used already" in client.get("/reset-password", params={"token": token}).text


def test_a_disabled_account_gets_no_reset_e_mail(client: TestClient, inbox: Collector):
    user = add_user(client.app, email="gone@example.nhs.uk")
    with Session(client.app.state.engine) as session:
        row = session.get(User, user.id)
        row.disabled = True
        session.add(row)
        session.commit()
        assert session.exec(select(UserSession).where(UserSession.user_id == user.id)).all() == []
    assert post_form(client, "/forgot-password", {"email": user.email}).status_code == 200
    assert inbox.messages == []
