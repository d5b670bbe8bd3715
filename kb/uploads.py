"""Uploads and their ledger: the files a curator sent, their bytes, and each file's state as it is ingested.

Storage only: which formats are accepted and how a file is ingested are decided in ingest/ and web/.
Every process (on any machine sharing the database) may run a worker, so a file is claimed with one
conditional UPDATE and only the process whose UPDATE changed the row ingests it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath

from sqlalchemy import delete, func, update
from sqlmodel import Session, select

from kb.errors import Conflict, InvalidInput, NotFound, TooManyRequests
from kb.store.models import Document, Intervention, Passage, Upload, UploadContent, UploadFile, User, utcnow

UNFINISHED = ("queued", "parsing", "extracting", "indexing")
WORKING = ("parsing", "extracting", "indexing")
FINISHED = ("indexed", "unchanged", "failed")
STATES = UNFINISHED + FINISHED
MAX_FILES = 50  # per upload: more is a folder, which belongs on the command line (`kb ingest`)
MAX_NAME_CHARS = 200


class UploadRefused(InvalidInput):
    """Some files cannot be accepted: `reasons` has one sentence per refused file (or one for the whole upload)."""

    def __init__(self, reasons: list[str]):
        super().__init__(" ".join(["Nothing was uploaded.", *reasons]))
        self.reasons = reasons


@dataclass(frozen=True)
class IncomingFile:
    """One file as received: the name the browser sent (any path in it is dropped) and its bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class UploadSummary:
    id: int
    created_at: datetime
    uploaded_by: str | None
    counts: dict[str, int]  # state -> number of files in it

    @property
    def files(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> bool:
        return not any(self.counts.get(state) for state in UNFINISHED)


def display_name(filename: str) -> str:
    """The file's own name, without any folders (POSIX or Windows) or control characters: shown, never opened."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if name in ("", ".", ".."):
        name = "unnamed file"
    if len(name) > MAX_NAME_CHARS:
        suffix = PurePosixPath(name).suffix[:16]
        name = name[: MAX_NAME_CHARS - len(suffix) - 1] + "…" + suffix
    return name


def suffix_of(filename: str) -> str:
    return PurePosixPath(display_name(filename)).suffix.lower()


def stored_name(data: bytes, suffix: str) -> str:
    """What a file is stored and ingested as: its content's SHA-256 and its (lower-case) suffix."""
    return f"{hashlib.sha256(data).hexdigest()}{suffix}"


def refusal(file: IncomingFile, *, allowed_suffixes: frozenset[str], max_bytes: int) -> str | None:
    """Why this file cannot be accepted (a sentence naming it), or None when it can."""
    name = display_name(file.filename)
    suffix = suffix_of(file.filename)
    if suffix not in allowed_suffixes:
        kind = f"a {suffix} file" if suffix else "a file without a suffix"
        return f"{name}: {kind} cannot be ingested. Upload one of: {', '.join(sorted(allowed_suffixes))}."
    if len(file.data) > max_bytes:
        return (
            f"{name}: the file is larger than the {max_bytes / (1024 * 1024):g} MB limit. "
            "Split it or ask an administrator to raise the limit."
        )
    return None


def create_upload(
    *,
    session: Session,
    user_id: int | None,
    files: list[IncomingFile],
    allowed_suffixes: frozenset[str],
    max_bytes: int,
    max_files: int = MAX_FILES,
) -> Upload:
    """Store the files (bytes in UploadContent) queued for ingestion, or raise UploadRefused naming every refused
    file and store nothing. Commits."""
    if not files:
        raise UploadRefused(["Choose at least one file to upload."])
    if len(files) > max_files:
        raise UploadRefused([f"Upload at most {max_files} files at a time; you chose {len(files)}."])
    refused = [r for f in files if (r := refusal(f, allowed_suffixes=allowed_suffixes, max_bytes=max_bytes))]
    if refused:
        raise UploadRefused(refused)
    upload = Upload(user_id=user_id)
    session.add(upload)
    session.flush()
    for file in files:
        row = UploadFile(
            upload_id=upload.id,  # type: ignore[arg-type]
            filename=display_name(file.filename),
            stored_name=stored_name(file.data, suffix_of(file.filename)),
            size=len(file.data),
        )
        session.add(row)
        session.flush()
        session.add(UploadContent(file_id=row.id, data=file.data))  # type: ignore[arg-type]
    session.commit()
    session.refresh(upload)
    return upload


def uploads_since(*, session: Session, user_id: int, since: datetime) -> list[datetime]:
    """When this account made each of its uploads after `since`, oldest first (for the hourly cap)."""
    statement = (
        select(Upload.created_at)
        .where(Upload.user_id == user_id, Upload.created_at >= since)  # type: ignore[arg-type,operator]
        .order_by(Upload.created_at)  # type: ignore[arg-type]
    )
    return list(session.exec(statement))


def check_hourly_cap(*, session: Session, user_id: int, per_hour: int) -> None:
    """Raise TooManyRequests, saying when the next upload is possible, if the account used its hour's uploads."""
    now = utcnow()
    recent = uploads_since(session=session, user_id=user_id, since=now - timedelta(hours=1))
    if len(recent) < per_hour:
        return
    oldest = recent[-per_hour]
    oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)  # SQLite hands back naive datetimes
    wait = max(1, math.ceil((oldest + timedelta(hours=1) - now).total_seconds() / 60))
    raise TooManyRequests(
        f"Nothing was uploaded: an account may make {per_hour} uploads an hour, and you have made "
        f"{len(recent)} in the last hour. Try again in {wait} minute{'' if wait == 1 else 's'}, or send "
        "more files in each upload."
    )


