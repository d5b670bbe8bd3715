"""Saved searches: saving from a page, what is new since the last visit, owner-only access, and the e-mail
digest sent through a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from kb import saved as saved_store
from kb.errors import InvalidInput
from kb.store.models import SavedSearch, utcnow
from tests.conftest import client_as, post_form, write
from tests.test_catalogue import ISLINGTON, KENT
from web.digest import send_digests
from web.flows import ingest_and_index

# A document added after the search was saved: it holds the saved query's words ("discharge").
TORBAY = """Torbay Pioneer Programme

1 Case study: Torbay – Discharge to assess

Torbay's discharge to assess service moves people home from hospital as soon as they are well enough, with
assessment done in their own home. Delayed transfers of care fell by 20% in the first year.
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ingest(client: TestClient, folder: Path) -> None:
    app = client.app
    ingest_and_index([folder], settings=app.state.settings, engine=app.state.engine, service=app.state.search)
    app.state.catalogue.refresh()


@pytest.fixture
def kent(client: TestClient, tmp_path: Path) -> TestClient:
    write(tmp_path / "first" / "kent.txt", KENT)
    write(tmp_path / "first" / "islington.txt", ISLINGTON)
    ingest(client, tmp_path / "first")
    return client


def saved_rows(client: TestClient) -> list[SavedSearch]:
    with Session(client.app.state.engine) as session:
        return list(session.exec(select(SavedSearch).order_by(SavedSearch.id)))


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def save(member: TestClient, query: str, filters: str = "", name: str = "") -> int:
    response = post_form(
        member,
        "/saved-searches",
        {"query": query, "filters": filters, "name": name},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/account/saved"
    return saved_rows(member)[-1].id  # type: ignore[return-value]


# --- saving and listing -------------------------------------------------------------------------


def test_the_search_page_offers_to_save_and_the_saved_search_is_listed(kent: TestClient, member: TestClient):
    page = member.get("/search?q=discharge")
    assert "Save this search" in page.text
    assert 'name="filters" value="q=discharge"' in page.text
    assert "Save this search" not in kent.get("/search?q=discharge").text  # a reader is asked to sign in
    assert "to save this search" in kent.get("/search?q=discharge").text

    search_id = save(member, "discharge", filters="q=discharge&intervention_type=discharge-reablement&sort=")
    [row] = saved_rows(member)
    assert row.name == "discharge" and row.query == "discharge"  # the name defaults to the query
    assert saved_store.filter_pairs_of(row) == [("intervention_type", "discharge-reablement")]
    listing = member.get("/account/saved")
    assert listing.status_code == 200
    assert f'href="/saved-searches/{search_id}"' in listing.text
    assert "Nothing new since your last visit" in listing.text
    # the same search saved twice is kept once
    save(member, "discharge", filters="intervention_type=discharge-reablement")
    assert len(saved_rows(member)) == 1


def test_catalogue_filters_are_saved_and_bad_ones_refused(kent: TestClient, member: TestClient):
    page = member.get("/catalogue?evidence_level=2")
    assert "Save this search" in page.text
    save(member, "", filters='{"evidence_level": ["2"]}', name="Before-and-after evidence")
    assert saved_rows(member)[0].name == "Before-and-after evidence"
    assert "1 document" not in member.get("/account/saved").text
    refused = post_form(member, "/saved-searches", {"query": "x", "filters": "care_model=not-a-model"})
    assert refused.status_code == 422
    empty = post_form(member, "/saved-searches", {"query": " ", "filters": "sort=title"})
    assert empty.status_code == 422
    assert "Type a search or choose a filter" in empty.text


def test_parse_filters_reads_query_strings_and_json():
    assert saved_store.parse_filters("q=x&care_model=pacs&care_model=mcp&page=2") == [
        ("care_model", "pacs"),
        ("care_model", "mcp"),
    ]
    assert saved_store.parse_filters('[["site", "kent"], ["has_results", true]]') == [
        ("site", "kent"),
        ("has_results", "true"),
    ]
    with pytest.raises(InvalidInput):
        saved_store.parse_filters("{not json")


# --- new since the last visit -----------------------------------------------------------------


def test_new_since_last_visit(kent: TestClient, member: TestClient, tmp_path: Path):
    search_id = save(member, "discharge")
    assert "Nothing new since your last visit" in member.get("/account/saved").text

    write(tmp_path / "later" / "torbay.txt", TORBAY)
    ingest(kent, tmp_path / "later")

    listing = text_of(member.get("/account/saved").text)
    assert "New since your last visit: 1 intervention, 1 document." in listing
    page = member.get(f"/saved-searches/{search_id}")
    assert page.status_code == 200
    body = text_of(page.text)
    assert "2 new since your last visit" in body
    assert "New Discharge to assess" in body  # the new intervention is marked
    assert "New Torbay Pioneer Programme" in body  # and so is the new document's passage
    assert "New Integrated discharge team" not in body  # the older Kent record is not
    # viewing it counts as a visit: nothing is new any more
    assert "Nothing new since your last visit" in member.get("/account/saved").text
    assert "Nothing new since your last visit" in member.get(f"/saved-searches/{search_id}").text


def test_a_draft_document_is_not_new_until_published(kent: TestClient, member: TestClient, tmp_path: Path):
    save(member, "discharge")
    write(tmp_path / "draft" / "torbay.txt", TORBAY)
    app = kent.app
    ingest_and_index(
        [tmp_path / "draft"],
        settings=app.state.settings,
        engine=app.state.engine,
        service=app.state.search,
        status="draft",
    )
    app.state.catalogue.refresh()
    assert "Nothing new since your last visit" in member.get("/account/saved").text


def test_only_the_owner_sees_a_saved_search(kent: TestClient, member: TestClient):
    search_id = save(member, "discharge")
    for role in ("member", "curator", "admin"):
        other = client_as(kent, role)
        assert other.get(f"/saved-searches/{search_id}").status_code == 404
        assert post_form(other, f"/saved-searches/{search_id}/delete").status_code == 404
        assert post_form(other, f"/saved-searches/{search_id}/digest").status_code == 404
        assert f"/saved-searches/{search_id}" not in other.get("/account/saved").text
    assert member.get("/saved-searches/999").status_code == 404
    assert len(saved_rows(member)) == 1


def test_digest_toggle_and_delete(kent: TestClient, member: TestClient):
    search_id = save(member, "discharge")
    response = post_form(member, f"/saved-searches/{search_id}/digest", follow_redirects=False)
    assert response.status_code == 303
    [row] = saved_rows(member)
    assert row.digest and row.last_digest_at is not None  # the digest starts from now
    assert "E-mail digest on" in member.get("/account/saved").text
    post_form(member, f"/saved-searches/{search_id}/digest")
    assert not saved_rows(member)[0].digest
    assert post_form(member, f"/saved-searches/{search_id}/delete", follow_redirects=False).status_code == 303
    assert saved_rows(member) == []
    assert "You have no saved searches yet" in member.get("/account/saved").text


# --- the e-mail digest --------------------------------------------------------------------------


class Collector:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802  (aiosmtpd's hook)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_sink():
    from aiosmtpd.controller import Controller

    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, collector
    controller.stop()


def test_digest_is_sent_through_smtp_once(kent: TestClient, member: TestClient, tmp_path: Path, smtp_sink):
    controller, collector = smtp_sink
    app = kent.app
    search_id = save(member, "discharge", name="Discharge work")
    post_form(member, f"/saved-searches/{search_id}/digest")
    settings = app.state.settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": controller.port,
            "smtp_from": "kb@example.nhs.uk",
            "base_url": "https://kb.example.nhs.uk/",
        }
    )
    services = {"search": app.state.search, "catalogue": app.state.catalogue}

    quiet = send_digests(settings=settings, engine=app.state.engine, **services)
    assert str(quiet).startswith("Digests: 0 sent, 1 skipped")
    assert collector.messages == []

    write(tmp_path / "later" / "torbay.txt", TORBAY)
    ingest(kent, tmp_path / "later")
    preview = send_digests(settings=settings, engine=app.state.engine, dry_run=True, **services)
    assert "1 would be sent" in str(preview) and "Discharge to assess" in str(preview)
    assert collector.messages == []  # a dry run sends nothing…

    report = send_digests(settings=settings, engine=app.state.engine, **services)
    assert str(report).startswith(
        "Digests: 1 sent, 0 skipped (nothing new), 0 failed."
    )  # …and moves nothing on
    [(recipients, message)] = collector.messages
    assert recipients == [member.user.email]
    assert message["To"] == member.user.email
    assert message["From"] == "kb@example.nhs.uk"
    assert message["Subject"] == "kb: 2 new items for your saved searches"
    plain = message.get_body(("plain",)).get_content()
    assert "Discharge work" in plain
    assert "Discharge to assess" in plain and "Torbay Pioneer Programme" in plain
    assert re.search(r"https://kb\.example\.nhs\.uk/interventions/\d+", plain)
    assert re.search(r"https://kb\.example\.nhs\.uk/documents/\d+", plain)
    assert f"https://kb.example.nhs.uk/saved-searches/{search_id}" in plain
    html = message.get_body(("html",)).get_content()
    assert "Discharge to assess" in html and "<a href=" in html

    again = send_digests(settings=settings, engine=app.state.engine, **services)
    assert str(again).startswith("Digests: 0 sent, 1 skipped")
    assert len(collector.messages) == 1


