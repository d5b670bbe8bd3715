"""The review queue: curators edit, merge, publish or reject interventions and see and revert their history;
members submit case studies into the same queue."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from ingest.submissions import SUBMISSION_FIELDS, proposed_submission
from kb import curation
from kb.errors import InvalidInput
from kb.store.models import Document, Intervention
from kb.taxonomy import Taxonomy
from web.auth import CsrfDep, CuratorDep, MemberDep
from web.deps import SessionDep
from web.markdown import render_markdown
from web.render import render

router = APIRouter(include_in_schema=False, dependencies=[CsrfDep])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
TAG_DIMENSIONS = ("care_model", "intervention_type", "population", "setting", "enabler", "outcome_measure")
DONE = {  # what the page says after a change (a fixed set: nothing from the query string is shown)
    "saved": "Your changes were saved as a new version.",
    "unchanged": "Nothing was changed, so no new version was made.",
    "published": "Published: readers can now see this intervention.",
    "published-passages": "Published. The passages it cites are now searchable; the rest of its draft document "
    "stays private until you review it or publish the whole document.",
    "rejected": "Rejected. It stays in the queue under ‘rejected’ with your reason.",
    "merged": "Merged: the duplicate's passages, outcomes and tags were added to this record.",
    "reverted": "Reverted: the earlier version's fields were restored as a new version.",
}
MAX_TEXT = 20_000


def refresh_readers(request: Request) -> None:
    """After a commit: this process's catalogue and search see the change at once (others by generation)."""
    request.app.state.catalogue.ensure_fresh()
    request.app.state.search.ensure_fresh()


def back_to(intervention_id: int, done: str) -> RedirectResponse:
    return RedirectResponse(f"/curate/interventions/{intervention_id}?done={done}", status_code=303)


# --- the queue --------------------------------------------------------------------------------


