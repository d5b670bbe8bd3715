"""Interventions: a sectioned document -> intervention records, from its candidate units, each classed, described,
tagged and graded; and a curated record from a corpus case's own metadata."""

from ingest.interventions.classes import LOCAL, NOT_LOCAL, POINTER, REVIEW_THRESHOLD, UnitClass, classify_unit
from ingest.interventions.curated import curated_intervention, is_curated
from ingest.interventions.records import (
    InterventionDraft,
    find_interventions,
    grade_evidence,
    outcome_dict,
    resolve_site,
    tag_text,
)

__all__ = [
    "LOCAL",
    "NOT_LOCAL",
    "POINTER",
    "REVIEW_THRESHOLD",
    "InterventionDraft",
    "UnitClass",
    "classify_unit",
    "curated_intervention",
    "find_interventions",
    "grade_evidence",
    "is_curated",
    "outcome_dict",
    "resolve_site",
    "tag_text",
]
