"""Proving an address and resetting a password in a real browser: register, follow the link from the e-mail
(caught by a local SMTP server), forget the password, reset it through its link, sign in with the new one."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import DESKTOP, SCREENSHOTS, Server, start_server
from tests.conftest import PASSWORD
from tests.test_saved import Collector, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

NEW_PASSWORD = "a brand new long password"


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Collector]]:
    """A kb server (no documents) whose e-mail goes to an aiosmtpd sink in this process."""
    from aiosmtpd.controller import Controller

    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    root = tmp_path_factory.mktemp("identity")
    env = os.environ | {
        "KB_DATA_DIR": str(root / "data"),
        "KB_EMBEDDER": "hashing",
        "KB_LOAD_DEFAULT_CORPUS": "false",
        "KB_UPLOAD_WORKER": "false",
        "KB_SMTP_HOST": "127.0.0.1",
        "KB_SMTP_PORT": str(controller.port),
        "KB_SMTP_FROM": "kb@example.nhs.uk",
    }
    env.pop("KB_DATABASE_URL", None)
    server = start_server(env, root / "server.log")
    yield server, collector
    server.stop()
    controller.stop()


@pytest.fixture
def mail_page(browser: Browser, mail_server: tuple[Server, Collector]) -> Iterator[Page]:
    context = browser.new_context(base_url=mail_server[0].base_url, viewport=DESKTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    yield page
    context.close()
    assert not errors, f"server errors: {errors}\n{mail_server[0].log_tail()}"


def newest_link(collector: Collector, path: str) -> str:
    """The path and query of the link to `path` in the newest e-mail."""
    _, message = collector.messages[-1]
    [link] = re.findall(
        rf"https?://\S+{re.escape(path)}\?token=\S+", message.get_body(("plain",)).get_content()
    )
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_a_member_confirms_the_address_then_resets_a_forgotten_password(
    mail_page: Page, mail_server: tuple[Server, Collector]
):
    page, (_, inbox) = mail_page, mail_server
    page.goto("/register")
    page.get_by_label("E-mail address").fill("rosa.reset@example.nhs.uk")
    page.get_by_label("Your name").fill("Rosa Reset")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Check your e-mail"
    assert "rosa.reset@example.nhs.uk" in page.locator("main").inner_text()
    shot(page, "identity-check-email.png")

    page.goto(newest_link(inbox, "/confirm-email"))
    assert page.get_by_role("heading", level=1).inner_text() == "Your address is confirmed"
    shot(page, "identity-confirmed.png")
    page.goto("/account")
    assert "(confirmed)" in page.locator("main").inner_text()
    page.locator("header").get_by_role("button", name="Sign out").click()

    page.goto("/login")
    page.get_by_role("link", name="Forgotten your password?").click()
    page.get_by_label("E-mail address").fill("rosa.reset@example.nhs.uk")
    page.get_by_role("button", name="Send me a link").click()
    assert "If a kb account uses rosa.reset@example.nhs.uk" in page.get_by_role("status").inner_text()
    shot(page, "identity-reset-sent.png")

    link = newest_link(inbox, "/reset-password")
    page.goto(link)
    assert page.get_by_role("heading", level=1).inner_text() == "Choose a new password"
    shot(page, "identity-reset-form.png")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    assert "Your password is changed" in page.get_by_role("status").inner_text()

    page.get_by_label("E-mail address").fill("rosa.reset@example.nhs.uk")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert page.locator("header").get_by_role("link", name="Rosa Reset").is_visible()

    page.goto(link)  # the link is spent
    assert "This link has been used already" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("link", name="Ask for a new link to reset your password").is_visible()
    shot(page, "identity-link-spent.png")
