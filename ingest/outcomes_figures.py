"""Figures in a line of report text: the pattern that finds them and the tests that skip non-figures."""

from __future__ import annotations

import re

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


def span_skips(line: str) -> list[tuple[int, int]]:
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


def skip_reason(line: str, m: re.Match[str], skips: list[tuple[int, int]]) -> str | None:
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
    unbulleted = BULLET_RE.sub("", line, count=1) if re.match(r"^\s*[-•*▪]\s", line) else line
    if start < 12 and (
        is_section_heading(unbulleted) or re.match(r"^\s*(?:[-•*]\s*)?\d+\s+[A-Z][A-Z'’]+\b", line)
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
