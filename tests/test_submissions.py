"""ingest/submissions.py: a member's case study read by the ingest rules, without the web form around it."""

from __future__ import annotations

from ingest.submissions import SUBMISSION_FIELDS, proposed_submission
from kb.taxonomy import load_taxonomy


def form(**values: str) -> dict[str, str]:
    return dict.fromkeys(SUBMISSION_FIELDS, "") | values


def test_results_are_read_as_results_and_a_target_stays_a_target():
    submission = proposed_submission(
        values=form(
            title="Frailty huddles in care homes",
            site="Airedale",
            care_model="ehch",
            summary="Daily huddles between care home staff and the GP practice for frail older people.",
            results="Emergency admissions from the homes fell by 20% in 2016. We aim to cut falls by 10% next year.",
        ),
        contact_consent=True,
        taxonomy=load_taxonomy(),
    )
    kinds = {o["figure"]: o["kind"] for o in submission.outcomes}
    assert kinds.get("20%") == "result", kinds
    assert kinds.get("10%") == "target", kinds
    assert submission.evidence_level >= "2"  # a measured result is more than a plan
    assert submission.contact_consent and submission.care_model == "ehch"
    dimensions = {t["dimension"] for t in submission.tags}
    assert "care_model" not in dimensions  # the member's own choice, never a rule's
    assert {"population", "setting"} & dimensions, submission.tags


def test_an_empty_form_proposes_nothing():
    submission = proposed_submission(values=form(), contact_consent=False, taxonomy=load_taxonomy())
    assert submission.outcomes == [] and submission.tags == []
    assert submission.evidence_level == "1"
