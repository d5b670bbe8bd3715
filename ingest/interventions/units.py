"""Units of a document that may each be an intervention, chosen from its structure by rules.

Case studies and short profiles whole; a long profile's sub-sections and list items; an essay's paragraphs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.structure import Section
from ingest.text import STORY_HEADING_RE, paragraph_spans

MIN_BULLET_CHARS = 70
MIN_SECTION_CHARS = 300
LONG_SECTION_CHARS = 2500  # above this a section is an essay or a long account: one unit per paragraph
MIN_PARAGRAPH_CHARS = 200
LEAD_IN_ITEM_CHARS = 220  # list items this short after a lead-in ending in ":" belong to it
SHORT_PROFILE_CHARS = 3500
TEMPLATE_LABELS = {
    "partners",
    "aim",
    "outline",
    "population characteristics",
    "partner organisations",
    "main changes introduced",
    "new contractual arrangements",
    "further information",
}
GENERIC_QUESTIONS = re.compile(
    r"what is your area like|most exciting|most challenging|planning to do next|advice for other|"
    r"further information|partner organisations|population characteristics|^partners$|contents|references|"
    # front and back matter, committee business and scene-setting: never an intervention
    r"^(?:\d+\s+)?(?:foreword|introduction|the partners|purpose of|members|co-opted|apologies|declarations|"
    r"minutes|acknowledg|about (?:this|the)|executive summary|glossary|version|background|case for change|"
    r"date and time|public questions|chairman|committee (?:update|work)|forthcoming|conclusion)",
    re.I,
)
DOING = re.compile(
    r"\b(introduc|develop|establish|set up|created?|launch|commission|pilot|implement|recruit|co-locat|"
    r"deliver|provid|offer|run|extend|expan|integrat|redesign|form|work(?:ed|ing)? with|support|train|"
    r"use[sd]?|built|invest|evaluat|operat|test|trial|roll|open|appoint|employ|host|agree|sign|transfer|"
    r"co-design|engag|co-?ordinat|manag|assess|review|stratif|shar|link|connect|enabl|bring|brought)",
    re.I,
)
NUMBER_PREFIX = re.compile(r"^\s*(?:\d+(?:\.\d+)*\.?|[ivx]+\.)\s+", re.I)


ONE_SCHEME_MAX_CHARS = 8000  # a document this short whose headings only tell one story is one intervention
# The headings of one scheme's account: where it came from, what it does, how, what happened, what was learnt.
ACCOUNT_HEADING = re.compile(
    r"^(?:\d+(?:\.\d+)*\.?\s+)?(?:the\s+)?(?:"
    r"background|context|the (?:problem|challenge|need)|problem|challenge|why\b.*|aims?|objectives?|"
    r"what (?:we|they|the \w+(?: \w+)?) (?:did|does|do|offers?|provides?)\b.*|what was done|what it is|"
    r"(?:the )?(?:service|scheme|model|intervention|approach|project|programme|initiative|innovation)|"
    r"description|overview|summary|in brief|about (?:the|this) (?:service|scheme|project)|"
    r"how\b.*|implementation|delivery|getting started|set-?up|staffing|who (?:is|was) involved|partners|"
    r"results?|outcomes?|impact|evaluation|evidence|benefits|what (?:difference|changed|happened)\b.*|"
    r"(?:key )?(?:lessons?|learning|lessons learn[et]d?)|advice|top tips|tips|challenges|barriers|"
    r"what next|next steps|sustainability|costs?|funding|resources|contacts?|further information"
    r")\s*[?:]?$",
    re.I,
)


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    title: str
    section: Section
    kind: str  # "document", "case_study", "profile", "section", "overview", "bullet" or "paragraph"


def _root(section: Section) -> tuple[str, ...] | None:
    """The path of the case study or profile a section belongs to (None for ordinary sections)."""
    if section.kind not in ("case_study", "profile"):
        return None
    for depth in range(1, len(section.path) + 1):
        head = section.path[depth - 1].lower()
        if section.kind == "case_study" and "case study" in head:
            return section.path[:depth]
        if section.site and section.site.lower()[:12] in head:
            return section.path[:depth]
    return section.path[:2] if len(section.path) >= 2 else section.path


def clean_title(heading: str) -> str:
    title = NUMBER_PREFIX.sub("", heading).strip()
    match = re.match(r"^case study\s*[:–-]\s*(?:[^–]+?\s+–\s+)?(.+)$", title, re.I)
    return (match.group(1) if match else title).strip(" :–-") or heading


def _bullet_title(text: str) -> str:
    body = NUMBER_PREFIX.sub("", text.lstrip("- ").strip())
    for separator in (": ", " – ", " - ", ". "):
        head = body.split(separator, 1)[0]
        if 8 <= len(head) <= 110 and head != body:
            return head.strip()
    words = body.split()
    return " ".join(words[:12]) + ("…" if len(words) > 12 else "")


def one_scheme_unit(text: str, sections: list[Section], *, title: str) -> Unit | None:
    """The whole document as one unit when it is the account of one scheme, whatever its headings: short,
    not a bundle of profiles or case studies, every heading one of an account's (background, what we did, how,
    results, lessons…), and describing something done. Its sections then fill the record's fields."""
    body = [s for s in sections if s.indexable and s.kind not in ("toc", "references", "boilerplate")]
    if not body or not title.strip():
        return None
    start, end = body[0].start, body[-1].end
    if end - start > ONE_SCHEME_MAX_CHARS or any(s.kind in ("profile", "part", "annex") for s in body):
        return None
    if len({s.path[:1] for s in body if s.kind == "case_study"}) > 1:
        return None
    headings = [s.path[-1] for s in body if s.path]
    if not all(ACCOUNT_HEADING.match(clean_title(h)) for h in headings):
        return None
    if (
        not headings and _bullet_count(text, body) >= 3
    ):  # an unheaded list of substantial items: several schemes
        return None
    if any(STORY_HEADING_RE.search(part) for s in body for part in s.path):
        return None
    if end - start < MIN_SECTION_CHARS or GENERIC_QUESTIONS.search(clean_title(title)):
        return None  # a note too short to describe a scheme, or minutes, a foreword, a glossary…
    if not DOING.search(text[start:end]):
        return None
    opening = text[start:end].lstrip()
    if opening.startswith(title.strip()):  # the title line is the record's title, not part of its text
        start = end - len(opening) + len(title.strip())
        start += len(text[start:end]) - len(text[start:end].lstrip())
    return Unit(start, end, clean_title(title), body[0], "document")


