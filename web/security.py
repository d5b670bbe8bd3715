"""Security headers on every response (pages, API, static files, errors) and HEAD wherever GET works."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.auth import SESSION_COOKIE, secure

# No inline script or style anywhere on the site: scripts and stylesheets are files under /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's own /docs and /redoc pages load Swagger UI / ReDoc from a CDN and start them with an inline
# script; they alone get a policy that allows that (they hold no form or account data).
API_DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
API_DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
HSTS = "max-age=31536000; includeSubDomains"


def security_headers(scope: Scope) -> dict[str, str]:
    """The headers every response to this request carries; HSTS only when it came over HTTPS."""
    headers = {
        "Content-Security-Policy": API_DOCS_POLICY
        if scope.get("path") in API_DOCS_PATHS
        else CONTENT_SECURITY_POLICY,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    request = Request(scope)
    if secure(request):
        headers["Strict-Transport-Security"] = HSTS
    if SESSION_COOKIE in request.cookies:
        # a signed-in person's pages (drafts, accounts, the review queue) are never kept by a shared cache or
        # the browser's history cache (OWASP ASVS 8.2.1)
        headers["Cache-Control"] = "no-store"
    return headers


class SecurityHeadersMiddleware:
    """The outermost layer: adds the security headers to every response, even the 500 page, and answers
    HEAD as the GET it stands for, with the GET's headers and no body."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        extra = security_headers(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            elif message["type"] == "http.response.body" and head:
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_with_headers)
