"""What a figure measures, which way it moved, when, and whether it happened somewhere else."""

from __future__ import annotations

import re

from ingest.outcomes.figures import MONTH
from ingest.outcomes.kinds import ACTIVITY_NOUNS, has_pattern

_MEASURES: list[tuple[str, str]] = [
    (
        "care-home-placements",
        r"care home (?:placement|admission)s?|admissions? (?:in)?to (?:care|nursing|residential) homes?|"
        r"residential care|nursing home|long[- ]term placement|permanent placement|(?:residential|nursing) (?:care )?placements?",
    ),
    ("readmissions", r"re-?admission"),
    ("delayed-transfers", r"delayed transfers?|delayed discharge|\bdtoc\b"),
    (
        "length-of-stay",
        r"length of stay|\bavlos\b|\blos\b|length of time people stayed|time (?:spent )?in hospital",
    ),
    ("bed-days", r"bed[- ]?days?|bed day use|bed use"),
    ("ambulance-conveyances", r"ambulance|conveyance|call-outs"),
    ("waiting-times", r"waiting times?|four-hour|4-hour|4 hour wait|time to be seen"),
    (
        "avoidable-admissions",
        r"ambulatory care[- ]sensitive|avoidable (?:hospital )?admissions?|preventable admissions?",
    ),
    (
        "ae-attendances",
        r"a&e|a & e|emergency department|accident and emergency|\bed attendances|emergency attendances",
    ),
    ("outpatient-attendances", r"out-?patient"),
    (
        "gp-referrals",
        r"gp referrals|referrals? (?:to|into) (?:hospital|secondary care)|elective referrals|inappropriate referrals",
    ),
    (
        "emergency-admissions",
        r"non-elective|emergency admissions?|unplanned admissions?|hospital admissions?|"
        r"inpatient admissions?|\badmissions?\b|\badmitted\b",
    ),
    ("mortality", r"mortality|deaths|\bdied\b"),
    ("wellbeing", r"well-?being"),
    ("quality-of-life", r"quality of life|eq-?5d"),
    ("self-management", r"self-?manag|patient activation|\bpam\b|confidence to manage"),
    ("staff-experience", r"staff (?:satisfaction|morale|experience|survey)|recruitment and retention"),
    ("patient-experience", r"satisfaction|experience|feeling heard|friends and family|recommend"),
    ("cost-and-savings", r"£|\bcosts?\b|\bsavings?\b|\bsaved\b|budget|\bspend\b|productivity|efficienc"),
    ("reach-activity", rf"\b(?:{ACTIVITY_NOUNS})\b"),
]


def measure_for(clause: str, figure: str, *wider: str) -> str:
    """The outcome measure nearest the figure, most specific on a tie; money is always cost.

    Looks in the clause first, then in each wider text in turn (sentence, lead-in, previous sentence);
    reach-activity is only a last resort, since counts of people sit beside most measures.
    """
    if figure.startswith("£"):
        return "cost-and-savings"
    specific = [(m, p) for m, p in _MEASURES if m != "reach-activity"]
    for text in (clause, *wider):
        at = text.find(figure)
        at = at if at >= 0 else 0
        best = None
        for rank, (measure, pattern) in enumerate(specific):
            for m in re.finditer(pattern, text, re.IGNORECASE):
                distance = m.start() - (at + len(figure)) if m.start() >= at else at - m.end()
                key = (max(distance, 0), rank)
                if best is None or key < best[0]:
                    best = (key, measure)
        if best:
            return best[1]
    reach = dict(_MEASURES)["reach-activity"]
    return "reach-activity" if any(re.search(reach, t, re.IGNORECASE) for t in (clause, *wider)) else "other"


_DECREASE = r"reduc|decreas|\bfell\b|fallen|\bfall|\bdrop|\blower|declin|fewer|\bless\b|\bcut\b|\bdown\b|avoided|prevented|halv|sav(?:ed|ing)"
_INCREASE = r"increas|\brise\b|risen|\brose\b|grown|\bgrew\b|growth|\bup (?:by )?£?\d|\b(?:was|were|is|are) up\b|higher|improv|\bgains?\b|doubl"
_NO_CHANGE = (
    r"holding steady|flat-?lined|no (?:growth|change|increase|significant)|unchanged|\bstable\b|remained"
)


def direction_for(clause: str, figure: str = "", baseline: str = "") -> str:
    """Decrease, increase or no change, from the change word nearest the figure (or the from→to values)."""
    if baseline:
        before, after = _value(baseline), _value(figure)
        if before is not None and after is not None and before != after:
            return "decrease" if after < before else "increase"
    if re.search(_NO_CHANGE, clause, re.IGNORECASE):
        return "no change"
    at = clause.find(figure) if figure else 0
    best: tuple[int, str] | None = None
    for name, pattern in (("decrease", _DECREASE), ("increase", _INCREASE)):
        for m in re.finditer(pattern, clause, re.IGNORECASE):
            distance = abs(m.start() - at)
            if best is None or distance < best[0]:
                best = (distance, name)
    return best[1] if best else ""


