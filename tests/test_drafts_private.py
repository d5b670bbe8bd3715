"""A draft is private until a curator decides: its not-found answers read exactly like an id that never was."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from kb.store.models import Passage, User
from tests.conftest import PASSWORD, csrf_token, post_form
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


TWO_SCHEMES = """Northfield and Southmoor – Two Local Schemes

1 Case study: Northfield – falls response team

Northfield's falls response team pairs a paramedic with an occupational therapist who visit older people after a fall at home, so that fewer are taken to hospital. It began in 2016 and covers the whole borough.

In its first year ambulance conveyances after a fall fell by 21% against the year before.

2 Case study: Southmoor – hydration round in care homes

Southmoor's hydration round sends a healthcare assistant to every care home twice a day with drinks and a checklist, so that residents drink enough and fewer develop urinary infections. It started in 2017.

Admissions of residents with urinary infections fell by 17% in the year after it began.
"""


def public_passages(client: TestClient, document_id: int) -> dict[int, bool]:
    with Session(client.app.state.engine) as session:
        rows = session.exec(select(Passage).where(Passage.document_id == document_id)).all()
        return {p.id: p.released for p in rows}


def hit_ids(client: TestClient, query: str) -> set[int]:
    found = client.get("/api/search", params={"q": query, "limit": 50}).json()
    return {hit["passage_id"] for hit in found["results"]}


def test_publishing_one_record_makes_only_its_own_passages_public(client: TestClient, curator, tmp_path):
    from tests.test_review import ingest_draft, interventions_of

    document_id = ingest_draft(client, tmp_path, "two-schemes.txt", TWO_SCHEMES)
    rows = {r.site: r for r in interventions_of(client, document_id)}
    falls, hydration = rows["Northfield"], rows["Southmoor"]
    cited = {span["passage_id"] for span in json.loads(falls.passages_json)}
    others = {span["passage_id"] for span in json.loads(hydration.passages_json)} - cited
    assert cited and others
    assert not hit_ids(client, "paramedic occupational therapist falls") & cited  # a draft: nothing public

    assert post_form(curator, f"/curate/interventions/{falls.id}/publish").status_code == 200
    released = {pid for pid, on in public_passages(client, document_id).items() if on}
    assert released == cited
    assert hit_ids(client, "paramedic occupational therapist falls") & cited
    assert not hit_ids(client, "hydration round healthcare assistant drinks care home") & others
    for passage_id in cited:
        assert client.get(f"/api/passages/{passage_id}").status_code == 200
    for passage_id in others:
        same_answer(client, "/api/passages/{id}", passage_id)
    same_answer(client, "/api/documents/{id}", document_id)  # the whole text is still under review

    page = client.get(f"/documents/{document_id}")  # the reader's view: the released passages only
    assert page.status_code == 200 and "still being reviewed" in page.text
    assert "paramedic with an occupational therapist" in page.text
    assert "hydration round" not in page.text

    # withdrawing the record withdraws its passages; publishing the document makes every passage public
    post_form(
        curator, f"/curate/interventions/{falls.id}/reject", {"reason": "duplicate of a curated record"}
    )
    assert not any(public_passages(client, document_id).values())
    for passage_id in cited:
        same_answer(client, "/api/passages/{id}", passage_id)
    post_form(curator, f"/curate/documents/{document_id}/publish")
    assert hit_ids(client, "hydration round healthcare assistant drinks care home") & others
    assert "still being reviewed" not in client.get(f"/documents/{document_id}").text


def test_a_reingested_draft_keeps_the_passages_its_published_record_released(
    client: TestClient, curator, tmp_path
):
    from tests.test_review import ingest_draft, interventions_of

    document_id = ingest_draft(client, tmp_path, "two-schemes.txt", TWO_SCHEMES)
    falls = next(r for r in interventions_of(client, document_id) if r.site == "Northfield")
    post_form(curator, f"/curate/interventions/{falls.id}/publish")
    before = sum(public_passages(client, document_id).values())
    assert before
    ingest_draft(
        client, tmp_path, "two-schemes.txt", TWO_SCHEMES.replace("It started in 2017.", "It began in 2017.")
    )
    after = public_passages(client, document_id)
    assert sum(after.values()) == before
    assert hit_ids(client, "paramedic occupational therapist falls") & {
        pid for pid, on in after.items() if on
    }
