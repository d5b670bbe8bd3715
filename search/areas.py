"""Areas like mine: the area terms a catalogue record can be filtered by, read from its site's characteristics,
and how alike two sites' areas are, with the reasons in words.

A profile is what kb.site_profiles.profiles() gives for one site: characteristic name -> the statement in force
(anything with `value` and `number`). Everything here is a pure function of profiles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class Statement(Protocol):
    value: str
    number: float | None


Profile = Mapping[str, Statement]


@dataclass(frozen=True)
class AreaTerm:
    id: str
    label: str
    holds: Callable[[Profile], bool]


def _value(profile: Profile, name: str) -> str:
    statement = profile.get(name)
    return statement.value if statement is not None else ""


def _number(profile: Profile, name: str) -> float | None:
    statement = profile.get(name)
    return statement.number if statement is not None else None


def _population_between(low: float, high: float) -> Callable[[Profile], bool]:
    def holds(profile: Profile) -> bool:
        number = _number(profile, "population")
        return number is not None and low <= number < high

    return holds


AREA_TERMS: tuple[AreaTerm, ...] = (
    # a geographically dispersed population is counted as rural: it poses the same problems of distance
    AreaTerm("rural", "Rural", lambda p: _value(p, "rurality") in ("rural", "dispersed")),
    AreaTerm(
        "mixed-urban-rural",
        "Mixed urban and rural",
        lambda p: _value(p, "rurality") == "mixed urban and rural",
    ),
    AreaTerm("urban", "Urban", lambda p: _value(p, "rurality") == "urban"),
    AreaTerm("population-under-150000", "Population under 150,000", _population_between(0, 150_000)),
    AreaTerm(
        "population-150000-300000", "Population 150,000 to 300,000", _population_between(150_000, 300_000)
    ),
    AreaTerm("population-over-300000", "Population over 300,000", _population_between(300_000, float("inf"))),
    AreaTerm(
        "population-over-1000000", "Population over 1 million", _population_between(1_000_000, float("inf"))
    ),
    AreaTerm(
        "older-than-average", "Older than average", lambda p: _value(p, "age_profile") == "older than average"
    ),
    AreaTerm("high-deprivation", "High deprivation", lambda p: _value(p, "deprivation") == "high"),
    AreaTerm("mixed-deprivation", "Deprivation in parts", lambda p: _value(p, "deprivation") == "mixed"),
    AreaTerm("low-deprivation", "Low deprivation", lambda p: _value(p, "deprivation") == "low"),
)
AREA_LABELS = {term.id: term.label for term in AREA_TERMS}


def area_terms(profile: Profile | None) -> set[str]:
    """The ids of the area terms a site's profile satisfies (none without a profile)."""
    if not profile:
        return set()
    return {term.id for term in AREA_TERMS if term.holds(profile)}


def _population_words(number: float) -> str:
    return f"{number / 1_000_000:.1f} million" if number >= 1_000_000 else f"{number:,.0f}"


def similarity(mine: Profile, theirs: Profile) -> tuple[float, list[str]]:
    """(score from 0 to 1, reasons) for how alike two areas are, over the characteristics both profiles state:
    population within a factor of 1.5, the same rurality, deprivation and age profile, a similar number of GP
    practices. No characteristic in common gives (0.0, [])."""
    points, compared, reasons = 0.0, 0, []
    a, b = _number(mine, "population"), _number(theirs, "population")
    if a and b:
        compared += 1
        if min(a, b) / max(a, b) >= 2 / 3:
            points += 1
            reasons.append(f"similar population ({_population_words(b)} against {_population_words(a)})")
    for name, words in (
        ("rurality", "both {}"),
        ("deprivation", "{} deprivation in both"),
        ("age_profile", "both {}"),
    ):
        x, y = _value(mine, name), _value(theirs, name)
        if x and y:
            compared += 1
            if x == y:
                points += 1
                reasons.append(words.format(x))
            elif name == "rurality" and {x, y} == {"rural", "dispersed"}:
                points += 0.5
                reasons.append("both rural or geographically dispersed")
    p, q = _number(mine, "gp_practices"), _number(theirs, "gp_practices")
    if p and q:
        compared += 1
        if min(p, q) / max(p, q) >= 2 / 3:
            points += 1
            reasons.append(f"a similar number of GP practices ({q:.0f} against {p:.0f})")
    if not compared or not points:
        return 0.0, []
    # agreement over what can be compared, weighted towards profiles that compare on more than one thing
    return round(points / compared * min(compared, 3) / 3, 3), reasons


def similar_sites(
    profiles: Mapping[str, Profile], site_id: str, *, limit: int = 8
) -> list[tuple[str, float, list[str]]]:
    """(site id, score, reasons) of the sites whose areas are most like this one's, best first; none when this
    site has no profile."""
    mine = profiles.get(site_id)
    if not mine:
        return []
    scored = []
    for other, profile in profiles.items():
        if other == site_id:
            continue
        score, reasons = similarity(mine, profile)
        if score > 0:
            scored.append((other, score, reasons))
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored[:limit]


def describe(profile: Profile | None) -> dict[str, Any]:
    """A profile as plain values for the API: {name: value}."""
    return {name: statement.value for name, statement in (profile or {}).items()}
