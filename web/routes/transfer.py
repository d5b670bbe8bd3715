"""The admin's download of the whole knowledge base as JSON (the same file `kb export` writes)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from kb.transfer import iter_export_json
from web.auth import AdminDep, CsrfDep

router = APIRouter(include_in_schema=False, dependencies=[CsrfDep])


@router.get("/admin/export")
def export_download(request: Request, user: AdminDep) -> StreamingResponse:
    """Streamed as it is read, so a large knowledge base is never held in memory whole."""

    def body() -> Iterator[bytes]:
        for chunk in iter_export_json(engine=request.app.state.engine):
            yield chunk.encode("utf-8")

    filename = f"kb-export-{datetime.now(UTC):%Y-%m-%d}.json"
    return StreamingResponse(
        body(),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
