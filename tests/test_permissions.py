"""Every route of the app, the least role it needs, and proof that a lesser role is refused and that role let in.

The table lists every (method, path) the app serves; a route missing from it fails the test, so a new
route cannot be added without deciding who may use it. Every state-changing route is also posted
without its CSRF token, by an admin, and must be refused.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, add_user, client_as

READER, MEMBER, CURATOR, ADMIN = "reader", "member", "curator", "admin"
RANK = {READER: 0, MEMBER: 1, CURATOR: 2, ADMIN: 3}

ROUTES: dict[tuple[str, str], str] = {
    # the API documentation
    ("GET", "/openapi.json"): READER,
    ("GET", "/docs"): READER,
    ("GET", "/docs/oauth2-redirect"): READER,
    ("GET", "/redoc"): READER,
    # the read-only JSON API
    ("GET", "/api/search"): READER,
    ("GET", "/api/documents"): READER,
    ("GET", "/api/documents/{document_id}"): READER,
    ("GET", "/api/passages/{passage_id}"): READER,
    ("GET", "/api/ingest/runs"): CURATOR,
    ("GET", "/api/stats"): READER,
    ("GET", "/api/health"): READER,
    ("GET", "/api/taxonomy"): READER,
    ("GET", "/api/interventions"): READER,
    ("GET", "/api/interventions.csv"): READER,
    ("GET", "/api/interventions/{intervention_id}"): READER,
    ("GET", "/api/sites"): READER,
    ("GET", "/api/sites/{site_id}"): READER,
    ("GET", "/api/sites/{site_id}/similar"): READER,
    ("GET", "/api/answer"): READER,
    # the site's reading pages
    ("GET", "/"): READER,
    ("GET", "/search"): READER,
    ("GET", "/catalogue"): READER,
    ("GET", "/documents"): READER,
    ("GET", "/documents/{document_id}"): READER,
    ("GET", "/interventions/{intervention_id}"): READER,
    ("GET", "/compare"): READER,
    ("GET", "/evidence-map"): READER,
    ("GET", "/sites"): READER,
    ("GET", "/sites/{site_id}"): READER,
    # accounts
    ("GET", "/login"): READER,
    ("POST", "/login"): READER,
    ("POST", "/logout"): READER,
    ("GET", "/register"): READER,
    ("POST", "/register"): READER,
    ("GET", "/account"): MEMBER,
    ("POST", "/account/password"): MEMBER,
    # proving an address, and a forgotten password (the signed link is the credential)
    ("GET", "/account/check-email"): MEMBER,
    ("POST", "/account/confirm/resend"): MEMBER,
    ("GET", "/confirm-email"): READER,
    ("GET", "/forgot-password"): READER,
    ("POST", "/forgot-password"): READER,
    ("GET", "/reset-password"): READER,
    ("POST", "/reset-password"): READER,
    ("GET", "/admin/users"): ADMIN,
    ("POST", "/admin/users/{user_id}/role"): ADMIN,
    ("POST", "/admin/users/{user_id}/disabled"): ADMIN,
    ("GET", "/curate"): CURATOR,
    # uploads and the ingestion ledger
    ("GET", "/curate/uploads"): CURATOR,
    ("POST", "/curate/uploads"): CURATOR,
    ("GET", "/curate/uploads/{upload_id}"): CURATOR,
    ("GET", "/api/uploads/{upload_id}"): CURATOR,
    ("POST", "/curate/uploads/files/{file_id}/retry"): CURATOR,
    # the review queue and history
    ("GET", "/curate/queue"): CURATOR,
    ("GET", "/curate/interventions/{intervention_id}"): CURATOR,
    ("POST", "/curate/interventions/{intervention_id}"): CURATOR,
    ("POST", "/curate/interventions/{intervention_id}/publish"): CURATOR,
    ("POST", "/curate/interventions/{intervention_id}/reject"): CURATOR,
    ("POST", "/curate/interventions/{intervention_id}/merge"): CURATOR,
    ("GET", "/curate/interventions/{intervention_id}/history"): CURATOR,
    ("GET", "/curate/interventions/{intervention_id}/diff"): CURATOR,
    ("POST", "/curate/interventions/{intervention_id}/revert"): CURATOR,
    ("POST", "/curate/documents/{document_id}/publish"): CURATOR,
    ("GET", "/submit"): MEMBER,
    ("POST", "/submit"): MEMBER,
    # community
    ("POST", "/interventions/{intervention_id}/comments"): MEMBER,
    ("POST", "/interventions/{intervention_id}/follow-ups"): MEMBER,
    ("GET", "/curate/moderation"): CURATOR,
    ("POST", "/curate/comments/{comment_id}/hide"): CURATOR,
    ("POST", "/curate/comments/{comment_id}/restore"): CURATOR,
    ("POST", "/curate/follow-ups/{follow_up_id}/hide"): CURATOR,
    ("POST", "/curate/follow-ups/{follow_up_id}/restore"): CURATOR,
    ("POST", "/curate/interventions/{intervention_id}/contacts"): CURATOR,
    ("POST", "/curate/contacts/{contact_id}/delete"): CURATOR,
    # saved searches, analytics and curation tasks
    ("POST", "/saved-searches"): MEMBER,
    ("GET", "/account/saved"): MEMBER,
    ("GET", "/saved-searches/{search_id}"): MEMBER,
    ("POST", "/saved-searches/{search_id}/delete"): MEMBER,
    ("POST", "/saved-searches/{search_id}/digest"): MEMBER,
    ("GET", "/curate/analytics"): CURATOR,
    ("GET", "/curate/tasks"): CURATOR,
    ("POST", "/curate/tasks"): CURATOR,
    ("POST", "/curate/sites/{site_id}/characteristics"): CURATOR,
    ("POST", "/curate/tasks/{task_id}/done"): CURATOR,
    # export
    ("GET", "/admin/export"): ADMIN,
}
# Open to readers, and refused on purpose to anyone signed in (one account per person: sign out first).
SIGNED_OUT_ONLY = {("POST", "/register")}


def app_routes(app) -> set[tuple[str, str]]:  # noqa: ANN001
    """Every (method, path) the app serves, through included routers."""

    def walk(routes, prefix: str = ""):  # noqa: ANN001, ANN202
        for route in routes:
            if hasattr(route, "original_router"):
                yield from walk(route.original_router.routes, prefix + route.include_context.prefix)
            elif getattr(route, "methods", None):
                for method in route.methods - {"HEAD"}:
                    yield method, prefix + route.path

    return set(walk(app.router.routes))


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def refused(response, role: str) -> bool:  # noqa: ANN001
    """A reader is sent to sign in (or told to, 401); a signed-in user without the role gets 403."""
    if role == READER:
        if response.status_code == 303:
            return response.headers["location"].startswith("/login")
        return response.status_code == 401
    return response.status_code == 403


def test_every_route_is_in_the_table(client: TestClient):
    served = app_routes(client.app)
    forgotten = sorted(served - set(ROUTES))
    assert not forgotten, f"routes with no decision on who may use them: {forgotten}"
    stale = sorted(set(ROUTES) - served)
    assert not stale, f"the table lists routes the app does not serve: {stale}"


def call(browser: TestClient, method: str, path: str, token: str, form: dict | None = None):  # noqa: ANN201
    """The route with its placeholders as 1; a POST carries the CSRF token and `form` (nothing else by default)."""
    url = concrete(path)
    if method == "GET":
        return browser.get(url, follow_redirects=False)
    return browser.post(url, data={**(form or {}), "csrf_token": token}, follow_redirects=False)


def csrf_of(browser: TestClient) -> str:
    return browser.cookies.get("kb_csrf") or (browser.get("/login") and browser.cookies["kb_csrf"])


@pytest.mark.parametrize("role", [READER, MEMBER, CURATOR])
def test_a_lesser_role_is_refused_everywhere(client: TestClient, role: str):
    browser = client_as(client, role)
    token = csrf_of(browser)
    for (method, path), needed in ROUTES.items():
        if RANK[role] >= RANK[needed]:
            continue
        response = call(browser, method, path, token)
        assert refused(response, role), f"{role} was not refused {method} {path}: {response.status_code}"


@pytest.mark.parametrize("role", [READER, MEMBER, CURATOR, ADMIN])
def test_the_listed_role_and_every_greater_one_is_let_in_everywhere(client: TestClient, role: str):
    """Each route answers the role it lists (and every greater role) without refusing it: not 401, not 403,
    not sent to sign in. The request may still be wrong in other ways (id 1 may not exist, a form is empty):
    a 404 or a form error proves the role got past the door; a 5xx fails too."""
    bystander = add_user(client.app, role=MEMBER)  # account 1: "/admin/users/1/..." never acts on the caller
    browser = client_as(client, role)
    token = csrf_of(browser)
    # An empty sign-in form is refused by the form itself (401, wrong e-mail or password), not for the role:
    # the bystander's real credentials show the door is open. Signing in and out come last, as they change
    # who the browser is.
    forms = {("POST", "/login"): {"email": bystander.email, "password": PASSWORD}}
    last = [("POST", "/login"), ("POST", "/logout")]
    routes = sorted(ROUTES.items(), key=lambda item: last.index(item[0]) if item[0] in last else -1)
    shut_out = []
    for (method, path), needed in routes:
        if RANK[role] < RANK[needed] or (role != READER and (method, path) in SIGNED_OUT_ONLY):
            continue
        response = call(browser, method, path, token, forms.get((method, path), {}))
        if response.status_code in (401, 403) or refused(response, role) or response.status_code >= 500:
            shut_out.append(f"{method} {path}: {response.status_code}")
    assert not shut_out, f"{role} was refused or failed: {shut_out}"


@pytest.mark.parametrize("role", [MEMBER, ADMIN])
def test_a_signed_in_user_is_refused_what_only_the_signed_out_may_do(client: TestClient, role: str):
    browser = client_as(client, role)
    for method, path in SIGNED_OUT_ONLY:
        response = call(browser, method, path, csrf_of(browser))
        assert response.status_code == 403 and "sign out" in response.text, (method, path)


def test_every_form_route_refuses_a_post_without_its_csrf_token(client: TestClient):
    browser = client_as(client, ADMIN)
    for method, path in sorted(ROUTES):
        if method != "POST":
            continue
        response = browser.post(concrete(path), data={"anything": "x"}, follow_redirects=False)
        assert response.status_code == 403, f"POST {path} without a CSRF token: {response.status_code}"
        assert "did not come from this site" in response.text


def test_a_wrong_csrf_token_is_refused(client: TestClient):
    browser = client_as(client, MEMBER)
    browser.get("/account")
    response = browser.post("/logout", data={"csrf_token": "x" * 43}, follow_redirects=False)
    assert response.status_code == 403
