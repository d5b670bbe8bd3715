"""Rendering a page: the one place a template and its context become an HTML response."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from fastapi.responses import HTMLResponse


def render(
    request: Request,
    name: str,
    context: dict,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The template `name` rendered with `context` (TemplateResponse adds the request and the page globals)."""
    return request.app.state.templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=headers
    )
