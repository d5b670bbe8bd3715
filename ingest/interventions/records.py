"""Intervention records: find the interventions a sectioned document describes, tag them, grade their evidence.

Works from document structure and rules, on the CPU, with nothing hosted: case studies and short site
profiles become one record each; a long profile or essay yields one record per substantial sub-section
and per list item that describes something done. Every tag carries a confidence and its provenance
("rule"), and every record keeps the spans of the document that support it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace

from ingest.interventions.classes import LOCAL, UnitClass, classify_unit
from ingest.interventions.units import Unit, find_units
from ingest.outcomes import Outcome, extract_outcomes
from ingest.structure import Section
from ingest.text import paragraph_spans, sentence_spans
from kb.taxonomy import Taxonomy
from kb.vocabulary import Vocabulary, site_display_name, site_mentions, sites_in

MAX_SPAN_CHARS = 1200
PART_OPENING_CHARS = 500
PLAN = re.compile(
    r"\b(will|plan(?:s|ned)? to|planning|aims? to|intend|propos|would|is to be|are to be|going to|by 20\d\d|"
    r"(?:is|are) being (?:developed|designed|explored|scoped|considered)|next year|bid(?:s|ding)? for|"
    r"in development|under development|subject to (?:funding|approval))\b",
    re.I,
)
DONE = re.compile(
    r"\b(has been|have been|was|were|has|have|introduced|established|launched|achieved|now)\b", re.I
)
# The first sentence reports something done ("was launched", "has reduced"): then later plans do not make it one.
DONE_OPENING = re.compile(
    r"\b(has been|have been|was|were|introduced|established|launched|achieved|set up|started|began|"
    r"(?:has|have) (?:\w+ed|\w+en)|now (?:\w+s))\b",
    re.I,
)
COMPARISON = re.compile(
    r"\b(control group|comparison group|matched (?:cohort|control)|counterfactual|randomi[sz]ed)\b", re.I
)
INDEPENDENT = re.compile(r"\b(independent(?:ly)? evaluat\w*|external evaluat\w*|academic evaluat\w*)\b", re.I)
LESSON = re.compile(
    r"\b(lesson|learn(?:t|ed|ing)|advice|key to|success(?:ful)? because|helped|what worked)\b", re.I
)
BARRIER = re.compile(
    r"\b(challeng\w*|barrier|difficult\w*|did not work|didn't work|fail\w*|struggl\w*|problem)\b", re.I
)
HOW = re.compile(
    r"\b(implemented|set up|established|recruited|co-located|commissioned|staffed|funded|piloted|trained|rolled out)\b",
    re.I,
)
PLAN_DOCUMENT = re.compile(
    r"\b(strategy|plan|blueprint|business case|proposal|road ?map|next steps|our goals?)\b", re.I
)
# A heading that asks or announces what is still to come: whatever sits under it is a plan, however it is worded.
PLAN_HEADING = re.compile(
    r"\b(?:planning to|plan(?:s|ning)? for|next year|next steps|future (?:plans|developments|work)|what next|"
    r"priorities for|going forward|the year ahead|will (?:we|you)|intentions?)\b",
    re.I,
)
ANONYMISED = re.compile(r"\banonymi[sz]ed\b|\bnot named\b|\bunnamed sites?\b", re.I)
CARE_MODEL_OF_SITE_TYPE = {
    "pioneer": ("integrated-care-pioneer", "Integrated Care Pioneer"),
    "pacs": ("pacs", "PACS vanguard"),
    "mcp": ("mcp", "MCP vanguard"),
    "ehch": ("ehch", "EHCH vanguard"),
    "uec": ("uec", "UEC vanguard"),
    "acc": ("acc", "ACC vanguard"),
    "stp": ("stp", "STP"),
}
TAGGED_DIMENSIONS = ("intervention_type", "population", "setting", "enabler")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    field: str = "description"


@dataclass
class InterventionDraft:
    key: str
    title: str
    site: str
    site_id: str | None
    programme: str
    care_model: str
    summary: str
    context: str
    implementation: str
    lessons: str
    barriers: str
    evidence_level: str
    evidence_confidence: float
    tags: list[dict] = field(default_factory=list)
    outcomes: list[dict] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    unit_class: UnitClass = UnitClass(LOCAL, 1.0, "")

    @property
    def has_results(self) -> bool:
        return any(o["kind"] == "result" for o in self.outcomes)


# --- describing a unit ----------------------------------------------------------------------


def spans_of(text: str, start: int, end: int) -> list[Span]:
    """The unit cut into citable spans of at most MAX_SPAN_CHARS on paragraph boundaries."""
    spans: list[Span] = []
    group_start = group_end = None
    for a, b in paragraph_spans(text, start, end):
        if group_start is not None and b - group_start > MAX_SPAN_CHARS:
            spans.append(Span(group_start, group_end))  # type: ignore[arg-type]
            group_start = None
        if group_start is None:
            group_start = a
        group_end = min(b, group_start + MAX_SPAN_CHARS)
    if group_start is not None:
        spans.append(Span(group_start, group_end))  # type: ignore[arg-type]
    return spans


def _sentences(text: str) -> list[str]:
    out = []
    for a, b in paragraph_spans(text, 0, len(text)):
        out.extend(text[s:e].strip() for s, e in sentence_spans(text, a, b))
    return [s for s in out if len(s) > 25]


def _pick(sentences: list[str], pattern: re.Pattern[str], limit: int = 2) -> str:
    return " ".join([s for s in sentences if pattern.search(s)][:limit])


def resolve_site(candidates: list[str | None], text: str, vocabulary: Vocabulary) -> tuple[str, str | None]:
    """(site name for readers, site id) from the structure's site, then the unit's own text."""
    for candidate in candidates:
        if candidate:
            found = sites_in(candidate, vocabulary)
            if found:
                return site_display_name(vocabulary.site(found[0])), found[0]
            return candidate.strip(), None
    mentions = Counter(site_mentions(text, vocabulary))
    if mentions:
        site_id, count = mentions.most_common(1)[0]
        # a site named once deep inside a long national text is an example, not the subject
        if count >= 2 or site_id in sites_in(text[:300], vocabulary):
            return site_display_name(vocabulary.site(site_id)), site_id
    site_id = _glued_site(text[:400], vocabulary)
    if site_id:
        return site_display_name(vocabulary.site(site_id)), site_id
    return "", None


def _glued_site(text: str, vocabulary: Vocabulary) -> str | None:
    """A site name run into the next word by the conversion ("Torbayhave operated…")."""
    for site in vocabulary.sites:
        for name in (site.name, *site.aliases):
            if " " not in name and len(name) >= 5 and re.search(rf"\b{re.escape(name)}(?=[a-z])", text):
                return site.id
    return None


_PATTERNS: dict[int, tuple] = {}


def _term_patterns(taxonomy: Taxonomy) -> tuple[tuple[str, object, re.Pattern[str]], ...]:
    """One compiled alternation per taxonomy term (its label and synonyms), built once per taxonomy."""
    if id(taxonomy) in _PATTERNS:
        return _PATTERNS[id(taxonomy)]
    out = []
    for dimension in TAGGED_DIMENSIONS:
        for term in taxonomy.dimensions.get(dimension, ()):
            phrases = sorted(
                {p.lower() for p in (term.label, *term.synonyms) if len(p) > 2}, key=len, reverse=True
            )
            if phrases:
                pattern = re.compile(
                    r"(?<![a-z])(?:" + "|".join(re.escape(p) for p in phrases) + r")(?![a-z])"
                )
                out.append((dimension, term, pattern))
    _PATTERNS[id(taxonomy)] = tuple(out)
    return _PATTERNS[id(taxonomy)]


def tag_text(text: str, title: str, taxonomy: Taxonomy) -> list[dict]:
    """Taxonomy terms whose label or synonyms occur in the text, with a confidence from how often and where."""
    lowered, title_lowered = text.lower(), title.lower()
    tags = []
    for dimension, term, pattern in _term_patterns(taxonomy):
        hits = len(pattern.findall(lowered))
        in_title = bool(pattern.search(title_lowered))
        if hits or in_title:
            confidence = min(0.95, 0.45 + 0.12 * hits + (0.25 if in_title else 0.0))
            tags.append(
                {
                    "dimension": dimension,
                    "id": term.id,
                    "label": term.label,  # type: ignore[attr-defined]
                    "confidence": round(confidence, 2),
                    "provenance": "rule",
                }
            )
    return tags


def grade_evidence(text: str, outcomes: list[Outcome], *, in_a_plan: bool = False) -> tuple[str, float]:
    """A Nesta level (0 plan only … 5), kept apart from the size of any effect, with a confidence.

    `in_a_plan`: the unit sits in a strategy, plan or blueprint, so without a result it is a plan."""
    results = [o for o in outcomes if o.kind == "result"]
    if results and INDEPENDENT.search(text) and COMPARISON.search(text):
        return "4", 0.6
    if results and COMPARISON.search(text):
        return "3", 0.6
    if results:
        return "2", 0.7
    if in_a_plan:
        return "0", 0.65
    opening = text.lstrip()[:200]
    if PLAN.search(opening.split(". ")[0]) and not DONE_OPENING.search(opening.split(". ")[0]):
        return "0", 0.6  # it opens by saying what is to be done ("Plans are being developed to…")
    plans, done = len(PLAN.findall(text)), len(DONE.findall(text))
    if plans and plans >= 2 * max(done, 1):
        return "0", 0.6
    return "1", 0.55


def describe(
    text: str,
    unit: Unit,
    *,
    document_key: str,
    part_site: str | None,
    anonymised: bool,
    vocabulary: Vocabulary,
    taxonomy: Taxonomy,
) -> InterventionDraft:
    body = text[unit.start : unit.end]
    site, site_id = resolve_site([unit.section.site], body, vocabulary)
    if not site and part_site:
        site, site_id = resolve_site([part_site], body, vocabulary)
    if not site and anonymised:
        site = "Anonymised"
    care_model, programme = "", ""
    if site_id:
        care_model, programme = CARE_MODEL_OF_SITE_TYPE.get(vocabulary.site(site_id).type, ("other", "Other"))
    heading = unit.section.path[-1] if unit.section.path else ""
    measured = (
        body[len(heading) :] if heading and body.startswith(heading) else body
    )  # "9 15 MIN CARE…" is no figure
    # why: a one-scheme document opens with its title block, which the structure calls front matter
    section_kind = "case_study" if unit.kind == "document" else unit.section.kind
    outcomes = extract_outcomes(measured, site=site or None, section_kind=section_kind)
    sentences = _sentences(measured)
    in_a_plan = any(PLAN_DOCUMENT.search(part) for part in unit.section.path[:2]) or any(
        PLAN_HEADING.search(part) for part in unit.section.path
    )
    level, confidence = grade_evidence(body, outcomes, in_a_plan=in_a_plan)
    tags = tag_text(body, unit.title, taxonomy)
    for outcome in outcomes:
        term = taxonomy.resolve("outcome_measure", outcome.measure)
        if term and not any(t["id"] == term.id and t["dimension"] == "outcome_measure" for t in tags):
            tags.append(
                {
                    "dimension": "outcome_measure",
                    "id": term.id,
                    "label": term.label,
                    "confidence": round(outcome.confidence, 2),
                    "provenance": "rule",
                }
            )
    if care_model:
        term = taxonomy.resolve("care_model", care_model)
        if term:
            tags.append(
                {
                    "dimension": "care_model",
                    "id": term.id,
                    "label": term.label,
                    "confidence": 0.9,
                    "provenance": "rule: site directory",
                }
            )
    return InterventionDraft(
        key=f"{document_key}#{unit.start}",
        title=unit.title[:200],
        site=site,
        site_id=site_id,
        programme=programme,
        care_model=care_model,
        summary=" ".join(sentences[:2])[:700],
        context=_pick(
            sentences, re.compile(r"\b(population|deprivation|rural|area|residents|people aged)\b", re.I), 1
        ),
        implementation=_pick(sentences, HOW),
        lessons=_pick(sentences, LESSON),
        barriers=_pick(sentences, BARRIER),
        evidence_level=level,
        evidence_confidence=confidence,
        tags=tags,
        outcomes=[outcome_dict(o) for o in outcomes],
        spans=spans_of(text, unit.start, unit.end),
        unit_class=classify_unit(title=unit.title, body=measured, site=site),
    )


def outcome_dict(outcome: Outcome) -> dict:
    return {
        "measure": outcome.measure,
        "direction": outcome.direction,
        "figure": outcome.figure,
        "kind": outcome.kind,
        "period": outcome.period,
        "baseline": outcome.baseline,
        "second_hand": outcome.second_hand,
        "sentence": outcome.sentence,
        "confidence": round(outcome.confidence, 2),
        "provenance": f"rule: {outcome.rule}",
    }


def _part_sites(
    text: str, sections: list[Section], vocabulary: Vocabulary
) -> dict[tuple[str, ...], str | None]:
    """The site each part (a paper of a bundle, an essay) is mostly about, keyed by its heading path, for
    units whose own text names none."""
    spans: dict[tuple[str, ...], tuple[int, int]] = {}
    for section in sections:
        for depth in (1, 2):
            if len(section.path) >= depth:
                key = section.path[:depth]
                start, _ = spans.get(key, (section.start, section.end))
                spans[key] = (start, section.end)
    out: dict[tuple[str, ...], str | None] = {}
    for key, (start, end) in spans.items():
        mentions = Counter(site_mentions(text[start:end], vocabulary))
        top = mentions.most_common(1)
        # a part is about a site only when that site dominates its mentions (not a national overview)
        dominant = top and top[0][1] >= 2 and top[0][1] >= 0.5 * sum(mentions.values())
        # …or when its opening (an essay author's biography, a paper's cover) names one
        opening = sites_in(text[start : min(end, start + PART_OPENING_CHARS)], vocabulary)
        site_id = top[0][0] if dominant else (opening[0] if opening else None)
        out[key] = vocabulary.site(site_id).name if site_id else None
    return out


def find_interventions(
    text: str,
    sections: list[Section],
    *,
    document_key: str,
    vocabulary: Vocabulary,
    taxonomy: Taxonomy,
    title: str = "",
) -> list[InterventionDraft]:
    """One draft per intervention the document describes (see the module docstring for how units are chosen);
    `title`, the document's, names the record when the whole document is the account of one scheme."""
    anonymised = bool(ANONYMISED.search(text[:20000]))
    part_sites = _part_sites(text, sections, vocabulary)
    drafts = []
    for unit in find_units(text, sections, title=title):
        path = unit.section.path
        part_site = (part_sites.get(path[:2]) or part_sites.get(path[:1])) if path else None
        draft = describe(
            text,
            unit,
            document_key=document_key,
            part_site=part_site,
            anonymised=anonymised,
            vocabulary=vocabulary,
            taxonomy=taxonomy,
        )
        if unit.kind in ("bullet", "paragraph") and not draft.outcomes and not _names_an_intervention(draft):
            continue  # a list item or paragraph that names no kind of intervention and reports nothing
        if unit.kind == "document":
            draft = _fields_from_sections(
                draft, text, [s for s in sections if unit.start <= s.start < unit.end]
            )
        drafts.append(draft)
    return drafts


