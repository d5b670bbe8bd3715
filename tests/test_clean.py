"""Tests for ingest.clean against real conversion damage copied from the seed documents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.clean import CleanedText, clean_text

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"


def paragraphs(raw: str) -> list[str]:
    return clean_text(raw).text.split("\n\n")


def dropped_rules(result: CleanedText) -> set[str]:
    return {rule.split(":")[0] for rule, _ in result.dropped}


# --- output format ---------------------------------------------------------------------------------


def test_output_is_paragraphs_separated_by_one_blank_line() -> None:
    # seed 000 L1-10: a single-space line, title lines and runs of blank lines.
    result = clean_text(" \nDeveloping new models of care in the PACS vanguards\n\n\n\nEditors  \n\n\n")
    assert result.text == "Developing new models of care in the PACS vanguards\n\nEditors"


def test_headings_stay_their_own_paragraph() -> None:
    # seed 004 L68-72: numbered heading, sub-heading, body.
    raw = (
        "1 Barnsley Pioneer Programme – Profile\n\n1.1 What is your area like?\n\n"
        "The borough of Barnsley has a population of approximately 235,800 residents.\n"
    )
    assert paragraphs(raw) == [
        "1 Barnsley Pioneer Programme – Profile",
        "1.1 What is your area like?",
        "The borough of Barnsley has a population of approximately 235,800 residents.",
    ]


# --- unicode -----------------------------------------------------------------------------------------


def test_normalise_unicode_quotes_dashes_and_lookalikes() -> None:
    # seed 003 L525 curly quotes; seed 002 L73 "capacity –investing"; seed 000 L41 Greek Alpha.
    raw = (
        "apply to become ‘vanguard’ sites\n\nContinue to build "
        "evaluation capability and capacity –investing\n"
    )
    assert paragraphs(raw) == [
        "apply to become 'vanguard' sites",
        "Continue to build evaluation capability and capacity – investing",
    ]
    assert clean_text("Αppendix: PACS site profiles").text == "Appendix: PACS site profiles"


def test_normalise_unicode_removes_ocr_garbage_cells() -> None:
    # seed 002 L166: the "Number of sites" cell is Kannada letters.
    raw = (
        "PACSs\tIntegrates the provision of hospital and mental health "
        "services\tರಾ\t• Foundation trust (3) • CCG (4)"
    )
    result = clean_text(raw)
    assert result.text == (
        "PACSs | Integrates the provision of hospital and mental "
        "health services | Foundation trust (3); CCG (4)"
    )
    assert ("normalise_unicode:ocr_garbage", "ರಾ") in result.dropped


def test_strip_citation_markers_superscripts_are_removed_not_folded_into_figures() -> None:
    # seed 002 L88 and seed 001 L105: NFKC would give "England2" and "success1".
    assert clean_text("Simon Stevens, Chief Executive of NHS England²").text.endswith("NHS England")
    text = clean_text("leads to greater success¹. It builds continuous improvement into implementation").text
    assert text == "leads to greater success. It builds continuous improvement into implementation"


def test_strip_citation_markers_bare_numbers_after_sentence_end() -> None:
    # seed 002 L116 and L120: "11,12" and "15,16" are citations, not figures.
    raw = (
        "Funding ranged from around £500,000 to £8m per vanguard site per year. 11,12 The programme gave "
        "sites flexibility as to how they spent this money."
    )
    text = clean_text(raw).text
    assert "per year. The programme" in text and "11,12" not in text
    # seed 002 L106: a real count after a sentence end stays.
    assert "45 local" in clean_text("geographies. 45 local, middle to senior clinical leaders").text


def test_strip_citation_markers_latex_daggers_stars_and_mangled_entity() -> None:
    # seed 002 L102, L209, L217, L221.
    assert clean_text("primary and acute care systems (PACSs).^{6,7,8} Of the 50").text == (
        "primary and acute care systems (PACSs). Of the 50"
    )
    assert clean_text("as an organising principle for service delivery.* Within these localities").text == (
        "as an organising principle for service delivery. Within these localities"
    )
    assert clean_text("the creation of 'I' statements † for residents.").text == (
        "the creation of 'I' statements for residents."
    )
    assert clean_text("^{† &#}x27;I' statements focus on the feelings or beliefs of the speaker").text == (
        "'I' statements focus on the feelings or beliefs of the speaker"
    )


def test_tab_split_drop_cap_is_rejoined() -> None:
    # seed 000 L20 (inside a contents page, so test the body form of the artefact).
    assert clean_text("Ke\ty messages").text == "Key messages"


# --- contents pages --------------------------------------------------------------------------------


def test_drop_contents_pages_tab_entries_and_drop_caps() -> None:
    # seed 000 L18-25 and L41.
    raw = (
        "Contents\n\nKe\ty messages\t5\n1\tIntroduction\t7\n\tPrimary and acute care systems\t7\n"
        "Αp\tpendix: PACS site profiles\t46\n\nSalford Together\t54\nAbout the editors\t\n\n"
        "Key messages\n\n- National bodies can support large-scale change.\n"
    )
    result = clean_text(raw)
    assert result.text == "Key messages\n\n- National bodies can support large-scale change."
    assert ("drop_contents_pages", "Contents") in result.dropped


def test_drop_contents_pages_seed_004_keeps_real_headings() -> None:
    # seed 004 L7-13, L37, L66-68: "N Title.....<TAB>page", "N<TAB>Title<TAB>page", "N Title page".
    raw = (
        "Contents\n\nContents.....\t2\n1 Barnsley Pioneer Programme – Profile\t5\n"
        "4 Cheshire Pioneer Programme – Profile.....\t15\n\n"
        "27\tCase study: North West London – Profiling the population according to need\t83\n\n"
        "55 The CIS Financial Model and its example for integration 154\n\n"
        "1 Barnsley Pioneer Programme – Profile\n\n1.1 What is your area like?\n"
    )
    assert paragraphs(raw) == ["1 Barnsley Pioneer Programme – Profile", "1.1 What is your area like?"]


def test_drop_contents_pages_dot_leaders_and_page_first_styles() -> None:
    # seed 003 L2626-2636 (dot leaders, "Glossary 4", indented) and L1916-1919 ("page<TAB>Title").
    raw = (
        "Table of Contents\n\nTable of Contents..... 2\n\nGlossary 4\n\n Introduction to the pathway 15\n\n"
        "Dependencies and developments..... 12\n\nVersion Number\tPurpose/Change\n\n"
        "Contents\n\n3\tForeword Aylesbury Vale CCG\n4\tForeword Chiltern CCG\n\nForeword\n"
    )
    text = clean_text(raw).text
    assert "....." not in text and "Glossary" not in text and "Foreword Chiltern" not in text
    assert text.endswith("Foreword")


def test_stray_contents_heading_is_dropped() -> None:
    # seed 002 L40-42.
    assert clean_text("Contents\n\nExecutive summary\n").text == "Executive summary"


# --- boilerplate -------------------------------------------------------------------------------------


def test_fix_field_code_residue_split_over_two_lines() -> None:
    # seed 003 L2690-2691 (outside a contents page the sentence is kept).
    raw = "The development of this FBC. Error!\n Bookmark not defined.\n"
    result = clean_text(raw)
    assert result.text == "The development of this FBC."
    assert "fix_field_code_residue" in dropped_rules(result)


def test_drop_boilerplate_council_footer_even_when_split() -> None:
    # seed 003 L98-106 (footer cuts through a list) and L152-153 (footer on two lines).
    raw = (
        "- Public health and wellbeing\n- NHS services\n\n"
        "Visit democracy.buckscc.gov.uk for councillor information and email alerts for meetings, and "
        "decisions affecting your local area. Catch up with latest County Council democracy news on twitter "
        "@BucksDemocracy\n\n\n\n- Health and social care commissioning\n\n"
        "Visit democracy.buckscc.gov.uk for councillor information and email alerts for meetings, and "
        "decisions affecting your local area.\n"
        "Catch up with latest County Council democracy news on twitter @BucksDemocracy\n"
    )
    assert paragraphs(raw) == [
        "- Public health and wellbeing",
        "- NHS services",
        "- Health and social care commissioning",
    ]


def test_drop_boilerplate_follow_us_lines_and_continuations() -> None:
    # seed 003 L971-974 (markdown links over several lines), L1890 (bare handles), L1728-1729 (# targets).
    raw = (
        "Expected outcomes include a reduction in emergency admissions.\n\n"
        "Follow us: [@blackpoolccg](https://twitter.com/blackpoolccg)\n"
        "[@fyldeandwyreccg](https://twitter.com/fyldeandwyreccg) [@BlackpoolHosp](https://twitter.com/BlackpoolHosp)\n"
        "[@lancashirecare](https://twitter.com/lancashirecare)\n\n"
        "Follow us: @MidYorkshireNHS @DBH_NHSFT @SheffChildrens @royalhospital @MidYorkshireNHS\n\n"
        " Follow us: [@rjah_NHS](#) [@ROHNHSFT](#)\n[@RNOHnhs](#)\n"
    )
    result = clean_text(raw)
    assert result.text == "Expected outcomes include a reduction in emergency admissions."
    assert "drop_boilerplate" in dropped_rules(result)


def test_drop_boilerplate_isbn_hashtags_and_webcast_notice() -> None:
    # seed 002 L608, seed 003 L495-496 and L121-135.
    raw = (
        "ISBN: 978-1-911615-03-3 Registered charity number: 286967 © 2017 The Health Foundation\n\n"
        "www.england.nhs.uk/futureNHS\n#futureNHS\n\nWebcasting notice\n\n"
        "Please note: this meeting may be filmed for subsequent "
        "broadcast via the Council's internet site.\n\n"
        "Members\n\nMr B Roberts (C)\n"
    )
    assert paragraphs(raw) == ["www.england.nhs.uk/futureNHS", "Members", "Mr B Roberts (C)"]


def test_drop_repeated_lines_keeps_repeated_headings() -> None:
    # seed 003 PARTNERS/AIM/OUTLINE x50; seed 000 "Population characteristics" x9 are headings, not footers.
    profile = "PARTNERS\n\nWirral Partners.\n\nAIM\n\nTo improve care.\n\nPopulation characteristics\n\n"
    text = clean_text(profile * 4).text
    assert text.count("AIM") == 4 and text.count("Population characteristics") == 4


def test_drop_logo_residue() -> None:
    # seed 003 L31-42: district council logos inside agenda item 4.
    raw = (
        "CHILTERN\nDistrict Council\n\n\n\nSouth Bucks\nDistrict "
        "Council\n\nFor full guidance on Public Questions:\n"
    )
    result = clean_text(raw)
    assert result.text == "For full guidance on Public Questions:"
    assert ("drop_logo_residue", "CHILTERN") in result.dropped


def test_drop_logo_residue_of_any_organisation() -> None:
    # The rule knows organisation types, not names: logos of bodies the seeds never mention go too, and a
    # named council beside a logo is part of the strip (seed 004 L2163-2170 has that shape).
    raw = (
        "Kirklees\nCouncil\n\nNHS\nLeeds\nClinical Commissioning Group\n\n"
        "Calderdale Council\n\nhealthwatch\nCalderdale\n\nThe three partners share one plan.\n"
    )
    result = clean_text(raw)
    assert result.text == "The three partners share one plan."
    assert {text for rule, text in result.dropped if rule == "drop_logo_residue"} == {
        "Kirklees", "Council", "NHS", "Leeds", "Clinical Commissioning Group", "Calderdale Council",
        "healthwatch", "Calderdale",
    }  # fmt: skip


@pytest.mark.parametrize(
    "heading",
    [
        "South Tyneside Council",
        "Buckinghamshire County Council\nSelect Committee\nHealth and Adult Social Care",
        "NHS England",
        "Dr Malcolm Jones\nPrimary Care Lead AVCCG",
        "Foreword",
    ],
)
def test_names_and_headings_above_their_text_are_not_logos(heading: str) -> None:
    # seed 003 L5-7 (the committee's title block) and L1970-1971 (a signature): names, but no type alone.
    raw = f"{heading}\n\nThe council's select committee met to review the plan.\n"
    lines = heading.split("\n")
    assert paragraphs(raw)[: len(lines)] == lines


# --- page numbers ------------------------------------------------------------------------------------


def test_strip_page_numbers_stamps_and_glued_numbers_in_sequence() -> None:
    # seed 003 L796 "26", L854 "27 This vanguard…", L990 "30 AIM", L1702 "46 OUTLINE", L1880 "og The…".
    raw = (
        "26\n\n27 This vanguard aims to transform the way care is provided locally.\n\n30 AIM\n\n"
        "34 These organisations serve a population of around 250,000.\n\n46 OUTLINE\n\n"
        "og The programme aims to develop a clinical strategy involving different models.\n"
    )
    assert paragraphs(raw) == [
        "This vanguard aims to transform the way care is provided locally.",
        "AIM",
        "These organisations serve a population of around 250,000.",
        "OUTLINE",
        "The programme aims to develop a clinical strategy involving different models.",
    ]


def test_strip_page_numbers_keeps_real_leading_figures() -> None:
    # seed 003 L1226, L1506, L3370 and seed 004 L1976, L2106: real facts that start with a number.
    raw = (
        "34 These organisations serve a population of around 250,000.\n\n"
        "12 GP practices in Rushcliffe are coming together as a 'partnership of partners'.\n\n"
        "39 This vanguard focuses on the wider determinant of wellbeing.\n\n"
        "10 West Yorkshire Clinical Commissioning Groups; Harrogate and Rural Districts CCG.\n\n"
        "2014 saw the launch of our programme of NHS IQ-facilitated workshops.\n\n"
        "203 staff returned a simple survey.\n"
    )
    text = clean_text(raw).text
    for fact in ("12 GP practices", "10 West Yorkshire", "2014 saw the launch", "203 staff returned"):
        assert fact in text


def test_strip_page_numbers_never_touches_seed_004_section_headings() -> None:
    # seed 004 L68, L210, L2477-style numbered headings; no page stamps in this document.
    raw = (
        "1 Barnsley Pioneer Programme – Profile\n\n3 Case study: Barnsley – Holistic Care Project\n\n30 AIM\n"
    )
    assert paragraphs(raw)[:2] == [
        "1 Barnsley Pioneer Programme – Profile",
        "3 Case study: Barnsley – Holistic Care Project",
    ]


def test_strip_page_numbers_keeps_the_number_of_any_part_heading() -> None:
    # The class of heading seed 004 numbers ("3 Case study: …", "1 Barnsley Pioneer Programme – Profile"), in
    # other words and other places: the number is the part's own, even where it fits the page sequence.
    raw = (
        "6\n\n7 Case study: Torbay – Integrated care teams\n\n"
        "8 Morecambe Bay Better Care Together – Profile\n\n9 Annex B: Data sources\n\n"
        "10 Part 2 – What we learned\n\n11 The team met weekly to review every referral.\n\n"
        "12 Part of the team met weekly to review every referral.\n"
    )
    assert paragraphs(raw) == [
        "7 Case study: Torbay – Integrated care teams",
        "8 Morecambe Bay Better Care Together – Profile",
        "9 Annex B: Data sources",
        "10 Part 2 – What we learned",
        "The team met weekly to review every referral.",
        "Part of the team met weekly to review every referral.",  # "Part of" is prose: its number is a stamp
    ]


def test_strip_page_numbers_on_any_label_heading_in_capitals_only_in_the_page_sequence() -> None:
    # "30 AIM" after page 29 is a stamp on a label heading, whatever the label; "3 MINUTES", an agenda
    # item before any page number (seed 003 L238), keeps its number.
    raw = "29\n\n30 RESULTS\n\nAdmissions fell.\n\n31\n\n32 BACKGROUND\n"
    assert paragraphs(raw) == ["RESULTS", "Admissions fell.", "BACKGROUND"]
    assert paragraphs("3 MINUTES\n\nThe minutes of the last meeting were agreed.\n")[0] == "3 MINUTES"


def test_a_numeric_entity_with_a_misplaced_brace_is_decoded() -> None:
    # seed 002 L221 has "&#}x27;"; the same slip on any numeric entity is mended the same way.
    assert clean_text("^{1 &#}39;Better care' starts at home").text == "'Better care' starts at home"
    assert clean_text("^{3 &#}x22;Home first&#x22; works").text == '"Home first" works'


# --- signposts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Visit democracy.example.gov.uk for councillor information and email alerts for meetings.",
        "Catch up with the latest council news on twitter @ExampleDemocracy",
        "Find out more at www.exampleccg.nhs.uk/integrated-care",
        "Keep up to date with the programme at https://example.org/news. Follow @ExampleNHS for updates.",
    ],
)
def test_a_signpost_to_a_website_or_account_is_dropped(line: str) -> None:
    result = clean_text(f"Our integrated teams visit people at home.\n\n{line}\n\nResults\n")
    assert result.text == "Our integrated teams visit people at home.\n\nResults"
    assert ("drop_boilerplate:signpost", line) in result.dropped


@pytest.mark.parametrize(
    "line",
    [
        "Case study – Torbay",
        "Morecambe Bay – Profile",
        "Results",
        "What we did",
        "Visit the hub to see how the teams work together.",
        "Visit www.torbay.gov.uk: admissions fell by 12% in the first year.",
        "The toolkit is available at www.example.nhs.uk for every practice.",
        "Find out more about how the teams work in the case study below.",
        "Following the review, the CCG commissioned the service from www.example.org in 2016.",
    ],
)
def test_a_heading_or_sentence_that_mentions_a_website_is_not_a_signpost(line: str) -> None:
    assert clean_text(f"{line}\n").text == line


# --- broken paragraphs and tokens --------------------------------------------------------------------


def test_join_broken_paragraphs_at_page_breaks() -> None:
    # seed 003 L2233/2235 and seed 004 L197/199 (spurious bullet on the continuation).
    raw = (
        "This might be because they require some additional support in managing their long\n\n"
        "term condition(s) or to check an unexpected health concern.\n\n"
        "- There will be an increase in people who receive a personalised integrated\n\n"
        "- care plan, including the integration of health and social care budgets\n"
    )
    assert paragraphs(raw) == [
        "This might be because they require some additional support in managing their long term condition(s) "
        "or to check an unexpected health concern.",
        "- There will be an increase in people who receive a "
        "personalised integrated care plan, including the "
        "integration of health and social care budgets",
    ]


def test_join_broken_paragraphs_does_not_join_heading_or_numbered_paragraph() -> None:
    # seed 001 L22-24: a heading, then "- i." paragraph (a numbered paragraph, not a continuation).
    raw = "Making sense of the programme\n\n- i. The New Care Models Programme began in March.\n"
    assert paragraphs(raw) == [
        "Making sense of the programme",
        "i. The New Care Models Programme began in March.",
    ]


def test_join_wrapped_lines_with_leading_space() -> None:
    # seed 002 L73-76: hard-wrapped bullet whose continuation lines begin with a space.
    raw = (
        "- Continue to build evaluation capability and capacity –investing in robust local and\n"
        " national evaluation will enable sites to understand if changes are improving care.\n"
    )
    assert clean_text(raw).text == (
        "- Continue to build evaluation capability and capacity – investing in robust local and national "
        "evaluation will enable sites to understand if changes are improving care."
    )


def test_repair_broken_tokens_hyphens_numbers_and_urls() -> None:
    # seed 001 L143, seed 003 L1583, L1593, L3072, seed 002 L516, L543.
    assert clean_text("quality of life for people with long- term conditions").text.endswith(
        "long-term conditions"
    )
    assert (
        "out-of-hours provider"
        in clean_text("share primary care records with the out-of- hours provider,").text
    )
    assert clean_text("This vanguard has a population of 287, 594.").text.endswith("287,594.")
    assert "c.13,000 per" in clean_text("the number of referrals to the SPR will be c.13, 000 per annum").text
    assert clean_text(
        "Available from: www.england.nhs.uk/wp-content/ uploads/2014/10/5yfv-web.pdf"
    ).text.endswith("www.england.nhs.uk/wp-content/uploads/2014/10/5yfv-web.pdf")
    assert (
        "www.nationalvoices.org.uk/publications"
        in clean_text("Available from www.nationalvoices. org.uk/publications/our-publications").text
    )
    assert "pre- and post-discharge" in clean_text("pre- and post-discharge support").text


# --- images, figures, garbage, forms -----------------------------------------------------------------


def test_drop_image_descriptions_and_captions_but_keep_diagram_prose() -> None:
    # seed 001 L1, seed 003 L2044 and L2364 (two photo captions ending in the same place), seed 004 L222.
    raw = (
        "A photograph of a woman and a man in a clinical setting, possibly a hospital or care home.\n\n"
        "River barge – Aylesbury\n\nThe diagram below shows the model of care.\n\n"
        "Clock Tower – Aylesbury\n\nOur goal: care close to home.\n"
    )
    result = clean_text(raw)
    assert result.text == "The diagram below shows the model of care.\n\nOur goal: care close to home."
    assert {text for rule, text in result.dropped if rule == "drop_image_descriptions"} >= {
        "River barge – Aylesbury",
        "Clock Tower – Aylesbury",
    }


def test_a_caption_series_of_another_place_is_dropped() -> None:
    raw = "Harbour wall – Whitby\n\nThe team met weekly.\n\nAbbey steps – Whitby\n\nIt worked.\n"
    assert paragraphs(raw) == ["The team met weekly.", "It worked."]


@pytest.mark.parametrize(
    "headings",
    [
        ["Case study – Torbay"],
        ["Morecambe Bay – Profile"],
        ["Morecambe Bay – Profile", "Salford Together – Profile"],
        ["Case study – Torbay", "Patient story – Torbay"],
        ["Crisis house – Torbay"],
        ["Modern healthcare – a need for integration"],
        ["Primary Care – Voice of the People"],
    ],
)
def test_real_headings_with_a_dash_survive(headings: list[str]) -> None:
    # Headings of the seeds' shape (seed 004 "Case study: Kent – ...", "Patient Story – Mrs T"; seed 003
    # L2086, L2170) and of the same form as a caption: one alone, or a series that names document parts.
    raw = "".join(f"{heading}\n\nThe service saw 4,200 people in its first year.\n\n" for heading in headings)
    kept = paragraphs(raw)
    assert [p for p in kept if p in headings] == headings, kept


def test_drop_garbage_lines_word_salad_and_pseudo_latex() -> None:
    # seed 002 L124 (Figure 1 labels in layout order) and L512 (citations misread as fractions).
    salad = (
        "1. Designing new care 2. 10. models Evaluation Communications and and metrics engagement 9. 3. "
        "Integrated Local National commissioining leadership and provision and delivery Cohort Local 4. New "
        "Workforce operating redesign model 5. 7. Harnessing Governance accountability technology 6."
    )
    latex = (
        r"Source: Stated purposes taken from various documents: $2008, \frac{56,57,58,59}{2009}, \frac{2010$"
    )
    result = clean_text(f"{salad}\n\nFigure 1: The 10 enablers from the national programme team\n\n{latex}\n")
    assert result.text == "Figure 1: The 10 enablers from the national programme team"
    assert [rule for rule, _ in result.dropped].count("drop_garbage_lines") == 2


def test_drop_form_residue_rating_scales_blanks_and_freepost() -> None:
    # seed 004 L2134-2160: the Hebburn postcard.
    raw = (
        "1. Taking an active role in my own health and social care is the most important thing.\n"
        "Strongly disagree 1 2 3 4 5 6 7 8 9 10 *Strongly agree*\n\n"
        "Gender: Male Female **Age:** _____\n\n"
        "FREEPOST RLSH-KHYU-YREH\nNHS (NECSU) Pioneer Programme,\nRiverside House, Newburn,\n"
    )
    result = clean_text(raw)
    assert (
        result.text
        == "1. Taking an active role in my own health and social care is the most important thing."
    )
    assert "drop_form_residue" in dropped_rules(result)


# --- tables and markup -------------------------------------------------------------------------------


def test_convert_tables_forward_fills_merged_cells() -> None:
    # seed 001 L354-356 and L383 (last row lost its empty first cell and gained a trailing tab).
    raw = (
        "Cohort\tNames\tLocation/County\n"
        "Enhanced Health in Care Homes\tNHS Wakefield Clinical "
        "Commissioning Group\tWakefield/West Yorkshire\n"
        "\tGateshead Care Home Project\tGateshead\n"
        "Airedale & Partners\tWest Yorkshire\t\n"
    )
    assert paragraphs(raw) == [
        "Cohort | Names | Location/County",
        "Enhanced Health in Care Homes | NHS Wakefield Clinical "
        "Commissioning Group | Wakefield/West Yorkshire",
        "Enhanced Health in Care Homes | Gateshead Care Home Project | Gateshead",
        "Enhanced Health in Care Homes | Airedale & Partners | West Yorkshire",
    ]


def test_convert_tables_strips_html_and_markdown_rules() -> None:
    # seed 003 L3186 (<p> cells), L3193 (rule fragment), L468 (<ul style=...>, <i>).
    raw = (
        "<p>GPs</p>\t<p>GPs are an integral part of this pathway</p>\n"
        "--------------------------\t--\n"
        'Ageing population\t<ul style="list-style-type: none"> Implement <i>Vanguard</i> model\n'
    )
    result = clean_text(raw)
    assert (
        result.text
        == "GPs | GPs are an integral part of this pathway\n\nAgeing population | Implement Vanguard model"
    )
    assert "convert_tables" in dropped_rules(result)


def test_hostile_html_never_survives() -> None:
    raw = "Intro<script>alert('x')</script> text &lt;img src=x onerror=alert(1)&gt; <b>bold</b>"
    text = clean_text(raw).text
    assert "<" not in text and "alert('x')" not in text and "bold" in text


def test_markdown_pipe_table_with_multiline_cells() -> None:
    # seed 003 L86-91: empty header row "- | | |", rule row, cells containing newlines.
    raw = (
        "- | | | | |\n|----------|--|----------------|------------------|\n| 8 | COMMITTEE WORK PROGRAMME\n"
        "For Members to discuss and agree the work programme for future meetings. | 12.20pm | 125 - 126 |\n"
    )
    assert clean_text(raw).text == (
        "8 | COMMITTEE WORK PROGRAMME For Members to discuss and "
        "agree the work programme for future meetings. "
        "| 12.20pm | 125 - 126"
    )


def test_strip_markup_bold_links_escapes_and_autolinks() -> None:
    # seed 004 L2253, L1463; seed 003 L52.
    raw = (
        "- **Developing a single point of referral** See case study: "
        "[Developing a single point of referral \\(SPoR\\)](#).\n\n"
        "<http://www.leeds.gov.uk/residents/Pages/Health-and-social-care-integration.aspx>\n\n"
        "- 7 STRATEGIC SYSTEM PLANNING - UPDATE** **10.20am 13 - 124**\n"
    )
    assert paragraphs(raw) == [
        "- Developing a single point of referral See case study: "
        "Developing a single point of referral (SPoR).",
        "http://www.leeds.gov.uk/residents/Pages/Health-and-social-care-integration.aspx",
        "- 7 STRATEGIC SYSTEM PLANNING - UPDATE 10.20am 13 - 124",
    ]


def test_normalise_bullets_glyphs_nesting_and_paragraph_numbers() -> None:
    # seed 000 L582 "•", seed 001 L34 " - " nesting, L101 "- 1.13." paragraph anchor.
    raw = (
        "• Website: www.harrogateandruraldistrictccg.nhs.uk\n"
        " - multispecialty community providers (MCPs);\n"
        "– a dash bullet\n"
        "* a star bullet\n"
        "- 1.13. 14 vanguards are already developing new approaches to extended access to primary care.\n"
    )
    assert paragraphs(raw) == [
        "- Website: www.harrogateandruraldistrictccg.nhs.uk",
        "- multispecialty community providers (MCPs);",
        "- a dash bullet",
        "- a star bullet",
        "1.13. 14 vanguards are already developing new approaches to extended access to primary care.",
    ]


# --- contacts ----------------------------------------------------------------------------------------


def test_extract_contacts_split_lines_and_bare_emails() -> None:
    # seed 004 L726-729, L876-877, L2985-2988.
    raw = (
        "The co-ordinator has helped her.\n\n"
        "Contact: Tracey Roose, Chief Executive Age UK Cornwall and the Isles of Scilly,\n"
        "Director of Integration NHS Kernow\n\nEmail: Tracey@ageukcornwall.org.uk\n\n"
        "Contact: Jo Mant, Head of Stakeholder Engagement, Oxleas NHS "
        "Foundation Trust\nJo.mant@oxleas.nhs.uk\n\n"
        "Email: frances.martin@worcestershire.nhs.uk;\nbernie.Gregory@worcestershire.nhs.uk\n\n"
        "51 Case study: Worcestershire – Enhancing the quality of care for care home residents\n"
    )
    result = clean_text(raw)
    assert paragraphs(raw) == [
        "The co-ordinator has helped her.",
        "51 Case study: Worcestershire – Enhancing the quality of care for care home residents",
    ]
    assert result.contacts == [
        "Contact: Tracey Roose, Chief Executive Age UK Cornwall and the Isles of Scilly, "
        "Director of Integration NHS Kernow",
        "Email: Tracey@ageukcornwall.org.uk",
        "Contact: Jo Mant, Head of Stakeholder Engagement, Oxleas NHS Foundation Trust",
        "Jo.mant@oxleas.nhs.uk",
        "Email: frances.martin@worcestershire.nhs.uk; bernie.Gregory@worcestershire.nhs.uk",
    ]


def test_extract_contacts_phone_numbers_and_inline_email() -> None:
    # seed 003 L129 and L133.
    raw = (
        "If you have any queries regarding this, please contact Member Services on 01296 382876.\n\n"
        "Recordings of earlier meetings can be requested (contact: democracy@buckscc.gov.uk)\n"
    )
    result = clean_text(raw)
    assert result.text == "Recordings of earlier meetings can be requested"
    assert "democracy@buckscc.gov.uk" in result.contacts
    assert any("01296 382876" in contact for contact in result.contacts)


# --- whole seeds -------------------------------------------------------------------------------------

SEED_FILES = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []


def _alphabetic_words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]{2,}", text)


@pytest.fixture(scope="module")
def cleaned_seeds() -> dict[str, tuple[str, CleanedText]]:
    if not SEED_FILES:
        pytest.skip(f"seed documents not found at {SEEDS}")
    return {
        path.name[:3]: (path.read_text(encoding="utf-8"), clean_text(path.read_text(encoding="utf-8")))
        for path in SEED_FILES
    }


@pytest.mark.parametrize("seed", ["000", "001", "002", "003", "004"])
def test_whole_seed_is_clean(seed: str, cleaned_seeds: dict[str, tuple[str, CleanedText]]) -> None:
    raw, result = cleaned_seeds[seed]
    text = result.text
    assert "Error! Bookmark" not in text
    assert "..... " not in text and not re.search(r"\.{4,}\s*\d", text)
    assert "\t" not in text
    assert "](http" not in text and "](#)" not in text
    assert "<ul" not in text and not re.search(r"</?[a-z]+[ >]", text)
    assert not re.search(r"^\d+$", text, re.MULTILINE)
    assert "\n\n\n" not in text and not text.endswith("\n")
    assert all(line == line.rstrip() for line in text.split("\n"))
    # No mass deletion: at least 90% of the raw document's alphabetic words survive.
    assert len(_alphabetic_words(text)) >= 0.9 * len(_alphabetic_words(raw))


def test_seed_003_page_numbers_and_false_positives(cleaned_seeds: dict[str, tuple[str, CleanedText]]) -> None:
    raw, result = cleaned_seeds["003"]
    text = result.text
    paras = text.split("\n\n")
    # The brochure's 50 vanguard profiles each have one AIM and one OUTLINE heading (SEED-NOTES, seed 003
    # L583-1890); in the raw text two of them carry a page stamp ("30 AIM", "46 OUTLINE"). Every one survives
    # as a heading of its own.
    for heading in ("AIM", "OUTLINE"):
        in_raw = re.findall(rf"^(?:\d{{1,3}} )?{heading}$", raw, re.MULTILINE)
        assert paras.count(heading) == len(in_raw) == 50
    assert "30 AIM" not in paras and "46 OUTLINE" not in paras
    assert any(p.startswith("12 GP practices in Rushcliffe") for p in paras)
    assert any(p.startswith("10 West Yorkshire Clinical Commissioning Groups") for p in paras)
    assert "24 Jan 2017" in text
    assert "Visit democracy.buckscc.gov.uk" not in text and "Follow us" not in text


def test_seed_004_contacts_removed_and_kept(cleaned_seeds: dict[str, tuple[str, CleanedText]]) -> None:
    raw, result = cleaned_seeds["004"]
    assert "Contact:" not in result.text and "@" not in result.text
    # Every one of the report's 55 sections ends with a "Contact:" line (SEED-NOTES, seed 004): each is kept.
    in_raw = re.findall(r"^Contact:", raw, re.MULTILINE)
    assert sum(contact.startswith("Contact:") for contact in result.contacts) == len(in_raw) == 55
    assert "203 staff returned" in result.text
    assert "1 Barnsley Pioneer Programme – Profile" in result.text.split("\n\n")
    assert "3 Case study: Barnsley – Holistic Care Project" in result.text.split("\n\n")


def test_seed_002_citations_do_not_survive_as_figures(
    cleaned_seeds: dict[str, tuple[str, CleanedText]],
) -> None:
    text = cleaned_seeds["002"][1].text
    for marker in ("11,12", "15,16", "44,45", "^{", "England²", "ω", "ರಾ", "\\frac"):
        assert marker not in text


def test_join_broken_paragraphs_leaves_short_lower_case_lists_alone() -> None:
    # seed 003 L2932-2934: a list of short lower-case bullets separated by a blank line.
    raw = "- refine the model\n\n- ensure that all teams can be fully involved for the duration\n"
    assert paragraphs(raw) == [
        "- refine the model",
        "- ensure that all teams can be fully involved for the duration",
    ]
