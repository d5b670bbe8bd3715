"""Tests for the domain vocabulary file (kb.vocabulary) and query expansion (search.expansion)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kb.vocabulary import (
    DEFAULT_VOCABULARY_PATH,
    MAX_PHRASE_TOKENS,
    Vocabulary,
    load_vocabulary,
    normalise,
    phrase_key,
    sites_in,
)
from search.expansion import MAX_EXPANSIONS, expand_query


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return load_vocabulary()


def phrases(query: str, vocabulary: Vocabulary) -> list[str]:
    return [phrase.lower() for phrase, _weight in expand_query(query, vocabulary)]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "vocabulary.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- loading ---------------------------------------------------------------------------------


def test_default_file_loads_with_expected_coverage(vocabulary: Vocabulary) -> None:
    assert DEFAULT_VOCABULARY_PATH.is_file()
    assert len(vocabulary.acronyms) >= 60
    assert len(vocabulary.synonyms) >= 80
    assert len(vocabulary.sites) >= 60
    for acronym in ("A&E", "DToC", "MDT", "PACS", "SPoR", "WELC", "BOBW", "s75", "NHS 111"):
        assert vocabulary.acronyms[acronym], acronym


def test_sites_cover_every_programme_and_type(vocabulary: Vocabulary) -> None:
    types = [site.type for site in vocabulary.sites]
    # Counts from the programmes themselves, not from the file: the 15 pioneers profiled in seed 004's report,
    # and NHS England's 50 vanguards by type as its brochure lists them (seed 003 L583-649).
    assert types.count("pioneer") == 15
    assert types.count("pacs") == 9
    assert types.count("mcp") == 14
    assert types.count("ehch") == 6
    assert types.count("uec") == 8
    assert types.count("acc") == 13
    assert "stp" in types
    assert vocabulary.site("barnsley").population == "235,800"


def test_synonym_groups_do_not_overlap(vocabulary: Vocabulary) -> None:
    # A phrase in two groups would silently merge two concepts at query time.
    owner: dict[tuple[str, ...], int] = {}
    for number, group in enumerate(vocabulary.synonyms):
        for phrase in group:
            key = phrase_key(phrase)
            assert owner.setdefault(key, number) == number, f"{phrase!r} is in two synonym groups"


def test_site_aliases_are_not_shared(vocabulary: Vocabulary) -> None:
    owner: dict[tuple[str, ...], str] = {}
    for site in vocabulary.sites:
        for phrase in (site.name, *site.aliases):
            assert owner.setdefault(phrase_key(phrase), site.id) == site.id, f"{phrase!r} names two sites"


def test_duplicate_site_id_is_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sites:\n"
        "  - {id: leeds, name: Leeds, type: pioneer, place: Leeds}\n"
        "  - {id: leeds, name: Leeds again, type: pioneer, place: Leeds}\n",
    )
    with pytest.raises(ValueError, match="duplicate site id 'leeds'"):
        load_vocabulary(path)


def test_acronym_without_expansion_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "acronyms:\n  MDT: []\n")
    with pytest.raises(ValueError, match="'MDT' has no expansion"):
        load_vocabulary(path)


def test_duplicate_acronym_key_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "acronyms:\n  MDT: [multidisciplinary team]\n  MDT: [other]\n")
    with pytest.raises(ValueError, match="duplicate key 'MDT'"):
        load_vocabulary(path)


@pytest.mark.parametrize(
    "text",
    [
        "sites:\n  - {id: x, name: X, type: hospital, place: X}\n",
        "sites:\n  - {id: x, type: pioneer, place: X}\n",
        "synonyms:\n  - [lonely]\n",
        "acronyms: [MDT]\n",
        "acronyms:\n  MDT: [multidisciplinary team\n",
    ],
)
def test_other_malformed_files_are_rejected(tmp_path: Path, text: str) -> None:
    with pytest.raises(ValueError):
        load_vocabulary(write(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "synonyms:\n  - [personal budget, a budget held and spent by the person who needs the care]\n",
            r"synonym group #1: 'a budget held and spent by the person who needs the care' has 12 words",
        ),
        (
            "acronyms:\n  DToC: [delayed transfers of care, '--']\n",
            r"acronym 'DToC': '--' has no letters or digits",
        ),
        (
            "synonyms:\n  - [pooled budget, section 75, Pooled-Budgets]\n",
            r"synonym group #1: 'Pooled-Budgets' duplicates 'pooled budget'",
        ),
        (
            "acronyms:\n  DToC: [delayed transfers of care]\n  DTOC: [delayed discharge]\n",
            r"acronym 'DTOC' duplicates acronym 'DToC'",
        ),
        (
            "synonyms:\n  - [care home, nursing home]\n  - [nursing homes, residential home]\n",
            r"synonym group #2: 'nursing homes' is also in synonym group #1",
        ),
        (
            "sites:\n  - {id: s, name: Southend-on-Sea, type: pioneer, place: S, aliases: [Southend on Sea]}\n",
            r"site 's': 'Southend on Sea' duplicates 'Southend-on-Sea'",
        ),
    ],
    ids=["too-long", "empty", "duplicate-in-group", "duplicate-acronym", "in-two-groups", "duplicate-alias"],
)
def test_an_entry_the_matcher_cannot_use_is_refused_by_name(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_vocabulary(write(tmp_path, text))


def test_every_unusable_entry_is_named_at_once(tmp_path: Path) -> None:
    text = "synonyms:\n  - [self-care, self care, self management, self-management]\n"
    with pytest.raises(ValueError, match="2 unusable entries") as refused:
        load_vocabulary(write(tmp_path, text))
    assert "'self care'" in str(refused.value) and "'self-management'" in str(refused.value)


def test_the_longest_usable_phrase_matches(tmp_path: Path) -> None:
    longest = " ".join(f"word{n}" for n in range(MAX_PHRASE_TOKENS))
    vocabulary = load_vocabulary(write(tmp_path, f"synonyms:\n  - [{longest}, short name]\n"))
    assert phrases(f"tell me about {longest} please", vocabulary) == ["short name"]
    assert phrases("short name", vocabulary) == [longest]


# --- normalise -------------------------------------------------------------------------------


def test_normalise_quotes_dashes_and_whitespace() -> None:
    text = "  A&E \u2013 \u2018Test and Learn\u2019\u00a0 \u201cNow\u201d "
    assert normalise(text) == "a&e - 'test and learn' \"now\""


# --- expand_query ----------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["A&E attendances", "a&e attendances", "AE attendances"])
def test_a_and_e_expands_to_emergency_department(vocabulary: Vocabulary, query: str) -> None:
    expanded = phrases(query, vocabulary)
    assert "emergency department" in expanded
    assert "accident and emergency" in expanded


def test_acronym_expansions_carry_the_acronym_weight(vocabulary: Vocabulary) -> None:
    weights = dict(expand_query("DToC", vocabulary))
    assert weights["delayed transfers of care"] == pytest.approx(0.7)


def test_mdt_meeting_expands_to_multidisciplinary_team(vocabulary: Vocabulary) -> None:
    assert "multidisciplinary team" in phrases("MDT meeting", vocabulary)


def test_plural_synonym_matches(vocabulary: Vocabulary) -> None:
    expanded = expand_query("nursing homes", vocabulary)
    assert ("care home", pytest.approx(0.5)) in expanded


def test_lay_phrasing_reaches_the_professional_term(vocabulary: Vocabulary) -> None:
    assert "readmission" in phrases("patients readmitted within a month", vocabulary)
    assert "delayed transfers of care" in phrases("bed-blocking", vocabulary)


def test_site_alias_expands_to_site_name_and_aliases(vocabulary: Vocabulary) -> None:
    expanded = expand_query("Better Care Together", vocabulary)
    found = {phrase for phrase, _weight in expanded}
    assert "Morecambe Bay" in found
    assert vocabulary.site("morecambe-bay").name in found
    assert all(weight == pytest.approx(0.6) for _phrase, weight in expanded)


def test_query_terms_are_not_echoed_and_there_are_no_duplicates(vocabulary: Vocabulary) -> None:
    expanded = phrases("A&E and the emergency department", vocabulary)
    assert "a&e" not in expanded and "emergency department" not in expanded
    assert len(expanded) == len({phrase_key(phrase) for phrase in expanded})


def test_expansion_is_capped(vocabulary: Vocabulary) -> None:
    query = "MDT care home frail older people lonely A&E DToC social prescribing capitation"
    assert len(expand_query(query, vocabulary)) <= MAX_EXPANSIONS


def test_plain_query_gets_no_expansion(vocabulary: Vocabulary) -> None:
    assert expand_query("what happened next", vocabulary) == []
    assert expand_query("", vocabulary) == []


def test_expansion_is_fast(vocabulary: Vocabulary) -> None:
    query = "reducing A&E attendances for frail older people in nursing homes with an MDT in Torbay"
    started = time.perf_counter()
    for _ in range(1000):
        expand_query(query, vocabulary)
    assert time.perf_counter() - started < 2.0


# --- sites_in --------------------------------------------------------------------------------


def test_sites_in_finds_torbay_through_possessive(vocabulary: Vocabulary) -> None:
    assert sites_in("South Devon and Torbay's JoinedUp", vocabulary) == ["south-devon-torbay"]


def test_sites_in_prefers_the_longest_name(vocabulary: Vocabulary) -> None:
    text = "The Salford and Wigan Foundation Chain works beside Salford Together."
    assert sites_in(text, vocabulary) == ["salford-wigan", "salford"]


def test_sites_in_is_whole_word(vocabulary: Vocabulary) -> None:
    assert sites_in("Kentish towns and Leedsford", vocabulary) == []
    assert sites_in("kent and LEEDS", vocabulary) == ["kent", "leeds"]


def test_spelled_out_phrase_gives_back_its_acronym(vocabulary: Vocabulary) -> None:
    assert ("DToC", pytest.approx(0.6)) in expand_query("delayed transfers of care", vocabulary)


def test_everyday_phrases_are_not_site_names(vocabulary: Vocabulary) -> None:
    assert sites_in("services work better together; starting well, living well", vocabulary) == []
