"""A member's submitted case study, read by the same rules as an ingested document: its tags, outcome figures
and evidence level proposed for the curator who reviews it."""

from __future__ import annotations

from ingest.interventions import grade_evidence, outcome_dict, tag_text
from ingest.outcomes import extract_outcomes
from kb.curation import Submission
from kb.taxonomy import Taxonomy

SUBMISSION_FIELDS = ("title", "site", "care_model", "summary", "implementation", "results", "lessons")


def proposed_submission(*, values: dict[str, str], contact_consent: bool, taxonomy: Taxonomy) -> Submission:
    """The submission as kb stores it, with what the ingest rules propose for the curator to check.

    Takes the form's text, one entry for each of SUBMISSION_FIELDS ("" when left empty; care_model is a term
    id), whether the member agreed to be contacted, and the taxonomy. The results box is read as results, but a
    target written in it is still found as a target; care-model tags are left to the member's own choice.
    Raises KeyError when a field is missing from `values`; nothing else (empty text proposes nothing).
    """
    body = "\n\n".join(values[k] for k in ("summary", "implementation", "results", "lessons") if values[k])
    outcomes = extract_outcomes(values["results"], site=values["site"] or None) if values["results"] else []
    level, _ = grade_evidence(body, outcomes)
    tags = [t for t in tag_text(body, values["title"], taxonomy) if t["dimension"] != "care_model"]
    return Submission(
        title=values["title"],
        site=values["site"],
        care_model=values["care_model"],
        summary=values["summary"],
        implementation=values["implementation"],
        results=values["results"],
        lessons=values["lessons"],
        contact_consent=contact_consent,
        tags=tags,
        outcomes=[outcome_dict(o) for o in outcomes],
        evidence_level=level,
    )
