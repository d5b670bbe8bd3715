"""Tests for ingest.text (and kb.text beneath it): sentence ends, table rows and story cues, which every stage
after cleaning and search's passage views read by the same rule."""

from __future__ import annotations

import pytest

from ingest.clean.common import is_tab_row
from ingest.interventions import find_interventions
from ingest.pipeline import domain_knowledge
from ingest.structure import detect_structure
from ingest.text import (
    STORY_HEADING_RE,
    STORY_LEAD_RE,
    STORY_SENTENCE_RE,
    is_table_row,
    paragraph_spans,
    sentence_spans,
    split_sentences,
)
from search.service import passage_views


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def test_sentences_end_at_a_full_stop_before_a_capital_or_a_figure():
    assert sentences("Admissions fell. The hub opened in 2016! 40 staff joined? Yes.") == [
        "Admissions fell.",
        "The hub opened in 2016!",
        "40 staff joined?",
        "Yes.",
    ]
    assert sentences("Costs fell by 3.5 per cent. in the first year") == [
        "Costs fell by 3.5 per cent. in the first year"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "We saw c. 13 people each week.",
        "Wider partners (e.g. LAF briefings) were told.",
        "An enhanced assessment (e.g. MuDAS) follows.",
        "Referred by Dr. Patel and Mrs. Jones to St. Helens.",
        "It took approx. 40 minutes.",
    ],
)
def test_an_abbreviation_does_not_end_a_sentence(text):
    assert sentences(text) == [text]


def test_etc_before_a_capital_ends_the_sentence():
    text = "There are many labels: MCP, PACS, ACO, etc. I hear a remarkable consensus."
    assert sentences(text) == [
        "There are many labels: MCP, PACS, ACO, etc.",
        "I hear a remarkable consensus.",
    ]


def test_a_sentence_keeps_its_closing_quote_or_bracket():
    text = 'From "How can I help you?" to "How can I help you to help yourself?" Staff agreed. (See Annex B.) Then'
    assert sentences(text) == [
        'From "How can I help you?" to "How can I help you to help yourself?"',
        "Staff agreed.",
        "(See Annex B.)",
        "Then",
    ]


def test_sentence_spans_read_only_the_range_asked_for():
    text = "Skip this. Take this one. And this. Not this."
    start = text.index("Take")
    end = text.index(" Not")
    assert [text[s:e] for s, e in sentence_spans(text, start, end)] == ["Take this one.", "And this."]


def test_split_sentences_gives_offsets_into_the_line():
    line = "Falls fell by 20%. Admissions fell by 12% (c. 300)."
    assert split_sentences(line) == [(0, "Falls fell by 20%."), (19, "Admissions fell by 12% (c. 300).")]


def test_paragraph_spans_are_trimmed_and_skip_blank_paragraphs():
    text = "  First para\nstill first. \n\n \n\nSecond.\n"
    assert [text[s:e] for s, e in paragraph_spans(text)] == ["First para\nstill first.", "Second."]


def test_search_cuts_passage_views_on_the_same_sentence_ends():
    long_sentence = (
        "An enhanced assessment " + "of needs " * 41 + "(e.g. MuDAS) follows for everyone referred."
    )
    text = (
        f"{long_sentence} Staff 'said it works.' The hub opened in 2016. "
        + "Falls fell by a fifth in a year. " * 8
    )
    starts = {text[s:e].split()[0] for s, e in sentence_spans(text)}
    views = passage_views(title="Report", heading="Findings", text=text)
    assert len(views) > 2
    for view in views[1:]:
        body = view.split("\n", 1)[1]
        assert body.split()[0] in starts  # every piece starts where a sentence does: never at "MuDAS)"
        assert body.count("'") % 2 == 0  # a closing quote stays with its sentence


@pytest.mark.parametrize(
    "line",
    [
        "Service | Before | After",
        "Falls | 120 | 80",
        "Service\tBefore\tAfter",
        "- Airedale | care homes | 2015",
    ],
)
def test_a_row_of_cells_is_a_table_row(line):
    assert is_table_row(line)


@pytest.mark.parametrize(
    "line",
    ["\tIndented prose after cleaning", "Admissions fell by 12%.", "Either/or|both", "Results"],
)
def test_prose_is_not_a_table_row(line):
    assert not is_table_row(line)


def test_cleaning_reads_a_raw_row_with_an_empty_merged_first_cell_as_a_row():
    assert is_tab_row("\tAiredale & Partners\t2015")
    assert not is_tab_row("Report title | Page 3")  # a raw " | " line waits for convert_tables to decide


@pytest.mark.parametrize(
    "heading",
    [
        "How it could happen – the patient's perspective",
        "Ethel's story",
        "Beatrice’s story",
        "20.1 Patient story – 1",
        "Patient Story – Mrs T",
        "A day in the life of a care co-ordinator",
        "Imagine you are 83 and live alone",
        "Personas",
        "12 Case study: Greenwich – Co-ordinated care – a patient's story",
    ],
)
def test_a_story_heading_is_recognised(heading):
    assert STORY_HEADING_RE.search(heading)


@pytest.mark.parametrize(
    "heading",
    [
        "1.4.6 Integrated personal commissioning",
        "Developing co-production and personalised approaches",
        "Reimagining community services",
        "Case study – Torbay",
        "Results",
        "What we did",
        "The story so far",
    ],
)
def test_a_heading_about_personal_care_or_reimagining_is_not_a_story(heading):
    assert not STORY_HEADING_RE.search(heading)


def test_story_leads_and_sentences():
    assert STORY_LEAD_RE.search("A couple of fictionalised scenarios have been developed to show the model.")
    assert not STORY_LEAD_RE.search("We imagine a service that works for everyone.")
    assert STORY_SENTENCE_RE.search("Mrs T, an 83-year-old, was admitted twice.")
    assert not STORY_SENTENCE_RE.search("Admissions fell by 12% in the first year.")


def test_a_section_on_personal_commissioning_is_an_intervention_but_a_patients_story_is_not():
    text = (
        "Barnsley case study\n\n"
        "Integrated personal commissioning\n\n"
        "Twenty-five adults and six children receiving continuing healthcare funding receive a personal health "
        "budget in Barnsley. The clinical commissioning group introduced the budgets in 2016 and trained care "
        "co-ordinators to plan support with each family, and the scheme was extended to people with learning "
        "disabilities in 2017 after a review with the council.\n\n"
        "Mary's story\n\n"
        "Mary is 83 and lives alone in Barnsley. After the care co-ordinator visited, a personal health budget "
        "paid for a carer three mornings a week, and Mary has not been admitted to hospital since the service "
        "was introduced by the team in 2016.\n"
    )
    vocabulary, taxonomy = domain_knowledge()
    structure = detect_structure(text, title="Barnsley case study")
    titles = [
        d.title
        for d in find_interventions(
            text, structure.sections, document_key="t", vocabulary=vocabulary, taxonomy=taxonomy, title="x"
        )
    ]
    assert "Integrated personal commissioning" in titles
    assert "Mary's story" not in titles
