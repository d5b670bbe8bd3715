"""Upload retention: the bytes of uploads ingested long ago are deleted (by `kb prune-uploads` and the upload
worker); their records and outcomes stay, and files that are recent or not yet ingested keep their bytes."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from kb import uploads
from kb.errors import Conflict
from kb.settings import Settings, get_settings
from kb.store.models import UploadContent, UploadFile, utcnow
from web.app import create_app
from web.cli import main
from web.flows import open_engine

# (name, status, days since it last changed) -> whether its bytes outlive a 30-day retention
CASES = {
    "old-indexed.txt": ("indexed", 40, False),
    "old-unchanged.txt": ("unchanged", 31, False),
    "old-failed.txt": ("failed", 90, False),
    "recent-indexed.txt": ("indexed", 29, True),
    "recent-failed.txt": ("failed", 1, True),
    "old-queued.txt": ("queued", 60, True),  # never ingested: its bytes are all there is
    "old-parsing.txt": ("parsing", 60, True),
}


def add_uploads(settings: Settings) -> dict[str, int]:
    """One uploaded file per case, in its state and age; returns file ids by name."""
    engine = open_engine(settings)
    ids = {}
    with Session(engine) as session:
        for name, (status, days, _) in CASES.items():
            upload = uploads.create_upload(
                session=session,
                user_id=None,
                files=[uploads.IncomingFile(filename=name, data=f"bytes of {name}".encode())],
                allowed_suffixes=frozenset({".txt"}),
                max_bytes=1 << 20,
            )
            [row] = uploads.files_of_upload(session=session, upload_id=upload.id)
            row.status, row.updated_at = status, utcnow() - timedelta(days=days)
            row.reason = "The file is empty." if status == "failed" else None
            row.document_id = 7 if status in ("indexed", "unchanged") else None
            session.add(row)
            session.commit()
            ids[name] = row.id
    engine.dispose()
    return ids


def bytes_left(settings: Settings, ids: dict[str, int]) -> dict[str, bool]:
    engine = open_engine(settings)
    with Session(engine) as session:
        kept = set(session.exec(select(UploadContent.file_id)))
    engine.dispose()
    return {name: file_id in kept for name, file_id in ids.items()}


def expected_kept() -> dict[str, bool]:
    return {name: kept for name, (_, _, kept) in CASES.items()}


def test_prune_deletes_only_old_finished_uploads_bytes_and_keeps_their_records(settings):
    ids = add_uploads(settings)
    engine = open_engine(settings)
    with Session(engine) as session:
        assert uploads.prune_upload_bytes(session=session, retention_days=0) == 0  # 0: kept forever
        assert all(bytes_left(settings, ids).values())
        assert uploads.prune_upload_bytes(session=session, retention_days=30) == 3
        assert uploads.prune_upload_bytes(session=session, retention_days=30) == 0
    assert bytes_left(settings, ids) == expected_kept()
    with Session(engine) as session:
        files = {f.filename: f for f in session.exec(select(UploadFile))}
        assert set(files) == set(CASES)  # every record stays
        assert files["old-failed.txt"].status == "failed"
        assert files["old-failed.txt"].reason == "The file is empty."
        assert files["old-indexed.txt"].status == "indexed" and files["old-indexed.txt"].document_id == 7
        # a failed file whose bytes are gone cannot be tried again, and says why
        with pytest.raises(Conflict, match="Upload the file again"):
            uploads.retry_file(session=session, file_id=ids["old-failed.txt"])
        assert uploads.retry_file(session=session, file_id=ids["recent-failed.txt"]).status == "queued"


def test_kb_prune_uploads_uses_the_retention_setting(settings, monkeypatch):
    ids = add_uploads(settings)
    monkeypatch.setenv("KB_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("KB_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KB_UPLOAD_RETENTION_DAYS", "100")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["prune-uploads"])
        assert result.exit_code == 0 and "0 uploaded files" in result.output, result.output
        assert all(bytes_left(settings, ids).values())
        monkeypatch.setenv("KB_UPLOAD_RETENTION_DAYS", "30")
        get_settings.cache_clear()
        result = CliRunner().invoke(main, ["prune-uploads"])
        assert result.exit_code == 0 and "3 uploaded files" in result.output, result.output
    finally:
        get_settings.cache_clear()
    assert bytes_left(settings, ids) == expected_kept()


def test_the_upload_worker_prunes_old_uploads_bytes(settings):
    ids = add_uploads(settings)
    # why: the worker would ingest a queued file; one another worker is on right now is left alone all the same
    engine = open_engine(settings)
    with Session(engine) as session:
        for name in ("old-queued.txt", "old-parsing.txt"):
            row = session.get(UploadFile, ids[name])
            row.status, row.updated_at = "parsing", utcnow()
            session.add(row)
        session.commit()
    engine.dispose()
    with TestClient(create_app(settings)):
        deadline = time.monotonic() + 20
        while bytes_left(settings, ids) != expected_kept() and time.monotonic() < deadline:
            time.sleep(0.1)
    assert bytes_left(settings, ids) == expected_kept()
