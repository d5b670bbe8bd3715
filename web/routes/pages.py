"""Server-rendered pages: home, search, the document list and the document reader."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from kb import repo
from kb.errors import InvalidInput
from web.deps import SearchDep, SessionDep
from web.reader import reader_blocks

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 10
EXAMPLES = [
    "reducing emergency admissions from care homes",
    "social prescribing",
    "DToC",
    "single point of access",
]


def render(request: Request, name: str, context: dict, status_code: int = 200) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status_code)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> HTMLResponse:
    return render(
        request,
        "home.html",
        {
            "documents": repo.list_documents(session=session, limit=200),
            "document_count": repo.count_documents(session=session),
            "passage_count": repo.count_passages(session=session),
            "examples": EXAMPLES,
        },
    )


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    search: SearchDep,
    q: Annotated[str, Query(max_length=500)] = "",
    page: Annotated[int, Query(ge=1, le=100)] = 1,
    document: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> HTMLResponse:
    context: dict = {"q": q, "page": page, "document": document, "response": None, "error": None}
    if q.strip():
        try:
            context["response"] = search.search(
                q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, document_id=document
            )
        except InvalidInput as err:
            context["error"] = err.message
    return render(request, "search.html", context, status_code=422 if context["error"] else 200)


@router.get("/documents", response_class=HTMLResponse)
def documents_page(request: Request, session: SessionDep) -> HTMLResponse:
    return render(request, "documents.html", {"documents": repo.list_documents(session=session, limit=500)})


@router.get("/documents/{document_id}", response_class=HTMLResponse)
def document_page(
    request: Request, session: SessionDep, document_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> HTMLResponse:
    doc = repo.get_document_or_raise(session=session, document_id=document_id)
    outline = repo.document_outline(doc)
    passages = repo.passages_for_document(session=session, document_id=document_id)
    return render(
        request,
        "document.html",
        {
            "doc": doc,
            "outline": list(enumerate(outline)),
            "blocks": reader_blocks(doc.text, outline, passages),
            "metadata": json.loads(doc.metadata_json),
            "contacts": json.loads(doc.contacts_json),
        },
    )
