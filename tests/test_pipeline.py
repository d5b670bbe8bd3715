"""Ingestion: idempotent re-ingest, replacement in one transaction, bad input that leaves the store intact, the ledger."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlmodel import Session

from ingest import pipeline
from ingest.pipeline import ingest_paths
from kb.store import repo
from tests.conftest import write
from web.flows import open_engine

REPORT = """Kent Pioneer Programme

1 Integrated discharge team

The integrated discharge team works at the front door of the hospital. It brings together nurses, therapists and social workers so that frail older people can go home the same day.

Delayed transfers of care fell after the team started, and the team now sees every older patient within two hours.

2 Care navigators

Care navigators help people with long-term conditions find the support they need in their own community.
"""


def snapshot(engine) -> tuple[int, int, list[tuple[int, str]]]:
    with Session(engine) as session:
        docs = repo.list_documents(session=session)
        return (
            repo.count_documents(session=session),
            repo.count_passages(session=session),
            [(d.id, d.content_hash) for d in docs],
        )


@pytest.fixture
def engine(settings):
    return open_engine(settings)


def test_ingest_then_reingest_changes_nothing(tmp_path: Path, engine):
    path = write(tmp_path / "docs" / "kent.txt", REPORT)
    first = ingest_paths([tmp_path / "docs"], engine=engine)
    assert first.indexed == 1 and first.passages >= 1
    before = snapshot(engine)
    with Session(engine) as session:
        ids_before = [
            p.id for p in repo.passages_for_document(session=session, document_id=first.files[0].document_id)
        ]
        generation = repo.current_generation(session=session)
    second = ingest_paths([path], engine=engine)
    assert second.unchanged == 1 and second.indexed == 0
    assert snapshot(engine) == before
    with Session(engine) as session:
        ids_after = [
            p.id for p in repo.passages_for_document(session=session, document_id=first.files[0].document_id)
        ]
        assert repo.current_generation(session=session) == generation
    assert ids_after == ids_before


def test_changed_file_replaces_its_passages(tmp_path: Path, engine):
    path = write(tmp_path / "kent.txt", REPORT)
    ingest_paths([path], engine=engine)
    write(path, REPORT.replace("two hours", "ninety minutes"))
    result = ingest_paths([path], engine=engine)
    assert result.indexed == 1
    with Session(engine) as session:
        assert repo.count_documents(session=session) == 1
        texts = " ".join(
            p.text
            for p in repo.passages_for_document(session=session, document_id=result.files[0].document_id)
        )
    assert "ninety minutes" in texts and "two hours" not in texts


def test_passages_know_their_heading_path_and_offsets(tmp_path: Path, engine):
    result = ingest_paths([write(tmp_path / "kent.txt", REPORT)], engine=engine)
    with Session(engine) as session:
        document = repo.get_document_or_raise(session=session, document_id=result.files[0].document_id)
        passages = repo.passages_for_document(session=session, document_id=document.id)
    assert any("Integrated discharge team" in p.heading for p in passages)
    for passage in passages:
        assert document.text[passage.char_start : passage.char_end] == passage.text
        assert len(passage.text) <= 1300


def docx_that_is_not_a_zip() -> bytes:
    return b"This is plain text pretending to be a Word document."


def truncated_pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pa"


@pytest.mark.parametrize(
    "name, content, reason_words",
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b"   \n\n  ", "empty"),
        ("binary.txt", bytes(range(256)) * 20, "binary"),
        ("broken.pdf", truncated_pdf(), "PDF"),
        ("fake.docx", docx_that_is_not_a_zip(), "docx"),
        ("corrupt.docx", b"PK\x03\x04" + b"\x00" * 40, "docx"),
        ("notes.xyz", b"some text", "unsupported"),
    ],
)
def test_bad_input_is_reported_and_the_store_is_intact(tmp_path: Path, engine, name, content, reason_words):
    ingest_paths([write(tmp_path / "good" / "kent.txt", REPORT)], engine=engine)
    before = snapshot(engine)
    bad = write(tmp_path / "bad" / name, content)
    result = ingest_paths([bad], engine=engine)
    assert [f.status for f in result.files] == ["failed"]
    assert reason_words.lower() in result.files[0].reason.lower()
    assert snapshot(engine) == before
    with Session(engine) as session:
        run = repo.list_runs(session=session, limit=1)[0]
        files = repo.files_for_run(session=session, run_id=run.id)
    assert run.files_failed == 1 and files[0].reason == result.files[0].reason


def test_latin1_text_is_decoded_not_rejected(tmp_path: Path, engine):
    path = write(
        tmp_path / "cafe.txt",
        "The crisis café costs £5 a visit and opens every evening for people in distress.".encode("latin-1"),
    )
    result = ingest_paths([path], engine=engine)
    assert result.indexed == 1
    with Session(engine) as session:
        document = repo.get_document_or_raise(session=session, document_id=result.files[0].document_id)
    assert "café" in document.text and "£5" in document.text


def test_a_failure_while_storing_leaves_nothing_half_written(tmp_path: Path, engine, monkeypatch):
    ingest_paths([write(tmp_path / "a" / "kent.txt", REPORT)], engine=engine)
    before = snapshot(engine)
    original = repo.replace_document

    def explode(*, session, document, passages):
        original(session=session, document=document, passages=passages)
        session.flush()
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline.repo, "replace_document", explode)
    result = ingest_paths(
        [write(tmp_path / "b" / "other.txt", REPORT.replace("Kent", "Leeds"))], engine=engine
    )
    assert result.files[0].status == "failed" and "nothing was stored" in result.files[0].reason
    assert snapshot(engine) == before


def test_oversized_file_is_refused_before_reading(tmp_path: Path, engine):
    path = write(tmp_path / "huge.txt", "word " * 1000)
    result = ingest_paths([path], engine=engine, max_bytes=100)
    assert result.files[0].status == "failed" and "limit" in result.files[0].reason


def test_the_docx_reader_path_works_end_to_end(tmp_path: Path, engine):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_heading("Rapid response in West Kent", level=1)
    document.add_paragraph(
        "The rapid response team visits people at home within two hours to avoid an admission."
    )
    buffer = io.BytesIO()
    document.save(buffer)
    assert zipfile.is_zipfile(io.BytesIO(buffer.getvalue()))
    result = ingest_paths([write(tmp_path / "rr.docx", buffer.getvalue())], engine=engine)
    assert result.indexed == 1 and result.passages >= 1
