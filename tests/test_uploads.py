"""Uploads: the form's limits, the background worker's ledger, drafts until published, claims that never collide."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from kb import uploads
from kb.store import repo
from kb.store.models import Document, Intervention, Upload, UploadContent, UploadFile, utcnow
from search.service import passage_views
from tests.conftest import client_as, csrf_token, make_settings

CASE_STUDY = """Wakefield Care Home Vanguard: Enhanced Health in Care Homes

Background

Wakefield's care home vanguard brought GPs, community matrons and care home staff together to support residents in 24 care homes. Before the programme, residents were often sent to hospital out of hours because staff had nobody to call.

What was done

Each care home was aligned to one GP practice, which held a weekly ward round in the home. A community matron visited every care home twice a week, and staff were trained to recognise early signs of deterioration using a simple tool. Medication reviews were carried out for every resident in the first six months.

Results

Over the first year, emergency admissions from the aligned care homes fell by 18% compared with the year before, and ambulance call-outs fell by 12%. Staff reported feeling more confident about caring for residents at the end of life.

Lessons learned

Shared records between the practice and the home were essential. Staff turnover in the homes meant training had to be repeated every quarter.
"""


def upload(test_client: TestClient, files: list[tuple[str, bytes]], **kwargs):
    return test_client.post(
        "/curate/uploads",
        data={"csrf_token": csrf_token(test_client)},
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
        follow_redirects=False,
        **kwargs,
    )


def wait_until_done(test_client: TestClient, upload_id: int, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = test_client.get(f"/api/uploads/{upload_id}").json()
        if status["done"]:
            return status
        if time.monotonic() > deadline:
            pytest.fail(f"upload {upload_id} not finished after {timeout} s: {status}")
        time.sleep(0.1)


def upload_id_of(response) -> int:  # noqa: ANN001
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def stored_counts(app) -> tuple[int, int, int]:  # noqa: ANN001
    with Session(app.state.engine) as session:
        return (
            len(session.exec(select(Upload)).all()),
            len(session.exec(select(UploadFile)).all()),
            len(session.exec(select(UploadContent)).all()),
        )


def publish(curator: TestClient, document_id: int) -> None:
    """A curator publishes the draft through the review routes, or (until they exist) directly."""
    app = curator.app
    if any(getattr(r, "path", "") == "/curate/documents/{document_id}/publish" for r in app.routes):
        response = curator.post(
            f"/curate/documents/{document_id}/publish",
            data={"csrf_token": csrf_token(curator), "interventions": "all"},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
    else:
        # TODO: use POST /curate/documents/{document_id}/publish once the review routes are built.
        with Session(app.state.engine) as session:
            document = session.get(Document, document_id)
            document.status = "published"
            session.add(document)
            for record in session.exec(select(Intervention).where(Intervention.document_id == document_id)):
                record.status = "published"
                session.add(record)
            repo.bump_generation(session=session)
            session.commit()


def test_upload_is_ingested_in_the_background_as_a_draft_then_found_once_published(
    client, curator, monkeypatch
):
    response = upload(curator, [("wakefield-care-homes.txt", CASE_STUDY.encode())])
    upload_id = upload_id_of(response)

    page = curator.get(f"/curate/uploads/{upload_id}")
    assert page.status_code == 200
    assert "wakefield-care-homes.txt" in page.text
    assert 'aria-live="polite"' in page.text and f"/curate/uploads/{upload_id}" in page.text

    status = wait_until_done(curator, upload_id)
    [file] = status["files"]
    assert file["status"] == "indexed", file
    assert file["filename"] == "wakefield-care-homes.txt" and file["size"] == len(CASE_STUDY.encode())
    assert file["attempts"] == 1 and file["reason"] is None and file["interventions"] >= 1
    document_id = file["document_id"]

    with Session(client.app.state.engine) as session:
        document = session.get(Document, document_id)
        assert document.status == "draft" and document.origin == "upload"
        assert document.source == "wakefield-care-homes.txt"  # the display name, not the stored one
        stored = session.exec(select(UploadFile)).one().stored_name
        assert document.path == f"upload:{stored}"
        records = session.exec(select(Intervention).where(Intervention.document_id == document_id)).all()
        assert records and all(r.status == "draft" for r in records)
    assert stored.endswith(".txt") and len(stored) == 64 + 4

    # the finished page links to the draft and to its review
    page = curator.get(f"/curate/uploads/{upload_id}")
    assert f'href="/documents/{document_id}"' in page.text
    assert f'href="/curate/queue?document={document_id}"' in page.text

    reader = client_as(client, "reader")
    assert reader.get(f"/documents/{document_id}").status_code == 404
    hits = reader.get("/api/search", params={"q": "Wakefield care home ward round"}).json()
    assert all(hit["document"]["id"] != document_id for hit in hits["results"]), hits

    # the vectors were encoded while indexing: publishing (and the index refresh it causes) encodes none of them
    service = client.app.state.search
    with Session(client.app.state.engine) as session:
        views = {
            view
            for title, heading, text in uploads.passage_texts(session=session, document_id=document_id)
            for view in passage_views(title=title, heading=heading, text=text)
        }
    assert views
    encoded_views: list[str] = []
    encode = service.embedder.encode

    def watched_encode(texts: list[str]):  # noqa: ANN202
        encoded_views.extend(t for t in texts if t in views)
        return encode(texts)

    monkeypatch.setattr(service.embedder, "encode", watched_encode)
    publish(curator, document_id)
    service.ensure_fresh()
    client.app.state.catalogue.ensure_fresh()
    assert encoded_views == []
    hits = reader.get("/api/search", params={"q": "Wakefield care home ward round"}).json()
    assert any(hit["document"]["id"] == document_id for hit in hits["results"]), hits
    assert reader.get(f"/documents/{document_id}").status_code == 200

    # the same file again is "unchanged", pointing at the same document
    again = wait_until_done(curator, upload_id_of(upload(curator, [("copy.txt", CASE_STUDY.encode())])))
    assert again["files"][0]["status"] == "unchanged"
    assert again["files"][0]["document_id"] == document_id

    listing = curator.get("/curate/uploads")
    assert listing.status_code == 200 and f"/curate/uploads/{upload_id}" in listing.text
    assert "1 indexed" in listing.text and "1 unchanged" in listing.text


def test_a_refused_type_stores_nothing_and_says_why(curator):
    response = upload(curator, [("setup.exe", b"MZ\x90\x00"), ("notes.txt", b"fine")])
    assert response.status_code == 422
    assert "setup.exe: a .exe file cannot be ingested" in response.text
    assert ".pdf" in response.text and ".docx" in response.text
    assert "notes.txt" not in response.text.split("Nothing was uploaded")[1].split("</ul>")[0]
    assert stored_counts(curator.app) == (0, 0, 0)


def test_an_upload_without_its_csrf_token_is_refused(curator):
    response = curator.post("/curate/uploads", files=[("files", ("notes.txt", b"Some notes.", "text/plain"))])
    assert response.status_code == 403
    assert stored_counts(curator.app) == (0, 0, 0)


def test_an_oversize_file_stores_nothing_and_says_why(tmp_path):
    from web.app import create_app

    with TestClient(create_app(make_settings(tmp_path, max_file_mb=1))) as client:
        curator = client_as(client, "curator")
        response = upload(curator, [("big.txt", b"word " * 300_000)])
        assert response.status_code == 413  # refused while it streams in: tests/test_body_limits.py
        assert "big.txt is larger than the 1 MB limit for one file" in response.text
        assert stored_counts(client.app) == (0, 0, 0)


def test_no_file_chosen_is_refused_with_a_message(curator):
    response = upload(curator, [("", b"")])
    assert response.status_code == 422 and "Choose at least one file" in response.text
    assert stored_counts(curator.app) == (0, 0, 0)


def test_an_empty_file_and_a_corrupt_pdf_fail_with_the_reason_and_store_no_document(curator):
    upload_id = upload_id_of(
        upload(curator, [("empty.txt", b""), ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf\n%%EOF")])
    )
    status = wait_until_done(curator, upload_id)
    by_name = {f["filename"]: f for f in status["files"]}
    assert by_name["empty.txt"]["status"] == "failed"
    assert "empty" in by_name["empty.txt"]["reason"]
    assert by_name["broken.pdf"]["status"] == "failed"
    assert "PDF" in by_name["broken.pdf"]["reason"]
    assert all(f["document_id"] is None for f in status["files"])
    with Session(curator.app.state.engine) as session:
        assert session.exec(select(Document)).all() == []
    page = curator.get(f"/curate/uploads/{upload_id}")
    assert "Try again" in page.text and by_name["broken.pdf"]["reason"] in page.text


def test_retry_requeues_a_failed_file(curator):
    upload_id = upload_id_of(upload(curator, [("empty.txt", b"")]))
    [file] = wait_until_done(curator, upload_id)["files"]
    assert file["status"] == "failed"

    response = curator.post(
        f"/curate/uploads/files/{file['id']}/retry",
        data={"csrf_token": csrf_token(curator)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/curate/uploads/{upload_id}"
    [again] = wait_until_done(curator, upload_id)["files"]
    assert again["status"] == "failed" and again["attempts"] == 2  # it was queued and claimed again

    # only a failed file can be retried; an unknown one is not found
    with Session(curator.app.state.engine) as session:
        row = session.get(UploadFile, file["id"])
        row.status = "indexed"
        session.add(row)
        session.commit()
    retry = curator.post(
        f"/curate/uploads/files/{file['id']}/retry", data={"csrf_token": csrf_token(curator)}
    )
    assert retry.status_code == 409
    missing = curator.post("/curate/uploads/files/999999/retry", data={"csrf_token": csrf_token(curator)})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\x\\report.txt", "report.txt"),
        ("/tmp/../..\\evil/notes.md", "notes.md"),
    ],
)
def test_a_path_in_the_filename_is_shown_without_folders_and_never_used(curator, tmp_path, sent, shown):
    data = f"{shown} about Wakefield.\n\nEmergency admissions fell by 10%.".encode()
    upload_id = upload_id_of(upload(curator, [(sent, data)]))
    status = wait_until_done(curator, upload_id)
    [file] = status["files"]
    assert file["filename"] == shown
    with Session(curator.app.state.engine) as session:
        row = session.get(UploadFile, file["id"])
        assert "/" not in row.stored_name and "\\" not in row.stored_name and ".." not in row.stored_name
        if row.document_id:
            document = session.get(Document, row.document_id)
            assert document.source == shown and document.path == f"upload:{row.stored_name}"
    page = curator.get(f"/curate/uploads/{upload_id}")
    assert shown in page.text and sent not in page.text


def test_display_name_strips_folders_and_control_characters():
    assert uploads.display_name("../../etc/passwd.txt") == "passwd.txt"
    assert uploads.display_name("C:\\Users\\x\\report.txt") == "report.txt"
    assert uploads.display_name("a\x00b\nc.txt") == "abc.txt"
    assert uploads.display_name("..") == "unnamed file"
    long = uploads.display_name("x" * 500 + ".pdf")
    assert len(long) <= uploads.MAX_NAME_CHARS and long.endswith(".pdf")


def test_two_workers_never_claim_the_same_file(client):
    engine = client.app.state.engine
    client.app.state.upload_worker.stop()  # why: this test claims by hand; the app's worker must not compete
    with Session(engine) as session:
        file = uploads.create_upload(
            session=session,
            user_id=None,
            files=[uploads.IncomingFile(filename=f"f{i}.txt", data=f"text {i}".encode()) for i in range(20)],
            allowed_suffixes=frozenset({".txt"}),
            max_bytes=1000,
        )
        ids = [f.id for f in uploads.files_of_upload(session=session, upload_id=file.id)]

    def claim(file_id: int, name: str, barrier: threading.Barrier, wins: list[str]) -> None:
        barrier.wait()
        with Session(engine) as session:
            if uploads.claim_file(session=session, file_id=file_id, worker=name):
                wins.append(name)

    for file_id in ids:
        barrier, wins = threading.Barrier(4), []
        threads = [
            threading.Thread(target=claim, args=(file_id, f"worker-{n}", barrier, wins)) for n in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(wins) == 1, (file_id, wins)
        with Session(engine) as session:
            row = session.get(UploadFile, file_id)
            assert row.status == "parsing" and row.worker == wins[0] and row.attempts == 1


def test_files_left_by_a_dead_worker_are_requeued(client):
    engine = client.app.state.engine
    client.app.state.upload_worker.stop()
    with Session(engine) as session:
        upload_row = uploads.create_upload(
            session=session,
            user_id=None,
            files=[uploads.IncomingFile(filename="a.txt", data=b"a"), uploads.IncomingFile("b.txt", b"b")],
            allowed_suffixes=frozenset({".txt"}),
            max_bytes=1000,
        )
        old, recent = uploads.files_of_upload(session=session, upload_id=upload_row.id)
        for row in (old, recent):
            assert uploads.claim_file(session=session, file_id=row.id, worker="gone")
        stale = session.get(UploadFile, old.id)
        stale.updated_at = utcnow() - timedelta(minutes=30)
        session.add(stale)
        session.commit()
        assert uploads.requeue_stale(session=session, older_than=timedelta(minutes=10)) == 1
        assert session.get(UploadFile, old.id).status == "queued"
        assert session.get(UploadFile, recent.id).status == "parsing"
        # the dead worker's late word no longer counts
        assert not uploads.set_file_state(session=session, file_id=old.id, worker="gone", status="indexed")


def test_the_worker_survives_a_file_whose_bytes_are_missing(client, curator):
    worker = client.app.state.upload_worker
    upload_id = upload_id_of(upload(curator, [("fine.txt", CASE_STUDY.encode())]))
    wait_until_done(curator, upload_id)
    with Session(client.app.state.engine) as session:
        row = session.exec(select(UploadFile)).one()
        session.delete(session.get(UploadContent, row.id))
        row.status = "queued"
        session.add(row)
        session.commit()
    worker.wake()
    [file] = wait_until_done(curator, upload_id)["files"]
    assert file["status"] == "failed" and "internal error" in file["reason"].lower()
    assert worker._thread.is_alive()


@pytest.mark.parametrize("role", ["reader", "member"])
def test_the_ledger_refuses_readers_and_members(client, curator, role):
    upload_id = upload_id_of(upload(curator, [("wakefield.txt", CASE_STUDY.encode())]))
    other = client_as(client, role)
    response = other.get(f"/api/uploads/{upload_id}")
    assert response.status_code == (401 if role == "reader" else 403)
    assert response.json()["status"] == response.status_code
    page = other.get(f"/curate/uploads/{upload_id}", follow_redirects=False)
    assert page.status_code == (303 if role == "reader" else 403)
    assert upload(other, [("x.txt", b"x")]).status_code in (401, 403)
    wait_until_done(curator, upload_id)


def test_an_unknown_upload_is_not_found(curator):
    assert curator.get("/api/uploads/424242").status_code == 404
    assert curator.get("/curate/uploads/424242").status_code == 404
    assert curator.get("/curate/uploads/abc").status_code == 404  # a page whose id cannot exist
    assert curator.get("/api/uploads/abc").status_code == 422