@router.get("/curate/queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: SessionDep,
    user: CuratorDep,
    status: Annotated[str, Query(max_length=20)] = "",
    document: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    per_page = 50
    rows, total = curation.review_queue(
        session=session,
        status=status or None,
        document_id=document,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    shown_document = session.get(Document, document) if document is not None else None
    listing_drafts = document is None and status in ("", "draft") and page == 1
    return render(
        request,
        "review_queue.html",
        {
            "rows": rows,
            "total": total,
            "status": status,
            "document": shown_document,
            "document_id": document,
            "draft_documents": curation.draft_documents(session=session) if listing_drafts else [],
            "page": page,
            "pages": max(1, -(-total // per_page)),
            "statuses": curation.STATUSES,
            "threshold": curation.LOW_CONFIDENCE,
        },
    )


# --- one intervention -------------------------------------------------------------------------


def review_again(request: Request, session: Session, intervention_id: int, err: InvalidInput) -> Response:
    """The review page again, nothing of the refused change kept, with what was wrong (422)."""
    session.rollback()
    row = curation.get_intervention_or_raise(session=session, intervention_id=intervention_id)
    return render(
        request, "review_intervention.html", review_context(request, session, row, error=err.message), 422
    )


def review_context(
    request: Request, session: Session, row: Intervention, *, q: str = "", error: str | None = None
) -> dict:
    taxonomy: Taxonomy = request.app.state.taxonomy
    tags = json.loads(row.tags_json)
    document = session.get(Document, row.document_id) if row.document_id else None
    submitter = curation.user_names(
        session=session, user_ids={row.submitted_by} if row.submitted_by else set()
    )
    return {
        "row": row,
        "document": document,
        "submitter": submitter.get(row.submitted_by) if row.submitted_by else None,
        "tags": sorted(
            tags,
            key=lambda t: (
                TAG_DIMENSIONS.index(t["dimension"]) if t["dimension"] in TAG_DIMENSIONS else 99,
                t["label"],
            ),
        ),
        "outcomes": json.loads(row.outcomes_json),
        "passages": json.loads(row.passages_json),
        "dimensions": [
            {
                "id": d,
                "label": d.replace("_", " ").capitalize(),
                "terms": [
                    t
                    for t in taxonomy.dimensions.get(d, ())
                    if not any(x["dimension"] == d and x["id"] == t.id for x in tags)
                ],
            }
            for d in TAG_DIMENSIONS
        ],
        "evidence_levels": taxonomy.dimensions["evidence_level"],
        "outcome_kinds": taxonomy.dimensions["outcome_kind"],
        "duplicates": curation.likely_duplicates(session=session, row=row),
        "found": curation.search_interventions(session=session, text=q, exclude=row.id) if q else [],  # type: ignore[arg-type]
        "q": q,
        "threshold": curation.LOW_CONFIDENCE,
        "done": DONE.get(request.query_params.get("done", "")),
        "error": error,
        "versions": len(curation.revisions(session=session, intervention_id=row.id)),  # type: ignore[arg-type]
    }


@router.get("/curate/interventions/{intervention_id}", response_class=HTMLResponse)
def review_page(
    request: Request,
    session: SessionDep,
    user: CuratorDep,
    intervention_id: Id,
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    row = curation.get_intervention_or_raise(session=session, intervention_id=intervention_id)
    return render(request, "review_intervention.html", review_context(request, session, row, q=q))


def edit_from_form(form, taxonomy: Taxonomy) -> curation.InterventionEdit:  # noqa: ANN001  (a Starlette FormData)
    """The review form's fields as an edit: text fields, tags to remove and add, outcome kinds."""
    fields = {}
    for name in (*curation.TEXT_FIELDS, "evidence_level"):
        value = form.get(name)
        if isinstance(value, str):
            if len(value) > MAX_TEXT:
                raise InvalidInput(f"{curation.FIELD_LABELS[name]} is too long.")
            fields[name] = value
    remove = set()
    for value in form.getlist("remove_tag"):
        dimension, _, term_id = str(value).partition(":")
        remove.add((dimension, term_id))
    add = [(d, str(form.get(f"add_{d}"))) for d in TAG_DIMENSIONS if form.get(f"add_{d}")]
    kinds, removed_outcomes = {}, set()
    for key, value in form.multi_items():
        if key.startswith("outcome_kind_") and key[13:].isdecimal():  # int() refuses some isdigit()s
            kinds[int(key[13:])] = str(value)
        if key == "remove_outcome" and str(value).isdecimal():
            removed_outcomes.add(int(value))
    return curation.InterventionEdit(
        fields=fields, remove_tags=remove, add_tags=add, outcome_kinds=kinds, remove_outcomes=removed_outcomes
    )


@router.post("/curate/interventions/{intervention_id}", response_class=HTMLResponse)
async def save_edit(request: Request, session: SessionDep, user: CuratorDep, intervention_id: Id) -> Response:
    form = await request.form()
    why = str(form.get("why") or "")[:2000]
    try:
        changed = curation.edit_intervention(
            session=session,
            intervention_id=intervention_id,
            edit=edit_from_form(form, request.app.state.taxonomy),
            user_id=user.id,
            reason=why,
            taxonomy=request.app.state.taxonomy,
        )
    except InvalidInput as err:
        return review_again(request, session, intervention_id, err)
    session.commit()
    refresh_readers(request)
    return back_to(intervention_id, "saved" if changed else "unchanged")


@router.post("/curate/interventions/{intervention_id}/publish")
def publish(
    request: Request,
    session: SessionDep,
    user: CuratorDep,
    intervention_id: Id,
    why: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    released = curation.publish_intervention(
        session=session, intervention_id=intervention_id, user_id=user.id, reason=why
    )
    session.commit()
    refresh_readers(request)
    return back_to(intervention_id, "published-passages" if released else "published")


@router.post("/curate/interventions/{intervention_id}/reject", response_class=HTMLResponse)
def reject(
    request: Request,
    session: SessionDep,
    user: CuratorDep,
    intervention_id: Id,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        curation.reject_intervention(
            session=session, intervention_id=intervention_id, user_id=user.id, reason=reason
        )
    except InvalidInput as err:
        return review_again(request, session, intervention_id, err)
    session.commit()
    refresh_readers(request)
    return back_to(intervention_id, "rejected")


@router.post("/curate/interventions/{intervention_id}/merge")
def merge(
    request: Request,
    session: SessionDep,
    user: CuratorDep,
    intervention_id: Id,
    target_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
) -> Response:
    curation.merge_interventions(
        session=session, source_id=intervention_id, target_id=target_id, user_id=user.id
    )
    session.commit()
    refresh_readers(request)
    return back_to(target_id, "merged")


# --- history ------------------------------------------------------------------------------------


@router.get("/curate/interventions/{intervention_id}/history", response_class=HTMLResponse)
def history_page(
    request: Request, session: SessionDep, user: CuratorDep, intervention_id: Id
) -> HTMLResponse:
    row = curation.get_intervention_or_raise(session=session, intervention_id=intervention_id)
    versions = curation.revisions(session=session, intervention_id=intervention_id)
    names = curation.user_names(session=session, user_ids={v.user_id for v in versions if v.user_id})
    return render(
        request,
        "review_history.html",
        {
            "row": row,
            "versions": list(reversed(versions)),
            "names": names,
            "done": DONE.get(request.query_params.get("done", "")),
        },
    )


@router.get("/curate/interventions/{intervention_id}/diff", response_class=HTMLResponse)
def diff_page(
    request: Request,
    session: SessionDep,
    user: CuratorDep,
    intervention_id: Id,
    from_version: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=2**31 - 1)],
) -> HTMLResponse:
    row = curation.get_intervention_or_raise(session=session, intervention_id=intervention_id)
    changes = curation.diff_versions(
        session=session, intervention_id=intervention_id, from_version=from_version, to_version=to_version
    )
    return render(
        request,
        "review_diff.html",
        {"row": row, "changes": changes, "from_version": from_version, "to_version": to_version},
    )


@router.post("/curate/interventions/{intervention_id}/revert")
def revert(
    request: Request,
    session: SessionDep,
    user: CuratorDep,
    intervention_id: Id,
    version: Annotated[int, Form(ge=1, le=2**31 - 1)],
    why: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    curation.revert_intervention(
        session=session, intervention_id=intervention_id, version=version, user_id=user.id, reason=why
    )
    session.commit()
    refresh_readers(request)
    return RedirectResponse(f"/curate/interventions/{intervention_id}/history?done=reverted", status_code=303)


@router.post("/curate/documents/{document_id}/publish")
def publish_document(
    request: Request,
    session: SessionDep,
    user: CuratorDep,
    document_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    interventions: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    curation.publish_document(
        session=session, document_id=document_id, user_id=user.id, interventions=interventions == "all"
    )
    session.commit()
    refresh_readers(request)
    return RedirectResponse(f"/curate/queue?document={document_id}", status_code=303)


# --- member submissions ---------------------------------------------------------------------------


def submit_context(request: Request, values: dict[str, str] | None = None, **extra) -> dict:  # noqa: ANN003
    return {
        "values": values or dict.fromkeys(SUBMISSION_FIELDS, ""),
        "care_models": request.app.state.taxonomy.dimensions["care_model"],
        **extra,
    }


@router.get("/submit", response_class=HTMLResponse)
def submit_page(request: Request, user: MemberDep) -> HTMLResponse:
    return render(request, "submit.html", submit_context(request))


@router.post("/submit", response_class=HTMLResponse)
def submit(
    request: Request,
    session: SessionDep,
    user: MemberDep,
    title: Annotated[str, Form(max_length=300)] = "",
    site: Annotated[str, Form(max_length=200)] = "",
    care_model: Annotated[str, Form(max_length=100)] = "",
    summary: Annotated[str, Form(max_length=MAX_TEXT)] = "",
    implementation: Annotated[str, Form(max_length=MAX_TEXT)] = "",
    results: Annotated[str, Form(max_length=MAX_TEXT)] = "",
    lessons: Annotated[str, Form(max_length=MAX_TEXT)] = "",
    contact_consent: Annotated[str, Form(max_length=10)] = "",
) -> HTMLResponse:
    values = {
        "title": title,
        "site": site,
        "care_model": care_model,
        "summary": summary,
        "implementation": implementation,
        "results": results,
        "lessons": lessons,
    }
    taxonomy = request.app.state.taxonomy
    try:
        row = curation.submit_case_study(
            session=session,
            submission=proposed_submission(
                values=values, contact_consent=bool(contact_consent), taxonomy=taxonomy
            ),
            user_id=user.id,
            user_name=user.name,
            taxonomy=taxonomy,
        )
    except InvalidInput as err:
        session.rollback()
        return render(request, "submit.html", submit_context(request, values, error=err.message), 422)
    session.commit()
    refresh_readers(request)
    sections = [
        (label, render_markdown(values[key]))
        for key, label in (
            ("summary", "Summary"),
            ("implementation", "What was done"),
            ("results", "Results"),
            ("lessons", "Lessons"),
        )
        if values[key].strip()
    ]
    return render(
        request,
        "submit.html",
        submit_context(request, submitted=row, sections=sections, consent=bool(contact_consent)),
    )
