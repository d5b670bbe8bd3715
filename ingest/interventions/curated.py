"""Curated case-study records: a Markdown file whose front matter describes one intervention becomes its record.

Front matter fields (see corpus/cases/): id, title, site, site_aliases, programme, care_model,
intervention_types, population, setting, evidence_level, outcomes, source {document, location}.
Curated tags and outcomes carry the provenance "curator" and full confidence.
"""

from __future__ import annotations

import re

from ingest.interventions.records import CARE_MODEL_OF_SITE_TYPE, InterventionDraft, Span, spans_of
from ingest.text import paragraph_spans
from kb.taxonomy import Taxonomy
from kb.vocabulary import Vocabulary, sites_in

CURATED_FIELDS = {"outcomes", "intervention_types", "evidence_level"}
TAG_FIELDS = {"intervention_types": "intervention_type", "population": "population", "setting": "setting"}
BODY_FIELDS = {
    "what was done": "summary",
    "how it was implemented": "implementation",
    "results": "results",
    "lessons": "lessons",
}
OUTCOME_KINDS = {"result", "activity", "target", "projection", "baseline", "illustrative"}


def is_curated(metadata: dict) -> bool:
    return bool(CURATED_FIELDS & set(metadata))


def _body_sections(text: str) -> dict[str, tuple[int, int]]:
    """field -> (start, end) of the text under each of the record's own headings."""
    marks = []
    for a, b in paragraph_spans(text, 0, len(text)):
        name = BODY_FIELDS.get(text[a:b].strip().lower())
        if name:
            marks.append((name, a, b))
    out = {}
    for i, (name, _, heading_end) in enumerate(marks):
        end = marks[i + 1][1] if i + 1 < len(marks) else len(text)
        out[name] = (heading_end, end)
    return out


def curated_intervention(
    text: str, metadata: dict, *, vocabulary: Vocabulary, taxonomy: Taxonomy
) -> InterventionDraft:
    """The record a curated case study describes; fields not in the front matter come from its body."""
    sections = _body_sections(text)

    def body(name: str) -> str:
        start, end = sections.get(name, (0, 0))
        return re.sub(r"\s+", " ", text[start:end]).strip()

    site = str(metadata.get("site") or "").strip()
    found = sites_in(" ; ".join([site, *map(str, metadata.get("site_aliases") or [])]), vocabulary)
    site_id = found[0] if found else None
    care_model = str(metadata.get("care_model") or "")
    term = taxonomy.resolve("care_model", care_model) if care_model else None
    if term is None and site_id:
        term = taxonomy.resolve(
            "care_model", CARE_MODEL_OF_SITE_TYPE.get(vocabulary.site(site_id).type, ("other",))[0]
        )
    tags = []
    if term:
        tags.append(
            {
                "dimension": "care_model",
                "id": term.id,
                "label": term.label,
                "confidence": 1.0,
                "provenance": "curator",
            }
        )
    for field_name, dimension in TAG_FIELDS.items():
        for value in metadata.get(field_name) or []:
            resolved = taxonomy.resolve(dimension, str(value))
            if resolved:
                tags.append(
                    {
                        "dimension": dimension,
                        "id": resolved.id,
                        "label": resolved.label,
                        "confidence": 1.0,
                        "provenance": "curator",
                    }
                )
    outcomes = []
    for outcome in metadata.get("outcomes") or []:
        if not isinstance(outcome, dict) or not outcome.get("figure"):
            continue
        kind = str(outcome.get("kind") or "result")
        measure = taxonomy.resolve("outcome_measure", str(outcome.get("measure") or "other"))
        outcomes.append(
            {
                "measure": measure.id if measure else "other",
                "direction": str(outcome.get("direction") or ""),
                "figure": str(outcome["figure"]),
                "kind": kind if kind in OUTCOME_KINDS else "result",
                "period": str(outcome.get("period") or ""),
                "baseline": str(outcome.get("baseline") or ""),
                "second_hand": bool(outcome.get("second_hand")),
                "sentence": "",
                "confidence": 1.0,
                "provenance": "curator",
            }
        )
        if measure and not any(t["dimension"] == "outcome_measure" and t["id"] == measure.id for t in tags):
            tags.append(
                {
                    "dimension": "outcome_measure",
                    "id": measure.id,
                    "label": measure.label,
                    "confidence": 1.0,
                    "provenance": "curator",
                }
            )
    spans = [
        Span(span.start, span.end, name)
        for name, (start, end) in sections.items()
        for span in spans_of(text, start, end)
    ] or spans_of(text, 0, len(text))
    level = str(metadata.get("evidence_level", "1"))
    return InterventionDraft(
        key=f"curated:{metadata.get('id') or metadata.get('title')}",
        title=str(metadata.get("title") or "Untitled case study")[:200],
        site=site,
        site_id=site_id,
        programme=str(metadata.get("programme") or ""),
        care_model=term.id if term else "",
        summary=body("summary")[:1500],
        context="",
        implementation=body("implementation")[:1500],
        lessons=body("lessons")[:1500],
        barriers="",
        evidence_level=level if level in {"0", "1", "2", "3", "4", "5"} else "1",
        evidence_confidence=1.0,
        tags=tags,
        outcomes=outcomes,
        spans=spans,
    )
