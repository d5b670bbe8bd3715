"""The review queue: drafts in, edits with history, diff and revert, publish, reject, merge, member submissions."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from kb.store.models import Document, Intervention, InterventionRevision
from tests.conftest import client_as, post_form, write

SUNDERLAND = """Sunderland Recovery at Home – Evaluation Summary

1 Case study: Sunderland – Recovery at home

Sunderland's recovery at home service brings community nurses, therapists and social care workers into one team that answers a single telephone number around the clock. It was set up in 2015 for frail older people at risk of going into hospital.

The team takes referrals from GPs, paramedics and families, visits within two hours and stays with the person for up to six weeks.

In the first year emergency admissions of care home residents fell by 14% compared with the year before.

2 Case study: Sunderland – Recovery at home team

The recovery at home team answers a single telephone number and visits frail older people within two hours. The service aims to reach 10,000 people by 2018.
"""


def ingest_draft(client: TestClient, tmp_path, name: str = "sunderland.txt", text: str = SUNDERLAND) -> int:
    from web.flows import ingest_and_index

    path = write(tmp_path / "docs" / name, text)
    summary = ingest_and_index(
        [path],
        settings=client.app.state.settings,
        engine=client.app.state.engine,
        service=client.app.state.search,
        status="draft",
    )
    assert not summary.failed
    client.app.state.catalogue.refresh()
    with Session(client.app.state.engine) as session:
        return session.exec(select(Document.id).where(Document.source == name)).one()


def interventions_of(client: TestClient, document_id: int) -> list[Intervention]:
    with Session(client.app.state.engine) as session:
        rows = list(
            session.exec(
                select(Intervention).where(Intervention.document_id == document_id).order_by(Intervention.id)
            )
        )
        for row in rows:
            session.expunge(row)
        return rows


def get_row(client: TestClient, intervention_id: int) -> Intervention:
    with Session(client.app.state.engine) as session:
        row = session.get(Intervention, intervention_id)
        session.expunge(row)
        return row


def snapshots(client: TestClient, intervention_id: int) -> dict[int, dict]:
    with Session(client.app.state.engine) as session:
        found = session.exec(
            select(InterventionRevision).where(InterventionRevision.intervention_id == intervention_id)
        )
        return {r.version: json.loads(r.snapshot_json) for r in found}


def edit_form(row: Intervention, **changes) -> dict:
    """The review form as the page posts it, with changes."""
    form = {
        name: getattr(row, name)
        for name in (
            "title",
            "site",
            "programme",
            "care_model",
            "summary",
            "context",
            "implementation",
            "lessons",
            "barriers",
            "evidence_level",
        )
    }
    for n, outcome in enumerate(json.loads(row.outcomes_json)):
        form[f"outcome_kind_{n}"] = outcome["kind"]
    return form | changes


@pytest.fixture
def draft(client: TestClient, tmp_path) -> tuple[int, list[Intervention]]:
    document_id = ingest_draft(client, tmp_path)
    rows = interventions_of(client, document_id)
    assert rows and all(r.status == "draft" for r in rows)
    return document_id, rows


def test_the_queue_lists_drafts_first_and_filters(client, curator, draft):
    document_id, rows = draft
    page = curator.get("/curate/queue")
    assert page.status_code == 200
    for row in rows:
        assert row.title in page.text
        assert f"/curate/interventions/{row.id}" in page.text
    assert "sunderland.txt" in page.text
    only_document = curator.get(f"/curate/queue?document={document_id}")
    assert "Publish the document" in only_document.text
    assert "Nothing to review here" in curator.get("/curate/queue?status=published").text
    assert curator.get("/curate/queue?status=bogus").status_code == 422


def test_every_draft_document_is_in_the_queue_even_one_with_no_intervention(client, curator, draft, tmp_path):
    document_id, _ = draft
    empty_id = ingest_draft(
        client,
        tmp_path,
        name="minutes.txt",
        text="Minutes of the board meeting\n\nThe board met on Tuesday and agreed the date of the next meeting.\n",
    )
    assert interventions_of(client, empty_id) == []
    queue = curator.get("/curate/queue").text
    listed = queue.split('id="draft-documents-heading"')[1].split("</table>")[0]
    assert f'href="/curate/queue?document={empty_id}"' in listed and "minutes.txt" in listed
    assert f'href="/curate/queue?document={document_id}"' in listed and "sunderland.txt" in listed
    assert "None found" in listed
    assert "<strong>2</strong> draft documents" in curator.get("/curate").text
    # Opened from the queue, it can be published although there is nothing in it to review.
    opened = curator.get(f"/curate/queue?document={empty_id}").text
    assert "Publish the document</button>" in opened and "all its draft interventions" not in opened
    published = post_form(curator, f"/curate/documents/{empty_id}/publish", follow_redirects=False)
    assert published.status_code == 303
    assert f"?document={empty_id}" not in curator.get("/curate/queue").text


def test_drafts_are_invisible_to_readers(client, draft):
    _, rows = draft
    assert client.get(f"/interventions/{rows[0].id}").status_code == 404
    assert client.get("/api/interventions").json()["total"] == 0
    assert client.get("/api/search", params={"q": "recovery at home"}).json()["total"] == 0


def test_a_draft_document_is_not_listed_on_the_home_page(client, draft):
    document_id, _ = draft
    home = client.get("/")
    assert home.status_code == 200
    assert f"/documents/{document_id}" not in home.text
    assert "sunderland.txt" not in home.text
    assert "<strong>0</strong> documents" in home.text


def test_review_page_shows_fields_passages_tags_and_decisions(curator, draft):
    _, rows = draft
    row = rows[0]
    page = curator.get(f"/curate/interventions/{row.id}")
    assert page.status_code == 200
    assert 'name="title"' in page.text and "Source passages" in page.text
    assert json.loads(row.passages_json)[0]["text"][:40] in page.text.replace("&#39;", "'")
    for tag in json.loads(row.tags_json):
        assert f'value="{tag["dimension"]}:{tag["id"]}"' in page.text
    assert 'name="add_intervention_type"' in page.text
    for button in ("Publish", "Reject", "Merge"):
        assert f">{button}</button>" in page.text
    assert curator.get("/curate/interventions/999999").status_code == 404


def test_edit_history_diff_and_revert(client, curator, draft):
    _, rows = draft
    row = rows[0]
    original_title = row.title
    tag = json.loads(row.tags_json)[0]
    response = post_form(
        curator,
        f"/curate/interventions/{row.id}",
        edit_form(
            row,
            title="Sunderland recovery at home",
            summary=row.summary + " It is run by the council and the trust together.",
            remove_tag=f"{tag['dimension']}:{tag['id']}",
            add_enabler="designing-new-care-models",
            why="clearer title; the tag was wrong",
        ),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    edited = get_row(client, row.id)
    assert edited.version == 2 and edited.edited and edited.title == "Sunderland recovery at home"
    tags = {(t["dimension"], t["id"]): t for t in json.loads(edited.tags_json)}
    assert (tag["dimension"], tag["id"]) not in tags
    assert tags[("enabler", "designing-new-care-models")]["provenance"] == "curator"

    history = curator.get(f"/curate/interventions/{row.id}/history").text
    assert "kb (automatic extraction)" in history and curator.user.name in history
    assert "clearer title; the tag was wrong" in history
    assert len(re.findall(r"<th scope=\"row\">\d", history)) == 2

    diff = curator.get(f"/curate/interventions/{row.id}/diff?from=1&to=2")
    assert diff.status_code == 200
    assert "<ins>" in diff.text and "council and the trust together." in diff.text
    assert (
        "Designing new care models" in diff.text and tag["label"] in diff.text
    )  # the tag added and the one removed

    unchanged = post_form(
        curator, f"/curate/interventions/{row.id}", edit_form(edited), follow_redirects=False
    )
    assert unchanged.status_code == 303 and get_row(client, row.id).version == 2

    reverted = post_form(
        curator, f"/curate/interventions/{row.id}/revert", {"version": "1"}, follow_redirects=False
    )
    assert reverted.status_code == 303
    now = get_row(client, row.id)
    assert now.version == 3 and now.title == original_title
    saved = snapshots(client, row.id)
    assert set(saved) == {1, 2, 3}
    assert {k: v for k, v in saved[3].items() if k != "review_note"} == {
        k: v for k, v in saved[1].items() if k != "review_note"
    }
    assert "reverted" in curator.get(f"/curate/interventions/{row.id}/history").text
    assert (
        "These versions have the same fields"
        in curator.get(f"/curate/interventions/{row.id}/diff?from=1&to=3").text
    )
    assert curator.get(f"/curate/interventions/{row.id}/diff?from=1&to=9").status_code == 404


def test_an_outcome_kind_can_be_corrected(client, curator, draft):
    _, rows = draft
    row = next(r for r in rows if any(o["kind"] == "result" for o in json.loads(r.outcomes_json)))
    position = next(n for n, o in enumerate(json.loads(row.outcomes_json)) if o["kind"] == "result")
    post_form(
        curator, f"/curate/interventions/{row.id}", edit_form(row, **{f"outcome_kind_{position}": "target"})
    )
    outcome = json.loads(get_row(client, row.id).outcomes_json)[position]
    assert outcome["kind"] == "target" and outcome["provenance"] == "curator"


def test_reject_needs_a_reason(client, curator, draft):
    _, rows = draft
    row = rows[0]
    refused = post_form(curator, f"/curate/interventions/{row.id}/reject", {"reason": "  "})
    assert refused.status_code == 422 and "Give a reason" in refused.text
    assert get_row(client, row.id).status == "draft"
    post_form(curator, f"/curate/interventions/{row.id}/reject", {"reason": "not an intervention"})
    rejected = get_row(client, row.id)
    assert rejected.status == "rejected" and rejected.review_note == "not an intervention"
    assert "not an intervention" in curator.get(f"/curate/interventions/{row.id}/history").text
    assert row.title in curator.get("/curate/queue?status=rejected").text


def test_publish_shows_the_record_and_makes_its_passages_searchable(client, curator, draft):
    document_id, rows = draft
    row = rows[0]
    response = post_form(curator, f"/curate/interventions/{row.id}/publish", follow_redirects=False)
    assert response.status_code == 303
    assert client.get(f"/interventions/{row.id}").status_code == 200
    listed = client.get("/api/interventions").json()
    assert row.id in [r["id"] for r in listed["results"]]
    found = client.get("/api/search", params={"q": "recovery at home single telephone number"}).json()
    assert found["total"] > 0 and found["results"][0]["document"]["id"] == document_id
    assert client.get(f"/documents/{document_id}").status_code == 200
    assert post_form(curator, f"/curate/interventions/{row.id}/publish").status_code == 409


def test_publish_a_document_with_all_its_interventions(client, curator, draft):
    document_id, rows = draft
    response = post_form(
        curator, f"/curate/documents/{document_id}/publish", {"interventions": "all"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert all(get_row(client, r.id).status == "published" for r in rows)
    assert client.get("/api/interventions").json()["total"] >= 1


def test_merge_moves_spans_and_marks_the_source(client, curator, draft):
    _, rows = draft
    assert len(rows) >= 2
    source, target = rows[1], rows[0]
    page = curator.get(f"/curate/interventions/{source.id}")
    assert f'<option value="{target.id}">' in page.text  # offered as a likely duplicate (same site)
    response = post_form(
        curator,
        f"/curate/interventions/{source.id}/merge",
        {"target_id": str(target.id)},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"].startswith(
        f"/curate/interventions/{target.id}"
    )
    merged, gone = get_row(client, target.id), get_row(client, source.id)
    texts = [p["text"] for p in json.loads(merged.passages_json)]
    for span in json.loads(source.passages_json):
        assert span["text"] in texts
    assert source.key in json.loads(merged.merged_keys_json)
    assert gone.status == "rejected" and gone.review_note == f"merged into #{target.id}"
    assert len(snapshots(client, target.id)) == 2 and len(snapshots(client, source.id)) == 2
    assert (
        post_form(
            curator, f"/curate/interventions/{target.id}/merge", {"target_id": str(target.id)}
        ).status_code
        == 422
    )


def test_merge_search_finds_records(curator, draft):
    _, rows = draft
    page = curator.get(f"/curate/interventions/{rows[0].id}", params={"q": "team"})
    assert f"#{rows[1].id} " in page.text
    by_id = curator.get(f"/curate/interventions/{rows[0].id}", params={"q": f"#{rows[1].id}"})
    assert f"#{rows[1].id} " in by_id.text
    # Numbers no id can be (past the database's integers; a digit int() refuses) find nothing, never a 500.
    for q in ("#99999999999999999999999", "²", "team\x00"):  # and a NUL byte, which PostgreSQL refuses
        assert curator.get(f"/curate/interventions/{rows[0].id}", params={"q": q}).status_code == 200, q


def test_a_member_submission_enters_the_queue(client, member, curator):
    form = {
        "title": "Frailty huddles in Airedale",
        "site": "Airedale",
        "care_model": "ehch",
        "summary": "Daily *huddles* between care home staff and the GP practice.",
        "implementation": "- a named GP for every home\n- video calls at night",
        "results": "Emergency admissions from the homes fell by 20% in 2016. We aim to cut falls by 10% next year.",
        "lessons": "Start with the homes that want it.",
        "contact_consent": "yes",
    }
    assert member.get("/submit").status_code == 200
    response = post_form(member, "/submit", form)
    assert response.status_code == 200
    assert "your case study was received" in response.text and "<em>huddles</em>" in response.text
    with Session(client.app.state.engine) as session:
        row = session.exec(select(Intervention).where(Intervention.origin == "submitted")).one()
        session.expunge(row)
    assert row.status == "draft" and row.submitted_by == member.user.id
    tags = json.loads(row.tags_json)
    assert {"dimension": "care_model", "id": "ehch"}.items() <= next(
        t for t in tags if t["dimension"] == "care_model"
    ).items()
    kinds = {o["figure"]: o["kind"] for o in json.loads(row.outcomes_json)}
    assert "target" in kinds.values() or "result" in kinds.values()
    assert snapshots(client, row.id)[1]  # version 1 is the submission
    assert "Frailty huddles in Airedale" in curator.get("/curate/queue?status=draft").text
    assert client.get(f"/interventions/{row.id}").status_code == 404
    history = curator.get(f"/curate/interventions/{row.id}/history").text
    assert "submitted" in history and member.user.name in history
    post_form(curator, f"/curate/interventions/{row.id}/publish")
    shown = client.get(f"/interventions/{row.id}")
    assert shown.status_code == 200 and "Frailty huddles in Airedale" in shown.text


def test_a_submission_needs_a_title_and_summary(member):
    response = post_form(member, "/submit", {"title": "", "summary": "x"})
    assert response.status_code == 422 and "title" in response.text
    response = post_form(member, "/submit", {"title": "A title", "summary": ""})
    assert response.status_code == 422


def test_hostile_input_is_shown_escaped(client, member, curator, draft):
    hostile = '<script>alert("x")</script>'
    post_form(
        member,
        "/submit",
        {"title": f"Bad {hostile}", "summary": f"[click](javascript:alert(1)) {hostile}", "results": hostile},
    )
    with Session(client.app.state.engine) as session:
        row = session.exec(select(Intervention).where(Intervention.origin == "submitted")).one()
    confirmation = post_form(
        member, "/submit", {"title": "Another", "summary": f"[click](javascript:alert(1)) {hostile}"}
    )
    for page in (
        confirmation.text,
        curator.get("/curate/queue").text,
        curator.get(f"/curate/interventions/{row.id}").text,
    ):
        assert "<script>alert" not in page
        assert 'href="javascript:' not in page
    _, rows = draft
    target = rows[0]
    post_form(
        curator, f"/curate/interventions/{target.id}", edit_form(target, title=f"T {hostile}", why=hostile)
    )
    for page in (
        curator.get(f"/curate/interventions/{target.id}/history").text,
        curator.get(f"/curate/interventions/{target.id}/diff?from=1&to=2").text,
    ):
        assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_unknown_tags_and_kinds_are_refused(curator, draft):
    _, rows = draft
    row = rows[0]
    response = post_form(curator, f"/curate/interventions/{row.id}", edit_form(row, add_setting="nowhere"))
    assert response.status_code == 422 and "Unknown tag" in response.text
    response = post_form(curator, f"/curate/interventions/{row.id}", edit_form(row, evidence_level="9"))
    assert response.status_code == 422


def test_members_cannot_review(client, draft):
    _, rows = draft
    member = client_as(client, "member")
    assert member.get("/curate/queue").status_code == 403
    assert post_form(member, f"/curate/interventions/{rows[0].id}/publish").status_code == 403
