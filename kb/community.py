"""Storage for the community around an intervention: threaded comments and questions, adopters' follow-ups,
moderation, and the lead's contact details (shown to readers only with the lead's consent)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlmodel import Session, col, select

from kb.errors import InvalidInput, NotFound
from kb.store.models import Comment, FollowUp, Intervention, LeadContact, User

MAX_BODY = 5000
MAX_AREA = 200
MAX_OUTCOME = 300
KINDS = ("comment", "question")
ANSWERING_ROLES = ("curator", "admin")
VISIBLE, HIDDEN = "visible", "hidden"


@dataclass
class Author:
    """Who wrote something, as the page shows them; `lead` when they are the intervention's lead."""

    id: int | None
    name: str
    role: str = "member"
    email: str = ""
    lead: bool = False


@dataclass
class ThreadNode:
    comment: Comment
    author: Author
    replies: list[ThreadNode] = field(default_factory=list)
    answered: bool = False  # a question with a visible reply from a curator or the lead


@dataclass
class FollowUpView:
    follow_up: FollowUp
    author: Author


@dataclass
class Activity:
    """One line of the moderation list: a comment or a follow-up, with who wrote it and where."""

    kind: str  # "comment" or "follow-up"
    item: Comment | FollowUp
    author: Author
    intervention_id: int
    intervention_title: str


FORMER_MEMBER = Author(id=None, name="A former member")


# --- checks ---------------------------------------------------------------------------------------------


def published_intervention_or_raise(*, session: Session, intervention_id: int) -> Intervention:
    """The intervention, if readers can see it; a draft or rejected one is as good as missing (404)."""
    intervention = session.get(Intervention, intervention_id)
    if intervention is None or intervention.status != "published":
        raise NotFound(f"No intervention with id {intervention_id}.")
    return intervention


def clean_body(body: str, *, what: str = "your comment") -> str:
    body = (body or "").strip()
    if not body:
        raise InvalidInput(f"Write {what} before sending it.")
    if len(body) > MAX_BODY:
        raise InvalidInput(f"Keep {what} under {MAX_BODY:,} characters; it has {len(body):,}.")
    return body


def authors(*, session: Session, user_ids: set[int], intervention_id: int | None = None) -> dict[int, Author]:
    """Display names for these users. Someone is the intervention's lead when their account's address is a lead
    contact's and they have confirmed it (by a signed link sent there): registering with an address proves
    nothing, so an unconfirmed account is never shown as the lead."""
    if not user_ids:
        return {}
    users = session.exec(select(User).where(col(User.id).in_(user_ids))).all()
    lead_emails: set[str] = set()
    if intervention_id is not None:
        lead_emails = {
            c.email.strip().lower()
            for c in contacts(session=session, intervention_id=intervention_id)
            if c.email
        }
    return {
        u.id: Author(  # type: ignore[misc]
            id=u.id,
            name=u.name,
            role=u.role,
            email=u.email,
            lead=u.email_confirmed_at is not None and u.email.lower() in lead_emails,
        )
        for u in users
    }


# --- comments and questions -----------------------------------------------------------------------------


def add_comment(
    *,
    session: Session,
    intervention_id: int,
    user_id: int,
    body: str,
    kind: str = "comment",
    parent_id: int | None = None,
) -> Comment:
    """A new comment or question, or a reply to one on the same intervention; raises NotFound or InvalidInput."""
    published_intervention_or_raise(session=session, intervention_id=intervention_id)
    if kind not in KINDS:
        raise InvalidInput("Choose whether this is a comment or a question.")
    body = clean_body(body, what="your comment" if kind == "comment" else "your question")
    if parent_id is not None:
        parent = session.get(Comment, parent_id)
        if parent is None or parent.intervention_id != intervention_id:
            raise InvalidInput("You can only reply to a comment on this intervention.")
        if parent.status != VISIBLE:
            raise InvalidInput("That comment was removed by a moderator, so it cannot be replied to.")
    comment = Comment(
        intervention_id=intervention_id, parent_id=parent_id, user_id=user_id, kind=kind, body=body
    )
    session.add(comment)
    session.commit()
    session.refresh(comment)
    return comment


