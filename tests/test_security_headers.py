"""Every response carries the security headers, whatever the route, method or outcome; HEAD works wherever GET does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

from web.security import API_DOCS_PATHS, CONTENT_SECURITY_POLICY

TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"
EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def concrete(path: str) -> str:
    """A route's path with every parameter filled in ("/documents/{document_id}" -> "/documents/1")."""
    return re.sub(r"\{[^}]+\}", "1", path)


def walk_routes(routes) -> list:
    """Every route, looking inside included routers (FastAPI 0.165 keeps them as one entry each)."""
    out = []
    for route in routes:
        included = getattr(route, "original_router", None)
        out.extend(walk_routes(included.routes) if included is not None else [route])
    return out


def every_request(app) -> list[tuple[str, str]]:
    """(method, path) for every route of the app and every method it takes, plus a static file."""
    requests = []
    for route in walk_routes(app.routes):
        if isinstance(route, Mount):
            requests.append(("GET", f"{route.path}/site.css"))
        elif getattr(route, "methods", None):
            requests.extend((method, concrete(route.path)) for method in sorted(route.methods))
    return requests


def assert_secure_headers(response, where: str) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (where, name, response.headers.get(name))
    policy = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, where
    if not any(where.endswith(f" {path}") for path in API_DOCS_PATHS):
        assert policy == CONTENT_SECURITY_POLICY, where
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.fixture
def raising_client(client: TestClient) -> TestClient:
    @client.app.get("/boom-for-test")
    def boom() -> None:
        raise RuntimeError("boom")

    client.app.middleware_stack = None  # rebuilt with the new route
    return TestClient(client.app, raise_server_exceptions=False)


def test_every_route_and_method_answers_with_the_security_headers(client: TestClient):
    requests = every_request(client.app)
    assert len(requests) > 60 and ("GET", "/") in requests and ("GET", "/static/site.css") in requests
    seen = set()
    for method, path in requests:
        response = client.request(method, path, follow_redirects=False)
        seen.add(response.status_code)
        assert_secure_headers(response, f"{method} {path}")
    # The walk met successes, redirects, refusals and not-found answers, and all carried the headers.
    assert {200, 303, 403, 404} <= seen, seen


def test_errors_and_unknown_addresses_carry_the_headers(client: TestClient, raising_client: TestClient):
    for path in ("/no-such-page", "/api/no-such-thing", "/static/missing.css", "/api/documents?limit=abc"):
        assert_secure_headers(client.get(path), f"GET {path}")
    crashed = raising_client.get("/boom-for-test")
    assert crashed.status_code == 500 and "went wrong" in crashed.text
    assert_secure_headers(crashed, "GET /boom-for-test")


def test_head_works_wherever_get_does(client: TestClient):
    for method, path in every_request(client.app):
        if method != "GET":
            continue
        got = client.get(path, follow_redirects=False)
        head = client.head(path, follow_redirects=False)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        assert head.headers.get("content-type") == got.headers.get("content-type"), path
        assert_secure_headers(head, f"HEAD {path}")
    assert client.head("/").status_code == 200


def test_hsts_only_over_https(client: TestClient):
    assert "strict-transport-security" not in client.get("/").headers
    behind_proxy = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert behind_proxy.headers["strict-transport-security"].startswith("max-age=")
    direct = TestClient(client.app, base_url="https://testserver")
    assert "max-age=" in direct.get("/api/stats").headers["strict-transport-security"]


def test_templates_hold_no_inline_script_style_or_handlers():
    """What the policy forbids never appears in a template, so it cannot silently break a page."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\son[a-z]+\s*=|\sstyle\s*=|javascript:", re.I)
    offenders = [
        f"{path.name}: {m.group()}"
        for path in TEMPLATES.glob("*.html")
        for m in inline.finditer(path.read_text())
    ]
    assert offenders == []


def test_a_signed_in_persons_pages_are_never_cached(client: TestClient, curator: TestClient):
    assert curator.get("/curate/queue").headers["cache-control"] == "no-store"
    assert curator.get("/").headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/").headers.get("cache-control", "")  # public pages may be cached
