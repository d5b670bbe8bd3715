"""Reviewing interventions: the queue, edits, publish and reject, merges, member submissions, and the history
of every change (snapshots, differences between versions, revert).

Every change a person makes goes through `_begin` (which first records the untouched original as version 1,
so a difference against the original always works) and `_record` (which bumps the version and keeps a
snapshot of the fields after the change). History is only ever added to: a revert is a new version.
The caller commits; every function here bumps the index generation so readers' caches refresh.
"""

from __future__ import annotations

import difflib
import json
import re
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import case, func, or_
from sqlmodel import Session, select

from kb.errors import Conflict, InvalidInput, NotFound
from kb.store import repo
from kb.store.models import Document, Intervention, InterventionRevision, Passage, SiteRecord, User, utcnow
from kb.taxonomy import Taxonomy

STATUSES = ("draft", "published", "rejected")
MAX_ID = 2**31 - 1  # the largest id a table holds (PostgreSQL's integer)
LOW_CONFIDENCE = 0.6  # a tag below this is flagged in the queue for a curator to check
TEXT_FIELDS = (
    "title",
    "site",
    "programme",
    "care_model",
    "summary",
    "context",
    "implementation",
    "lessons",
    "barriers",
)
LONG_TEXT_FIELDS = ("summary", "context", "implementation", "lessons", "barriers")
FIELD_LIMITS = {"title": 300, "site": 200, "programme": 200, "care_model": 100} | dict.fromkeys(
    LONG_TEXT_FIELDS, 20_000
)
SCALAR_FIELDS = (
    "status",
    "review_note",
    *TEXT_FIELDS,
    "site_id",
    "evidence_level",
    "evidence_confidence",
    "evidence_provenance",
    "has_results",
)
LIST_FIELDS = ("tags_json", "outcomes_json", "passages_json", "contacts_json", "merged_keys_json")
# A revert restores what the record says; whether it is published stays a separate, explicit decision.
NOT_REVERTED = ("status", "review_note")
FIELD_LABELS = {
    "status": "Status",
    "review_note": "Review note",
    "title": "Title",
    "site": "Site",
    "site_id": "Site directory entry",
    "programme": "Programme",
    "care_model": "Care model",
    "summary": "Summary",
    "context": "Local context",
    "implementation": "How it was implemented",
    "lessons": "Lessons",
    "barriers": "Barriers",
    "evidence_level": "Evidence level",
    "evidence_confidence": "Evidence confidence",
    "evidence_provenance": "Evidence graded by",
    "has_results": "Has results",
    "tags_json": "Tags",
    "outcomes_json": "Outcomes",
    "passages_json": "Source passages",
    "contacts_json": "Contacts",
    "merged_keys_json": "Records merged into this one",
}
WORDS = re.compile(r"\S+|\s+")


def clean_text(value: str) -> str:
    """As stored: browsers send textarea lines ending in CRLF; a re-save must not look like a change."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


# --- lookups ---------------------------------------------------------------------------------


def get_intervention_or_raise(*, session: Session, intervention_id: int) -> Intervention:
    row = session.get(Intervention, intervention_id)
    if row is None:
        raise NotFound(f"No intervention with id {intervention_id}.")
    return row


@dataclass
class QueueRow:
    row: Intervention
    document: Document | None
    low_confidence_tags: int


def review_queue(
    *,
    session: Session,
    status: str | None = None,
    document_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[QueueRow], int]:
    """Interventions for review, drafts first, newest first within a status; and how many match."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"Status must be one of: {', '.join(STATUSES)}.")
    where = []
    if status:
        where.append(Intervention.status == status)
    if document_id is not None:
        where.append(Intervention.document_id == document_id)
    order = case({"draft": 0, "published": 1}, value=Intervention.status, else_=2)
    rows = list(
        session.exec(
            select(Intervention)
            .where(*where)
            .order_by(order, Intervention.id.desc())
            .offset(offset)
            .limit(limit)  # type: ignore[union-attr]
        )
    )
    total = session.exec(select(func.count()).select_from(Intervention).where(*where)).one()
    documents = repo.documents_by_ids(
        session=session, document_ids={r.document_id for r in rows if r.document_id}
    )
    out = [
        QueueRow(
            row=r,
            document=documents.get(r.document_id) if r.document_id else None,
            low_confidence_tags=sum(
                1 for t in json.loads(r.tags_json) if t.get("confidence", 0) < LOW_CONFIDENCE
            ),
        )
        for r in rows
    ]
    return out, total


