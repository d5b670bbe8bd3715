"""Passage splitting: size limit, sentence boundaries, offsets, de-duplication, heading paths."""

from __future__ import annotations

from ingest.passages import split_passages
from ingest.structure import Section


def section(text: str, path: tuple[str, ...] = ("Heading",), **kw) -> Section:
    return Section(path=path, kind=kw.pop("kind", "section"), start=0, end=len(text), **kw)


def test_passages_respect_the_size_limit_and_cut_on_sentences():
    sentence = "The team saw every frail patient within two hours of referral. "
    text = "Heading\n\n" + (sentence * 60).strip()
    drafts = split_passages(text, [section(text)], max_chars=400)
    assert len(drafts) >= len(text) // 400  # none longer than the limit, so at least this many
    for draft in drafts:
        assert len(draft.text) <= 400
        assert draft.text.rstrip().endswith(".")
        assert text[draft.char_start : draft.char_end] == draft.text


def test_paragraphs_are_packed_together_up_to_the_limit():
    paragraphs = [f"Paragraph {i} says something useful about care homes and admissions." for i in range(10)]
    text = "\n\n".join(paragraphs)
    drafts = split_passages(text, [section(text, path=())], max_chars=1200)
    assert len(drafts) == 1
    assert drafts[0].char_start == 0 and drafts[0].char_end == len(text)


def test_repeated_paragraph_is_not_indexed_twice():
    repeated = (
        "Some 7,000 people use the telecare service and about half also receive home care or reablement."
    )
    text = f"Profile\n\n{repeated}\n\nCase study\n\nA new paragraph about the hub.\n\n{repeated}"
    first = Section(path=("Profile",), kind="profile", start=0, end=text.index("Case study"))
    second = Section(path=("Case study",), kind="case_study", start=text.index("Case study"), end=len(text))
    drafts = split_passages(text, [first, second])
    assert sum(repeated in d.text for d in drafts) == 1


def test_unindexable_sections_are_skipped_and_paths_carried():
    text = "References\n\n1. Smith J. A paper about something, 2015, with enough words to count."
    drafts = split_passages(text, [section(text, path=("References",), indexable=False)])
    assert drafts == []
    body = "Kent\n\nThe integrated discharge team works at the front door of the hospital every day."
    drafts = split_passages(
        body, [section(body, path=("Kent Pioneer Programme – Profile", "Kent"), site="Kent")]
    )
    assert drafts[0].heading_path == ("Kent Pioneer Programme – Profile", "Kent")
    assert drafts[0].site == "Kent"


def test_a_section_that_is_only_a_heading_makes_no_passage():
    text = "2 Perspectives on the programme"
    assert split_passages(text, [section(text, path=("2 Perspectives on the programme",))]) == []


def test_short_sections_of_one_profile_pack_together_but_never_into_the_next_profile():
    parts = [
        (("Brochure", "Care homes", "28. Sutton Homes of Care"), "Sutton"),
        (("Brochure", "Care homes", "28. Sutton Homes of Care", "AIM"), "Sutton"),
        (("Brochure", "Care homes", "28. Sutton Homes of Care", "OUTLINE"), "Sutton"),
        (("Brochure", "Care homes", "29. Airedale & Partners"), "Airedale"),
    ]
    text, sections = "", []
    for path, site in parts:
        body = f"{path[-1]}\n\nA short paragraph on what {site} did under {path[-1]} for care home residents.\n\n"
        sections.append(
            Section(path=path, kind="profile", start=len(text), end=len(text) + len(body), site=site)
        )
        text += body
    drafts = split_passages(text, sections)
    assert [d.site for d in drafts] == ["Sutton", "Airedale"]
    assert drafts[0].heading_path == ("Brochure", "Care homes", "28. Sutton Homes of Care")
    assert "AIM" in drafts[0].text and "OUTLINE" in drafts[0].text and "Airedale" not in drafts[0].text
