"""The kind rules: whether a figure is a result, activity, target, projection, baseline or illustration."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ingest.text import STORY_SENTENCE_RE


@dataclass(frozen=True)
class Evidence:
    """What a rule may look at: the words around the figure, its clause, its sentence, its context."""

    local: str  # the figure and a few words either side, inside its clause
    clause: str
    sentence: str  # the sentence plus the lead-in that introduced it
    figure: str
    story: bool = False
    section_kind: str | None = None
    lead_in: str = ""  # the line ending in ":" that introduced this bullet; its plan or forecast wording wins


Verdict = tuple[str, float] | None
KindRule = Callable[[Evidence], Verdict]


def has_pattern(pattern: str, text: str) -> bool:
    """Whether the regex `pattern` occurs anywhere in `text`, ignoring case."""
    return re.search(pattern, text, re.IGNORECASE) is not None


def illustrative_story(ev: Evidence) -> Verdict:
    """Persona and patient stories illustrate a model; their numbers are never results."""
    if ev.story or (ev.section_kind or "").lower() in {"illustrative", "story", "persona", "vignette"}:
        return ("illustrative", 0.9)
    return ("illustrative", 0.85) if STORY_SENTENCE_RE.search(ev.sentence) else None


_TARGET_CUES = (
    r"\baims? to\b|\baiming to\b|\btargets?\b|\btargeted (?:reduction|increase)|\bambitions?\b|\bgoals?\b(?! setting)|"
    r"\bplan(?:s|ning)? to\b|\bwe want to\b|\bexpected to achieve\b|\bshould\b|\bintend|\baspir|"
    r"\bwe (?:will|would like|hope|are hoping|expect) to\b|\bwe will\b|\bwill (?:reduce|deliver|achieve|save|cut|"
    r"improve|halve|ensure|be reduced|be delivered|support|provide|need)\b|will know we (?:have succeeded|are successful)|"
    r"\bsuccess criteria\b|\btrajector(?:y|ies)\b|\bcommit(?:ted|ment)? to\b|\bby the end of (?:20\d\d|the year)\b|"
    r"\bto be achieved\b|\bKPIs?\b|\bplanned\b"
)
# "if … then" is tried from the first "if" only (the atomic group), so the line is read once rather than
# once per "if" (`\bif\b.+\bthen\b` took quadratic time on a long line); the texts are single lines.
_PROJECTION_CUES = (
    r"\bprojected\b|\bprojection|\bforecast|\bpredict|\bestimated to\b|\bit is estimated\b|\bcould (?:save|reduce|"
    r"avoid|prevent|release|deliver|free)|\bwould (?:have|save|reduce|cut|avoid|prevent|result|lead|mean|cost|free|"
    r"release|deliver|equate|generate|need|require|increase|rise|grow|fall|double)\b|\bbusiness case\b|\b(?:is|are) expected to\b|\bexpected to (?:rise|grow|fall|"
    r"increase)|\bmodell?ed\b|\bmodelling\b|\blikely to\b|\bwill (?:rise|grow|increase|double|fall|decline|reach)|"
    r"\bthere will be\b|\bif we carry on\b|^(?>.*?\bif\b).+\bthen\b|\bcan be assumed\b|\bpotential (?:saving|reduction)|"
    r"\bin the next (?:\w+ )?(?:years|decade)\b|\bextrapolat|\bcould\b|\bmay (?:save|reduce|result|lead|avoid)\b|"
    r"\b(?:we|they|it is|is|are) expect(?:s|ed)?\b|\bexpect(?:s|ed)? (?:to|that)\b|\bassum(?:e|ed|ing|ption)"
)
_FUTURE_TENSE = r"\bwill\b|\bshall\b|\bgoing to\b"
_PAST_OR_PERFECT = (
    r"\b(?:has|have|had) (?:been |already )?\w+(?:ed|en|wn|ht)\b|\b(?:fell|rose|grew|saw|was|were|achieved|resulted|"
    r"revealed|showed|demonstrated|found)\b|\bso far\b|\bto date\b"
)
_FUTURE_YEAR = r"\bby (?:the year )?20(?:1[6-9]|[2-3]\d)\b|\bby 20\d\d/\d\d\b"


def target_language(ev: Evidence) -> Verdict:
    """Aims, targets, ambitions and commitments: what a site wants, not what it got."""
    if has_pattern(_TARGET_CUES, ev.clause):
        return ("target", 0.85)
    if has_pattern(_TARGET_CUES, ev.lead_in) and not has_pattern(_PROJECTION_CUES, ev.lead_in):
        return ("target", 0.8)  # "We will know we have succeeded if:" governs every bullet under it
    if has_pattern(_PROJECTION_CUES, ev.clause):
        return None  # the clause is a forecast; let the projection rule have it
    if has_pattern(_TARGET_CUES, ev.sentence) and not has_pattern(_PAST_OR_PERFECT, ev.clause):
        return ("target", 0.75)
    if (ev.section_kind or "").lower() in {"plan", "plans", "aims", "target", "targets", "next-steps"}:
        return ("target", 0.6)
    return None


def projection_language(ev: Evidence) -> Verdict:
    """Forecasts, models and counterfactuals: numbers about a future or an imagined world."""
    if has_pattern(_PROJECTION_CUES, ev.clause):
        return ("projection", 0.85)
    if has_pattern(_PROJECTION_CUES, ev.lead_in):
        return ("projection", 0.8)  # "If we carry on like this, by 2023 there will be:"
    if has_pattern(_PROJECTION_CUES, ev.sentence) and not has_pattern(_PAST_OR_PERFECT, ev.clause):
        return ("projection", 0.75)
    return None


def future_tense(ev: Evidence) -> Verdict:
    """Future tense or "by 2020" with a figure is a plan, even without the word "target"."""
    if has_pattern(_PAST_OR_PERFECT, ev.clause):
        return None
    if has_pattern(_FUTURE_YEAR, ev.sentence) or has_pattern(_FUTURE_TENSE, ev.sentence):
        return ("target", 0.65)
    return None


_BASELINE_CUES = (
    r"\bpopulation\b|\binhabitants\b|\b(?:live|living|lives) (?:in|with)\b|\bprevalence\b|\bcurrently\b|"
    r"\bat present\b|\bin 20\d\d(?:[-/]\d\d)? there (?:were|was)\b|\bdeprivation\b|\bdeprived\b|"
    r"\blife expectancy\b|\b(?:national|regional|england|county|average) average\b|\bthe england average\b|"
    r"\bhigher than (?:the )?average\b|\boverweight\b|\bobese\b|\binactive\b|\bsmok|\btypical cost\b|"
    r"\baverage (?:emergency |cost|charge)|\bper (?:person|patient|head)\b|\ballocated\b|\bregistered\b|"
    r"\bconsumes?\b|\bpoverty\b|\bbaseline\b|\bbefore the (?:service|scheme|project|pilot)\b|"
    r"\bin the (?:country|region)\b|\bover 65\b|\baged\b|\bcurrent (?:spend|cost|budget|activity)\b|\bcost of (?:an? )?average\b|"
    r"\btop \d+(?:\.\d+)?%|\bmake up\b|\bthan (?:the )?(?:national |regional |england )?average\b"
)


def baseline_context(ev: Evidence) -> Verdict:
    """The area and the starting point: population, prevalence, unit costs, "currently"."""
    if has_pattern(
        r"\b(?:compared (?:to|with)|against|from a baseline of|up from|down from)\s+(?:around |about )?$",
        ev.local.split(ev.figure)[0][-40:],
    ):
        return ("baseline", 0.7)  # "compared to 36,277 in 2013/14": the comparator, not the result
    if has_pattern(_BASELINE_CUES, ev.clause) and not has_pattern(
        _CHANGE_CUES + "|" + _AVOIDED_CUES, ev.clause
    ):
        return ("baseline", 0.7)
    before = ev.local.split(ev.figure)[0]
    if (
        len(ev.clause.split()) <= 3
        and has_pattern(_BASELINE_CUES, ev.sentence)
        and not has_pattern(_CHANGE_CUES, ev.sentence)
    ):
        return ("baseline", 0.55)  # "Population size: 365,000."
    served = has_pattern(
        r"\b(?:with|has|have|serves?|covers?)\s+(?:around |about |approximately |some |over )?$", before
    )
    if served and has_pattern(r"^\W*(?:residents|people|inhabitants)\b", ev.local.split(ev.figure, 1)[-1]):
        return ("baseline", 0.6)
    return None


_AVOIDED_CUES = r"\bavoided\b|\bprevented\b|\baverted\b|\bavoidance\b|\bsaved\b"


def avoided_events(ev: Evidence) -> Verdict:
    """Avoided events ("1,920 A&E attendances avoided") are results, but estimates against a counterfactual."""
    if has_pattern(_AVOIDED_CUES, ev.local) and not ev.figure.startswith("£"):
        return ("result", 0.6)
    return None


ACTIVITY_NOUNS = (
    r"contacts?|referrals?|patients?|people|persons|residents|service users|users|clients|households|families|"
    r"carers|care homes|homes|practices|volunteers|champions|co-?ordinators|navigators|staff|members|teams|hits|"
    r"visits|calls|sessions|events|assessments|plans|CMPs|records|beds|sites|vanguards|partners|organisations|"
    r"CCGs|trusts|schools|workers|nurses|GPs|attendees|responses|applicants|applications|adults|children|"
    r"professionals|clinicians|packages|budgets|appointments|consultations|interventions|cases|calls|downloads|"
    r"conversations|workshops|courses|places|hours of"
)
_ACTIVITY_VERBS = (
    r"\b(?:seen|supported|recruited|engaged|attended|trained|involving|involved|reached|discussing|discussed|"
    r"matched|received|receiving|registered|enrolled|signed up|took part|participated|referred|visited|used by|"
    r"use the|using|delivered|provides?|provided|funded|funding|ranged|hits|handled|deals with|caseload|"
    r"benefited|accessed|completed|issued)\b"
)


def activity_volume(ev: Evidence) -> Verdict:
    """Reach and volume of the service itself: people seen, referrals taken, homes covered, money received."""
    if ev.figure.startswith("£"):
        if has_pattern(
            r"\bfund|\bgrant|\binvest|\ballocat|\bbudget of\b|\bper (?:vanguard|site)\b|\bvalue of\b|\bspend\b|"
            r"\bcontract\b|\bworth\b",
            ev.clause,
        ) and not has_pattern(r"sav|reduc|cut|lower|fell", ev.clause):
            return ("activity", 0.7)
        return None
    at = ev.local.find(ev.figure)
    if has_pattern(_CHANGE_CUES, ev.local[max(0, at - 45) : at + len(ev.figure)]):
        return None  # "increased by slightly more than 3,000": a change in volume, decided below
    after = ev.local.split(ev.figure, 1)[-1]
    percent = "%" in ev.figure or "cent" in ev.figure
    if (
        not percent
        and re.match(
            rf"\W*(?:of (?:our |the |its )?)?(?:(?:[\w&'-]+\s+){{0,3}})(?:{ACTIVITY_NOUNS})\b",
            after,
            re.IGNORECASE,
        )
        and not has_pattern(_MEASURE_NOUNS, after[:40])
    ):
        return ("activity", 0.75)
    plural = re.match(r"\W*(?:of (?:our |the |its )?)?(?:[a-z-]+\s+)?([a-z-]+(?:s|ren|ple))\b", after)
    if not percent and plural and not has_pattern(_MEASURE_NOUNS, plural.group()):
        return ("activity", 0.6)  # "10 midwives", "14 projects", "3 of our localities"
    if (
        "%" not in ev.figure
        and "cent" not in ev.figure
        and (has_pattern(_ACTIVITY_VERBS, ev.clause) or has_pattern(rf"\b(?:{ACTIVITY_NOUNS})\b", ev.clause))
        and not has_pattern(_MEASURE_NOUNS, ev.clause)
    ):
        return ("activity", 0.6)
    if (
        percent
        and has_pattern(
            r"\b(?:across|in|covering|(?<!close )(?<!up )(?<!due )to)\s+(?:all\s+)?$",
            ev.local.split(ev.figure)[0],
        )
        and has_pattern(rf"^\W*of (?:our |all |the )?(?:{ACTIVITY_NOUNS})", after)
    ):
        return ("activity", 0.65)  # "across 100 per cent of practices"
    if percent and has_pattern(
        rf"^\W*of (?:our |all |the )?(?:{ACTIVITY_NOUNS})\W+(?:\([^)]*\)\s*)?(?:use|used|are using|have|signed|took|"
        r"attended|engaged|registered|are registered|received)",
        ev.sentence.split(ev.figure, 1)[-1],
    ):
        return ("activity", 0.7)  # "62% of our GPs (200+) use the services": reach
    return None


_CHANGE_CUES = (
    r"\breduc|\bdecreas|\bfell\b|\bfallen\b|\bfall(?:ing|s)?\b|\bdrop|\blower\b|\bdeclin|\bincreas|\brise\b|"
    r"\brisen\b|\brose\b|\bgrown\b|\bgrew\b|\bgrowth\b|\bimprov|\bsav(?:ed|ing|ings)\b|\bcut\b|"
    r"(?<!make )(?<!makes )(?<!made )(?<!add )\b(?:up|down)\s+(?:by\s+)?(?:almost |nearly |around |about |over )?£?\d|\b(?:was|were|is|are|been) (?:up|down)\b(?! to)|"
    r"\bhalv|\bdoubl|\bfewer\b|\bless than (?:the )?(?:previous|last|before)|\bfrom (?:around |about )?£?\d[\d,.]*%?"
    r"(?: \S+){0,6}? to £?\d|→|\bshift\b|\bgains\b|\bgained\b|\bchange in\b|\bstood at\b|"
    r"\btotall?ed\b|\bholding steady\b|\bflat-?lined\b|\bstable\b|\bno (?:growth|change|increase)\b"
)
_MEASURE_NOUNS = (
    r"a&e|emergency department|admissions?|bed[- ]?days?|length of stay|avlos|readmission|delayed transfer|"
    r"attendances|placements|mortality|deaths|satisfaction|wellbeing|well-being|quality of life|conveyances|"
    r"outpatient|out-patient|cost|spend"
)


def achieved_change(ev: Evidence) -> Verdict:
    """An achieved change or measured value: "reduced … by 14%", "fell from 739 to 663", "saved £200k"."""
    if has_pattern(_CHANGE_CUES, ev.clause):
        return ("result", 0.8)
    before = ev.clause.split(ev.figure)[0]
    if has_pattern(_MEASURE_NOUNS, ev.clause) and has_pattern(
        r"\b(?:stood at|was|were|totall?ed|reached|numbered)\s+(?:around |about |approximately |only |just )?$",
        before,
    ):
        return ("result", 0.55)  # "emergency admissions stood at 36,366"
    return None


_FINDING_CUES = (
    r"\bfound\b|\bfindings?\b|\bshow(?:ed|n|s|ing)\b|\brevealed\b|\bturned out\b|\bdiscovered\b|\bevaluation\b|"
    r"\banalysis\b|\bhas seen\b|\bhave seen\b|\bimprovements?\b|\bimpact\b|\bresults?\b|\boutcomes?\b|"
    r"\bachieved\b|\bresulted\b|\bmeasured\b|\baudit\b|\bsurvey\b|\breport(?:s|ed|ing)?\b|\bdemonstrat"
)


def measured_finding(ev: Evidence) -> Verdict:
    """A share reported as a finding of the work ("64% of referrals were …") is a result, held loosely."""
    return ("result", 0.55) if has_pattern(_FINDING_CUES, ev.sentence) else None


def no_cue(ev: Evidence) -> Verdict:
    """Nothing says this is an achieved result, so it is not presented as one."""
    if ev.figure.startswith("£") or "%" in ev.figure or "cent" in ev.figure:
        return ("baseline", 0.3)
    return ("activity", 0.3)


# The first rule that fires decides; story, plan and forecast language outranks any result wording.
KIND_RULES: list[KindRule] = [
    illustrative_story,
    target_language,
    projection_language,
    future_tense,
    baseline_context,
    avoided_events,
    activity_volume,
    achieved_change,
    measured_finding,
    no_cue,
]


def decide_kind(ev: Evidence) -> tuple[str, float, str]:
    """(kind, confidence, rule name) from the first of KIND_RULES that fires; never raises in practice."""
    for rule in KIND_RULES:
        verdict = rule(ev)
        if verdict:
            return verdict[0], verdict[1], rule.__name__
    raise AssertionError("no_cue always fires")