@dataclass
class DraftDocument:
    document: Document
    interventions: int  # how many records were found in it, of any status; none is possible


def draft_documents(*, session: Session) -> list[DraftDocument]:
    """Every draft document, newest first, with how many interventions were found in it: one in which none
    was found still waits for a curator to publish it, so the queue must list documents, not only records."""
    drafts = list(
        session.exec(select(Document).where(Document.status == "draft").order_by(Document.id.desc()))
    )
    counts = dict(
        session.exec(
            select(Intervention.document_id, func.count())
            .where(Intervention.document_id.in_([d.id for d in drafts]))  # type: ignore[union-attr]
            .group_by(Intervention.document_id)
        ).all()
    )
    return [DraftDocument(document=d, interventions=counts.get(d.id, 0)) for d in drafts]


def title_words(title: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", title.lower()) if len(w) > 2}


def likely_duplicates(*, session: Session, row: Intervention, limit: int = 10) -> list[Intervention]:
    """Other records (not rejected) about the same site, or with a similar title: merge candidates."""
    mine = title_words(row.title)
    same_site = []
    if row.site_id:
        same_site.append(Intervention.site_id == row.site_id)
    if row.site and row.site != "Anonymised":
        same_site.append(func.lower(Intervention.site) == row.site.lower())
    scored: list[tuple[float, int, Intervention]] = []
    for other in session.exec(
        select(Intervention).where(Intervention.id != row.id, Intervention.status != "rejected")
    ):
        words = title_words(other.title)
        overlap = len(mine & words) / len(mine | words) if mine and words else 0.0
        site_match = bool(
            (row.site_id and other.site_id == row.site_id)
            or (row.site and row.site != "Anonymised" and other.site.lower() == row.site.lower())
        )
        if site_match or overlap >= 0.4:
            scored.append((overlap + (0.5 if site_match else 0.0), other.id or 0, other))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [other for _, _, other in scored[:limit]]


def revisions(*, session: Session, intervention_id: int) -> list[InterventionRevision]:
    """Every version of the record, oldest first."""
    return list(
        session.exec(
            select(InterventionRevision)
            .where(InterventionRevision.intervention_id == intervention_id)
            .order_by(InterventionRevision.version, InterventionRevision.id)  # type: ignore[arg-type]
        )
    )


def revision_or_raise(*, session: Session, intervention_id: int, version: int) -> InterventionRevision:
    found = session.exec(
        select(InterventionRevision).where(
            InterventionRevision.intervention_id == intervention_id, InterventionRevision.version == version
        )
    ).first()
    if found is None:
        raise NotFound(f"Intervention {intervention_id} has no version {version}.")
    return found


def user_names(*, session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(session.exec(select(User.id, User.name).where(User.id.in_(list(user_ids)))).all())  # type: ignore[union-attr,arg-type]


# --- snapshots and history -----------------------------------------------------------------------


def snapshot(row: Intervention) -> dict[str, Any]:
    """The record's editable fields, with its JSON lists decoded (so a difference can compare items)."""
    out: dict[str, Any] = {name: getattr(row, name) for name in SCALAR_FIELDS}
    for name in LIST_FIELDS:
        out[name] = json.loads(getattr(row, name) or "[]")
    return out


def _begin(session: Session, row: Intervention) -> None:
    """Before the first change to a record with no history, keep its original as version 1."""
    has_history = session.exec(
        select(InterventionRevision.id).where(InterventionRevision.intervention_id == row.id)
    ).first()
    if has_history is None:
        session.add(
            InterventionRevision(
                intervention_id=row.id,  # type: ignore[arg-type]
                version=row.version,
                user_id=None,
                action="extracted",
                reason="",
                snapshot_json=json.dumps(snapshot(row)),
            )
        )


def _record(session: Session, row: Intervention, *, user_id: int | None, action: str, reason: str) -> None:
    row.version += 1
    row.updated_at = utcnow()
    session.add(row)
    session.add(
        InterventionRevision(
            intervention_id=row.id,  # type: ignore[arg-type]
            version=row.version,
            user_id=user_id,
            action=action,
            reason=reason,
            snapshot_json=json.dumps(snapshot(row)),
        )
    )
    session.flush()
    changed: set[int] = set()
    for document_id in _documents_cited(row):
        changed |= repo.sync_released(session=session, document_id=document_id)
    repo.bump_generation(
        session=session, passage_ids=changed
    )  # the passages a publish or reject released or withdrew


def _documents_cited(row: Intervention) -> set[int]:
    """The documents whose passages a record cites (its own, and others' after a merge)."""
    cited = {span.get("document_id") for span in json.loads(row.passages_json or "[]")}
    return {d for d in (cited | {row.document_id}) if isinstance(d, int)}


def _restore(row: Intervention, saved: dict[str, Any]) -> None:
    for name in SCALAR_FIELDS:
        if name in saved and name not in NOT_REVERTED:
            setattr(row, name, saved[name])
    for name in LIST_FIELDS:
        if name in saved:
            setattr(row, name, json.dumps(saved[name]))


# --- edits --------------------------------------------------------------------------------------


@dataclass
class InterventionEdit:
    """What a curator changed on the review page."""

    fields: dict[str, str] = field(default_factory=dict)  # TEXT_FIELDS and "evidence_level"
    remove_tags: set[tuple[str, str]] = field(default_factory=set)  # (dimension, term id)
    add_tags: list[tuple[str, str]] = field(default_factory=list)
    outcome_kinds: dict[int, str] = field(default_factory=dict)  # position in outcomes -> kind
    remove_outcomes: set[int] = field(default_factory=set)


def _site_id_for(session: Session, site: str) -> str | None:
    if not site.strip():
        return None
    found = session.exec(
        select(SiteRecord.id).where(func.lower(SiteRecord.name) == site.strip().lower())
    ).first()
    return found


def _apply_edit(session: Session, row: Intervention, edit: InterventionEdit, taxonomy: Taxonomy) -> None:
    for name, value in edit.fields.items():
        if name == "evidence_level":
            continue
        if name not in TEXT_FIELDS:
            raise InvalidInput(f"{name} cannot be edited.")
        value = clean_text(value)
        if len(value) > FIELD_LIMITS[name]:
            raise InvalidInput(f"{FIELD_LABELS[name]} is too long (at most {FIELD_LIMITS[name]} characters).")
        if name == "title" and not value:
            raise InvalidInput("A title is needed.")
        if name == "site" and value != row.site:
            row.site_id = _site_id_for(session, value)
        setattr(row, name, value)
    level = edit.fields.get("evidence_level")
    if level is not None and level != row.evidence_level:
        if level not in {t.id for t in taxonomy.dimensions["evidence_level"]}:
            raise InvalidInput(f"Unknown evidence level {level!r}.")
        row.evidence_level, row.evidence_confidence, row.evidence_provenance = level, 1.0, "curator"
    tags = [t for t in json.loads(row.tags_json) if (t["dimension"], t["id"]) not in edit.remove_tags]
    for dimension, term_id in edit.add_tags:
        try:
            term = taxonomy.term(dimension, term_id)
        except KeyError:
            raise InvalidInput(f"Unknown tag {term_id!r} in {dimension!r}.") from None
        if not any((t["dimension"], t["id"]) == (dimension, term_id) for t in tags):
            tags.append(
                {
                    "dimension": dimension,
                    "id": term.id,
                    "label": term.label,
                    "confidence": 1.0,
                    "provenance": "curator",
                }
            )
    row.tags_json = json.dumps(tags)
    kinds = {t.id for t in taxonomy.dimensions["outcome_kind"]}
    outcomes = json.loads(row.outcomes_json)
    for position, kind in edit.outcome_kinds.items():
        if kind not in kinds:
            raise InvalidInput(f"Unknown outcome kind {kind!r}.")
        if 0 <= position < len(outcomes) and outcomes[position].get("kind") != kind:
            outcomes[position] = outcomes[position] | {"kind": kind, "provenance": "curator"}
    outcomes = [o for n, o in enumerate(outcomes) if n not in edit.remove_outcomes]
    row.outcomes_json = json.dumps(outcomes)
    row.has_results = any(o.get("kind") == "result" for o in outcomes)


def edit_intervention(
    *,
    session: Session,
    intervention_id: int,
    edit: InterventionEdit,
    user_id: int,
    reason: str,
    taxonomy: Taxonomy,
) -> bool:
    """Apply a curator's edit as a new version; False (and no new version) when nothing changed."""
    row = get_intervention_or_raise(session=session, intervention_id=intervention_id)
    before = snapshot(row)
    _apply_edit(session, row, edit, taxonomy)
    if snapshot(row) == before:
        session.expire(row)
        return False
    # the original must be kept as it was: restore it for the first revision, then re-apply
    after = snapshot(row)
    _restore(row, before)
    _begin(session, row)
    _restore(row, after)
    row.edited = True
    _record(session, row, user_id=user_id, action="edited", reason=reason.strip())
    return True


# --- decisions ----------------------------------------------------------------------------------


def publish_intervention(*, session: Session, intervention_id: int, user_id: int, reason: str = "") -> int:
    """Publish the record. Of a draft document, only the passages the record cites become searchable (the
    rest wait until a curator reviews them, or publishes the whole document). Returns how many passages of
    its draft document are now public, 0 when the document is already published."""
    row = get_intervention_or_raise(session=session, intervention_id=intervention_id)
    if row.status == "published":
        raise Conflict("This intervention is already published.")
    _begin(session, row)
    row.status, row.review_note = "published", reason.strip()
    _record(session, row, user_id=user_id, action="published", reason=reason.strip())
    document = session.get(Document, row.document_id) if row.document_id else None
    if document is None or document.status == "published":
        return 0
    return session.exec(
        select(func.count()).select_from(Passage).where(Passage.document_id == document.id, Passage.released)
    ).one()


def reject_intervention(*, session: Session, intervention_id: int, user_id: int, reason: str) -> None:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Give a reason for rejecting this intervention.")
    row = get_intervention_or_raise(session=session, intervention_id=intervention_id)
    if row.status == "rejected":
        raise Conflict("This intervention is already rejected.")
    _begin(session, row)
    row.status, row.review_note = "rejected", reason
    _record(session, row, user_id=user_id, action="rejected", reason=reason)


def publish_document(*, session: Session, document_id: int, user_id: int, interventions: bool) -> int:
    """Publish a draft document (its passages become searchable) and, if asked, all its draft interventions.
    Returns how many interventions were published."""
    document = session.get(Document, document_id)
    if document is None:
        raise NotFound(f"No document with id {document_id}.")
    if document.status == "published" and not interventions:
        raise Conflict("This document is already published.")
    document.status, document.updated_at = "published", utcnow()
    session.add(document)
    published = 0
    if interventions:
        for row in session.exec(
            select(Intervention).where(
                Intervention.document_id == document_id, Intervention.status == "draft"
            )
        ):
            _begin(session, row)
            row.status = "published"
            _record(session, row, user_id=user_id, action="published", reason="published with its document")
            published += 1
    # why the passage ids: every process adds just these to its indexes, no rebuild (search/service.py)
    repo.bump_generation(
        session=session,
        passage_ids=session.exec(select(Passage.id).where(Passage.document_id == document_id)).all(),  # type: ignore[arg-type]
    )
    return published


def _span_key(span: dict) -> tuple:
    return (span.get("source"), span.get("char_start"), span.get("char_end"), span.get("text"))


def _outcome_key(outcome: dict) -> tuple:
    return (outcome.get("figure"), outcome.get("measure"), outcome.get("sentence"))


MERGED_NOTE = re.compile(
    r"^merged into #(\d+)"
)  # a folded record's review note names the record it went into


def fold(source: Intervention, target: Intervention) -> tuple[int, int, int]:
    """The one way two records of one intervention become one: the target gains the source's passages and,
    unless it is a curated record (whose figures and tags are the curator's), the outcomes and tags it lacks;
    the target remembers the source's key; the source is rejected as "merged into #N". Used by a curator's
    merge (with history) and by the merge made after ingest (search/settle.py). Returns how many passages,
    outcomes and tags were added."""
    moved = []
    keys = (("passages_json", _span_key), ("outcomes_json", _outcome_key))
    for name, key in keys if target.origin != "curated" else keys[:1]:
        kept = json.loads(getattr(target, name))
        known = {key(item) for item in kept}
        extra = [item for item in json.loads(getattr(source, name)) if key(item) not in known]
        setattr(target, name, json.dumps(kept + extra))
        moved.append(len(extra))
    extra_tags: list[dict] = []
    if target.origin != "curated":
        tags = json.loads(target.tags_json)
        known_tags = {(t["dimension"], t["id"]) for t in tags}
        extra_tags = [t for t in json.loads(source.tags_json) if (t["dimension"], t["id"]) not in known_tags]
        target.tags_json = json.dumps(tags + extra_tags)
        target.has_results = any(o.get("kind") == "result" for o in json.loads(target.outcomes_json))
    merged = json.loads(target.merged_keys_json) + [source.key] + json.loads(source.merged_keys_json)
    target.merged_keys_json = json.dumps(list(dict.fromkeys(merged)))
    source.status, source.review_note = "rejected", f"merged into #{target.id}"
    return moved[0], moved[1] if len(moved) > 1 else 0, len(extra_tags)


def merge_interventions(*, session: Session, source_id: int, target_id: int, user_id: int) -> Intervention:
    """A curator folds a duplicate into another record (see `fold`). Both keep a revision, and the target
    is marked edited: a re-ingest of its document keeps it as the curator left it."""
    if source_id == target_id:
        raise InvalidInput("An intervention cannot be merged into itself.")
    source = get_intervention_or_raise(session=session, intervention_id=source_id)
    try:
        target = get_intervention_or_raise(session=session, intervention_id=target_id)
    except NotFound:
        raise InvalidInput(f"There is no intervention {target_id} to merge into.") from None
    if target.status == "rejected":
        raise InvalidInput(f"Intervention {target_id} is rejected; merge into a draft or published record.")
    if source.status == "rejected":
        raise Conflict("This intervention is already rejected.")
    _begin(session, source)
    _begin(session, target)
    passages, outcomes, tags = fold(source, target)
    target.edited = True
    why = (
        f"merged #{source_id} into this record ({passages} passages, {outcomes} outcomes, {tags} tags added)"
    )
    _record(session, target, user_id=user_id, action="merged", reason=why)
    _record(session, source, user_id=user_id, action="merged", reason=f"merged into #{target_id}")
    return target


def revert_intervention(
    *, session: Session, intervention_id: int, version: int, user_id: int, reason: str = ""
) -> Intervention:
    """Restore a version's fields as a new version (history is never rewritten)."""
    row = get_intervention_or_raise(session=session, intervention_id=intervention_id)
    saved = json.loads(
        revision_or_raise(session=session, intervention_id=intervention_id, version=version).snapshot_json
    )
    if version == row.version:
        raise InvalidInput(f"Version {version} is the current version.")
    _begin(session, row)
    _restore(row, saved)
    row.edited = True
    why = f"reverted to version {version}" + (f": {reason.strip()}" if reason.strip() else "")
    _record(session, row, user_id=user_id, action="reverted", reason=why)
    return row


# --- member submissions ---------------------------------------------------------------------------


@dataclass
class Submission:
    title: str
    site: str
    care_model: str  # a care_model term id, or ""
    summary: str
    implementation: str
    results: str
    lessons: str
    contact_consent: bool
    tags: list[dict] = field(default_factory=list)  # proposed by the rules, for the curator to check
    outcomes: list[dict] = field(default_factory=list)
    evidence_level: str = "1"


def submit_case_study(
    *, session: Session, submission: Submission, user_id: int, user_name: str, taxonomy: Taxonomy
) -> Intervention:
    """A member's case study as a draft in the review queue, with the submitted text as its source passages."""
    submission = replace(
        submission,
        **{
            name: clean_text(getattr(submission, name))
            for name in ("title", "site", "summary", "implementation", "results", "lessons")
        },
    )
    if not submission.title.strip():
        raise InvalidInput("Give your case study a title.")
    if not submission.summary.strip():
        raise InvalidInput("Write a short summary of what was done.")
    tags = list(submission.tags)
    care_model_label = ""
    if submission.care_model:
        try:
            term = taxonomy.term("care_model", submission.care_model)
        except KeyError:
            raise InvalidInput("Choose a care model from the list.") from None
        care_model_label = term.label
        tags = [t for t in tags if t["dimension"] != "care_model"]
        tags.append(
            {
                "dimension": "care_model",
                "id": term.id,
                "label": term.label,
                "confidence": 1.0,
                "provenance": "submitter",
            }
        )
    source = f"Case study submitted by {user_name}"
    passages = [
        {"source": source, "text": text.strip(), "char_start": n, "char_end": n, "field": name}
        for n, (name, text) in enumerate(
            (
                ("summary", submission.summary),
                ("what was done", submission.implementation),
                ("results", submission.results),
                ("lessons", submission.lessons),
            )
        )
        if text.strip()
    ]
    row = Intervention(
        key=f"submitted:{uuid.uuid4().hex}",
        origin="submitted",
        status="draft",
        submitted_by=user_id,
        title=submission.title.strip()[:300],
        site=submission.site.strip()[:200],
        site_id=_site_id_for(session, submission.site),
        care_model=care_model_label,
        summary=submission.summary.strip(),
        implementation=submission.implementation.strip(),
        lessons=submission.lessons.strip(),
        evidence_level=submission.evidence_level,
        evidence_confidence=0.5,
        evidence_provenance="rule",
        has_results=any(o.get("kind") == "result" for o in submission.outcomes),
        tags_json=json.dumps(tags),
        outcomes_json=json.dumps(submission.outcomes),
        passages_json=json.dumps(passages),
        review_note="The submitter agreed to be contacted." if submission.contact_consent else "",
    )
    session.add(row)
    session.flush()
    session.add(
        InterventionRevision(
            intervention_id=row.id,  # type: ignore[arg-type]
            version=1,
            user_id=user_id,
            action="submitted",
            reason=row.review_note,
            snapshot_json=json.dumps(snapshot(row)),
        )
    )
    repo.bump_generation(session=session, passage_ids=[])  # a submission has no passages
    return row


# --- differences -----------------------------------------------------------------------------------


@dataclass
class FieldChange:
    name: str
    label: str
    before: Any = None
    after: Any = None
    words: list[tuple[str, str]] = field(default_factory=list)  # (equal|insert|delete, text) for long text
    added: list[str] = field(default_factory=list)  # for lists
    removed: list[str] = field(default_factory=list)


def describe_item(name: str, item: Any) -> str:
    """One list item as a curator reads it in a difference."""
    if not isinstance(item, dict):
        return str(item)
    if name == "tags_json":
        return (
            f"{item.get('dimension', '').replace('_', ' ')}: {item.get('label') or item.get('id')} "
            f"({round(float(item.get('confidence', 0)) * 100)}%, {item.get('provenance', '')})"
        )
    if name == "outcomes_json":
        parts = [str(item.get("figure") or ""), str(item.get("measure") or "")]
        return " – ".join(p for p in parts if p) + f" [{item.get('kind', '')}]"
    if name == "passages_json":
        text = str(item.get("text") or "")
        return f"{item.get('source', '')}: {text[:160]}{'…' if len(text) > 160 else ''}"
    return json.dumps(item, sort_keys=True)


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    a, b = WORDS.findall(before or ""), WORDS.findall(after or "")
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("equal", "".join(a[i1:i2])))
        else:
            if i2 > i1:
                out.append(("delete", "".join(a[i1:i2])))
            if j2 > j1:
                out.append(("insert", "".join(b[j1:j2])))
    return out


def diff_snapshots(before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    """Field-by-field differences: word-level for long text, added and removed items for lists."""
    changes = []
    for name in (*SCALAR_FIELDS, *LIST_FIELDS):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        change = FieldChange(name=name, label=FIELD_LABELS.get(name, name), before=old, after=new)
        if name in LIST_FIELDS:
            old_items = {json.dumps(i, sort_keys=True): i for i in old or []}
            new_items = {json.dumps(i, sort_keys=True): i for i in new or []}
            change.removed = [describe_item(name, i) for k, i in old_items.items() if k not in new_items]
            change.added = [describe_item(name, i) for k, i in new_items.items() if k not in old_items]
        elif name in LONG_TEXT_FIELDS or len(str(old or "")) + len(str(new or "")) > 160:
            change.words = word_diff(str(old or ""), str(new or ""))
        changes.append(change)
    return changes


def diff_versions(
    *, session: Session, intervention_id: int, from_version: int, to_version: int
) -> list[FieldChange]:
    before = revision_or_raise(session=session, intervention_id=intervention_id, version=from_version)
    after = revision_or_raise(session=session, intervention_id=intervention_id, version=to_version)
    return diff_snapshots(json.loads(before.snapshot_json), json.loads(after.snapshot_json))


def search_interventions(*, session: Session, text: str, exclude: int, limit: int = 20) -> list[Intervention]:
    """Records (not rejected) whose title or site contains the text, or whose id it is: merge targets."""
    text = text.strip()
    if not text or "\x00" in text:  # no stored title holds a NUL byte, and PostgreSQL refuses one in a query
        return []
    where = [
        func.lower(Intervention.title).contains(text.lower()),
        func.lower(Intervention.site).contains(text.lower()),
    ]
    number = text.lstrip("#")
    # An id only when it could be one: int() refuses some isdigit() characters ("²"), and the database a number
    # past its integers.
    if number.isdecimal() and int(number) <= MAX_ID:
        where.append(Intervention.id == int(number))
    return list(
        session.exec(
            select(Intervention)
            .where(or_(*where), Intervention.id != exclude, Intervention.status != "rejected")
            .order_by(Intervention.id)
            .limit(limit)
        )
    )
