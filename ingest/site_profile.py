"""Site characteristics stated in a profile: population size, rurality, deprivation, age profile, GP practices and
the organisations in the footprint, each found by a named rule for a class of wording, with its place in the text.

Only sections the structure marks as a site's profile are read, so a figure about somewhere else in an essay or a
national overview is never taken for the site's own. A statement is kept as written beside its normalised value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ingest.structure import Section
from kb.vocabulary import Vocabulary, normalise, sites_in

__all__ = [
    "Characteristic",
    "characteristics_in_sentence",
    "extract_characteristics",
    "parse_count",
    "parse_population",
]

NAMES = ("population", "rurality", "deprivation", "age_profile", "gp_practices", "footprint")

_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
}  # fmt: skip
_WORD_NUMBER = "|".join(_WORDS)
_QUALIFIER = r"(?:(?:more than|over|around|about|approximately|almost|nearly|roughly|some|just over|just under|c\.)\s*)"
_AMOUNT = (
    rf"(?:\d{{1,3}}(?:,\s?\d{{3}})+|\d+(?:\.\d+)?\s?(?:m\b|million\b)|(?:{_WORD_NUMBER})\s+million\b"
    rf"|\d{{4,}}(?!\s*/))"
)
_POPULATION = rf"(?P<as_written>{_QUALIFIER}?(?P<amount>{_AMOUNT}))"
_SERVE = r"(?:serv(?:e|es|ing|ice)|cover(?:s|ing)?|reach(?:es)?|support(?:s)?|ha(?:s|ve)|with|across)"
_KIND_OF_POPULATION = r"(?:(?:joint(?:ly)?|combined|total|overall|registered|GP registered|patient|resident|ethnically and culturally diverse|diverse)\s+)*"

# (rule name, confidence, pattern): the first rule to match a sentence gives its population.
_POPULATION_RULES = (
    (
        "population_size_label",
        0.95,
        re.compile(rf"\b(?:population size|patient population|population):\s*{_POPULATION}", re.I),
    ),
    (
        "serves_a_population_of",
        0.9,
        re.compile(
            rf"\b{_SERVE}\s+(?:a|an)\s+{_KIND_OF_POPULATION}population of\s+{_POPULATION}(?!\s*(?:to|-|–)\s*\d)",
            re.I,
        ),
    ),
    (
        "the_population_is",
        0.85,
        re.compile(
            rf"\bpopulation (?:(?:of|in|covered by|served by) [\w' ]{{1,40}}? )?is\s+{_POPULATION}", re.I
        ),
    ),
    (
        "a_population_of",
        0.8,
        re.compile(
            rf"\b(?:a|an)\s+{_KIND_OF_POPULATION}population of\s+{_POPULATION}(?!\s*(?:to|-|–)\s*\d)", re.I
        ),
    ),
    (
        "serves_people",
        0.8,
        re.compile(rf"\b{_SERVE}\s+{_POPULATION}\s+(?:people|residents|patients)\b", re.I),
    ),
    ("a_number_population", 0.7, re.compile(rf"\b(?:a|an)\s+{_POPULATION}\s+population\b", re.I)),
    ("with_residents", 0.7, re.compile(rf"\bwith\s+{_POPULATION}\s+residents\b", re.I)),
    ("patient_list_of", 0.8, re.compile(rf"\b(?:patient|registered) list of\s+{_POPULATION}", re.I)),
    (
        "responsible_for_patients",
        0.75,
        re.compile(rf"\bresponsible for\s+{_POPULATION}\s+(?:people|patients)\b", re.I),
    ),
    (
        "people_in_the_area",
        0.7,
        re.compile(
            rf"{_POPULATION}\s+people (?:in|across|living in) (?:an|the) (?:area|borough|city|county|district|region)\b",
            re.I,
        ),
    ),
)
_SMALLER_UNIT = re.compile(
    r"\b(?:each|per|neighbourhoods?|practices? of|hubs? of|localit(?:y|ies) of|clusters? of)\b", re.I
)

_NOT_A_STATEMENT = re.compile(r"\b(?:will|would|could|aim|plan|pilot|test|trial|involv\w*|if)\b", re.I)
_RURAL_NAME = re.compile(r"\bRural Districts?\b")
_RURAL = re.compile(
    r"\b(?:(?:highly|very|mostly|largely|predominantly|most|a|is)\s+rural\b|rural\s+(?:area|county|geography|district"
    r"|communities|areas|villages|population|towns))",
    re.I,
)
_URBAN = re.compile(
    r"\b(?:urban\s+(?:area|borough|centres?|population)|inner[- ]city|densely populated)\b", re.I
)
_DISPERSED = re.compile(r"\b(?:geographically dispersed|dispersed population|sparsely populated)\b", re.I)

_DEPRIVATION = re.compile(r"\bdeprivation\b|\bmost deprived\b", re.I)
_DEPRIVATION_LOW = re.compile(
    r"\bdeprivation is lower than\b|\blow(?:er)? (?:levels of )?deprivation\b", re.I
)
_DEPRIVATION_MIXED = re.compile(
    r"\b(?:pockets|some areas|small areas|in some|variations?|affluen\w+|contrasts?)\b", re.I
)
_DEPRIVATION_HIGH = re.compile(
    r"\b(?:one of the most deprived|\d+(?:st|nd|rd|th) most deprived|(?:significant|high|very high|entrenched)"
    r"(?: levels of)?(?: income)? deprivation|deprivation is (?:twice|higher|above)|living in the \d+% most deprived)",
    re.I,
)

_OLDER = re.compile(
    r"\b(?:older than the (?:national |england |population )?average|higher proportion of older people"
    r"|higher[- ]than[- ]average (?:older|elderly) population|(?:aged over 65|over[- ]65s?) (?:is )?higher than"
    r"|higher than (?:the )?(?:national |england )?average (?:older|elderly) population)",
    re.I,
)
_SHARE_OVER_65 = re.compile(
    r"\b(?P<share>\d+(?:\.\d+)?%) of (?:the )?(?:population|residents)\b[^.]{0,60}?\baged (?:over )?65\b|\((?P<share2>\d+(?:\.\d+)?%) over 65\)",
    re.I,
)
_AGEING = re.compile(r"\b(?:ageing population|rapidly ageing|population (?:is )?ageing)\b", re.I)
_YOUNGER = re.compile(r"\b(?:younger than (?:the )?(?:national )?average|young population)\b", re.I)

_PRACTICES = re.compile(
    rf"(?<![\w,.])(?P<count>\d{{1,3}}|{_WORD_NUMBER})\s+(?:GP practices|general practices|GP surgeries)\b",
    re.I,
)
_ORGANISATIONS = {
    "CCG": re.compile(
        rf"\b(?P<n>\d{{1,2}}|{_WORD_NUMBER})\s+(?:[A-Z][a-z]+ ){{0,2}}(?:CCGs?|clinical commissioning groups?)\b",
        re.I,
    ),
    "local authority": re.compile(
        rf"\b(?P<n>\d{{1,2}}|{_WORD_NUMBER})\s+(?:unitary |county |district |borough )?(?:local authorit(?:y|ies)|councils?)\b",
        re.I,
    ),
    "London borough": re.compile(rf"\b(?P<n>\d{{1,2}}|{_WORD_NUMBER})\s+London boroughs?\b", re.I),
    "acute trust": re.compile(
        rf"\b(?P<n>\d{{1,2}}|{_WORD_NUMBER})\s+acute(?:/community)?\s+(?:hospital\s+)?trusts?\b", re.I
    ),
}
_PLURALS = {
    "CCG": "CCGs",
    "local authority": "local authorities",
    "London borough": "London boroughs",
    "acute trust": "acute trusts",
}


@dataclass(frozen=True)
class Characteristic:
    site_id: str
    name: str  # one of NAMES
    value: (
        str  # normalised: "365000", "rural", "high", "older than average", "17", "1 CCG, 2 local authorities"
    )
    as_written: str  # the words the value was read from: "more than 320,000", "A very large and highly rural"
    number: float | None  # population or practice count; None for categories
    start: int  # offsets of the sentence in the document text
    end: int
    quote: str  # the sentence
    confidence: float
    rule: str


def parse_count(text: str) -> int | None:
    """'17' or 'seventeen' -> 17; anything else None."""
    text = text.strip().lower()
    return int(text) if text.isdigit() else _WORDS.get(text)


def parse_population(amount: str) -> float | None:
    """'365,000' -> 365000, '287, 594' -> 287594, '1.5m' / '2.71 million' -> millions, 'two million'; else None."""
    amount = amount.strip().lower()
    million = re.fullmatch(r"(\d+(?:\.\d+)?|[a-z]+)\s?(?:m|million)", amount)
    if million:
        head = million.group(1)
        value = float(head) if head[0].isdigit() else _WORDS.get(head)
        return value * 1_000_000 if value else None
    digits = re.sub(r"[,\s]", "", amount)
    return float(digits) if digits.isdigit() else None


def _sentences(text: str, offset: int) -> Iterable[tuple[int, str]]:
    """(start offset, sentence) for each sentence or bullet of a section's text."""
    for line in re.finditer(r"[^\n]+", text):
        for sentence in re.finditer(r"(?:[^.!?]|[.!?](?=\d))+(?:[.!?]|$)", line.group()):
            # "c.13, 000" and "1.5m" keep their full stops: the split above never cuts before a digit
            if sentence.group().strip():
                yield offset + line.start() + sentence.start(), sentence.group()