def find_units(text: str, sections: list[Section], *, title: str = "") -> list[Unit]:
    if (whole := one_scheme_unit(text, sections, title=title)) is not None:
        return [whole]
    units: list[Unit] = []
    roots: dict[tuple[str, ...], list[Section]] = {}
    for section in sections:
        if section.indexable and (root := _root(section)) is not None:
            roots.setdefault(root, []).append(section)
    done_roots: set[tuple[str, ...]] = set()
    overviewed: set[tuple[str, ...]] = set()
    for section in sections:
        if not section.indexable:
            continue
        root = _root(section)
        if root is not None and root not in done_roots:
            members = roots[root]
            start, end = members[0].start, members[-1].end
            whole = section.kind == "case_study" or (
                end - start <= SHORT_PROFILE_CHARS and _bullet_count(text, members) < 3
            )
            if whole:
                done_roots.add(root)
                units.append(Unit(start, end, clean_title(root[-1]), members[0], section.kind))
                continue
            overview = _overview(members) if root not in overviewed else None
            overviewed.add(root)
            if overview is not None:
                units.append(
                    Unit(
                        overview[0],
                        overview[1],
                        f"{_programme_name(root[-1])}: programme overview",
                        members[0],
                        "overview",
                    )
                )

        if root is not None and root in done_roots:
            continue
        units.extend(_section_units(text, section))
    return units


