"""Errors turned into responses in one place: JSON under /api, a page in the site's style elsewhere, never a trace."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from kb.errors import AuthRequired, KbError
from web.render import render

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    401: "Sign in to continue",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    409: "Conflict",
    413: "Too large to accept",
    422: "Check what you entered",
    429: "Too many attempts",
    500: "Sorry, something went wrong",
}
NOT_HERE = "There is nothing at this address."
# What each refusal means, as /openapi.json documents it for the routes that can give it.
MEANINGS = {
    401: "Not signed in: send the `kb_session` cookie that signing in at /login sets.",
    403: "Signed in, but the account's role is not enough for this.",
    404: "Nothing has this id.",
    413: "The request body, or a file in it, is larger than the site accepts, or it holds too many files; "
    "reading stopped at the limit and nothing was kept.",
    422: "A parameter is malformed or out of range (a word where a number goes, a number too large).",
    429: "Too many of these requests from this account in the last hour (or minutes): wait and try again.",
}


class ErrorBody(BaseModel):
    """Every refused /api request gets this: what was wrong, in plain English, and the status again."""

    error: str = Field(description="what was wrong, safe to show a person")
    status: int = Field(description="the HTTP status of the response")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses=` of a route that can refuse with these statuses, each with ErrorBody."""
    return {status: {"model": ErrorBody, "description": MEANINGS[status]} for status in statuses}


def _describe_validation(err: RequestValidationError) -> str:
    parts = []
    for item in err.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(
            f"{where}: {item.get('msg', 'invalid value')}" if where else item.get("msg", "invalid value")
        )
    return "; ".join(parts) or "invalid request"


def _in_path(item: Mapping[str, Any]) -> bool:
    return tuple(item.get("loc", ()))[:1] == ("path",)


def respond(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    if request.url.path.startswith("/api"):
        body = ErrorBody(error=message, status=status).model_dump()
        return JSONResponse(body, status_code=status, headers=headers)
    return render(
        request,
        "error.html",
        {"status": status, "title": TITLES.get(status, "Error"), "message": message},
        status_code=status,
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AuthRequired)
    async def auth_required(request: Request, err: AuthRequired) -> Response:
        """A page asks the reader to sign in and brings them back; the API answers 401."""
        if request.method == "GET" and not request.url.path.startswith("/api"):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
        return respond(request, 401, err.message)

    @app.exception_handler(KbError)
    async def kb_error(request: Request, err: KbError) -> Response:
        return respond(request, err.status_code, err.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> Response:
        """A page whose address holds an id that cannot exist (/interventions/abc, or a number past the
        largest id) is a page that is not there; the API, and a malformed query on a page, say what was wrong."""
        if not request.url.path.startswith("/api") and any(_in_path(item) for item in err.errors()):
            return respond(request, 404, NOT_HERE)
        return respond(request, 422, _describe_validation(err))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> Response:
        message = (
            err.detail
            if isinstance(err.detail, str) and err.status_code != 404
            else (NOT_HERE if err.status_code == 404 else "The request could not be handled.")
        )
        # The headers travel with the refusal: a 405 keeps its Allow header.
        return respond(request, err.status_code, message, headers=err.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return respond(request, 500, "Something went wrong on our side. The error has been logged.")