def _population(sentence: str) -> tuple[str, float, float, str] | None:
    for rule, confidence, pattern in _POPULATION_RULES:
        for match in pattern.finditer(sentence):
            if _SMALLER_UNIT.search(sentence[max(0, match.start() - 40) : match.start() + 15]):
                continue  # "neighbourhoods of 30,000", "each hub serves 50,000 people": a part, not the site
            number = parse_population(match.group("amount"))
            if number and number >= 1000:
                return match.group("as_written").strip(), number, confidence, rule
    return None


def characteristics_in_sentence(sentence: str) -> list[tuple[str, str, str, float | None, float, str]]:
    """(name, value, as written, number, confidence, rule) for every characteristic one sentence states."""
    found: list[tuple[str, str, str, float | None, float, str]] = []
    population = _population(sentence)
    if population:
        as_written, number, confidence, rule = population
        found.append(("population", str(int(number)), as_written, number, confidence, rule))
    without_names = _RURAL_NAME.sub("", sentence)
    rural, urban = _RURAL.search(without_names), _URBAN.search(without_names)
    if rural and (urban or re.search(r"\burban\b|\bmix(?:ture|ed)? of\b", without_names, re.I)):
        found.append(
            (
                "rurality",
                "mixed urban and rural",
                without_names[min(rural.start(), (urban or rural).start()) :].strip()[:80],
                None,
                0.8,
                "urban_and_rural",
            )
        )
    elif rural:
        found.append(("rurality", "rural", rural.group(), None, 0.9, "rural_area"))
    elif urban:
        found.append(("rurality", "urban", urban.group(), None, 0.8, "urban_area"))
    elif _DISPERSED.search(without_names):
        found.append(
            (
                "rurality",
                "dispersed",
                _DISPERSED.search(without_names).group(),
                None,
                0.6,
                "dispersed_population",
            )
        )  # type: ignore[union-attr]
    if _DEPRIVATION.search(sentence):
        if low := _DEPRIVATION_LOW.search(sentence):
            found.append(("deprivation", "low", low.group(), None, 0.8, "deprivation_lower"))
        elif (high := _DEPRIVATION_HIGH.search(sentence)) and not _DEPRIVATION_MIXED.search(sentence):
            found.append(("deprivation", "high", high.group(), None, 0.9, "deprivation_high"))
        elif _DEPRIVATION_MIXED.search(sentence) and (high or re.search(r"\bdeprivation\b", sentence, re.I)):
            found.append(
                (
                    "deprivation",
                    "mixed",
                    _DEPRIVATION_MIXED.search(sentence).group(),
                    None,
                    0.7,
                    "deprivation_in_parts",
                )
            )  # type: ignore[union-attr]
    if older := _OLDER.search(sentence):
        found.append(("age_profile", "older than average", older.group(), None, 0.9, "older_than_average"))
    elif younger := _YOUNGER.search(sentence):
        found.append(
            ("age_profile", "younger than average", younger.group(), None, 0.8, "younger_than_average")
        )
    elif share := _SHARE_OVER_65.search(sentence):
        value = share.group("share") or share.group("share2")
        found.append(("age_profile", f"{value} aged over 65", share.group(), None, 0.7, "share_over_65"))
    elif ageing := _AGEING.search(sentence):
        found.append(("age_profile", "ageing", ageing.group(), None, 0.6, "ageing_population"))
    if (practices := _PRACTICES.search(sentence)) and not _NOT_A_STATEMENT.search(sentence):
        count = parse_count(practices.group("count"))
        if count:
            found.append(
                ("gp_practices", str(count), practices.group(), float(count), 0.85, "n_gp_practices")
            )
    footprint = []
    for kind, pattern in _ORGANISATIONS.items():
        for match in pattern.finditer(sentence):
            count = parse_count(match.group("n"))
            if count:
                footprint.append(f"{count} {kind if count == 1 else _PLURALS[kind]}")
                break
    if footprint and not _NOT_A_STATEMENT.search(sentence):
        found.append(
            ("footprint", ", ".join(footprint), ", ".join(footprint), None, 0.75, "organisation_counts")
        )
    return found