def test_a_failed_send_is_reported_and_tried_again(kent: TestClient, member: TestClient, tmp_path: Path):
    app = kent.app
    search_id = save(member, "discharge")
    post_form(member, f"/saved-searches/{search_id}/digest")
    before = saved_rows(member)[0].last_digest_at
    write(tmp_path / "later" / "torbay.txt", TORBAY)
    ingest(kent, tmp_path / "later")
    nobody = app.state.settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": free_port()})
    report = send_digests(
        settings=nobody, engine=app.state.engine, search=app.state.search, catalogue=app.state.catalogue
    )
    assert str(report).startswith("Digests: 0 sent, 0 skipped (nothing new), 1 failed.")
    assert member.user.email in str(report)
    assert saved_rows(member)[0].last_digest_at == before  # so the next run tries again


def test_digest_needs_an_smtp_host(client: TestClient):
    with pytest.raises(InvalidInput, match="KB_SMTP_HOST"):
        send_digests(settings=client.app.state.settings, engine=client.app.state.engine)
    assert "0 would be sent" in str(
        send_digests(settings=client.app.state.settings, engine=client.app.state.engine, dry_run=True)
    )


def test_since_is_compared_in_utc():
    moment = utcnow()
    assert saved_store.as_utc(moment.replace(tzinfo=None)) == moment
    assert saved_store.as_utc(moment + timedelta(0)) == moment


def test_the_digest_builds_its_own_services_when_run_from_the_command_line(
    kent: TestClient, member: TestClient, tmp_path: Path
):
    search_id = save(member, "discharge")
    post_form(member, f"/saved-searches/{search_id}/digest")
    write(tmp_path / "later" / "torbay.txt", TORBAY)
    ingest(kent, tmp_path / "later")
    report = send_digests(settings=kent.app.state.settings, engine=kent.app.state.engine, dry_run=True)
    assert str(report).startswith("Digests: 1 would be sent")
    assert f"To: {member.user.email}" in str(report) and "Discharge to assess" in str(report)
