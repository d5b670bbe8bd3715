"""Search analytics over the query log (top, no-result and poor queries, content gaps) and curation tasks."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from kb import analytics
from kb.store.models import CurationTask, QueryLog, utcnow
from kb.taxonomy import load_taxonomy
from kb.vocabulary import load_vocabulary
from search import query_gaps
from tests.conftest import post_form

# (query as typed, passages, interventions, best score, days ago)
SEARCHES = [
    ("Social prescribing", 40, 6, 0.95, 1),
    ("social   PRESCRIBING ", 38, 6, 0.93, 2),
    ("social prescribing", 41, 7, 0.96, 3),
    ("care home admissions", 30, 4, 0.9, 1),
    ("care home admissions", 30, 4, 0.9, 5),
    ("falls in care homes", 12, 1, 0.8, 2),  # poor: one intervention
    ("hospital at home", 9, 3, 0.3, 2),  # poor: no passage holds the words
    ("zzyzx quilting", 0, 0, None, 1),  # no results at all
    ("Zzyzx  Quilting", 0, 0, None, 2),
    ("DToC", 0, 0, None, 3),  # no results; the vocabulary spells it out as delayed transfers of care
    ("old favourite", 0, 0, None, 60),  # outside a 30-day period
]


def seed(client: TestClient) -> None:
    now = utcnow()
    with Session(client.app.state.engine) as session:
        for query, results, interventions, score, days in SEARCHES:
            session.add(
                QueryLog(
                    query=query,
                    results=results,
                    interventions=interventions,
                    top_score=score,
                    created_at=now - timedelta(days=days, minutes=1),
                )
            )
        session.commit()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_report_aggregates_normalised_queries(client: TestClient):
    seed(client)
    with Session(client.app.state.engine) as session:
        report = query_gaps.query_report(
            session=session, days=30, taxonomy=load_taxonomy(), vocabulary=load_vocabulary()
        )
        week = query_gaps.query_report(session=session, days=7, taxonomy=load_taxonomy())
        quarter = query_gaps.query_report(session=session, days=90, taxonomy=load_taxonomy())
    within_30_days = [row for row in SEARCHES if row[-1] < 30]
    assert report.searches == len(within_30_days) == 10
    assert report.distinct == len({" ".join(row[0].lower().split()) for row in within_30_days}) == 6
    top = report.top[0]
    assert (top.query, top.searches) == ("social prescribing", 3)
    # The three ways "social prescribing" was typed: 40, 38 and 41 passages; 6, 6 and 7 interventions.
    assert top.average_results == pytest.approx((40 + 38 + 41) / 3)
    assert top.average_interventions == pytest.approx((6 + 6 + 7) / 3)
    assert report.top[1].query in ("care home admissions", "zzyzx quilting")
    assert {s.query for s in report.zero} == {"zzyzx quilting", "dtoc"}
    assert {s.query for s in report.poor} == {"falls in care homes", "hospital at home"}
    gaps = {(g.dimension, g.term_id): [q.query for q in g.queries] for g in report.gaps}
    assert "hospital at home" in gaps[("intervention_type", "hospital-at-home")]
    assert "falls in care homes" in gaps[("setting", "care-home")]
    assert gaps[("outcome_measure", "delayed-transfers")] == ["dtoc"]  # through the vocabulary's expansion
    assert ("setting", "home") not in gaps  # only inside "hospital at home"
    assert [s.query for s in report.unmatched] == ["zzyzx quilting"]
    assert week.searches == len([row for row in SEARCHES if row[-1] < 7])
    assert quarter.searches == len(SEARCHES)
    assert "old favourite" not in {s.query for s in report.top}


def test_a_query_is_judged_by_its_latest_search():
    stat = analytics.QueryStat(
        query="x", searches=2, last_results=10, last_interventions=5, last_top_score=0.9
    )
    assert not stat.zero and not stat.poor
    stat.last_top_score = analytics.POOR_TOP_SCORE - 0.01
    assert stat.poor
    stat.last_results = stat.last_interventions = 0
    assert stat.zero and not stat.poor
    assert analytics.normalise_query("  Social\tPrescribing ") == "social prescribing"


def test_the_analytics_page_and_a_task_from_a_zero_result_query(client: TestClient, curator: TestClient):
    seed(client)
    page = curator.get("/curate/analytics")
    assert page.status_code == 200
    body = text_of(page.text)
    assert "social prescribing 3 39.7 6.3" in body
    assert "Queries with no results" in body and "zzyzx quilting" in body
    assert 'value="Content gap: zzyzx quilting"' in page.text
    assert curator.get("/curate/analytics?days=7").status_code == 200
    assert curator.get("/curate/analytics?days=12").status_code == 422

    response = post_form(
        curator,
        "/curate/tasks",
        {"title": "Content gap: zzyzx quilting", "query": "zzyzx quilting", "detail": "Searched twice."},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/curate/tasks")
    with Session(client.app.state.engine) as session:
        [task] = session.exec(select(CurationTask)).all()
    assert (task.title, task.query, task.status) == ("Content gap: zzyzx quilting", "zzyzx quilting", "open")
    assert task.created_by == curator.user.id
    tasks = curator.get("/curate/tasks")
    assert "Content gap: zzyzx quilting" in tasks.text and "Searched twice." in tasks.text
    # the analytics page now points at the open task instead of offering a second one
    again = curator.get("/curate/analytics")
    assert f'href="/curate/tasks#task-{task.id}">Task open' in again.text
    assert 'value="Content gap: zzyzx quilting"' not in again.text

    assert post_form(curator, f"/curate/tasks/{task.id}/done", follow_redirects=False).status_code == 303
    done = text_of(curator.get("/curate/tasks").text)
    assert "Open (0)" in done and "Done (1)" in done
    assert post_form(curator, "/curate/tasks/999/done").status_code == 404
    assert post_form(curator, "/curate/tasks", {"title": "  "}).status_code == 422


def test_a_member_is_refused_analytics_and_tasks(client: TestClient, member: TestClient):
    assert member.get("/curate/analytics").status_code == 403
    assert member.get("/curate/tasks").status_code == 403
    assert post_form(member, "/curate/tasks", {"title": "x"}).status_code == 403
    assert client.get("/curate/analytics", follow_redirects=False).status_code in (303, 401)


def test_the_search_page_records_the_best_score(client: TestClient, tmp_path):
    from tests.conftest import write
    from tests.test_catalogue import KENT
    from web.flows import ingest_and_index

    write(tmp_path / "docs" / "kent.txt", KENT)
    app = client.app
    ingest_and_index(
        [tmp_path / "docs"], settings=app.state.settings, engine=app.state.engine, service=app.state.search
    )
    app.state.catalogue.refresh()
    client.get("/search?q=discharge")
    with Session(app.state.engine) as session:
        [row] = session.exec(select(QueryLog)).all()
    assert row.query == "discharge" and row.top_score is not None and row.top_score > 0
