"""Outcome figures in report text: find the quantities a span reports and say what kind each one is."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["Outcome", "classify_sentence", "extract_outcomes"]


@dataclass(frozen=True)
class Outcome:
    measure: str  # an outcome_measure id, e.g. "emergency-admissions", or "other"
    direction: str  # "increase" | "decrease" | "no change" | "" (unknown)
    figure: str  # the figure as written: "14%", "£1.2m", "287,594", "19/35 → 29/35"
    kind: str  # "result" | "activity" | "target" | "projection" | "baseline" | "illustrative"
    period: str  # "2013/14", "between April and September 2014", or ""
    baseline: str  # the from-value of "from X to Y" (figure = Y), else ""
    second_hand: bool  # the result happened somewhere other than the site described
    sentence: str  # the sentence the figure came from
    start: int  # char offset of the figure within the input text
    confidence: float  # 0..1, how sure the deciding rule is of `kind`
    rule: str  # the rule that decided `kind`


# --- figures -----------------------------------------------------------------------------------------

_NUM = r"\d{1,3}(?:,\s?\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_MAGNITUDE = r"(?:\s?(?:k|m|bn)\b|\s(?:million|billion|thousand)\b)"
_SCORE = r"\d+(?:\.\d+)?/\d+"
# Order matters: a before→after score, then money, then percentages, then bare numbers.
_FIGURE_RE = re.compile(
    rf"(?P<arrow>{_SCORE}\s*(?:→|->)\s*{_SCORE})"
    rf"|(?P<ratio>\d+(?:\.\d+)?\s?:\s?1\b(?!\d))"
    rf"|(?P<money>£\s?(?:{_NUM}){_MAGNITUDE}?)"
    rf"|(?P<percent>(?:{_NUM})\s?(?:%|per\s?cent\b))"
    rf"|(?P<number>(?:{_NUM})(?:{_MAGNITUDE}|\+)?)",
    re.ASCII,
)
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
# Words that make the following number a label, not a quantity: "Tier 4", "Band 6", "Q1", "page 13".
_LABEL_WORDS = re.compile(
    r"(?:\b(?:section|para(?:graph)?|page|pp?\.|figure|fig\.|table|box|appendix|annex|lesson|tier|segment|"
    r"stage|phase|band|level|step|item|priority|year|wave|cohort|goal|ward|version|chapter|part|unit|"
    r"number|no\.|ref(?:erence)?|route|junction|room|floor|flat|objective|principle|domain|group|"
    r"standard|indicator|question|option|workstream|scheme|pilot|site|aim|outcome|fund|on day|day)s?|\bQ)"
    r"\s*(?:\d+\s*(?:,|and|or|to|-|–|&)\s*)*$",
    re.IGNORECASE,
)


def _span_skips(line: str) -> list[tuple[int, int]]:
    """Character spans of a line that hold no reportable figure (dates, times, phones, scales…)."""
    patterns = [
        rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\b",  # "31 December 2014"
        rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?!,\d)",  # "December 31"
        r"(?<!\d)0\d{2,4}[ -]?\d{3}[ -]?\d{3,4}(?!\d)",  # UK phone numbers
        r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b",  # postcodes
        r"\b\d{1,2}(?:[.:]\d{2})?\s?(?:am|pm)\b",  # clock times
        r"\b\d+\s?[hd]?/\s?\d+(?!\d|\s*(?:→|->))",  # "24/7", "15h/7d", "24/48hrs", "2015/16"
        r"\b\d+[- ]years?[- ]old\b",  # ages in stories
        r"(?:\b\d{1,2}\s+){2,}\d{1,2}\b",  # rating scales "1 2 3 4 5"
        r"\b\d+(?:\.\d+)?-(?:minute|min|hour|hr|day|week|month|year|bed|bedded|point|step|tier|page|mile)s?\b",
        r"\^\{[^}]*\}",  # pseudo-LaTeX citation markers
        r"(?:https?://|www\.)\S+",  # numbers inside web addresses
        r"\b\d+(?:;\s?\d+)?(?:\(\d+\))?:\s?e?\d+(?:[–-]\d+)?",  # references "2016;23(1):17–26", "1:30"
        r"\b(?:vol|no|pp?)\.?\s+\d+(?:[–-]\d+)?",  # "vol 298, no 16, pp 1937–9"
        r"\b\d+\s?[-–]\s?\d+\s+(?:age|year[- ]olds?|years? old)",  # age bands "18-64 age group"
        r"\b\d+-?\s*(?:to|–|-)\s*\d+-(?:minute|hour|day|week|month|year)s?\b",  # "5- to 10-year"
        r"\b(?:as|scor\w*|rated|rating of|a)\s+(?:a\s+)?\d+\s*(?:or|to|-|–)\s*\d+\b(?!\s*(?:%|per))",  # "a 1 or 2"
        r"['‘]\d+['’]",  # "'1' = 'excellent'"
        r"\bscale of \d+\s*(?:to|-|–)\s*\d+\b",
    ]
    spans = [m.span() for p in patterns for m in re.finditer(p, line)]
    # "11,12" and "44,45" are citation lists: thousands groups always have three digits.
    for m in re.finditer(r"(?<![\d,.])\d{1,3}(?:,\d{1,3})+(?![\d,])", line):
        if not re.fullmatch(r"\d{1,3}(?:,\d{3})+", m.group()):
            spans.append(m.span())
    return spans


def _skip_reason(line: str, m: re.Match[str], skips: list[tuple[int, int]]) -> str | None:
    """Why the matched number is not a figure, or None when it is one. Each test names a non-figure."""
    start, end = m.span()
    text = m.group()
    before, after = line[:start], line[end:]
    if any(s <= start < e for s, e in skips):
        return "date/time/phone/scale/descriptor"
    if m.group("arrow") or m.group("money") or m.group("ratio"):
        return None
    # Glued to letters or other digits: "N19", "Q1", "8pm", "40s", "3rd", "£x" parts, "v2".
    if re.search(r"[A-Za-z_\d]$", before) or re.match(r"[A-Za-z]", after):
        return "glued to a word"
    if re.search(r"[./]$", before) and not re.search(r"(?:\s|\bc)[./]$", before):  # "c.13,000" is circa
        return "part of a code"
    if m.group("percent"):
        return None
    value = text.rstrip("+").replace(",", "").replace(" ", "")
    plain = re.fullmatch(r"\d+", value) is not None
    if re.fullmatch(r"\d{1,3}(?:,\d{1,3})+", text.replace(" ", "")) and not re.fullmatch(
        r"\d{1,3}(?:,\d{3})+", text.replace(" ", "")
    ):
        return "citation marker list"  # "11,12", "44,45": thousands groups always have three digits
    if plain and 1900 <= int(value) <= 2039 and "," not in text:
        return "year"
    if re.match(r"^\s*(?:[-•*]\s*)?$", before) and re.match(r"\.(?:\d+\.?)*\s|[.)]\s", after):
        return "list or paragraph number"  # "1. ", "- 1.13. "
    if re.match(r"^\s*(?:[-•*]\s*)?$", before) and re.fullmatch(r"\d+(?:\.\d+)+", text):
        return "section number"  # "7.4.2 Living Well"
    if not before.strip() and not after.strip():
        return "page number"
    if _LABEL_WORDS.search(before):
        return "label number"
    if (
        re.search(r"[.!?]\s+$", before)
        and re.match(r"\s*(?:[A-Z][a-z]|$)", after)
        and plain
        and len(value) <= 2
    ):
        return "citation marker"  # "improvement work. 34 The…"
    if value in {"111", "999"} and not re.match(r"\s*(?:%|per cent|people|patients|calls)", after):
        return "service number"  # NHS 111, 999 calls
    if _is_age(before, after, value):
        return "age"
    if re.match(
        r"\s*(?:minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|months?|years?)\b", after, re.IGNORECASE
    ) and not re.search(
        r"\b(?:length of stay|stay|stayed|wait|waiting|delay|response time)\b", before[-80:], re.IGNORECASE
    ):
        return "duration"
    unbulleted = _BULLET_RE.sub("", line, count=1) if re.match(r"^\s*[-•*▪]\s", line) else line
    if start < 12 and (
        _is_section_heading(unbulleted) or re.match(r"^\s*(?:[-•*]\s*)?\d+\s+[A-Z][A-Z'’]+\b", line)
    ):
        return "heading number"  # "35 Southend on Sea Pioneer Programme – Profile", "4 PUBLIC QUESTIONS"
    return None


def _is_age(before: str, after: str, value: str) -> bool:
    if not re.fullmatch(r"\d{2,3}", value) or not 16 <= int(value) <= 110:
        return False
    if re.search(
        r"\b(?:aged?|ages|age groups?(?: from)?|(?:she|he|who)(?:'s|’s| is))\s+(?:over |under |of )?$",
        before,
        re.IGNORECASE,
    ):
        return True
    older = re.search(r"\b(?:over|under|older than|younger than|over-|under-)\s*$", before, re.IGNORECASE)
    return (
        bool(older)
        and re.match(r"\+|s\b|\s*(?:$|[),.;]|and\b|or\b|with\b|who\b|in\b|is\b|are\b)", after) is not None
    )


def _is_section_heading(line: str) -> bool:
    words = line.split()
    return (
        bool(re.match(r"^\d+(?:\.\d+)*\.?\s+[A-Z“'‘\"]", line))
        and len(words) <= 15
        and not re.search(r"[.;:!?]$", line.strip())
    )


def _figure_text(raw: str) -> str:
    # The converter split thousands ("287, 594", "c.13, 000"); the figure is the number, not the damage.
    return re.sub(r"(?<=\d),\s(?=\d{3})", ",", raw.strip())


# --- lines, sentences and clauses ----------------------------------------------------------------------

_BULLET_RE = re.compile(r"^\s*(?:[-•*▪]|\d{1,2}[.)])\s+")
_STORY_HEADING_RE = re.compile(
    r"how it could happen|patient(?:'s|’s)? story|\b\w+(?:'s|’s) story\b|case example|a day in the life|"
    r"^\s*(?:\d+(?:\.\d+)*\s+)?(?:patient story|story)\b|^\s*imagine\b",
    re.IGNORECASE,
)
# A sentence that announces the stories to follow: "a couple of fictionalised scenarios have been developed".
_STORY_LEAD_RE = r"^\s*imagine\b|\bfictionali[sz]ed\b|\bhypothetical (?:patient|scenario|case)"
_ELSEWHERE_HEADING_RE = re.compile(
    r"^\s*(?:experience|evidence|learning|examples?|lessons?) from (?:elsewhere|other (?:areas|sites|places))",
    re.IGNORECASE,
)
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"'”’)\]]?\s+(?=[A-Z\"“‘'(£\d])")


def _is_table_row(line: str) -> bool:
    return "\t" in line.strip("\t ") or line.count(" | ") >= 1


def _is_heading(line: str) -> bool:
    """A short title line: numbered, or a few words with no sentence punctuation and no figures."""
    text = line.strip()
    if not text or _BULLET_RE.match(text) or _is_table_row(text):
        return False
    if _is_section_heading(text):
        return True
    words = text.split()
    return len(words) <= 10 and not re.search(r"[.;:!?,]$", text) and not re.search(r"\d", text)


@dataclass
class _Line:
    text: str
    start: int
    lead_in: str  # the sentence ending with ":" that introduces this bullet/fragment/table row
    story: bool  # inside a persona or patient story
    elsewhere: str | None  # inside an "Experience from elsewhere" block: the place named there ("" if none)
    header: str  # for table rows, the table's header row


def _lines(text: str) -> Iterator[_Line]:
    """Walk the span line by line, carrying the context that earlier lines set for later ones."""
    lead_in, story, elsewhere, header = "", False, None, ""
    offset = 0
    for raw in text.splitlines(keepends=True):
        start, offset = offset, offset + len(raw)
        line = raw.rstrip("\r\n")
        stripped = line.strip()
        if not stripped:
            continue
        if (_STORY_HEADING_RE.search(stripped) and len(stripped.split()) <= 12) or _has(
            _STORY_LEAD_RE, stripped
        ):
            story, lead_in = True, ""
        elif _ELSEWHERE_HEADING_RE.match(stripped):
            elsewhere, story, lead_in = "", False, ""
            continue
        elif stripped.lower() in {"before", "after"}:
            story = True  # a bare Before/After card describes one person (seed 004 "Beatrice's story")
        elif _is_heading(stripped):
            story, elsewhere, lead_in = False, None, ""
        elif re.match(r"^(?:our goal|what this means)\b", stripped, re.IGNORECASE):
            story = False
        if elsewhere == "":
            elsewhere = _named_place(stripped) or ""
        table = _is_table_row(line)
        if table and not header:
            header = stripped
        elif not table:
            header = ""
        yield _Line(line, start, lead_in, story, elsewhere, header)
        bullet = bool(_BULLET_RE.match(line))
        if stripped.endswith(":"):
            lead_in = _sentences(stripped)[-1][1] if _sentences(stripped) else stripped
        elif not bullet and not table and re.search(r"[.!?][\"'”’)]?$", stripped):
            lead_in = ""  # a full paragraph ends the list the lead-in introduced


def _sentences(line: str) -> list[tuple[int, str]]:
    """Sentences of one line with their offsets in it; a bullet or table row is one sentence."""
    out, pos = [], 0
    for m in _SENTENCE_END_RE.finditer(line):
        # "c. 13" and "e.g. The" are abbreviations, not sentence ends.
        if re.search(r"\b(?:c|e\.g|i\.e|approx|no|vs|St|Dr|Mr|Mrs|Ms|etc)\.$", line[: m.start() + 1]):
            continue
        out.append((pos, line[pos : m.start() + 1]))
        pos = m.end()
    out.append((pos, line[pos:]))
    return [(p, s) for p, s in out if s.strip()]


_CLAUSE_BREAK_RE = re.compile(
    r",\s(?!\d{3}\b)|;\s|\s[–—-]\s|:\s|\s\|\s|\t|\(|\)|\bwhile\b|\bwhereas\b|\bbut\b"
)


def _clause(sentence: str, pos: int) -> str:
    """The stretch of the sentence around position `pos` between commas, semicolons and dashes."""
    left = max((m.end() for m in _CLAUSE_BREAK_RE.finditer(sentence, 0, pos)), default=0)
    nxt = _CLAUSE_BREAK_RE.search(sentence, pos)
    right = nxt.start() if nxt else len(sentence)
    return sentence[left:right]


# --- kind rules ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Evidence:
    """What a rule may look at: the words around the figure, its clause, its sentence, its context."""

    local: str  # the figure and a few words either side, inside its clause
    clause: str
    sentence: str  # the sentence plus the lead-in that introduced it
    figure: str
    story: bool = False
    section_kind: str | None = None
    lead_in: str = ""  # the line ending in ":" that introduced this bullet; its plan or forecast wording wins


Verdict = tuple[str, float] | None
KindRule = Callable[[_Evidence], Verdict]


def _has(pattern: str, text: str) -> bool:
    return re.search(pattern, text, re.IGNORECASE) is not None


_STORY_CUES = (
    r"\b(?:Mrs?|Ms|Miss)\.?\s+[A-Z]\b|\b\d+[- ]years?[- ]old\b|"
    r"\bimagine\b|how it could happen|case example|patient story|\bmid-\d0s\b|\bfictionali[sz]ed\b|\bhypothetical\b"
)


def illustrative_story(ev: _Evidence) -> Verdict:
    """Persona and patient stories illustrate a model; their numbers are never results."""
    if ev.story or (ev.section_kind or "").lower() in {"illustrative", "story", "persona", "vignette"}:
        return ("illustrative", 0.9)
    return ("illustrative", 0.85) if _has(_STORY_CUES, ev.sentence) else None


_TARGET_CUES = (
    r"\baims? to\b|\baiming to\b|\btargets?\b|\btargeted (?:reduction|increase)|\bambitions?\b|\bgoals?\b(?! setting)|"
    r"\bplan(?:s|ning)? to\b|\bwe want to\b|\bexpected to achieve\b|\bshould\b|\bintend|\baspir|"
    r"\bwe (?:will|would like|hope|are hoping|expect) to\b|\bwe will\b|\bwill (?:reduce|deliver|achieve|save|cut|"
    r"improve|halve|ensure|be reduced|be delivered|support|provide|need)\b|will know we (?:have succeeded|are successful)|"
    r"\bsuccess criteria\b|\btrajector(?:y|ies)\b|\bcommit(?:ted|ment)? to\b|\bby the end of (?:20\d\d|the year)\b|"
    r"\bto be achieved\b|\bKPIs?\b|\bplanned\b"
)
_PROJECTION_CUES = (
    r"\bprojected\b|\bprojection|\bforecast|\bpredict|\bestimated to\b|\bit is estimated\b|\bcould (?:save|reduce|"
    r"avoid|prevent|release|deliver|free)|\bwould (?:have|save|reduce|cut|avoid|prevent|result|lead|mean|cost|free|"
    r"release|deliver|equate|generate|need|require|increase|rise|grow|fall|double)\b|\bbusiness case\b|\b(?:is|are) expected to\b|\bexpected to (?:rise|grow|fall|"
    r"increase)|\bmodell?ed\b|\bmodelling\b|\blikely to\b|\bwill (?:rise|grow|increase|double|fall|decline|reach)|"
    r"\bthere will be\b|\bif we carry on\b|\bif\b.+\bthen\b|\bcan be assumed\b|\bpotential (?:saving|reduction)|"
    r"\bin the next (?:\w+ )?(?:years|decade)\b|\bextrapolat|\bcould\b|\bmay (?:save|reduce|result|lead|avoid)\b|"
    r"\b(?:we|they|it is|is|are) expect(?:s|ed)?\b|\bexpect(?:s|ed)? (?:to|that)\b|\bassum(?:e|ed|ing|ption)"
)
_FUTURE_TENSE = r"\bwill\b|\bshall\b|\bgoing to\b"
_PAST_OR_PERFECT = (
    r"\b(?:has|have|had) (?:been |already )?\w+(?:ed|en|wn|ht)\b|\b(?:fell|rose|grew|saw|was|were|achieved|resulted|"
    r"revealed|showed|demonstrated|found)\b|\bso far\b|\bto date\b"
)
_FUTURE_YEAR = r"\bby (?:the year )?20(?:1[6-9]|[2-3]\d)\b|\bby 20\d\d/\d\d\b"


def target_language(ev: _Evidence) -> Verdict:
    """Aims, targets, ambitions and commitments: what a site wants, not what it got."""
    if _has(_TARGET_CUES, ev.clause):
        return ("target", 0.85)
    if _has(_TARGET_CUES, ev.lead_in) and not _has(_PROJECTION_CUES, ev.lead_in):
        return ("target", 0.8)  # "We will know we have succeeded if:" governs every bullet under it
    if _has(_PROJECTION_CUES, ev.clause):
        return None  # the clause is a forecast; let the projection rule have it
    if _has(_TARGET_CUES, ev.sentence) and not _has(_PAST_OR_PERFECT, ev.clause):
        return ("target", 0.75)
    if (ev.section_kind or "").lower() in {"plan", "plans", "aims", "target", "targets", "next-steps"}:
        return ("target", 0.6)
    return None


def projection_language(ev: _Evidence) -> Verdict:
    """Forecasts, models and counterfactuals: numbers about a future or an imagined world."""
    if _has(_PROJECTION_CUES, ev.clause):
        return ("projection", 0.85)
    if _has(_PROJECTION_CUES, ev.lead_in):
        return ("projection", 0.8)  # "If we carry on like this, by 2023 there will be:"
    if _has(_PROJECTION_CUES, ev.sentence) and not _has(_PAST_OR_PERFECT, ev.clause):
        return ("projection", 0.75)
    return None


def future_tense(ev: _Evidence) -> Verdict:
    """Future tense or "by 2020" with a figure is a plan, even without the word "target"."""
    if _has(_PAST_OR_PERFECT, ev.clause):
        return None
    if _has(_FUTURE_YEAR, ev.sentence) or _has(_FUTURE_TENSE, ev.sentence):
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


def baseline_context(ev: _Evidence) -> Verdict:
    """The area and the starting point: population, prevalence, unit costs, "currently"."""
    if _has(
        r"\b(?:compared (?:to|with)|against|from a baseline of|up from|down from)\s+(?:around |about )?$",
        ev.local.split(ev.figure)[0][-40:],
    ):
        return ("baseline", 0.7)  # "compared to 36,277 in 2013/14": the comparator, not the result
    if _has(_BASELINE_CUES, ev.clause) and not _has(_CHANGE_CUES + "|" + _AVOIDED_CUES, ev.clause):
        return ("baseline", 0.7)
    before = ev.local.split(ev.figure)[0]
    if (
        len(ev.clause.split()) <= 3
        and _has(_BASELINE_CUES, ev.sentence)
        and not _has(_CHANGE_CUES, ev.sentence)
    ):
        return ("baseline", 0.55)  # "Population size: 365,000."
    served = _has(
        r"\b(?:with|has|have|serves?|covers?)\s+(?:around |about |approximately |some |over )?$", before
    )
    if served and _has(r"^\W*(?:residents|people|inhabitants)\b", ev.local.split(ev.figure, 1)[-1]):
        return ("baseline", 0.6)
    return None


_AVOIDED_CUES = r"\bavoided\b|\bprevented\b|\baverted\b|\bavoidance\b|\bsaved\b"


def avoided_events(ev: _Evidence) -> Verdict:
    """Avoided events ("1,920 A&E attendances avoided") are results, but estimates against a counterfactual."""
    if _has(_AVOIDED_CUES, ev.local) and not ev.figure.startswith("£"):
        return ("result", 0.6)
    return None


_ACTIVITY_NOUNS = (
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


def activity_volume(ev: _Evidence) -> Verdict:
    """Reach and volume of the service itself: people seen, referrals taken, homes covered, money received."""
    if ev.figure.startswith("£"):
        if _has(
            r"\bfund|\bgrant|\binvest|\ballocat|\bbudget of\b|\bper (?:vanguard|site)\b|\bvalue of\b|\bspend\b|"
            r"\bcontract\b|\bworth\b",
            ev.clause,
        ) and not _has(r"sav|reduc|cut|lower|fell", ev.clause):
            return ("activity", 0.7)
        return None
    at = ev.local.find(ev.figure)
    if _has(_CHANGE_CUES, ev.local[max(0, at - 45) : at + len(ev.figure)]):
        return None  # "increased by slightly more than 3,000": a change in volume, decided below
    after = ev.local.split(ev.figure, 1)[-1]
    percent = "%" in ev.figure or "cent" in ev.figure
    if (
        not percent
        and re.match(
            rf"\W*(?:of (?:our |the |its )?)?(?:(?:[\w&'-]+\s+){{0,3}})(?:{_ACTIVITY_NOUNS})\b",
            after,
            re.IGNORECASE,
        )
        and not _has(_MEASURE_NOUNS, after[:40])
    ):
        return ("activity", 0.75)
    plural = re.match(r"\W*(?:of (?:our |the |its )?)?(?:[a-z-]+\s+)?([a-z-]+(?:s|ren|ple))\b", after)
    if not percent and plural and not _has(_MEASURE_NOUNS, plural.group()):
        return ("activity", 0.6)  # "10 midwives", "14 projects", "3 of our localities"
    if (
        "%" not in ev.figure
        and "cent" not in ev.figure
        and (_has(_ACTIVITY_VERBS, ev.clause) or _has(rf"\b(?:{_ACTIVITY_NOUNS})\b", ev.clause))
        and not _has(_MEASURE_NOUNS, ev.clause)
    ):
        return ("activity", 0.6)
    if (
        percent
        and _has(
            r"\b(?:across|in|covering|(?<!close )(?<!up )(?<!due )to)\s+(?:all\s+)?$",
            ev.local.split(ev.figure)[0],
        )
        and _has(rf"^\W*of (?:our |all |the )?(?:{_ACTIVITY_NOUNS})", after)
    ):
        return ("activity", 0.65)  # "across 100 per cent of practices"
    if percent and _has(
        rf"^\W*of (?:our |all |the )?(?:{_ACTIVITY_NOUNS})\W+(?:\([^)]*\)\s*)?(?:use|used|are using|have|signed|took|"
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


def achieved_change(ev: _Evidence) -> Verdict:
    """An achieved change or measured value: "reduced … by 14%", "fell from 739 to 663", "saved £200k"."""
    if _has(_CHANGE_CUES, ev.clause):
        return ("result", 0.8)
    before = ev.clause.split(ev.figure)[0]
    if _has(_MEASURE_NOUNS, ev.clause) and _has(
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


def measured_finding(ev: _Evidence) -> Verdict:
    """A share reported as a finding of the work ("64% of referrals were …") is a result, held loosely."""
    return ("result", 0.55) if _has(_FINDING_CUES, ev.sentence) else None


def no_cue(ev: _Evidence) -> Verdict:
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


def _decide(ev: _Evidence) -> tuple[str, float, str]:
    for rule in KIND_RULES:
        verdict = rule(ev)
        if verdict:
            return verdict[0], verdict[1], rule.__name__
    raise AssertionError("no_cue always fires")


def classify_sentence(sentence: str) -> tuple[str, float, str]:
    """The kind a sentence's figures get from its own wording: (kind, confidence, rule name).

    The whole sentence stands in for the figure's clause; extract_outcomes decides per figure.
    """
    m = next(
        (m for m in _FIGURE_RE.finditer(sentence) if not _skip_reason(sentence, m, _span_skips(sentence))),
        None,
    )
    figure = _figure_text(m.group()) if m else ""
    return _decide(_Evidence(local=sentence, clause=sentence, sentence=sentence, figure=figure))


# --- measure, direction, period, second hand -------------------------------------------------------------

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
    ("reach-activity", rf"\b(?:{_ACTIVITY_NOUNS})\b"),
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
    rf"\bbetween {_MONTH}(?: \d{{4}})? and {_MONTH} \d{{4}}",
    rf"\b(?:(?:for |in |during |over )?the (?:period|year) )?{_MONTH}(?: \d{{4}})?\s?[–-]\s?{_MONTH} \d{{4}}",
    rf"\bthe (?:period|year) {_MONTH}(?: \d{{4}})? (?:to|–|-) {_MONTH} \d{{4}}",
    r"\b(?:19|20)\d\d\s?[/–-]\s?(?:19|20)?\d\d\b",
    r"\bQ[1-4] (?:19|20)\d\d\b",
    rf"\b(?:since|from|by|in|during|at the end of|as of|at) (?:mid-)?(?:{_MONTH} )?(?:19|20)\d\d\b",
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


def _named_place(sentence: str) -> str | None:
    """The place a sentence says something happened in: "In Torbay, …", "Greenwich has put in place…"."""
    m = re.match(
        r"^\s*(?:[-•]\s*)?(?:In|At) ((?:[A-Z][\w'’&-]+)(?: (?:and |on |upon |of )?[A-Z][\w'’&-]+)*)\b",
        sentence,
    )
    if not m:
        m = re.match(
            r"^\s*((?:[A-Z][\w'’&-]+)(?: (?:and |on |upon )?[A-Z][\w'’&-]+)*)[⁰¹²³⁴⁵⁶⁷⁸⁹\d]*,? "
            r"(?:has|have|had|saw|achieved|reported|introduced|created|operated|put|set up|developed)\b",
            sentence,
        )
    if not m:
        return None
    name = m.group(1)
    words = [w.lower() for w in re.split(r"[\s-]+", name)]
    if any(w in _PLACE_STOP for w in words) or _has(_MONTH + r"$", name):
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
    if _has(_ELSEWHERE_CUES, sentence):
        return True
    if block_place is not None:  # inside an "Experience from elsewhere" block
        return not (site and block_place and _same_place(site, block_place))
    place = _named_place(sentence)
    return bool(site and place and not _same_place(site, place))


# --- extraction ------------------------------------------------------------------------------------------

_FROM_TO_RE = re.compile(
    rf"\bfrom\s+(?:around |about |approximately |c\.\s?)?(?P<a>£?(?:{_NUM})(?:%|{_MAGNITUDE})?)"
    rf"(?:\s+[^\s\d£]+){{0,4}}?(?:\s+(?:in|at|for)\s+[\w/ ]{{1,20}}?)?\s+(?:to|→)\s+"
    rf"(?:around |about |approximately |c\.\s?)?(?P<b>£?(?:{_NUM})(?:%|{_MAGNITUDE})?)"
)
_TO_FROM_RE = re.compile(
    rf"\bto\s+(?:around |about |approximately )?(?P<b>£?(?:{_NUM})%?)(?:\s+\S+){{0,8}}?\s+from\s+"
    rf"(?:around |about |approximately )?(?P<a>£?(?:{_NUM})%?)"
)
_CHANGE_VERB_BEFORE_FROM = r"(?:reduc|decreas|fell|fallen|drop|declin|increas|rose|risen|grown|grew|improv|went|moved|cut|shifted|changed|down|up)\w*"


def _from_to_pairs(sentence: str) -> dict[int, int]:
    """Offsets of "to"-values mapped to their "from"-values, where a change verb says it is a change."""
    pairs = {}
    for pattern in (_FROM_TO_RE, _TO_FROM_RE):
        for m in pattern.finditer(sentence):
            if re.search(
                _CHANGE_VERB_BEFORE_FROM, sentence[max(0, m.start() - 80) : m.start()], re.IGNORECASE
            ):
                pairs[m.start("b")] = m.start("a")
    return pairs


def _table_pair(cells: list[str]) -> tuple[int, int] | None:
    """In a table row with two or more numeric cells, the last is the figure and the one before its baseline."""
    numeric = [i for i, c in enumerate(cells) if re.fullmatch(rf"£?(?:{_NUM})\s?%?", c.strip())]
    return (numeric[-2], numeric[-1]) if len(numeric) >= 2 else None


def _clean_sentence(sentence: str) -> str:
    return " ".join(sentence.replace("**", "").split()).lstrip("-•* ").strip()


# Section kinds (from ingest.structure) whose numbers are never outcomes: page numbers, volumes, ISBNs.
_NO_OUTCOME_SECTIONS = frozenset({"references", "toc", "boilerplate", "front_matter"})


def extract_outcomes(text: str, *, site: str | None = None, section_kind: str | None = None) -> list[Outcome]:
    """Find the figures a span of cleaned report text reports and classify each one.

    Takes the span (paragraphs separated by blank lines, bullets and " | " table rows allowed), the
    name of the site it describes (for second-hand detection) and an optional section kind
    ("illustrative" or "plan" force those kinds). Returns outcomes in text order; never raises on odd text.
    """
    if (section_kind or "").lower() in _NO_OUTCOME_SECTIONS:
        return []
    outcomes: list[Outcome] = []
    for line in _lines(text):
        if _is_table_row(line.text):
            outcomes.extend(_table_outcomes(line, site, section_kind))
            continue
        skips = _span_skips(line.text)
        previous = ""
        for offset, sentence in _sentences(line.text):
            outcomes.extend(_sentence_outcomes(line, offset, sentence, previous, skips, site, section_kind))
            previous = sentence
    return outcomes


def _sentence_outcomes(
    line: _Line,
    offset: int,
    sentence: str,
    previous: str,
    skips: list[tuple[int, int]],
    site: str | None,
    section_kind: str | None,
) -> list[Outcome]:
    pairs = _from_to_pairs(sentence)
    from_values = set(pairs.values())
    context = f"{line.lead_in} {sentence}".strip()
    out = []
    for m in _FIGURE_RE.finditer(line.text, offset, offset + len(sentence)):
        if _skip_reason(line.text, m, skips):
            continue
        pos = m.start() - offset
        if pos in from_values:
            continue  # the from-value lives in the to-value's `baseline`
        figure = _figure_text(m.group())
        clause = _clause(sentence, pos)
        local = sentence[max(0, pos - 50) : m.end() - offset + 50]
        local = local if len(clause) > len(local) else clause
        ev = _Evidence(local, clause, context, figure, line.story, section_kind, line.lead_in)
        kind, confidence, rule = _decide(ev)
        baseline = ""
        if pos in pairs:
            baseline = _figure_text(_FIGURE_RE.match(sentence, pairs[pos]).group())  # type: ignore[union-attr]
        out.append(
            Outcome(
                measure=measure_for(clause, figure, sentence, line.lead_in, previous),
                direction=direction_for(clause, figure, baseline),
                figure=figure,
                kind=kind,
                period=period_for(sentence) or period_for(line.lead_in),
                baseline=baseline,
                second_hand=is_second_hand(context, site, line.elsewhere),
                sentence=_clean_sentence(sentence),
                start=line.start + m.start(),
                confidence=confidence,
                rule=rule,
            )
        )
    return out


def _table_outcomes(line: _Line, site: str | None, section_kind: str | None) -> list[Outcome]:
    """A data row: "Readmission rate | 10.22% | 2.27%" reads as a measure going from baseline to result."""
    separator = "\t" if "\t" in line.text.strip("\t ") else " | "
    cells = line.text.split(separator)
    pair = _table_pair(cells)
    if pair is None:
        return []
    before_cell, after_cell = cells[pair[0]].strip(), cells[pair[1]].strip()
    figure_start = line.text.rfind(after_cell)
    label = " ".join(c for c in cells if not re.search(r"\d", c)) or line.header
    context = f"{line.lead_in} {line.header} {label}"
    ev = _Evidence(label, label, context, after_cell, line.story, section_kind, line.lead_in)
    kind, confidence, rule = _decide(ev)
    if rule in {"no_cue", "measured_finding", "baseline_context"} and _has(r"baseline|before", line.header):
        kind, confidence, rule = "result", 0.6, "table_before_after"
    return [
        Outcome(
            measure=measure_for(label, after_cell, line.lead_in),
            direction=direction_for(label, after_cell, before_cell),
            figure=after_cell,
            kind=kind,
            period=period_for(line.header) or period_for(line.lead_in),
            baseline=before_cell,
            second_hand=is_second_hand(context, site, line.elsewhere),
            sentence=_clean_sentence(line.text.replace("\t", " | ")),
            start=line.start + figure_start,
            confidence=confidence,
            rule=rule,
        )
    ]