def _value(figure: str) -> float | None:
    m = re.search(r"\d[\d,]*(?:\.\d+)?", figure.split("→")[-1])
    return float(m.group().replace(",", "")) if m else None


_PERIOD_RES = [
    rf"\bbetween {MONTH}(?: \d{{4}})? and {MONTH} \d{{4}}",
    rf"\b(?:(?:for |in |during |over )?the (?:period|year) )?{MONTH}(?: \d{{4}})?\s?[–-]\s?{MONTH} \d{{4}}",
    rf"\bthe (?:period|year) {MONTH}(?: \d{{4}})? (?:to|–|-) {MONTH} \d{{4}}",
    r"\b(?:19|20)\d\d\s?[/–-]\s?(?:19|20)?\d\d\b",
    r"\bQ[1-4] (?:19|20)\d\d\b",
    rf"\b(?:since|from|by|in|during|at the end of|as of|at) (?:mid-)?(?:{MONTH} )?(?:19|20)\d\d\b",
    r"\b(?:in|over|during) the (?:first|last|past) (?:\d+|\w+) (?:months|years|weeks)\b",
    r"\b(?:in )?year (?:one|two|three|1|2|3)\b|\bper annum\b|\bper year\b|\ba year\b|\bover the year\b",
    r"\b(?:19|20)\d\d\b",
]


def period_for(sentence: str) -> str:
    """The time the figure refers to, as written, or "" when the sentence gives none."""
    for pattern in _PERIOD_RES:
        m = re.search(pattern, sentence, re.IGNORECASE)
        if m:
            return m.group().strip()
    return ""


_PLACE_STOP = frozenset(
    """the this that these those our we it they there in a an and of for nhs ccg ccgs council county
    borough city health care trust foundation clinical commissioning group district partnership programme
    pioneer vanguard team service services project hub board alliance network together connected living
    well talking new community local integrated one each all some many most evidence data feedback
    emergency patients people staff gps""".split()
)


def named_place(sentence: str) -> str | None:
    """The place a sentence says something happened in: "In Torbay, …", "Greenwich has put in place…"."""
    m = re.match(
        r"^\s*(?:[-•]\s*)?(?:In|At) ((?:[A-Z][\w'’&-]+)(?: (?:and |on |upon |of )?[A-Z][\w'’&-]+)*)\b",
        sentence,
    )
    if not m:
        m = re.match(
            # Possessive: a word is read once (giving its digits back to the next part took quadratic time).
            r"^\s*((?:[A-Z][\w'’&-]++)(?: (?:and |on |upon )?[A-Z][\w'’&-]++)*)[⁰¹²³⁴⁵⁶⁷⁸⁹\d]*,? "
            r"(?:has|have|had|saw|achieved|reported|introduced|created|operated|put|set up|developed)\b",
            sentence,
        )
    if not m:
        return None
    name = m.group(1)
    words = [w.lower() for w in re.split(r"[\s-]+", name)]
    if any(w in _PLACE_STOP for w in words) or has_pattern(MONTH + r"$", name):
        return None
    return name


def _same_place(a: str, b: str) -> bool:
    def tokens(s: str) -> set[str]:
        return {
            w
            for w in re.split(r"[^a-z]+", s.lower())
            if w and w not in _PLACE_STOP and w not in {"on", "sea", "upon"}
        }

    return bool(tokens(a) & tokens(b))


_ELSEWHERE_CUES = (
    r"\bevidence from\b|\belsewhere\b|\bnationally\b|\bnational (?:evidence|studies|research)\b|\ba study\b|"
    r"\bstudies (?:show|have|found)|\bresearch (?:shows|has shown|indicates|found|suggests)|\binternationally\b|"
    r"\bin (?:the US|the USA|America|New Zealand|Canada|Sweden|Spain|Scotland|Wales|Australia)\b|"
    r"\bliterature\b|\bother (?:areas|sites|vanguards|pioneers) (?:have|has)"
)


def is_second_hand(sentence: str, site: str | None, block_place: str | None) -> bool:
    """The sentence reports a result from somewhere other than `site` (or cites outside evidence)."""
    if has_pattern(_ELSEWHERE_CUES, sentence):
        return True
    if block_place is not None:  # inside an "Experience from elsewhere" block
        return not (site and block_place and _same_place(site, block_place))
    place = named_place(sentence)
    return bool(site and place and not _same_place(site, place))
