"""Figures in a line of report text: the pattern that finds them and the tests that skip non-figures."""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache

NUM = r"\d{1,3}(?:,\s?\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
MAGNITUDE = r"(?:\s?(?:k|m|bn)\b|\s(?:million|billion|thousand)\b)"
_SCORE = r"\d+(?:\.\d+)?/\d+"
# Order matters: a before→after score, then money, then percentages, then bare numbers.
FIGURE_RE = re.compile(
    rf"(?P<arrow>{_SCORE}\s*(?:→|->)\s*{_SCORE})"
    rf"|(?P<ratio>\d+(?:\.\d+)?\s?:\s?1\b(?!\d))"
    rf"|(?P<money>£\s?(?:{NUM}){MAGNITUDE}?)"
    rf"|(?P<percent>(?:{NUM})\s?(?:%|per\s?cent\b))"
    rf"|(?P<number>(?:{NUM})(?:{MAGNITUDE}|\+)?)",
    re.ASCII,
)
MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
# A bullet or list-number opener at the start of a line ("- ", "• ", "3. ", "2) ").
BULLET_RE = re.compile(r"^\s*(?:[-•*▪]|\d{1,2}[.)])\s+")
# Words that make the following number a label, not a quantity: "Tier 4", "Band 6", "Q1", "page 13".
_LABEL_WORDS = re.compile(
    r"(?:\b(?:section|para(?:graph)?|page|pp?\.|figure|fig\.|table|box|appendix|annex|lesson|tier|segment|"
    r"stage|phase|band|level|step|item|priority|year|wave|cohort|goal|ward|version|chapter|part|unit|"
    r"number|no\.|ref(?:erence)?|route|junction|room|floor|flat|objective|principle|domain|group|"
    r"standard|indicator|question|option|workstream|scheme|pilot|site|aim|outcome|fund|on day|day)s?|\bQ)"
    r"\s*(?:\d+\s*(?:,|and|or|to|-|–|&)\s*)*$",
    re.IGNORECASE,
)


class Skips:
    """Spans of a line that hold no reportable figure; `covers(pos)` in logarithmic time, however many."""

    def __init__(self, spans: list[tuple[int, int]]):
        ordered = sorted(spans)
        self._starts = [s for s, _ in ordered]
        self._reach: list[int] = []  # the furthest end among the spans up to each one
        for _, end in ordered:
            self._reach.append(max(end, self._reach[-1]) if self._reach else end)

    def covers(self, pos: int) -> bool:
        i = bisect_right(self._starts, pos)
        return i > 0 and self._reach[i - 1] > pos


def span_skips(line: str) -> Skips:
    """Character spans of a line that hold no reportable figure (dates, times, phones, scales…)."""
    patterns = [
        rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{MONTH}\b",  # "31 December 2014"
        rf"\b{MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?!,\d)",  # "December 31"
        r"(?<!\d)0\d{2,4}[ -]?\d{3}[ -]?\d{3,4}(?!\d)",  # UK phone numbers
        r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b",  # postcodes
        r"\b\d{1,2}(?:[.:]\d{2})?\s?(?:am|pm)\b",  # clock times
        r"\b\d+\s?[hd]?/\s?\d+(?!\d|\s*(?:→|->))",  # "24/7", "15h/7d", "24/48hrs", "2015/16"
        r"\b\d+[- ]years?[- ]old\b",  # ages in stories
        r"(?:\b\d{1,2}\s+){2,}\d{1,2}\b",  # rating scales "1 2 3 4 5"
        r"\b\d+(?:\.\d+)?-(?:minute|min|hour|hr|day|week|month|year|bed|bedded|point|step|tier|page|mile)s?\b",
        r"\^\{[^}^]*\}",  # pseudo-LaTeX citation markers (the body stops at the next "^": linear time)
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
    return Skips(spans)


# How far before a figure the tests look (a label such as "pages 4, 5 and 6", an age, a sentence end). A
# fixed window keeps the work per figure constant, so a line with many figures is read in linear time.
_BEFORE_WINDOW = 200
_LINE_START_RE = re.compile(r"\s*(?:[-•*]\s*)?")
_GLUED_AFTER_RE = re.compile(r"[A-Za-z]")
# Possessive: the digits and dots after "1." are read once (`(?:\d+\.?)*\s` backtracked exponentially).
_LIST_NUMBER_AFTER_RE = re.compile(r"\.(?:\d++\.?)*+\s|[.)]\s")
_SENTENCE_START_AFTER_RE = re.compile(r"\s*(?:[A-Z][a-z]|$)")


@lru_cache(maxsize=8)
def _line_bounds(line: str) -> tuple[int, int, int]:
    """(end of a leading bullet and spaces, first non-space, end of the last non-space) of a line."""
    return _LINE_START_RE.match(line).end(), len(line) - len(line.lstrip()), len(line.rstrip())  # type: ignore[union-attr]


def skip_reason(line: str, m: re.Match[str], skips: Skips) -> str | None:
    """Why the matched number is not a figure, or None when it is one. Each test names a non-figure.

    Reads a bounded window of the line around the figure, so the work per figure does not grow with the line."""
    start, end = m.span()
    text = m.group()
    before = line[max(0, start - _BEFORE_WINDOW) : start]
    lead_end, first_text, last_text = _line_bounds(line)
    at_line_start = start <= lead_end  # only spaces and a bullet before the figure
    if skips.covers(start):
        return "date/time/phone/scale/descriptor"
    if m.group("arrow") or m.group("money") or m.group("ratio"):
        return None
    # Glued to letters or other digits: "N19", "Q1", "8pm", "40s", "3rd", "£x" parts, "v2".
    if re.search(r"[A-Za-z_\d]$", before) or _GLUED_AFTER_RE.match(line, end):
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
    if plain and len(value.lstrip("0")) == 4 and 1900 <= int(value) <= 2039 and "," not in text:
        return "year"
    if at_line_start and _LIST_NUMBER_AFTER_RE.match(line, end):
        return "list or paragraph number"  # "1. ", "- 1.13. "
    if at_line_start and re.fullmatch(r"\d+(?:\.\d+)+", text):
        return "section number"  # "7.4.2 Living Well"
    if start <= first_text and end >= last_text:
        return "page number"
    if _LABEL_WORDS.search(line, max(0, start - _BEFORE_WINDOW), start):
        return "label number"
    if (
        re.search(r"[.!?]\s+$", before)
        and _SENTENCE_START_AFTER_RE.match(line, end)
        and plain
        and len(value) <= 2
    ):
        return "citation marker"  # "improvement work. 34 The…"
    after = line[end : end + _BEFORE_WINDOW]
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
    if start < 12 and (
        is_section_heading(BULLET_RE.sub("", line, count=1) if re.match(r"^\s*[-•*▪]\s", line) else line)
        or re.match(r"^\s*(?:[-•*]\s*)?\d+\s+[A-Z][A-Z'’]+\b", line)
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


def is_section_heading(line: str) -> bool:
    words = line.split()
    return (
        bool(re.match(r"^\d+(?:\.\d+)*\.?\s+[A-Z“'‘\"]", line))
        and len(words) <= 15
        and not re.search(r"[.;:!?]$", line.strip())
    )


def figure_text(raw: str) -> str:
    # The converter split thousands ("287, 594", "c.13, 000"); the figure is the number, not the damage.
    return re.sub(r"(?<=\d),\s(?=\d{3})", ",", raw.strip())
