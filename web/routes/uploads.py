"""Uploads: the upload form, each upload's live status page (its JSON is in the API, web/routes/api.py), retry."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session
from starlette.datastructures import UploadFile as ReceivedFile

from ingest.parse import SUPPORTED_SUFFIXES
from kb import uploads
from kb.settings import Settings
from web.auth import CsrfDep, CuratorDep
from web.deps import IdPath, SessionDep, SettingsDep
from web.errors import error_responses
from web.worker import wake_worker

# CSRF is declared route by route: the upload's hourly cap must be checked before its form (the body) is read.
router = APIRouter(include_in_schema=False)

READ_CHUNK = 1024 * 1024


def render_uploads(
    request: Request,
    session: Session,
    settings: Settings,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "uploads": uploads.recent_uploads(session=session),
        "suffixes": sorted(SUPPORTED_SUFFIXES),
        "max_file_mb": settings.max_file_mb,
        "max_files": settings.max_upload_files,
        "errors": errors or [],
    }
    return request.app.state.templates.TemplateResponse(
        request, "uploads.html", context, status_code=status_code
    )


async def read_capped(file: ReceivedFile, max_bytes: int) -> bytes:
    """The file's bytes, stopping one byte past the limit (enough to refuse it without holding a huge file)."""
    chunks, size = [], 0
    while size <= max_bytes and (chunk := await file.read(min(READ_CHUNK, max_bytes + 1 - size))):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


@router.get("/curate/uploads", response_class=HTMLResponse)
def upload_list(request: Request, session: SessionDep, settings: SettingsDep, user: CuratorDep):
    return render_uploads(request, session, settings)


def within_hourly_cap(session: SessionDep, settings: SettingsDep, user: CuratorDep) -> None:
    """Refuse (429) an account that used its uploads for the hour, before a byte of the new one is read."""
    uploads.check_hourly_cap(session=session, user_id=user.id, per_hour=settings.uploads_per_hour)


@router.post(
    "/curate/uploads",
    dependencies=[Depends(within_hourly_cap), CsrfDep],
    responses=error_responses(401, 403, 413, 422, 429),
)
async def upload_files(request: Request, session: SessionDep, settings: SettingsDep, user: CuratorDep):
    max_bytes = settings.max_file_mb * 1024 * 1024
    form = await request.form()
    received = [
        f for f in form.getlist("files") if isinstance(f, ReceivedFile) and (f.filename or f.size)
    ]  # a form sent with no file chosen carries one empty, unnamed part
    incoming = [
        uploads.IncomingFile(filename=f.filename or "", data=await read_capped(f, max_bytes))
        for f in received
    ]
    try:
        upload = uploads.create_upload(
            session=session,
            user_id=user.id,
            files=incoming,
            allowed_suffixes=SUPPORTED_SUFFIXES,
            max_bytes=max_bytes,
            max_files=settings.max_upload_files,
        )
    except uploads.UploadRefused as err:
        return render_uploads(request, session, settings, errors=err.reasons, status_code=422)
    wake_worker(request.app)
    return RedirectResponse(f"/curate/uploads/{upload.id}", status_code=303)


@router.get("/curate/uploads/{upload_id}", response_class=HTMLResponse)
def upload_page(request: Request, upload_id: IdPath, session: SessionDep, user: CuratorDep):
    status = uploads.upload_status(session=session, upload_id=upload_id)
    return request.app.state.templates.TemplateResponse(request, "upload.html", {"upload": status})


@router.post("/curate/uploads/files/{file_id}/retry", dependencies=[CsrfDep])
def retry(request: Request, file_id: IdPath, session: SessionDep, user: CuratorDep):
    file = uploads.retry_file(session=session, file_id=file_id)
    wake_worker(request.app)
    return RedirectResponse(f"/curate/uploads/{file.upload_id}", status_code=303)
