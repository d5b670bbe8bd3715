"""Decisions stored after ingest (search/settle.py): which titles name one thing at one site."""

from __future__ import annotations

import pytest

from search.settle import same_name, title_words


@pytest.mark.parametrize(
    ("a", "b", "cosine"),
    [
        (
            "Salford Together: programme overview",
            "Salford Together",
            0.84,
        ),  # overview and profile of one programme
        ("The Newton Abbot Frailty Hub", "Newton Abbot Frailty Hub", 0.92),
        (
            "Eclipse Live information sharing project",
            "Our 'Eclipse Live' information sharing project has…",
            0.86,
        ),
        (
            "Developing a single point of referral",
            "Developing a single point of referral See case study",
            0.84,
        ),
    ],
)
def test_one_thing_named_twice_at_one_site(a: str, b: str, cosine: float):
    assert same_name(a, b, cosine) and same_name(b, a, cosine)


@pytest.mark.parametrize(
    ("a", "b", "cosine"),
    [
        ("Evaluation", "Evaluation", 0.95),  # a heading is not a name
        ("Workforce", "Develop a comprehensive workforce strategy", 0.9),
        ("Salford Together", "Establishing Salford Primary Care Together, bringing GPs together", 0.69),
        (
            "Transitional care",
            "Developing transitional care models",
            0.6,
        ),  # alike words, content not alike enough
        ("Hospital at home", "Falls response team", 0.95),  # content alike, names not
        ("Salford Together: programme overview", "Salford Together", 0.3),  # same name, different content
    ],
)
def test_different_things_or_too_little_to_tell(a: str, b: str, cosine: float):
    assert not same_name(a, b, cosine)


def test_title_words_drop_the_generic_and_the_ellipsis():
    assert title_words("Wirral Partners: programme overview") == {"wirral", "partners"}
    assert title_words("A network of senior community matrons with prescri…") == {
        "network",
        "senior",
        "community",
        "matrons",
        "prescri",
    }
