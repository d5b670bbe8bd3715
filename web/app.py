"""The FastAPI application: create_app builds it, the lifespan opens the store and brings the index up to date."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlmodel import Session

from kb import accounts
from kb.settings import Settings, get_settings
from kb.taxonomy import load_taxonomy
from web.auth import AuthMiddleware, csrf_field, security_schemes
from web.body_limits import BodyLimitMiddleware
from web.errors import install_error_handlers
from web.flows import (
    build_catalogue,
    build_search_service,
    load_default_corpus_if_empty,
    open_engine,
    settle,
    sync_sites,
)
from web.markdown import render_markdown
from web.routes import (
    accounts as account_routes,
)
from web.routes import (
    analytics,
    answer,
    api,
    areas,
    catalogue,
    catalogue_pages,
    community,
    curate,
    identity,
    pages,
    review,
    saved,
    transfer,
    uploads,
)
from web.security import SecurityHeadersMiddleware
from web.worker import start_worker

HERE = Path(__file__).resolve().parent
log = logging.getLogger(__name__)


def highlight(text: str, terms: list[str]) -> Markup:
    """Escape the text, then mark each term (case-insensitive, at word starts so 'care' marks 'carers')."""
    escaped = str(escape(text))
    wanted = sorted({str(escape(t)) for t in terms if t and len(t) > 1}, key=len, reverse=True)
    if not wanted:
        return Markup(escaped)
    pattern = re.compile(r"(?<![\w&])(" + "|".join(re.escape(t) for t in wanted) + r")", re.IGNORECASE)
    return Markup(pattern.sub(r"<mark>\1</mark>", escaped))


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["highlight"] = highlight
    templates.env.globals["csrf_field"] = csrf_field
    templates.env.globals["min_password"] = accounts.MIN_PASSWORD
    templates.env.filters["markdown"] = render_markdown
    return templates


class KbApp(FastAPI):
    """FastAPI with the security-headers layer outside Starlette's server-error layer, so that every
    response, the 500 page included, carries the headers (an ordinary middleware sits inside it), and with
    both ways of authenticating in /openapi.json, even the one only the site's forms use."""

    def build_middleware_stack(self):  # type: ignore[no-untyped-def]
        return SecurityHeadersMiddleware(super().build_middleware_stack())

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            document = super().openapi()
            document.setdefault("components", {}).setdefault("securitySchemes", {}).update(security_schemes())
        return self.openapi_schema  # type: ignore[return-value]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = open_engine(settings)
        sync_sites(engine)
        loaded = load_default_corpus_if_empty(settings, engine)
        service = build_search_service(settings, engine)
        if loaded is not None:
            settle(engine, service.embedder, [f.document_id for f in loaded.files])
        service.refresh()
        catalogue_service = build_catalogue(service)
        catalogue_service.refresh()
        with Session(engine) as session:
            app.state.secret = settings.secret_key or accounts.installation_secret(
                session=session, name="session"
            )
        app.state.engine, app.state.search, app.state.catalogue = engine, service, catalogue_service
        worker = start_worker(app) if settings.upload_worker else None
        yield
        if worker is not None:
            worker.stop()
        engine.dispose()

    app = KbApp(
        title="kb",
        summary="What worked elsewhere in integrated care, with the evidence.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.templates = make_templates()
    app.state.taxonomy = load_taxonomy()
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    # BodyLimitMiddleware inside AuthMiddleware: a refused body's page still knows who is signed in.
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    app.add_middleware(AuthMiddleware)
    for module in (
        api,
        answer,
        areas,
        catalogue,
        pages,
        catalogue_pages,
        account_routes,
        identity,
        curate,
        uploads,
        review,
        community,
        saved,
        analytics,
        transfer,
    ):
        app.include_router(module.router)
    install_error_handlers(app)
    return app