def get_upload_or_raise(*, session: Session, upload_id: int) -> Upload:
    upload = session.get(Upload, upload_id)
    if upload is None:
        raise NotFound(f"There is no upload {upload_id}.")
    return upload


def files_of_upload(*, session: Session, upload_id: int) -> list[UploadFile]:
    return list(
        session.exec(select(UploadFile).where(UploadFile.upload_id == upload_id).order_by(UploadFile.id))
    )


def interventions_per_document(*, session: Session, document_ids: list[int]) -> dict[int, int]:
    """How many intervention records were found in each document (drafts included)."""
    if not document_ids:
        return {}
    statement = (
        select(Intervention.document_id, func.count())
        .where(Intervention.document_id.in_(document_ids))  # type: ignore[union-attr]
        .group_by(Intervention.document_id)
    )
    return {document_id: count for document_id, count in session.exec(statement)}


def upload_status(*, session: Session, upload_id: int) -> dict:
    """The upload and each file's state, as the status page and its JSON show them."""
    get_upload_or_raise(session=session, upload_id=upload_id)
    files = files_of_upload(session=session, upload_id=upload_id)
    found = interventions_per_document(
        session=session, document_ids=[f.document_id for f in files if f.document_id is not None]
    )
    return {
        "id": upload_id,
        "files": [
            {
                "id": f.id,
                "filename": f.filename,
                "size": f.size,
                "status": f.status,
                "reason": f.reason,
                "document_id": f.document_id,
                "interventions": found.get(f.document_id, 0) if f.document_id is not None else 0,
                "attempts": f.attempts,
                "updated_at": f.updated_at.isoformat(),
            }
            for f in files
        ],
        "done": all(f.status in FINISHED for f in files),
    }


def recent_uploads(*, session: Session, limit: int = 50) -> list[UploadSummary]:
    """The latest uploads, newest first, with how many of their files are in each state."""
    uploads = list(
        session.exec(
            select(Upload, User.name)
            .join(User, User.id == Upload.user_id, isouter=True)  # type: ignore[arg-type]
            .order_by(Upload.id.desc())  # type: ignore[union-attr]
            .limit(limit)
        )
    )
    ids = [u.id for u, _ in uploads]
    counts: dict[int, Counter] = {i: Counter() for i in ids}  # type: ignore[misc]
    if ids:
        rows = session.exec(
            select(UploadFile.upload_id, UploadFile.status, func.count())
            .where(UploadFile.upload_id.in_(ids))  # type: ignore[attr-defined]
            .group_by(UploadFile.upload_id, UploadFile.status)
        )
        for upload_id, status, count in rows:
            counts[upload_id][status] = count
    return [
        UploadSummary(id=u.id, created_at=u.created_at, uploaded_by=name, counts=dict(counts[u.id]))  # type: ignore[arg-type,index]
        for u, name in uploads
    ]


def retry_file(*, session: Session, file_id: int) -> UploadFile:
    """Queue a failed file again. Raises NotFound, or Conflict when it has not failed. Commits."""
    file = session.get(UploadFile, file_id)
    if file is None:
        raise NotFound(f"There is no uploaded file {file_id}.")
    if file.status != "failed":
        raise Conflict(f"{file.filename} is {file.status}; only a file that failed can be tried again.")
    if session.get(UploadContent, file_id) is None:
        raise Conflict(
            f"{file.filename} can no longer be tried again: its bytes were deleted after the retention period "
            "(KB_UPLOAD_RETENTION_DAYS). Upload the file again."
        )
    file.status, file.reason, file.worker, file.updated_at = "queued", None, None, utcnow()
    session.add(file)
    session.commit()
    session.refresh(file)
    return file


