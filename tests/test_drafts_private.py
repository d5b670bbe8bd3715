"""A draft is private until a curator decides: its not-found answers read exactly like an id that never was."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from kb.models import Passage, User
from tests.conftest import PASSWORD, csrf_token
from tests.test_review import ingest_draft, interventions_of

NEVER = 987654


def without_id(text: str, path: str, some_id: int) -> str:
    """The answer with the id it names (and its own address) replaced, so two answers can be compared."""
    text = text.replace(path.format(id=some_id), path.format(id="ID"))
    return re.sub(rf"\bid {some_id}\b", "id ID", text)


def same_answer(client: TestClient, path: str, draft_id: int) -> None:
    draft = client.get(path.format(id=draft_id))
    missing = client.get(path.format(id=NEVER))
    assert draft.status_code == missing.status_code == 404, path
    assert without_id(draft.text, path, draft_id) == without_id(missing.text, path, NEVER), path
    assert draft.headers["content-type"] == missing.headers["content-type"], path


def test_a_drafts_document_passages_and_records_look_like_ids_that_never_existed(
    client: TestClient, tmp_path
):
    document_id = ingest_draft(client, tmp_path)
    [record, *_] = interventions_of(client, document_id)
    with Session(client.app.state.engine) as session:
        passage_id = session.exec(select(Passage.id).where(Passage.document_id == document_id)).first()
    assert passage_id is not None
    same_answer(client, "/api/documents/{id}", document_id)
    same_answer(client, "/api/passages/{id}", passage_id)
    same_answer(client, "/api/interventions/{id}", record.id)
    same_answer(client, "/documents/{id}", document_id)
    same_answer(client, "/interventions/{id}", record.id)
    assert "No document" not in client.get(f"/api/passages/{passage_id}").text


def test_register_refuses_a_signed_in_user(client: TestClient, member: TestClient):
    answer = member.post(
        "/register",
        data={
            "email": "second@example.org",
            "name": "Second",
            "password": PASSWORD,
            "csrf_token": csrf_token(member),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert "sign out before registering" in answer.text
    with Session(client.app.state.engine) as session:
        assert session.exec(select(User).where(User.email == "second@example.org")).first() is None
