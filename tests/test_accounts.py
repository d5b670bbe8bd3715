"""Accounts: registering, signing in and out, sessions, roles, the sign-in rate limit and `kb users`."""

from __future__ import annotations

from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from kb import accounts
from kb.store.models import User, UserSession
from tests.conftest import PASSWORD, add_user, client_as, make_settings, post_form, sign_in


def test_a_reader_needs_no_account_to_read(client: TestClient):
    for url in ("/", "/search?q=care+homes", "/catalogue", "/documents", "/api/interventions"):
        assert client.get(url).status_code == 200, url
    assert "Sign in" in client.get("/").text


def test_registering_makes_a_signed_in_member(client: TestClient):
    response = post_form(
        client,
        "/register",
        {
            "email": "Lead@Example.NHS.uk ",
            "name": "Lena Lead",
            "organisation": "Wirral",
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    # No SMTP server in this test's settings: the member is told the link cannot be sent (tests/test_identity.py
    # follows it through a real one).
    assert response.status_code == 303
    assert response.headers["location"] == "/account/check-email?problem=no-smtp"
    assert "no e-mail server" in client.get(response.headers["location"]).text
    page = client.get("/account")
    assert "Lena Lead" in page.text and "lead@example.nhs.uk" in page.text and "member" in page.text
    with Session(client.app.state.engine) as session:
        user = session.exec(select(User).where(User.email == "lead@example.nhs.uk")).one()
        assert user.role == "member" and user.email_confirmed_at is None
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_registering_refuses_a_short_password_a_duplicate_and_a_bad_address(client: TestClient):
    add_user(client.app, email="taken@example.nhs.uk")
    cases = [
        ({"email": "a@b.uk", "name": "A", "password": "short"}, "at least 12 characters"),
        ({"email": "taken@example.nhs.uk", "name": "B", "password": PASSWORD}, "exists already"),
        ({"email": "not-an-address", "name": "C", "password": PASSWORD}, "e-mail address"),
        ({"email": "d@b.uk", "name": "  ", "password": PASSWORD}, "Enter a name"),
    ]
    for form, message in cases:
        response = post_form(client, "/register", form)
        assert response.status_code in (409, 422), form
        assert message in response.text


def test_registration_can_be_closed(tmp_path):
    from web.app import create_app

    with TestClient(create_app(make_settings(tmp_path, allow_registration=False))) as closed:
        assert closed.get("/register").status_code == 403
        response = post_form(closed, "/register", {"email": "x@y.uk", "name": "X", "password": PASSWORD})
        assert response.status_code == 403


def test_sign_in_sets_a_signed_http_only_same_site_cookie_and_sign_out_ends_the_session(client: TestClient):
    user = add_user(client.app, role="curator")
    response = post_form(
        client,
        "/login",
        {"email": user.email, "password": PASSWORD, "next": "/curate"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/curate"
    cookie = response.headers["set-cookie"]
    assert "kb_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http on loopback
    token = client.cookies["kb_session"]
    assert "." in token  # itsdangerous signature
    assert client.get("/curate").status_code == 200
    with Session(client.app.state.engine) as session:
        stored = session.exec(select(UserSession)).all()
        assert len(stored) == 1 and stored[0].token_hash != token.split(".")[0]
    post_form(client, "/logout", follow_redirects=False)
    with Session(client.app.state.engine) as session:
        assert session.exec(select(UserSession)).all() == []
    client.cookies.clear()
    client.cookies.set("kb_session", token)  # a stolen cookie after sign-out is worthless
    assert client.get("/curate", follow_redirects=False).status_code == 303


def test_the_session_cookie_is_secure_over_https(client: TestClient):
    user = add_user(client.app)
    response = post_form(
        client,
        "/login",
        {"email": user.email, "password": PASSWORD},
        headers={"x-forwarded-proto": "https"},
        follow_redirects=False,
    )
    assert "Secure" in response.headers["set-cookie"]


def test_a_tampered_session_cookie_is_ignored(client: TestClient):
    user = add_user(client.app, role="admin")
    sign_in(client, user.email)
    token = client.cookies["kb_session"]
    client.cookies.clear()
    client.cookies.set("kb_session", token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert client.get("/admin/users", follow_redirects=False).status_code == 303


def test_a_wrong_password_is_refused_and_sign_in_is_rate_limited(client: TestClient):
    user = add_user(client.app)
    for _ in range(5):
        response = post_form(client, "/login", {"email": user.email, "password": "wrong password!"})
        assert response.status_code == 401 and "do not match" in response.text
    response = post_form(client, "/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 429 and "Too many failed sign-ins" in response.text
    assert "kb_session" not in client.cookies


def test_an_unknown_address_gives_the_same_answer_as_a_wrong_password(client: TestClient):
    response = post_form(client, "/login", {"email": "nobody@example.nhs.uk", "password": PASSWORD})
    assert response.status_code == 401 and "do not match" in response.text


def test_sign_in_only_returns_to_this_site(client: TestClient):
    user = add_user(client.app)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = post_form(
            client,
            "/login",
            {"email": user.email, "password": PASSWORD, "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/", target
        post_form(client, "/logout")


def test_a_page_that_needs_an_account_sends_a_reader_to_sign_in_and_back(client: TestClient):
    response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Faccount"
    assert client.get("/api/uploads/1").status_code == 401  # the API answers, it does not redirect


def test_an_admin_changes_roles_and_disables_accounts(client: TestClient, admin: TestClient):
    other = add_user(client.app, role="member")
    browser = client_as(client, "reader")
    sign_in(browser, other.email)
    assert browser.get("/curate", follow_redirects=False).status_code == 403
    response = post_form(admin, f"/admin/users/{other.id}/role", {"role": "curator"}, follow_redirects=True)
    assert "is now a curator" in response.text
    assert browser.get("/curate").status_code == 200  # the role counts at once
    post_form(admin, f"/admin/users/{other.id}/disabled", {"disabled": "true"})
    assert browser.get("/curate", follow_redirects=False).status_code == 303  # signed out everywhere
    assert post_form(browser, "/login", {"email": other.email, "password": PASSWORD}).status_code == 401
    response = post_form(admin, f"/admin/users/{other.id}/role", {"role": "overlord"})
    assert response.status_code == 422


def test_the_last_admin_cannot_be_demoted_or_disabled(client: TestClient, admin: TestClient):
    response = post_form(admin, f"/admin/users/{admin.user.id}/role", {"role": "member"})
    assert response.status_code == 409 and "only admin" in response.text
    response = post_form(admin, f"/admin/users/{admin.user.id}/disabled", {"disabled": "true"})
    assert response.status_code == 422


def test_changing_ones_password_needs_the_current_one(client: TestClient, member: TestClient):
    response = post_form(
        member, "/account/password", {"current": "not it at all", "new": "another long password"}
    )
    assert response.status_code == 422 and "current password is not right" in response.text
    response = post_form(member, "/account/password", {"current": PASSWORD, "new": "another long password"})
    assert response.status_code == 200 and "Your password is changed" in response.text
    fresh = client_as(client, "reader")
    assert post_form(fresh, "/login", {"email": member.user.email, "password": PASSWORD}).status_code == 401
    sign_in(fresh, member.user.email, "another long password")


def test_the_first_admin_is_made_with_the_cli_and_no_default_password_exists(tmp_path, monkeypatch):
    from kb.settings import get_settings
    from web.cli import main
    from web.flows import open_engine

    settings = make_settings(tmp_path)
    monkeypatch.setenv("KB_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("KB_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KB_LOAD_DEFAULT_CORPUS", "false")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(
            main,
            [
                "users",
                "create",
                "--admin",
                "--email",
                "Ada@Example.NHS.uk",
                "--name",
                "Ada",
                "--password-stdin",
            ],
            input=PASSWORD + "\n",
        )
        assert result.exit_code == 0, result.output
        assert "made admin ada@example.nhs.uk" in result.output
        weak = runner.invoke(
            main,
            ["users", "create", "--email", "b@example.nhs.uk", "--name", "B", "--password-stdin"],
            input="x\n",
        )
        assert weak.exit_code != 0 and "at least 12 characters" in weak.output
        listed = runner.invoke(main, ["users", "list"])
        assert "admin" in listed.output and "ada@example.nhs.uk" in listed.output
        engine = open_engine(settings)
        with Session(engine) as session:
            users = session.exec(select(User)).all()
            assert [u.role for u in users] == ["admin"]
            assert accounts.authenticate(session=session, email="ada@example.nhs.uk", password=PASSWORD)
        engine.dispose()
    finally:
        get_settings.cache_clear()


def test_the_session_secret_is_made_once_and_shared(client: TestClient):
    from web.app import create_app

    first = client.app.state.secret
    assert len(first) >= 40
    with TestClient(create_app(client.app.state.settings)) as second:
        assert second.app.state.secret == first


def test_a_disabled_admin_can_be_demoted_while_one_enabled_admin_remains(
    client: TestClient, admin: TestClient
):
    other = add_user(client.app, role="admin")
    post_form(admin, f"/admin/users/{other.id}/disabled", {"disabled": "true"})
    response = post_form(admin, f"/admin/users/{other.id}/role", {"role": "member"}, follow_redirects=True)
    assert "is now a member" in response.text


def test_the_ingestion_ledger_and_stats_show_readers_nothing_of_drafts(
    client: TestClient, curator: TestClient, tmp_path
):
    from tests.conftest import write
    from web.flows import ingest_and_index

    document = write(tmp_path / "draft.txt", "Draft Report\n\nA care home team in Leeds met every week.\n")
    ingest_and_index(
        [document],
        settings=client.app.state.settings,
        engine=client.app.state.engine,
        service=client.app.state.search,
        status="draft",
    )
    assert client.get("/api/stats").json()["documents"] == 0
    assert client.get("/api/ingest/runs").status_code == 401
    runs = curator.get("/api/ingest/runs").json()
    assert runs and runs[0]["files"][0]["status"] == "indexed"


def test_security_events_are_logged_without_passwords_or_whole_addresses(client: TestClient, member, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="kb.security")
    browser = TestClient(client.app)
    post_form(browser, "/login", {"email": member.user.email, "password": "not the password!"})
    post_form(browser, "/login", {"email": member.user.email, "password": PASSWORD})
    events = [r.getMessage() for r in caplog.records if r.name == "kb.security"]
    assert any(e.startswith("event=sign-in-failed client=") for e in events), events
    assert any(e.startswith("event=signed-in ") and f"user={member.user.id}" in e for e in events), events
    text = " ".join(events)
    assert "not the password!" not in text and PASSWORD not in text and member.user.email not in text