def extract_characteristics(
    text: str, sections: Iterable[Section], *, vocabulary: Vocabulary
) -> list[Characteristic]:
    """Characteristics stated in the site profiles of one document's cleaned text: for each site and
    characteristic, the most confident statement (the first, on a tie). Sections that are not a profile, or
    whose site the vocabulary does not know, are not read. Never raises on odd text."""
    best: dict[tuple[str, str], Characteristic] = {}
    # a heading that is a site's full name is that site, even when a shorter site's name sits inside it
    # ("South Devon and Torbay System Resilience Group" is not "South Devon and Torbay")
    by_name = {normalise(site.name): site.id for site in vocabulary.sites}
    for section in sections:
        if section.kind != "profile" or not section.site:
            continue
        site_id = by_name.get(normalise(section.site)) or next(iter(sites_in(section.site, vocabulary)), None)
        if site_id is None:
            continue
        for start, sentence in _sentences(text[section.start : section.end], section.start):
            for name, value, as_written, number, confidence, rule in characteristics_in_sentence(sentence):
                key = (site_id, name)
                if key in best and best[key].confidence >= confidence:
                    continue
                best[key] = Characteristic(
                    site_id=site_id,
                    name=name,
                    value=value,
                    as_written=as_written,
                    number=number,
                    start=start,
                    end=start + len(sentence),
                    quote=" ".join(sentence.split()).lstrip("-•* "),
                    confidence=confidence,
                    rule=rule,
                )
    return sorted(best.values(), key=lambda c: (c.site_id, NAMES.index(c.name)))
