"""Tests for heading, section and bundle-part detection, on real seed lines and whole seeds."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from ingest.clean import clean_text
from ingest.structure import DocumentStructure, Section, detect_structure, is_heading

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"


# ---------------------------------------------------------------- is_heading on real lines


@pytest.mark.parametrize(
    "line",
    [
        "1.2 What are you aiming to achieve?",
        "1.2 What is your area like?",
        "AIM",
        "30 AIM",
        "OUTLINE",
        "PARTNERS",
        "Population characteristics",
        "Case study: Kent – Integrated discharge team",
        "17 Kent Pioneer Programme – Profile",
        "54 Case study – Information governance and Southend's s251 application",
        "40.2I was given six months to live in 1994 and I'm still fighting for better end of life care",
        "A GP commissioner perspective: Andy Whitfield",
        "Box 1: Care home vanguard - developing a strategy to improve care",
        "Lesson 3 Go where the energy is",
        "How it could happen – the patient's perspective:",
        "Capitated payment",
        "Appendix: PACS site profiles",
    ],
)
def test_is_heading_accepts_real_headings(line: str) -> None:
    assert is_heading(line)


@pytest.mark.parametrize(
    "line",
    [
        "12 GP practices in Rushcliffe are coming together as a 'partnership of partners' to form the "
        "cornerstone of a new multispecialty community provider organisation.",
        "The organisations jointly serve a population of more than 400,000.",
        "- Area governance – co-producing services with local communities",
        "1. Numbered list item",
        "1. Update briefing – power point presentation",
        "2014 saw the launch of our programme of NHS IQ-facilitated workshops",
        "203 staff returned a simple survey",
        "Contact: Dan Carver, Barnsley CCG",
        "Email: dancarver@nhs.net",
        "Website: www.salfordtogether.com",
        "GP lead, EHCH",
        "Figure 1: The 10 enablers from the national programme team",
        "Our stakeholder feedback included:",
        "20",
        "",
        "Two lines\nare a block, not a heading",
    ],
)
def test_is_heading_rejects_body_lines(line: str) -> None:
    assert not is_heading(line)


# ---------------------------------------------------------------- small synthetic documents


def _assert_covers(text: str, structure: DocumentStructure) -> None:
    sections = structure.sections
    assert sections[0].start == 0
    assert sections[-1].end == len(text)
    for before, after in zip(sections, sections[1:], strict=False):
        assert before.end == after.start
        assert before.start < before.end


def test_numbered_sections_nest_by_depth_and_skip_contents() -> None:
    text = (
        "Annual Report 2014\n\nContents\n\n1 Barnsley Pioneer Programme – Profile\t5\n"
        "2 Case study: Barnsley – Holistic Care Project\t9\n3 Case study – Data sharing\t12\n\n"
        "1 Barnsley Pioneer Programme – Profile\n\n1.1 What is your area like?\n\nBarnsley is a borough.\n\n"
        "2014 saw the launch of workshops\n\n"
        "2 Case study: Barnsley – Holistic Care Project\n\nAn information hub.\n\n"
        "3 Case study – Data sharing\n\nA section 251 application.\n"
    )
    structure = detect_structure(text)
    _assert_covers(text, structure)
    assert structure.title == "Annual Report 2014"
    kinds = [s.kind for s in structure.sections]
    assert kinds[:2] == ["front_matter", "toc"] and not structure.sections[1].indexable
    area = next(s for s in structure.sections if s.path[-1:] == ("1.1 What is your area like?",))
    assert area.path == ("1 Barnsley Pioneer Programme – Profile", "1.1 What is your area like?")
    assert area.kind == "profile" and area.site == "Barnsley"
    assert "2014 saw the launch of workshops" in text[area.start : area.end]
    assert [p[0][:1] for p in structure.parts] == ["1", "2", "3"]
    last = structure.sections[-1]
    assert last.kind == "case_study" and last.site is None


def test_page_stamped_label_and_profile_lookahead() -> None:
    text = (
        "New care models: vanguards\n\nNOVEMBER 2015\n\n"
        "The vanguards: multispecialty community providers\n\n"
        "16. Dudley Multispecialty Community Provider\n\n"
        "PARTNERS\n\nDudley CCG.\n\n30 AIM\n\nTo integrate care.\n\nOUTLINE\n\nMore text.\n"
    )
    structure = detect_structure(text)
    _assert_covers(text, structure)
    aim = next(s for s in structure.sections if s.path and s.path[-1] == "AIM")
    assert aim.path[:2] == (
        "The vanguards: multispecialty community providers",
        "16. Dudley Multispecialty Community Provider",
    )
    assert aim.kind == "profile" and aim.site == "Dudley Multispecialty Community Provider"


def test_empty_and_headingless_text_is_one_front_matter_section() -> None:
    assert detect_structure("").sections == [Section((), "front_matter", 0, 0)]
    text = "Just a sentence of prose that is long enough to be body text, and ends with a stop."
    structure = detect_structure(text)
    _assert_covers(text, structure)
    assert structure.parts == []


# ---------------------------------------------------------------- whole seeds


def _stand_in(raw: str) -> str:
    """What the cleaner will roughly give: whitespace-only lines blank, blank runs collapsed to one."""
    lines = ["" if not line.strip() else line for line in raw.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


@cache
def _seed(number: int, variant: str) -> tuple[str, DocumentStructure]:
    if not SEEDS.is_dir():
        pytest.skip("seed documents are not available")
    raw = next(SEEDS.glob(f"{number:03d}_*.txt")).read_text(encoding="utf-8")
    text = _stand_in(raw) if variant == "stand-in" else clean_text(raw).text
    return text, detect_structure(text)


@pytest.fixture(params=["stand-in", "cleaned"])
def variant(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.mark.parametrize("number", range(5))
def test_seed_sections_cover_the_text_exactly(number: int, variant: str) -> None:
    text, structure = _seed(number, variant)
    _assert_covers(text, structure)
    assert structure.title
    for title, start, end in structure.parts:
        assert title and 0 <= start < end <= len(text)


def test_pioneer_report_has_55_parts_15_profiles_and_sited_case_studies(variant: str) -> None:
    _, structure = _seed(4, variant)
    assert len(structure.parts) == 55
    assert [int(title.split()[0]) for title, _, _ in structure.parts] == list(range(1, 56))
    tops = [s for s in structure.sections if len(s.path) == 1]
    profiles = {s.path[0]: s.site for s in tops if s.kind == "profile"}
    assert len(profiles) == 15
    assert profiles["17 Kent Pioneer Programme – Profile"] == "Kent"
    assert profiles["7 Cornwall and the Isles of Scilly Pioneer Programme – Profile"] == (
        "Cornwall and the Isles of Scilly"
    )
    case_sites = {s.site for s in tops if s.kind == "case_study"}
    assert {"Kent", "Barnsley", "WELC", "South Devon and Torbay"} <= case_sites
    assert tops[-1].kind == "annex"
    questions = [s for s in structure.sections if len(s.path) == 2 and s.kind == "profile"]
    assert len({s.path[1] for s in questions if re.match(r"\d+\.[1-8] ", s.path[1])}) == 15 * 8
    kent_aims = next(
        s for s in structure.sections if s.path[-1:] == ("17.2 What are you aiming to achieve?",)
    )
    assert kent_aims.path[0] == "17 Kent Pioneer Programme – Profile" and kent_aims.site == "Kent"


def test_pioneer_section_9_paths_all_start_with_its_heading(variant: str) -> None:
    _, structure = _seed(4, variant)
    title, start, end = structure.parts[8]
    assert title == "9 Case study: Cornwall – An evaluation framework linked to outcomes"
    inside = [s for s in structure.sections if start <= s.start < end]
    assert inside and all(s.path[0] == title and s.end <= end for s in inside)
    assert all(s.site == "Cornwall" and s.kind == "case_study" for s in inside)


def test_pioneer_report_contents_is_not_indexed() -> None:
    text, structure = _seed(4, "stand-in")
    toc = [s for s in structure.sections if s.kind == "toc"]
    assert len(toc) == 1 and not toc[0].indexable
    assert "55 The CIS Financial Model" in text[toc[0].start : toc[0].end]


def test_pacs_essays_find_eleven_perspectives_and_nine_site_profiles(variant: str) -> None:
    _, structure = _seed(0, variant)
    titles = [title for title, _, _ in structure.parts]
    perspectives = [t for t in titles if "perspective:" in t]
    assert len(perspectives) == 11 and perspectives[-1] == "An international perspective: Don Berwick"
    profiles = {s.site for s in structure.sections if s.kind == "profile"}
    assert (
        len(profiles) == 9
        and {"Salford Together", "Wirral Partners", "Northumberland PACS vanguard"} <= profiles
    )
    # Every part is one of those essays or one of the appendix's site profiles (SEED-NOTES, seed 000
    # L132-474 and L519-799), in the document's order: the essays first.
    profile_titles = [t for t in titles if t not in perspectives]
    assert titles == perspectives + profile_titles and len(profile_titles) == len(profiles)
    assert structure.title.startswith("Developing new models of care in the PACS vanguards")
    assert any(s.kind == "references" and not s.indexable for s in structure.sections)


def test_committee_pack_splits_into_its_papers_in_order(variant: str) -> None:
    _, structure = _seed(3, variant)
    titles = [title.lower() for title, _, _ in structure.parts]
    assert len(titles) >= 6
    wanted = [
        "minutes",
        "update briefing|sustainability",
        "new care models",
        "primary care",
        "frail older people",
        "engagement",
        "work programme",
    ]
    positions = [next(i for i, t in enumerate(titles) if re.search(w, t)) for w in wanted]
    assert positions == sorted(positions)
    brochure = next(t for t, _, _ in structure.parts if t.lower().startswith("new care models"))
    dudley = next(s for s in structure.sections if s.site and s.site.startswith("Dudley"))
    assert dudley.path[0] == brochure and dudley.kind == "profile"
    assert any("multispecialty community providers" in p.lower() for p in dudley.path)
    brochure_profiles = {s.site for s in structure.sections if s.kind == "profile" and s.path[0] == brochure}
    assert len(brochure_profiles) == 50


def test_support_offer_finds_the_eight_support_areas_and_annex(variant: str) -> None:
    _, structure = _seed(1, variant)
    areas = sorted({p for s in structure.sections for p in s.path if re.match(r"^[1-8]\. [A-Z]", p)})
    assert len(areas) == 8 and areas[0] == "1. Designing new care models"
    assert any(s.kind == "annex" and s.path[-1] == "Annex A: Vanguard sites" for s in structure.sections)
    assert structure.parts == []


def test_research_report_finds_lessons_boxes_appendix_and_references(variant: str) -> None:
    _, structure = _seed(2, variant)
    lessons = {p for s in structure.sections for p in s.path if re.match(r"^(?:[1-9]|10)\. [A-Z]", p)}
    assert len(lessons) == 10
    boxes = {s.path[-1] for s in structure.sections if s.kind == "case_study"}
    assert len(boxes) == 3 and all(b.startswith("Box") for b in boxes)
    assert any(s.kind == "annex" for s in structure.sections)
    tail = structure.sections[-1]
    assert tail.kind in ("references", "boilerplate") and not tail.indexable
    assert structure.parts == []
