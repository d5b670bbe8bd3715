"""The curation dashboard: what is waiting for the programme team, with a link to each place it is done."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func
from sqlmodel import select

from kb.store.models import Comment, CurationTask, Document, Intervention, QueryLog, UploadFile, User, utcnow
from web.auth import CsrfDep, CuratorDep
from web.deps import SessionDep
from web.render import render

router = APIRouter(include_in_schema=False, dependencies=[CsrfDep])


@router.get("/curate", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, user: CuratorDep):
    def count(model, *where) -> int:  # noqa: ANN001
        return session.exec(select(func.count()).select_from(model).where(*where)).one()

    month = utcnow() - timedelta(days=30)
    counts = {
        "drafts": count(Intervention, Intervention.status == "draft"),
        "draft_documents": count(Document, Document.status == "draft"),
        "uploading": count(
            UploadFile, UploadFile.status.in_(("queued", "parsing", "extracting", "indexing"))
        ),  # type: ignore[attr-defined]
        "failed": count(UploadFile, UploadFile.status == "failed"),
        "comments": count(Comment, Comment.created_at >= month),
        "queries": count(QueryLog, QueryLog.created_at >= month),
        "tasks": count(CurationTask, CurationTask.status == "open"),
        "users": count(User),
    }
    return render(request, "curate.html", {"counts": counts})
