"""What a candidate unit is before it becomes a catalogue record: a local intervention, or one of the things
reports describe that are not one (a national offer, a care-model definition, a cross-site lesson, a pointer).

Only a local intervention — a scheme, team, contract or role at a named site — is published by a trusted
ingest; any other class, or a local one judged with too little confidence, waits in the review queue with
the reason, for a curator to publish, correct or reject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LOCAL = "local_intervention"
NOT_LOCAL = "national_or_generic"
POINTER = "pointer"
REVIEW_THRESHOLD = 0.6  # a record judged local with less confidence than this is held for review

# A unit whose substance is a reference to somewhere else in the document ("See case study: Torbay").
_POINTS_ELSEWHERE = re.compile(
    r"^\W{0,3}(?:for more|for further details?,?\s+)?(?:see|read|refer to)\b.{0,60}?"
    r"\b(?:case stud(?:y|ies)|annex|appendix|page|section|box|figure|chapter|table|profile)\b",
    re.I,
)
POINTER_MAX_CHARS = 300


@dataclass(frozen=True)
class UnitClass:
    name: str
    confidence: float
    reason: str

    def publishable(self, threshold: float = REVIEW_THRESHOLD) -> bool:
        return self.name == LOCAL and self.confidence >= threshold


def classify_unit(*, title: str, body: str, site: str) -> UnitClass:
    """Judge a candidate unit from its own text and the site it was resolved to (see module docstring).

    Takes the unit's title, its text without its heading, and its site ("" when none was found, "Anonymised"
    where the source hides it). Returns the class, a confidence and a reason a curator can read."""
    text = body.strip()
    if len(text) <= POINTER_MAX_CHARS and (_POINTS_ELSEWHERE.match(text) or _POINTS_ELSEWHERE.match(title)):
        return UnitClass(POINTER, 0.8, f"only points to another part of the document: {_clip(text or title)}")
    if not site:
        return UnitClass(
            NOT_LOCAL,
            0.75,
            "names no site or local programme: looks like a national offer, a care-model definition or a "
            f"lesson drawn across sites: {_clip(title)}",
        )
    return UnitClass(LOCAL, 0.8, f"a scheme at {site}")


def _clip(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