OVERVIEW_HEADINGS = re.compile(
    r"what is your area like|what are you aiming|our aims?\b|^aim$|population characteristics", re.I
)


def _overview(members: list[Section]) -> tuple[int, int] | None:
    """The span of a long profile's opening: its heading, the area and the aims (the programme in brief)."""
    if not members:
        return None
    end = None
    for section in members[1:4]:
        if section.path and OVERVIEW_HEADINGS.search(section.path[-1]):
            end = section.end
    return (members[0].start, end) if end else None


def _programme_name(heading: str) -> str:
    name = re.sub(r"\s*[–-]\s*profile\s*$", "", clean_title(heading), flags=re.I)
    return name.strip() or heading


def _bullet_count(text: str, sections: list[Section]) -> int:
    return sum(
        1
        for s in sections
        for a, b in paragraph_spans(text, s.start, s.end)
        if text[a:b].startswith("- ") and b - a >= MIN_BULLET_CHARS
    )


def _section_units(text: str, section: Section) -> list[Unit]:
    """Units of an ordinary section: each substantial list item that describes something done; and the
    section itself when it is a short account, or each substantial paragraph of a long essay-like one.
    An illustrative story ("How it could happen", a patient's story) is never an intervention."""
    heading = section.path[-1] if section.path else ""
    if any(STORY_HEADING_RE.search(part) for part in section.path):
        return []
    generic = bool(GENERIC_QUESTIONS.search(heading) or OVERVIEW_HEADINGS.search(heading))
    question = heading.rstrip().endswith("?")  # a profile's question: its list items are the interventions
    units, prose = [], []
    paragraphs = list(paragraph_spans(text, section.start, section.end))
    absorbed_until = -1
    for index, (a, b) in enumerate(paragraphs):
        if a < absorbed_until:
            continue
        paragraph = text[a:b]
        end = _lead_in_end(text, paragraphs, index) if paragraph.rstrip().endswith(":") else b
        if paragraph.startswith("- "):
            if b - a >= MIN_BULLET_CHARS and DOING.search(paragraph):
                units.append(Unit(a, end, _bullet_title(paragraph), section, "bullet"))
                absorbed_until = end
        elif paragraph.strip() != heading.strip():
            prose.append((a, end))
            absorbed_until = end
    if generic or question or not heading or heading.lower() in TEMPLATE_LABELS or not prose:
        return units
    prose_chars = sum(b - a for a, b in prose)
    if prose_chars > LONG_SECTION_CHARS:
        for a, b in prose:
            paragraph = text[a:b]
            if b - a >= MIN_PARAGRAPH_CHARS and DOING.search(paragraph) and not paragraph.endswith(":"):
                units.append(Unit(a, b, _paragraph_title(paragraph, heading), section, "paragraph"))
    elif prose_chars >= MIN_SECTION_CHARS and DOING.search(text[prose[0][0] : prose[-1][1]]):
        units.insert(0, Unit(section.start, section.end, clean_title(heading), section, "section"))
    return units


def _lead_in_end(text: str, paragraphs: list[tuple[int, int]], index: int) -> int:
    """Where a paragraph ending in ":" ends together with the short list items it introduces
    ("Early findings included:" and its figures)."""
    end = paragraphs[index][1]
    for a, b in paragraphs[index + 1 :]:
        if not text[a:b].startswith("- ") or b - a > LEAD_IN_ITEM_CHARS:
            break
        end = b
    return end


def _paragraph_title(paragraph: str, heading: str) -> str:
    first = re.split(r"(?<=[.!?])\s", NUMBER_PREFIX.sub("", paragraph.strip()), maxsplit=1)[0]
    words = first.split()
    return " ".join(words[:14]) + ("…" if len(words) > 14 else "")