# --- what the worker does ---------------------------------------------------------------


def queued_file_ids(*, session: Session, limit: int = 20) -> list[int]:
    statement = (
        select(UploadFile.id).where(UploadFile.status == "queued").order_by(UploadFile.id).limit(limit)
    )
    return list(session.exec(statement))  # type: ignore[arg-type]


def claim_file(*, session: Session, file_id: int, worker: str) -> bool:
    """Take a queued file for this worker. True only for the one caller whose UPDATE changed the row. Commits."""
    result = session.execute(
        update(UploadFile)
        .where(UploadFile.id == file_id, UploadFile.status == "queued")  # type: ignore[arg-type]
        .values(status="parsing", worker=worker, attempts=UploadFile.attempts + 1, updated_at=utcnow())
    )
    session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]


def set_file_state(
    *,
    session: Session,
    file_id: int,
    worker: str,
    status: str,
    reason: str | None = None,
    document_id: int | None = None,
) -> bool:
    """Record a claimed file's progress; False if this worker no longer holds it (it was re-queued). Commits."""
    if status not in STATES:
        raise ValueError(f"unknown upload state {status!r}")
    values: dict = {"status": status, "reason": reason, "updated_at": utcnow()}
    if document_id is not None:
        values["document_id"] = document_id
    result = session.execute(
        update(UploadFile)
        .where(
            UploadFile.id == file_id,  # type: ignore[arg-type]
            UploadFile.worker == worker,  # type: ignore[arg-type]
            UploadFile.status.in_(WORKING),  # type: ignore[attr-defined]
        )
        .values(**values)
    )
    session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]


def requeue_stale(*, session: Session, older_than: timedelta) -> int:
    """Queue again the files a worker claimed and then fell silent on (its process died). Commits."""
    result = session.execute(
        update(UploadFile)
        .where(
            UploadFile.status.in_(WORKING),  # type: ignore[attr-defined]
            UploadFile.updated_at < utcnow() - older_than,  # type: ignore[operator]
        )
        .values(status="queued", worker=None, updated_at=utcnow())
    )
    session.commit()
    return result.rowcount  # type: ignore[attr-defined]


def prune_upload_bytes(*, session: Session, retention_days: int, now: datetime | None = None) -> int:
    """Delete the bytes of uploaded files that finished (ingested, unchanged or failed) more than
    `retention_days` ago; their UploadFile records, outcomes and documents stay. Files not yet finished keep
    their bytes whatever their age. 0 (or less) keeps everything. Returns how many files lost their bytes. Commits.
    """
    if retention_days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    finished_long_ago = select(UploadFile.id).where(
        UploadFile.status.in_(FINISHED),  # type: ignore[attr-defined]
        UploadFile.updated_at < cutoff,  # type: ignore[operator]
    )
    result = session.execute(
        delete(UploadContent).where(UploadContent.file_id.in_(finished_long_ago))  # type: ignore[attr-defined]
    )
    session.commit()
    return result.rowcount  # type: ignore[attr-defined]


def file_for_work(*, session: Session, file_id: int) -> tuple[UploadFile, bytes]:
    file = session.get(UploadFile, file_id)
    content = session.get(UploadContent, file_id)
    if file is None or content is None:
        raise NotFound(f"There is no uploaded file {file_id}.")
    return file, content.data


def label_uploaded_document(*, session: Session, document_id: int, stored_name: str, filename: str) -> None:
    """Show the name the curator gave the file, not its stored name, where the document cites its source.

    The file is ingested under its stored name (never the user's); this puts the display name back on the
    document and on its records' cited spans. Commits."""
    document = session.get(Document, document_id)
    if document is None or document.source != stored_name:
        return
    document.source = filename
    if document.title == PurePosixPath(stored_name).stem:
        document.title = PurePosixPath(filename).stem or filename
    session.add(document)
    for record in session.exec(select(Intervention).where(Intervention.document_id == document_id)):
        spans = json.loads(record.passages_json or "[]")
        if any(span.get("source") == stored_name for span in spans):
            record.passages_json = json.dumps(
                [span | {"source": filename} if span.get("source") == stored_name else span for span in spans]
            )
            session.add(record)
    session.commit()


def passage_texts(*, session: Session, document_id: int) -> list[tuple[str, str, str]]:
    """(document title, heading, text) of each of a document's passages: what its vectors are made from."""
    statement = (
        select(Document.title, Passage.heading, Passage.text)
        .join(Document, Document.id == Passage.document_id)  # type: ignore[arg-type]
        .where(Passage.document_id == document_id)
        .order_by(Passage.id)
    )
    return [tuple(row) for row in session.exec(statement)]  # type: ignore[misc]
