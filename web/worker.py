"""The background worker that ingests uploaded files: one daemon thread per server process.

Ingestion never runs inside a request. The upload route stores the bytes and wakes this thread; the
thread also polls the database, so files uploaded through another process (or machine) are picked up
too. Each file is claimed with a conditional UPDATE (kb.uploads.claim_file), so two workers never
ingest the same file. A file is ingested as a draft under the identity "upload:<stored name>", then
its passages' vectors are encoded into the shared cache (search/vector_cache.py) so that publishing it later encodes nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ingest.pipeline import ingest_file
from kb import uploads
from kb.settings import Settings
from search.embeddings import Embedder
from search.vector_cache import encode_document_views
from web.flows import settle

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
STALE_AFTER = timedelta(minutes=10)  # a claimed file silent this long belonged to a process that died
STALE_CHECK_SECONDS = 60.0
PRUNE_SECONDS = 3600.0  # how often old ingested uploads' bytes are deleted (KB_UPLOAD_RETENTION_DAYS)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def sentence(reason: str) -> str:
    """A reason from ingest ("the file is empty") as the page shows it: "The file is empty."."""
    reason = reason.strip()
    return reason[:1].upper() + reason[1:] + ("" if reason.endswith((".", "!", "?")) else ".")


class UploadWorker:
    """Claims queued upload files and ingests them, one at a time, until stopped."""

    def __init__(
        self, *, engine: Engine, settings: Settings, embedder: Embedder | None, name: str | None = None
    ):
        self.engine, self.settings, self.embedder = engine, settings, embedder
        self.name = name or worker_name()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> UploadWorker:
        self._thread = threading.Thread(target=self._run, name=f"upload-worker {self.name}", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        """Look for queued files now rather than at the next poll (called after an upload or a retry)."""
        self._wake.set()

    def stop(self, timeout: float = 60.0) -> None:
        """Finish the file in hand, then stop."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        last_stale_check, last_prune = 0.0, float("-inf")
        while not self._stopping.is_set():
            try:
                if time.monotonic() - last_prune > PRUNE_SECONDS:
                    last_prune = time.monotonic()
                    with Session(self.engine) as session:
                        uploads.prune_upload_bytes(
                            session=session, retention_days=self.settings.upload_retention_days
                        )
                if time.monotonic() - last_stale_check > STALE_CHECK_SECONDS:
                    last_stale_check = time.monotonic()
                    with Session(self.engine) as session:
                        requeued = uploads.requeue_stale(session=session, older_than=STALE_AFTER)
                    if requeued:
                        log.warning(
                            "re-queued %d uploaded files left unfinished by a stopped worker", requeued
                        )
                self.work_once()
            except Exception:  # why: a database hiccup must not end the thread; the next poll tries again
                log.exception("upload worker %s: error while looking for work", self.name)
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def work_once(self) -> int:
        """Ingest every file now queued that this worker manages to claim; returns how many it ingested."""
        done = 0
        while not self._stopping.is_set():
            with Session(self.engine) as session:
                queued = uploads.queued_file_ids(session=session)
            claimed = False
            for file_id in queued:
                if self._stopping.is_set():
                    break
                with Session(self.engine) as session:
                    if not uploads.claim_file(session=session, file_id=file_id, worker=self.name):
                        continue  # another worker has it
                claimed = True
                self.process(file_id)
                done += 1
            if not claimed:
                return done
        return done

    def process(self, file_id: int) -> None:
        """Ingest one claimed file and record how it ended. Never raises."""
        try:
            self._ingest(file_id)
        except (
            Exception
        ) as err:  # why: ingest_file never raises for a bad file, but nothing here may kill the thread
            log.exception("upload worker %s: file %s failed", self.name, file_id)
            self._set(file_id, "failed", reason=f"Internal error while ingesting ({type(err).__name__}).")

    def _set(self, file_id: int, status: str, **fields) -> bool:  # noqa: ANN003
        with Session(self.engine) as session:
            return uploads.set_file_state(
                session=session, file_id=file_id, worker=self.name, status=status, **fields
            )

    def _ingest(self, file_id: int) -> None:
        with Session(self.engine) as session:
            file, data = uploads.file_for_work(session=session, file_id=file_id)
            stored_name, filename = file.stored_name, file.filename
        with tempfile.TemporaryDirectory(prefix="kb-upload-") as folder:
            path = Path(folder) / stored_name  # why: the stored name, never a name or path the user chose
            path.write_bytes(data)
            result = ingest_file(
                path,
                engine=self.engine,
                origin="upload",
                status="draft",
                identity=f"upload:{stored_name}",
                max_bytes=self.settings.max_file_mb * 1024 * 1024,
                max_passage_chars=self.settings.max_passage_chars,
                review_threshold=self.settings.review_threshold,
                on_stage=lambda stage: self._set(file_id, stage),
            )
        if result.status == "failed" or result.document_id is None:
            self._set(file_id, "failed", reason=sentence(result.reason or "the file could not be ingested"))
            return
        with Session(self.engine) as session:
            uploads.label_uploaded_document(
                session=session, document_id=result.document_id, stored_name=stored_name, filename=filename
            )
        self._set(file_id, "indexing", document_id=result.document_id)
        if self.embedder is not None:
            try:
                settle(self.engine, self.embedder, [result.document_id])
            except (
                Exception
            ):  # why: tags and merges are a help to the curator, never a reason to lose the upload
                log.exception("upload worker %s: could not settle document %s", self.name, result.document_id)
            try:
                encode_document_views(
                    engine=self.engine, embedder=self.embedder, document_id=result.document_id
                )
            except Exception:  # why: only a head start for publishing, which encodes whatever is missing
                log.exception(
                    "upload worker %s: could not pre-encode document %s", self.name, result.document_id
                )
        self._set(file_id, result.status, document_id=result.document_id)


def start_worker(app: FastAPI) -> UploadWorker | None:
    """Start this process's worker (the app's lifespan calls this once the store and search are open)."""
    search = getattr(app.state, "search", None)
    worker = UploadWorker(
        engine=app.state.engine,
        settings=app.state.settings,
        embedder=search.embedder if search is not None else None,
    ).start()
    app.state.upload_worker = worker
    return worker


def wake_worker(app: FastAPI) -> None:
    """Tell this process's worker there is work (other processes find it at their next poll)."""
    worker = getattr(app.state, "upload_worker", None)
    if worker is not None:
        worker.wake()