def thread(*, session: Session, intervention_id: int) -> list[ThreadNode]:
    """The discussion as trees, oldest first at every level. Hidden comments stay in place (the page shows
    that a moderator removed them) so their replies keep their context."""
    rows = session.exec(
        select(Comment)
        .where(Comment.intervention_id == intervention_id)
        .order_by(col(Comment.created_at), col(Comment.id))
    ).all()
    people = authors(session=session, user_ids={c.user_id for c in rows}, intervention_id=intervention_id)
    nodes = {c.id: ThreadNode(comment=c, author=people.get(c.user_id, FORMER_MEMBER)) for c in rows}
    roots: list[ThreadNode] = []
    for node in nodes.values():
        parent = nodes.get(node.comment.parent_id) if node.comment.parent_id is not None else None
        (parent.replies if parent else roots).append(node)
    for node in nodes.values():
        node.answered = node.comment.kind == "question" and any(
            reply.comment.status == VISIBLE and (reply.author.role in ANSWERING_ROLES or reply.author.lead)
            for reply in node.replies
        )
    return roots


def comment_or_raise(*, session: Session, comment_id: int) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise NotFound(f"No comment with id {comment_id}.")
    return comment


def set_comment_status(*, session: Session, comment_id: int, status: str, note: str = "") -> Comment:
    """Hide or restore a comment; the note says why (kept for curators, never shown to readers)."""
    comment = comment_or_raise(session=session, comment_id=comment_id)
    comment.status = status
    comment.moderation_note = note.strip()
    session.add(comment)
    session.commit()
    session.refresh(comment)
    return comment


# --- follow-ups from adopters ---------------------------------------------------------------------------


def add_follow_up(
    *, session: Session, intervention_id: int, user_id: int, area: str, body: str, outcome: str = ""
) -> FollowUp:
    """A member's report of trying this intervention in their area; raises NotFound or InvalidInput."""
    published_intervention_or_raise(session=session, intervention_id=intervention_id)
    area, outcome = (area or "").strip(), (outcome or "").strip()
    if not area:
        raise InvalidInput("Say where you tried it, for example the place or organisation.")
    if len(area) > MAX_AREA:
        raise InvalidInput(f"Keep the area under {MAX_AREA} characters.")
    if len(outcome) > MAX_OUTCOME:
        raise InvalidInput(f"Keep the outcome figure under {MAX_OUTCOME} characters.")
    body = clean_body(body, what="what you did and what happened")
    follow_up = FollowUp(
        intervention_id=intervention_id, user_id=user_id, area=area, body=body, outcome=outcome
    )
    session.add(follow_up)
    session.commit()
    session.refresh(follow_up)
    return follow_up


def follow_ups(*, session: Session, intervention_id: int, include_hidden: bool = False) -> list[FollowUpView]:
    """An intervention's follow-ups, newest first; hidden ones only when asked (for curators)."""
    query = select(FollowUp).where(FollowUp.intervention_id == intervention_id)
    if not include_hidden:
        query = query.where(FollowUp.status == VISIBLE)
    rows = session.exec(query.order_by(col(FollowUp.created_at).desc(), col(FollowUp.id).desc())).all()
    people = authors(session=session, user_ids={f.user_id for f in rows}, intervention_id=intervention_id)
    return [FollowUpView(follow_up=f, author=people.get(f.user_id, FORMER_MEMBER)) for f in rows]


def set_follow_up_status(*, session: Session, follow_up_id: int, status: str) -> FollowUp:
    follow_up = session.get(FollowUp, follow_up_id)
    if follow_up is None:
        raise NotFound(f"No follow-up with id {follow_up_id}.")
    follow_up.status = status
    session.add(follow_up)
    session.commit()
    session.refresh(follow_up)
    return follow_up


