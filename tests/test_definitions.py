"""Tests for ingest.definitions: the terms a document defines itself, and what is not a definition."""

from __future__ import annotations

import pytest

from ingest.definitions import best_long_form, definitions_in, is_short_form


def pairs(text: str, kind: str = "acronym") -> list[tuple[str, str]]:
    return [(d.short, d.long) for d in definitions_in(text) if d.kind == kind]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tackling delayed transfers of care (DToC) is a priority.", ("DToC", "delayed transfers of care")),
        ("DToC (delayed transfers of care) fell by a third.", ("DToC", "delayed transfers of care")),
        (
            "Each of the clinical commissioning groups (CCGs) agreed.",
            ("CCGs", "clinical commissioning groups"),
        ),
        (
            "Spend on information management & technology (IM&T) rose.",
            ("IM&T", "information management & technology"),
        ),
        (
            "The plan, led by the multispecialty community provider (MCP; see below), went live.",
            ("MCP", "multispecialty community provider"),
        ),
        ("CCG: clinical commissioning group", ("CCG", "clinical commissioning group")),
        ("LOS\tlength of stay", ("LOS", "length of stay")),
        ("SPoR - single point of referral", ("SPoR", "single point of referral")),
    ],
)
def test_definitions_are_found_in_each_form(text: str, expected: tuple[str, str]) -> None:
    assert pairs(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "Admissions fell in the year to March (2016).",
        "The results are set out in the annex (see page 4).",
        "A survey of carers (n=120) found the service helpful.",
        "Patients in Morecambe Bay (North) were offered the service.",
        "The record runs on Lorenzo (Lorenzo) in two trusts.",
        "The trust (BHT) was part of the work.",  # the letters are not the phrase's initials
        "Bed days fell (15%) over the year.",
        "The CCG (with the council) commissions it.",  # a bracketed aside, not the expansion
        "the (PACS) model",  # nothing before it to expand to
    ],
)
def test_brackets_that_are_not_definitions(text: str) -> None:
    assert pairs(text) == []


def test_short_forms_are_mostly_capitals() -> None:
    assert all(is_short_form(token) for token in ("DToC", "IM&T", "CCGs", "A&E", "EPaCCS"))
    assert not any(is_short_form(token) for token in ("West", "2016", "n=120", "Lorenzo", "see"))


def test_long_form_is_the_shortest_tail_the_letters_fit() -> None:
    assert best_long_form("ICS", "we became an integrated care system") == "integrated care system"
    assert best_long_form("ICS", "we became a care home") is None


def test_known_as_names_the_noun_phrase_before_it() -> None:
    found = pairs(
        "That is the vanguard programme, also known as new care models: a national effort.", "alias"
    )
    assert found == [("new care models", "vanguard programme")]
    assert (
        pairs("When a patient is first seen, it is usually in what is known as Primary Care.", "alias") == []
    )


def test_each_definition_keeps_its_first_line_and_is_listed_once() -> None:
    text = "Intro.\nThe better care fund (BCF) pays.\nLater the better care fund (BCF) again."
    found = definitions_in(text)
    assert [(d.short, d.line) for d in found] == [("BCF", 2)]
    assert found[0].evidence == "The better care fund (BCF) pays."


def test_initials_are_preferred_to_letters_inside_words() -> None:
    assert best_long_form("HHR", "which Hampshire Health Record") == "Hampshire Health Record"
    assert best_long_form("ADSS", "with Alzheimer's and Dementia Support Services") == (
        "Alzheimer's and Dementia Support Services"
    )
    assert best_long_form("ADASS", "the Association of Directors of Adult Social Services") == (
        "Association of Directors of Adult Social Services"
    )