SECTION_FIELDS = (  # an account's headings, and the field of the record each fills
    (
        "summary",
        re.compile(
            r"what (?:we|they|the \w+(?: \w+)?) (?:did|does|do|offers?|provides?)|what was done|"
            r"what it is|description|overview|summary|in brief|service|scheme|model|intervention|approach",
            re.I,
        ),
    ),
    (
        "implementation",
        re.compile(
            r"\bhow\b|implement|delivery|getting started|set-?up|staffing|who (?:is|was) involved", re.I
        ),
    ),
    ("context", re.compile(r"background|context|problem|challenge|need|why", re.I)),
    ("lessons", re.compile(r"lesson|learn|advice|tips", re.I)),
    ("barriers", re.compile(r"barrier|challenges", re.I)),
)


def _fields_from_sections(draft: InterventionDraft, text: str, sections: list[Section]) -> InterventionDraft:
    """A one-scheme document's record takes each field from the section its heading names (the first two
    sentences), where the document has such headings; the sentence-picking rules stay for the rest."""
    filled: dict[str, str] = {}
    for section in sections:
        if not section.path:
            continue
        heading = section.path[-1]
        body = text[section.start : section.end]
        body = body[len(heading) :] if body.startswith(heading) else body
        sentences = _sentences(body)
        if not sentences:
            continue
        for name, pattern in SECTION_FIELDS:
            if name not in filled and pattern.search(heading):
                filled[name] = " ".join(sentences[:2])[:700]
                break
    return replace(draft, **filled) if filled else draft


def _names_an_intervention(draft: InterventionDraft) -> bool:
    return any(t["dimension"] in ("intervention_type", "setting", "population") for t in draft.tags)
