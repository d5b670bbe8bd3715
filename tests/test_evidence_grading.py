"""Evidence levels told by tense and status: a plan, bid, aim or next year's item is level 0 wherever it sits."""

from __future__ import annotations

import pytest

from ingest.clean import clean_text
from ingest.interventions import find_interventions, grade_evidence
from ingest.parse import parse_bytes
from ingest.pipeline import domain_knowledge
from ingest.structure import detect_structure


@pytest.mark.parametrize(
    "text",
    [
        "Plans are being developed to expand the integrated hub into a single point of access for rapid response.",
        "We will extend the frailty service to every locality by 2019, subject to funding from the CCG.",
        "A bid for transformation funding is being prepared to pilot a community geriatrician service.",
        "The partners intend to commission a shared care record next year.",
    ],
)
def test_a_plan_is_level_0(text):
    assert grade_evidence(text, [])[0] == "0"


@pytest.mark.parametrize(
    "text",
    [
        "The integrated hub was launched in 2015 and now takes referrals seven days a week; it will expand next year.",
        "A falls response team has been set up with the ambulance service and visits within two hours.",
        "Care coordinators were recruited in each practice and work with the district nurses.",
    ],
)
def test_something_done_is_not_a_plan_because_it_also_mentions_the_future(text):
    assert grade_evidence(text, [])[0] == "1"


def test_everything_under_a_next_year_heading_is_a_plan():
    text = (
        "# Riverside pioneer\n\n## What are you planning to do next year?\n\n"
        "- Roll out the integrated neighbourhood teams model to the remaining four localities, working with "
        "every practice and the community trust to share one record and one referral line.\n\n"
        "## What have you achieved?\n\n"
        "- Integrated neighbourhood teams were established in two localities, working with every practice "
        "and the community trust to share one record and one referral line.\n"
    )
    vocabulary, taxonomy = domain_knowledge()
    parsed = parse_bytes(text.encode(), filename="riverside.md")
    cleaned = clean_text(parsed.text).text
    structure = detect_structure(cleaned, title=parsed.title)
    drafts = find_interventions(
        cleaned,
        structure.sections,
        document_key="t",
        vocabulary=vocabulary,
        taxonomy=taxonomy,
        title="Riverside",
    )
    levels = {d.title.split()[0]: d.evidence_level for d in drafts}
    assert levels == {"Roll": "0", "Integrated": "1"}
