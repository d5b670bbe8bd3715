"""Every candidate unit is classed before it becomes a record: only local interventions are published by a
trusted ingest; national offers, lessons with no site and pointers wait for review with a reason."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from ingest.interventions import LOCAL, NOT_LOCAL, POINTER, classify_unit
from ingest.pipeline import ingest_paths
from kb.store.models import Intervention
from tests.conftest import write
from web.flows import open_engine


@pytest.mark.parametrize(
    "body",
    [
        "See case study: Torbay's integrated health and social care teams.",
        "For further details, see Annex B.",
        "- See the profile on page 34",
    ],
)
def test_a_unit_that_only_points_elsewhere_is_a_pointer(body):
    judged = classify_unit(title=body, body=body, site="Torbay")
    assert judged.name == POINTER and not judged.publishable()
    assert "points to another part" in judged.reason


@pytest.mark.parametrize(
    "body",
    [
        "See how the falls team was set up in Torbay: a paramedic and a therapist visit within two hours of a "
        "fall, assess the home and arrange strength and balance classes, and admissions after falls fell.",
        "Seeing a GP the same day became possible for every patient after the hub opened in 2016.",
    ],
)
def test_a_real_account_that_starts_with_see_is_not_a_pointer(body):
    assert classify_unit(title="Falls team", body=body, site="Torbay").name == LOCAL


def test_a_unit_with_no_site_is_held_as_not_local():
    judged = classify_unit(
        title="Account managers for every vanguard",
        body="From November, each vanguard will have a named account manager in the national team.",
        site="",
    )
    assert judged.name == NOT_LOCAL and not judged.publishable()
    assert judged.reason.startswith("names no site or local programme")


def test_a_scheme_at_a_named_or_anonymised_site_is_local():
    for site in ("Torbay", "Anonymised"):
        judged = classify_unit(title="Hub", body="The hub was opened in 2016 with the council.", site=site)
        assert judged.name == LOCAL and judged.publishable()
        assert not judged.publishable(threshold=0.95)  # the threshold is a setting (KB_REVIEW_THRESHOLD)


def test_a_trusted_ingest_publishes_local_schemes_and_holds_the_rest_with_the_reason(settings):
    content = (
        "# New care models: support and local schemes\n\n"
        "## National support\n\n"
        "From October the national team will offer every vanguard an account manager, a learning network and "
        "a dashboard of core metrics, and will commission evaluation support for all sites together, so that "
        "learning can be shared across the programme as it develops over the next two years. Support will be "
        "tailored to each care model, with regular reports to the programme board.\n\n"
        "## Torbay integrated teams\n\n"
        "Torbay set up integrated health and social care teams in five localities, each with a single manager, "
        "shared records and one referral line, working with every practice and the community trust to plan "
        "care for the people most at risk of going into hospital. The teams were formed in 2013 and now meet "
        "every morning to agree who needs a visit that day.\n"
    )
    engine = open_engine(settings)
    ingest_paths([write(settings.data_dir.parent / "mixed.md", content)], engine=engine, trigger="test")
    with Session(engine) as session:
        rows = {r.title: r for r in session.exec(select(Intervention))}
    assert rows["Torbay integrated teams"].status == "published"
    assert rows["Torbay integrated teams"].unit_class == LOCAL
    held = rows["National support"]
    assert held.status == "draft" and held.unit_class == NOT_LOCAL and held.class_confidence == 0.75
    assert held.review_note.startswith("Held for review: names no site")


def test_the_catalogue_page_says_how_many_records_wait_for_review(client):
    content = (
        "# Support\n\n## National support\n\n"
        "From October the national team will offer every vanguard an account manager, a learning network and "
        "a dashboard of core metrics, and will commission evaluation support for all sites together, so that "
        "learning can be shared across the programme as it develops over the next two years. Support will be "
        "tailored to each care model, with regular reports to the programme board.\n"
    )
    engine = client.app.state.engine
    settings = client.app.state.settings
    ingest_paths([write(settings.data_dir.parent / "national.md", content)], engine=engine, trigger="test")
    page = client.get("/catalogue").text
    assert "1 more record found in the documents waits for a curator" in page