# --- moderation -----------------------------------------------------------------------------------------


def recent_activity(*, session: Session, limit: int = 100) -> list[Activity]:
    """The newest comments and follow-ups together, newest first, hidden ones included."""
    comments = session.exec(
        select(Comment).order_by(col(Comment.created_at).desc(), col(Comment.id).desc()).limit(limit)
    ).all()
    reports = session.exec(
        select(FollowUp).order_by(col(FollowUp.created_at).desc(), col(FollowUp.id).desc()).limit(limit)
    ).all()
    items: list[Comment | FollowUp] = [*comments, *reports]
    people = authors(session=session, user_ids={i.user_id for i in items})
    ids = {i.intervention_id for i in items}
    titles = {
        i.id: i.title for i in session.exec(select(Intervention).where(col(Intervention.id).in_(ids))).all()
    }
    activity = [
        Activity(
            kind="comment" if isinstance(i, Comment) else "follow-up",
            item=i,
            author=people.get(i.user_id, FORMER_MEMBER),
            intervention_id=i.intervention_id,
            intervention_title=titles.get(i.intervention_id, f"Intervention {i.intervention_id}"),
        )
        for i in items
    ]
    activity.sort(key=lambda a: (as_utc(a.item.created_at), a.item.id or 0), reverse=True)
    return activity[:limit]


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; compare everything in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- the lead's contact details -------------------------------------------------------------------------


def contacts(*, session: Session, intervention_id: int) -> list[LeadContact]:
    return list(
        session.exec(
            select(LeadContact)
            .where(LeadContact.intervention_id == intervention_id)
            .order_by(col(LeadContact.id))
        ).all()
    )


def consented_contacts(*, session: Session, intervention_id: int) -> list[LeadContact]:
    """Only the contacts whose consent is recorded: the only ones a reader may see."""
    return [c for c in contacts(session=session, intervention_id=intervention_id) if c.consent]


def save_contact(
    *,
    session: Session,
    intervention_id: int,
    name: str,
    role: str = "",
    organisation: str = "",
    email: str = "",
    phone: str = "",
    consent: bool = False,
    confirmed_on: date | None = None,
    contact_id: int | None = None,
) -> LeadContact:
    """Add the lead's contact, or update one (contact_id) of the same intervention. Consent needs a date it
    was confirmed; today is assumed when none is given. Withdrawing consent clears the date."""
    if session.get(Intervention, intervention_id) is None:
        raise NotFound(f"No intervention with id {intervention_id}.")
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the lead's name.")
    email = (email or "").strip()
    if email and ("@" not in email or any(ch.isspace() for ch in email)):
        raise InvalidInput("That e-mail address does not look right.")
    if contact_id is not None:
        contact = session.get(LeadContact, contact_id)
        if contact is None or contact.intervention_id != intervention_id:
            raise InvalidInput("That contact belongs to another intervention.")
    else:
        contact = LeadContact(intervention_id=intervention_id, name=name)
    if consent and confirmed_on is None:
        confirmed_on = date.today()
    if confirmed_on is not None and confirmed_on > date.today():
        raise InvalidInput("The date consent was confirmed cannot be in the future.")
    contact.name = name
    contact.role = (role or "").strip()
    contact.organisation = (organisation or "").strip()
    contact.email = email
    contact.phone = (phone or "").strip()
    contact.consent = consent
    contact.confirmed_at = (
        datetime.combine(confirmed_on, time(), tzinfo=UTC) if consent and confirmed_on else None
    )
    session.add(contact)
    session.commit()
    session.refresh(contact)
    return contact


def delete_contact(*, session: Session, contact_id: int) -> int:
    """Remove a contact; returns the intervention it belonged to."""
    contact = session.get(LeadContact, contact_id)
    if contact is None:
        raise NotFound(f"No contact with id {contact_id}.")
    intervention_id = contact.intervention_id
    session.delete(contact)
    session.commit()
    return intervention_id
