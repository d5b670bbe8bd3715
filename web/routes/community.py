"""The community around an intervention: comments and questions, adopters' follow-ups, moderation, and the
lead's contact details. Every POST answers 303 back to the page where the change shows."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session

from kb import community
from kb.accounts import CurrentUser
from web.auth import CsrfDep, CuratorDep, MemberDep
from web.deps import SessionDep
from web.render import render
from web.routes.catalogue import CatalogueDep

router = APIRouter(include_in_schema=False, dependencies=[CsrfDep])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
# The form limit is generous so an overlong text gets kb's plain message (with its length), not a parser's.
Body = Annotated[str, Form(max_length=4 * community.MAX_BODY)]
Short = Annotated[str, Form(max_length=300)]
Note = Annotated[str, Form(max_length=1000)]
Back = Annotated[str, Form(max_length=20)]


def to(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def page_url(intervention_id: int, anchor: str) -> str:
    return f"/interventions/{intervention_id}#{anchor}"


def back_to(back: str, intervention_id: int, anchor: str) -> RedirectResponse:
    """Back to the moderation list when the button was pressed there, else to the intervention page."""
    if back == "moderation":
        return to(f"/curate/moderation#{anchor}")
    return to(page_url(intervention_id, anchor))


def community_context(*, session: Session, intervention_id: int, user: CurrentUser | None) -> dict[str, Any]:
    """What the intervention page shows of the community (merged into its context by the page's route)."""
    curator = user is not None and user.can("curator")
    all_contacts = community.contacts(session=session, intervention_id=intervention_id)
    return {
        "discussion": community.thread(session=session, intervention_id=intervention_id),
        "follow_ups": community.follow_ups(
            session=session, intervention_id=intervention_id, include_hidden=curator
        ),
        "lead_contacts": [c for c in all_contacts if c.consent],
        # only a curator's page carries contacts without consent (to manage them); readers never see them
        "managed_contacts": all_contacts if curator else [],
        "is_curator": curator,
        "comment_max": community.MAX_BODY,
    }


# --- members --------------------------------------------------------------------------------------------


@router.post("/interventions/{intervention_id}/comments")
def post_comment(
    session: SessionDep,
    catalogue: CatalogueDep,
    user: MemberDep,
    intervention_id: Id,
    body: Body = "",
    kind: Annotated[str, Form(max_length=20)] = "comment",
    parent_id: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
) -> RedirectResponse:
    record = catalogue.get(intervention_id)  # 404 unless readers can see it; a merged id gives the survivor
    comment = community.add_comment(
        session=session,
        intervention_id=record.row.id,  # type: ignore[arg-type]
        user_id=user.id,
        body=body,
        kind=kind,
        parent_id=parent_id,
    )
    return to(page_url(comment.intervention_id, f"comment-{comment.id}"))


@router.post("/interventions/{intervention_id}/follow-ups")
def post_follow_up(
    session: SessionDep,
    catalogue: CatalogueDep,
    user: MemberDep,
    intervention_id: Id,
    area: Short = "",
    body: Body = "",
    outcome: Short = "",
) -> RedirectResponse:
    record = catalogue.get(intervention_id)
    follow_up = community.add_follow_up(
        session=session,
        intervention_id=record.row.id,  # type: ignore[arg-type]
        user_id=user.id,
        area=area,
        body=body,
        outcome=outcome,
    )
    return to(page_url(follow_up.intervention_id, f"follow-up-{follow_up.id}"))


# --- curators: moderation -------------------------------------------------------------------------------


@router.get("/curate/moderation", response_class=HTMLResponse)
def moderation_page(request: Request, session: SessionDep, user: CuratorDep) -> HTMLResponse:
    return render(request, "moderation.html", {"activity": community.recent_activity(session=session)})


@router.post("/curate/comments/{comment_id}/hide")
def hide_comment(
    session: SessionDep, user: CuratorDep, comment_id: Id, note: Note = "", back: Back = ""
) -> RedirectResponse:
    comment = community.set_comment_status(
        session=session, comment_id=comment_id, status=community.HIDDEN, note=note
    )
    return back_to(back, comment.intervention_id, f"comment-{comment.id}")


@router.post("/curate/comments/{comment_id}/restore")
def restore_comment(
    session: SessionDep, user: CuratorDep, comment_id: Id, note: Note = "", back: Back = ""
) -> RedirectResponse:
    comment = community.set_comment_status(
        session=session, comment_id=comment_id, status=community.VISIBLE, note=note
    )
    return back_to(back, comment.intervention_id, f"comment-{comment.id}")


@router.post("/curate/follow-ups/{follow_up_id}/hide")
def hide_follow_up(
    session: SessionDep, user: CuratorDep, follow_up_id: Id, back: Back = ""
) -> RedirectResponse:
    follow_up = community.set_follow_up_status(
        session=session, follow_up_id=follow_up_id, status=community.HIDDEN
    )
    return back_to(back, follow_up.intervention_id, f"follow-up-{follow_up.id}")


@router.post("/curate/follow-ups/{follow_up_id}/restore")
def restore_follow_up(
    session: SessionDep, user: CuratorDep, follow_up_id: Id, back: Back = ""
) -> RedirectResponse:
    follow_up = community.set_follow_up_status(
        session=session, follow_up_id=follow_up_id, status=community.VISIBLE
    )
    return back_to(back, follow_up.intervention_id, f"follow-up-{follow_up.id}")


# --- curators: the lead's contact -----------------------------------------------------------------------


@router.post("/curate/interventions/{intervention_id}/contacts")
def save_contact(
    session: SessionDep,
    user: CuratorDep,
    intervention_id: Id,
    name: Short = "",
    role: Short = "",
    organisation: Short = "",
    email: Annotated[str, Form(max_length=254)] = "",
    phone: Annotated[str, Form(max_length=50)] = "",
    consent: Annotated[bool, Form()] = False,
    confirmed_on: Annotated[date | None, Form()] = None,
    contact_id: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
) -> RedirectResponse:
    contact = community.save_contact(
        session=session,
        intervention_id=intervention_id,
        contact_id=contact_id,
        name=name,
        role=role,
        organisation=organisation,
        email=email,
        phone=phone,
        consent=consent,
        confirmed_on=confirmed_on,
    )
    return to(page_url(contact.intervention_id, "lead"))


@router.post("/curate/contacts/{contact_id}/delete")
def delete_contact(session: SessionDep, user: CuratorDep, contact_id: Id) -> RedirectResponse:
    intervention_id = community.delete_contact(session=session, contact_id=contact_id)
    return to(page_url(intervention_id, "lead"))
