"""Who is asking, and may they: session cookies, the CSRF token, and the role each route needs.

Sessions: the `kb_session` cookie holds a random token signed with the installation's secret
(HttpOnly, SameSite=Lax, Secure over HTTPS); the database keeps only the token's hash.
CSRF: every page gets a `kb_csrf` cookie holding a random token that every form repeats in a hidden
`csrf_token` field (or a script in an `X-CSRF-Token` header); a POST whose token does not match the
cookie is refused. Another site can make a browser send the cookie but cannot read it to repeat it.
Roles: reader (anyone) < member < curator < admin; `require(role)` is the dependency a route declares.
Both the cookie and the header are OpenAPI security schemes, so /openapi.json says how to authenticate.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, APIKeyHeader
from itsdangerous import BadSignature, Signer
from markupsafe import Markup, escape
from sqlmodel import Session
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from kb import accounts
from kb.accounts import CurrentUser
from kb.errors import AuthRequired, Forbidden

SESSION_COOKIE = "kb_session"
CSRF_COOKIE = "kb_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# auto_error=False: these only describe the credentials in /openapi.json; require() and verify_csrf decide.
SESSION_SCHEME = APIKeyCookie(
    name=SESSION_COOKIE,
    scheme_name="session",
    auto_error=False,
    description="The session cookie that signing in at /login sets (HttpOnly, signed). Routes that need a "
    "role answer 401 without it and 403 when the account's role is not enough.",
)
CSRF_SCHEME = APIKeyHeader(
    name=CSRF_HEADER,
    scheme_name="csrf",
    auto_error=False,
    description=f"State-changing requests (POST) repeat the value of the `{CSRF_COOKIE}` cookie, which any page "
    f"sets, in this header (or in a `{CSRF_FIELD}` form field); without it they are refused with 403.",
)


def security_schemes() -> dict[str, Any]:
    """Both schemes as /openapi.json components (the CSRF one is used only by routes outside the API document)."""
    return {
        scheme.scheme_name: scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True)
        for scheme in (SESSION_SCHEME, CSRF_SCHEME)
    }


def signer(request: Request) -> Signer:
    return Signer(request.app.state.secret, salt="kb-session")


def secure(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


class AuthMiddleware(BaseHTTPMiddleware):
    """Puts the signed-in user (or None) and the CSRF token on request.state, and sets the CSRF cookie."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        request.state.user = None
        signed = request.cookies.get(SESSION_COOKIE)
        if signed and getattr(request.app.state, "engine", None) is not None:
            try:
                token = signer(request).unsign(signed).decode()
            except BadSignature:
                token = None
            if token:
                with Session(request.app.state.engine) as session:
                    request.state.user = accounts.user_for_token(session=session, token=token)
        csrf = request.cookies.get(CSRF_COOKIE)
        fresh_csrf = not csrf or len(csrf) < 32
        request.state.csrf_token = secrets.token_urlsafe(32) if fresh_csrf else csrf
        response = await call_next(request)
        if fresh_csrf and not request.url.path.startswith(("/static/", "/api/")):
            response.set_cookie(
                CSRF_COOKIE,
                request.state.csrf_token,
                httponly=True,
                samesite="lax",
                secure=secure(request),
                path="/",
            )
        return response


def set_session_cookie(request: Request, response: Response, token: str, *, days: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        signer(request).sign(token).decode(),
        max_age=days * 86400,
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/",
    )


def session_token(request: Request) -> str | None:
    signed = request.cookies.get(SESSION_COOKIE)
    if not signed:
        return None
    try:
        return signer(request).unsign(signed).decode()
    except BadSignature:
        return None


def csrf_field(request: Request) -> Markup:
    """The hidden input every form carries (a Jinja global: {{ csrf_field(request) }})."""
    token = getattr(request.state, "csrf_token", "")
    return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">')


async def verify_csrf(request: Request, header: Annotated[str | None, Security(CSRF_SCHEME)] = None) -> None:
    """Refuse a state-changing request whose CSRF token is missing or does not match the cookie."""
    if request.method in SAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = header
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not cookie or not sent or not secrets.compare_digest(cookie, sent):
        raise Forbidden(
            "This form could not be accepted: it had expired or did not come from this site. "
            "Go back, reload the page and try again."
        )


def current_user(request: Request) -> CurrentUser | None:
    return getattr(request.state, "user", None)


def require(role: str):  # noqa: ANN201  (a FastAPI dependency)
    """A dependency that lets through a signed-in user with at least this role."""

    def dependency(
        request: Request, _: Annotated[str | None, Security(SESSION_SCHEME)] = None
    ) -> CurrentUser:
        user = current_user(request)
        if user is None:
            raise AuthRequired("Sign in to do this.")
        if not user.can(role):
            raise Forbidden(f"This needs a {role} account; yours is a {user.role} account.")
        return user

    dependency.required_role = role  # type: ignore[attr-defined]  (read by the route-permission test)
    return dependency


CsrfDep = Depends(verify_csrf)
OptionalUserDep = Annotated[CurrentUser | None, Depends(current_user)]
MemberDep = Annotated[CurrentUser, Depends(require("member"))]
CuratorDep = Annotated[CurrentUser, Depends(require("curator"))]
AdminDep = Annotated[CurrentUser, Depends(require("admin"))]
