"""Errors turned into responses in one place: JSON under /api, a page in the site's style elsewhere, never a trace."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kb.errors import AuthRequired, KbError

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    401: "Sign in to continue",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    409: "Conflict",
    422: "Check what you entered",
    429: "Too many attempts",
    500: "Sorry, something went wrong",
}


def _describe_validation(err: RequestValidationError) -> str:
    parts = []
    for item in err.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(
            f"{where}: {item.get('msg', 'invalid value')}" if where else item.get("msg", "invalid value")
        )
    return "; ".join(parts) or "invalid request"


def respond(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api"):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": TITLES.get(status, "Error"), "message": message},
        status_code=status,
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
        return respond(request, 422, _describe_validation(err))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> Response:
        message = (
            err.detail
            if isinstance(err.detail, str) and err.status_code != 404
            else (
                "There is nothing at this address."
                if err.status_code == 404
                else "The request could not be handled."
            )
        )
        return respond(request, err.status_code, message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return respond(request, 500, "Something went wrong on our side. The error has been logged.")
