"""Page-furniture rules: drop contents pages, page numbers, running headers, boilerplate and residue."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from ingest.clean.common import TERMINAL_RE, Lines, Log, is_tab_row
from ingest.text import sentence_spans

_CONTENTS_HEADING_RE = re.compile(r"^(table of )?contents[.\s]*$", re.IGNORECASE)
_PAGE_CELL_RE = re.compile(r"^\d{1,3}$")
# Starts only where a run of dots starts, so a long run is read once (linear time on any line).
_DOT_LEADER_ENTRY_RE = re.compile(r"(?<!\.)\.{3,}+\s*+\d{1,3}$")
_SPACE_PAGE_ENTRY_RE = re.compile(r"^\S.{1,150}[^.\s] \d{1,3}$")


def _is_contents_entry(line: str) -> bool:
    stripped = line.strip()
    if "\t" in line:
        cells = [c.strip() for c in line.split("\t")]
        filled = [c for c in cells if c]
        if not filled:
            return True
        # "Title<TAB>page", "N<TAB>Title<TAB>page", "page<TAB>Title", or a wrapped entry ending in a tab
        return bool(_PAGE_CELL_RE.match(filled[-1]) or _PAGE_CELL_RE.match(filled[0]) or cells[-1] == "")
    if _DOT_LEADER_ENTRY_RE.search(stripped) or _SPACE_PAGE_ENTRY_RE.match(stripped):
        return True
    # Word's field-code error replaces the page number of the last entry (seed 003 L2690-2691).
    return stripped.endswith("Error!") or stripped.startswith("Bookmark not defined")


def drop_contents_pages(lines: Lines, log: Log) -> Lines:
    """Drop a Contents heading and the run of page-numbered entries after it (the TOC repeats headings)."""
    out: Lines = []
    i = 0
    while i < len(lines):
        if not _CONTENTS_HEADING_RE.match(lines[i].strip()):
            out.append(lines[i])
            i += 1
            continue
        log.drop("drop_contents_pages", lines[i])
        i += 1
        while i < len(lines) and (not lines[i] or _is_contents_entry(lines[i])):
            log.drop("drop_contents_pages", lines[i])
            i += 1
    return out


# A signpost sends the reader to a website or an account and says nothing else: "Visit example.gov.uk for
# councillor information and email alerts", "Catch up with the latest news on twitter @Example". Every sentence
# of the line must open with such a call and name an address or a handle, and carry no figure of its own.
_SIGNPOST_CALL_RE = re.compile(
    r"^(?:visit|catch up|follow|find out more|read more|see more|keep up to date|keep in touch|sign up|"
    r"subscribe|go to|watch|join (?:us|the conversation))\b",
    re.IGNORECASE,
)
_WEB_ADDRESS_RE = re.compile(
    r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:gov|nhs|org|co|com|net|ac)(?:\.uk)?(?:/\S*)?|(?<![\w@])@\w+"
)
# A signpost is a line or two; the bound also keeps the address pattern to linear time on any line.
_MAX_SIGNPOST_CHARS = 400
_HANDLES_ONLY_RE = re.compile(r"^(?:\[?@\w+\]?(?:\([^)]*\))?[\s,]*)+$")
_SOCIAL_RE = re.compile(r"^(?:[-•]\s*)?(?:follow us|twitter)\s*:", re.IGNORECASE)
_HASHTAGS_ONLY_RE = re.compile(r"^(?:#\w+\s*)+$")
_COPYRIGHT_RE = re.compile(r"^(ISBN\b|©|\(c\) \d{4}|Copyright\b)|Registered charity number", re.IGNORECASE)
_WEBCAST_RE = re.compile(r"webcast", re.IGNORECASE)


def _is_signpost(line: str) -> bool:
    """A line whose every sentence only sends the reader to a web address or a social account."""
    if not line or len(line) > _MAX_SIGNPOST_CHARS:
        return False
    sentences = [line[s:e] for s, e in sentence_spans(line)]
    return bool(sentences) and all(
        _SIGNPOST_CALL_RE.match(sentence)
        and _WEB_ADDRESS_RE.search(sentence)
        and not re.search(r"\d", _WEB_ADDRESS_RE.sub("", sentence))
        for sentence in sentences
    )


def _is_short_heading(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= 5 and not TERMINAL_RE.search(line) and line[:1].isupper()


def _drop_webcast_notice(lines: Lines, log: Log) -> Lines:
    out: Lines = []
    in_notice = False
    for line in lines:
        stripped = line.strip()
        if stripped.lower() == "webcasting notice":
            in_notice = True
            log.drop("drop_boilerplate:webcast", line)
            continue
        if in_notice and stripped and _is_short_heading(stripped):
            in_notice = False
        if in_notice or (
            _WEBCAST_RE.search(stripped) and re.search(r"meeting|filmed|record", stripped, re.I)
        ):
            log.drop("drop_boilerplate:webcast", line)
            continue
        out.append(line)
    return out


def drop_boilerplate(lines: Lines, log: Log) -> Lines:
    """Drop signposts to a website or account, "Follow us:" social lines, hashtags, webcast notices and ISBN/©
    lines."""
    out: Lines = []
    previous_social = False
    for line in lines:
        stripped = line.strip()
        social = bool(_SOCIAL_RE.match(stripped) or (stripped and _HANDLES_ONLY_RE.match(stripped))) or bool(
            previous_social and stripped and "@" in stripped and _HANDLES_ONLY_RE.match(stripped)
        )
        if social:
            log.drop("drop_boilerplate:social", line)
        elif _is_signpost(stripped):
            log.drop("drop_boilerplate:signpost", line)
        elif _HASHTAGS_ONLY_RE.match(stripped):
            log.drop("drop_boilerplate:hashtag", line)
        elif _COPYRIGHT_RE.search(stripped):
            log.drop("drop_boilerplate:copyright", line)
        else:
            out.append(line)
        previous_social = social
    return _drop_webcast_notice(out, log)


def _looks_like_running_header(line: str) -> bool:
    if is_tab_row(line) or line.lstrip().startswith(("-", "•")):
        return False
    # A repeated short title-like line is a heading ("Population characteristics"); a repeated
    # sentence, URL or page label is page furniture.
    if re.search(r"www\.|https?://|\bpage \d+", line, re.IGNORECASE):
        return True
    return len(line) >= 60 and not line.rstrip().endswith((":", "?"))


def drop_repeated_lines(lines: Lines, log: Log) -> Lines:
    """Drop running headers/footers: lines repeated verbatim three or more times that are not headings."""
    counts = Counter(line.strip() for line in lines if line.strip())
    repeated = {text for text, n in counts.items() if n >= 3 and _looks_like_running_header(text)}
    out = []
    for line in lines:
        if line.strip() in repeated:
            log.drop("drop_repeated_lines", line)
        else:
            out.append(line)
    return out


# What an organisation's name ends with. A logo rendered as text stacks the name over its type, so the type
# lands on a line of its own ("CHILTERN" / "District Council", "NHS" / "Aylesbury Vale" / "Clinical
# Commissioning Group"); prose and headings never leave the type alone on a line.
_ORGANISATION_TYPES = frozenset(
    {
        "nhs", "council", "district council", "county council", "borough council", "city council",
        "metropolitan borough council",
        "commissioning group", "clinical commissioning group", "ccg", "healthwatch", "trust", "nhs trust",
        "foundation trust", "nhs foundation trust",
    }
)  # fmt: skip
_ORGANISATION_TYPE_RE = re.compile(
    r"\b(?:nhs|council|commissioning group|ccg|healthwatch|trust)\b", re.IGNORECASE
)
_NAME_WORD_RE = re.compile(r"^(?:[A-Z][\w'&-]*|&|and|of|the|on|upon)$")
_MAX_NAME_WORDS = 5


def _is_name_fragment(line: str) -> bool:
    """A short line of capitalised words with no sentence punctuation or figures: part of a name."""
    words = line.split()
    if not 0 < len(words) <= _MAX_NAME_WORDS or any(ch.isdigit() for ch in line):
        return False
    return all(_NAME_WORD_RE.match(word) or word.lower() in _ORGANISATION_TYPES for word in words)


def _blocks(lines: Lines) -> list[tuple[int, int]]:
    """(start, end) index pairs of runs of non-blank lines."""
    spans, start = [], None
    for i, line in enumerate([*lines, ""]):
        if line and start is None:
            start = i
        elif not line and start is not None:
            spans.append((start, i))
            start = None
    return spans


def drop_logo_residue(lines: Lines, log: Log) -> Lines:
    """Drop blocks of lines that are only organisation names broken up by a logo ("CHILTERN" / "District Council").

    A block (lines between blank lines) is logo text when every line is a short name fragment and one line
    is an organisation type standing alone ("District Council", "NHS", "healthwatch"). A one-line name with
    a type ("South Tyneside Council") goes too when it sits beside such a block with only blank lines
    between: a strip of logos. A heading such as "Buckinghamshire County Council" above its text stays.
    """
    spans = [(start, end, [line.strip() for line in lines[start:end]]) for start, end in _blocks(lines)]
    names = [all(_is_name_fragment(line) for line in block) for _, _, block in spans]
    logos = [
        is_name and any(line.lower() in _ORGANISATION_TYPES for line in block)
        for is_name, (_, _, block) in zip(names, spans, strict=True)
    ]
    for i, (_, _, block) in enumerate(spans):
        beside_a_logo = (i > 0 and logos[i - 1]) or (i + 1 < len(spans) and logos[i + 1])
        if names[i] and beside_a_logo and any(_ORGANISATION_TYPE_RE.search(line) for line in block):
            logos[i] = True
    out = list(lines)
    for is_logo, (start, end, _) in zip(logos, spans, strict=True):
        if is_logo:
            for k in range(start, end):
                log.drop("drop_logo_residue", lines[k])
                out[k] = ""
    return out


_IMAGE_DESCRIPTION_RE = re.compile(
    r"^(?:(?:A|An) (?:\w+ )?(?:photograph|photo|image|picture|illustration)\b"
    r"(?: of| showing| shows| depicting)|(?:Image|Photo|Photograph|Alt text)\s*:)",
    re.IGNORECASE,
)
# "River barge – Aylesbury", "Clock Tower – Aylesbury": a photo caption names a subject and the place it
# was taken. One such line alone cannot be told from a heading ("Case study – Torbay", "Morecambe Bay –
# Profile"); a series of them can: several stand-alone lines with different subjects ending in the same
# place. A tail or subject that names a part of a document (profile, case study, story...) is a heading.
_CAPTION_RE = re.compile(r"^(?P<subject>[A-Z][\w' ]{1,40}?) – (?P<place>[A-Z][a-z]+(?: [A-Z][a-z]+)?)$")
_DOCUMENT_PART_RE = re.compile(
    r"\b(?:profile|case stud(?:y|ies)|story|stories|annex|appendix|box|figure|table|chapter|part|section|"
    r"summary|introduction|overview|background|conclusions?|update|briefing|report)\b",
    re.IGNORECASE,
)


def _caption_series(lines: Lines) -> set[str]:
    """The stand-alone "Subject – Place" lines whose place ends two or more lines with different subjects."""
    subjects_by_place: dict[str, set[str]] = {}
    for i, line in enumerate(lines):
        stripped = line.strip()
        alone = (i == 0 or not lines[i - 1].strip()) and (i + 1 == len(lines) or not lines[i + 1].strip())
        match = _CAPTION_RE.match(stripped) if alone else None
        if match and not _DOCUMENT_PART_RE.search(stripped):
            subjects_by_place.setdefault(match["place"], set()).add(match["subject"])
    return {
        f"{subject} – {place}"
        for place, subjects in subjects_by_place.items()
        if len(subjects) >= 2
        for subject in subjects
    }


def _blank_lines_where(lines: Lines, log: Log, rule: str, matches: Callable[[str], bool]) -> Lines:
    """Each line that `matches` becomes blank (keeping paragraph breaks) and is logged under `rule`."""
    out: Lines = []
    for line in lines:
        if matches(line):
            log.drop(rule, line)
            out.append("")
        else:
            out.append(line)
    return out


def drop_image_descriptions(lines: Lines, log: Log) -> Lines:
    """Drop machine-written alt text and series of photo captions; "The diagram below shows" is prose, kept."""
    captions = _caption_series(lines)
    return _blank_lines_where(
        lines,
        log,
        "drop_image_descriptions",
        lambda line: bool(_IMAGE_DESCRIPTION_RE.match(line.strip()) or line.strip() in captions),
    )


_RATING_SCALE_RE = re.compile(r"\b1 2 3 4 5( 6 7 8 9 10)?\b")
_BLANK_FIELD_RE = re.compile(r"_{3,}")


def drop_form_residue(lines: Lines, log: Log) -> Lines:
    """Drop a reproduced survey form's rating scales, fill-in blanks and FREEPOST address block."""
    out: Lines = []
    in_address = False
    for line in lines:
        stripped = line.strip()
        in_address = bool(stripped) and (in_address or stripped.startswith("FREEPOST"))
        if in_address or _RATING_SCALE_RE.search(stripped) or _BLANK_FIELD_RE.search(stripped):
            log.drop("drop_form_residue", line)
            out.append("")
        else:
            out.append(line)
    return out


# "\cmd{ … }": the atomic group settles on the first "\cmd{" and the line is read once for a "}" after it
# (was `\\[a-z]+\{.*\}`, which re-read the rest of the line from every "\cmd{": quadratic time).
_PSEUDO_LATEX_RE = re.compile(r"\\frac\{|^(?>.*?\\[a-z]++\{).*\}|^\$.*\$$")
_SALAD_NUMBER_RE = re.compile(r"(?:^|\s)\d{1,2}\.(?=\s)")


def _is_word_salad(line: str) -> bool:
    # A flattened figure reads its numbered labels in layout order: many "N." tokens scattered in one line.
    return "\t" not in line and len(_SALAD_NUMBER_RE.findall(line)) >= 5


def drop_garbage_lines(lines: Lines, log: Log) -> Lines:
    """Drop pseudo-LaTeX source lines and flattened-figure word salad (seed 002 L124, L512)."""
    return _blank_lines_where(
        lines,
        log,
        "drop_garbage_lines",
        lambda line: bool(_PSEUDO_LATEX_RE.search(line) or _is_word_salad(line)),
    )


_PAGE_ONLY_RE = re.compile(r"^\d{1,3}$")
_GLUED_PAGE_RE = re.compile(r"^(\d{1,3}) (\S+)(.*)$")
_GLUED_GARBLE_RE = re.compile(r"^([a-z]{1,2}) (?=(?:The|This|These|As|It|In|A|An|We|Our)\b)")
_REAL_SHORT_WORDS = frozenset(
    "a i an as at be by do go he if in is it me my no of on or so to up us we".split()
)
_MAX_PAGE_GAP = 20
# First words after a leading number that make it a count ("12 GP practices"), never a page stamp.
_COUNTED_NOUNS = frozenset(
    """GP GPs CCG CCGs NHS Clinical Commissioning Local Primary Care Acute Community West East North
    South Health Practices Practice People Patients Staff Sites Vanguards Organisations Trusts Beds
    Hospitals Teams Days Weeks Months Years Hours Per Percent Million Thousand""".split()
)
_MONTHS = frozenset(
    "Jan January Feb February Mar March Apr April May Jun June Jul July Aug August Sep Sept September "
    "Oct October Nov November Dec December".split()
)


# A numbered heading of a part of the document: its label opens it ("3 Case study: Barnsley – …", "Annex B:
# …", "Part 2 – …") or closes it ("1 Barnsley Pioneer Programme – Profile"). Its number is the part's,
# never a page stamp.
_PART_LABEL = r"(?:case stud(?:y|ies)|profile|annex|appendix|chapter|part|section|box|story)"
_PART_HEADING_RE = re.compile(
    rf"^{_PART_LABEL}(?:\s+[\w.]{{1,4}})?\s*(?::|\s[–-]\s)|\s[–-]\s+{_PART_LABEL}$", re.IGNORECASE
)
# A label heading in capitals standing alone on its line: "AIM", "OUTLINE", "PARTNERS".
_LABEL_HEADING_RE = re.compile(r"^[A-Z]{3,}$")


def _is_glued_page_stamp(number: int, first_word: str, rest: str, last_page: int | None) -> bool:
    if _PART_HEADING_RE.search(rest):
        return False
    in_sequence = last_page is not None and last_page < number <= last_page + _MAX_PAGE_GAP
    if _LABEL_HEADING_RE.match(rest.strip()):
        # "30 AIM" after page 29 is a stamp on a label heading; "3 MINUTES" on an agenda, before any page
        # number, is the item's own number.
        return in_sequence
    counted = first_word in _COUNTED_NOUNS or first_word in _MONTHS or first_word.isupper()
    return in_sequence and first_word[:1].isupper() and first_word.isalpha() and not counted


def strip_page_numbers(lines: Lines, log: Log) -> Lines:
    """Drop page-stamp lines and page numbers glued to a paragraph start, keeping real leading figures.

    A leading number is a stamp only if it fits the running page sequence and is followed by a known
    heading word or a sentence start that is not a counted noun ("12 GP practices" stays).
    """
    out = []
    last_page: int | None = None
    for line in lines:
        stripped = line.strip()
        if _PAGE_ONLY_RE.match(stripped):
            log.drop("strip_page_numbers", line)
            last_page = max(last_page or 0, int(stripped))
            out.append("")
            continue
        match = _GLUED_PAGE_RE.match(stripped) if "\t" not in line else None
        if match:
            number, first_word = int(match.group(1)), match.group(2)
            rest = f"{first_word}{match.group(3)}"
            if _is_glued_page_stamp(number, first_word.rstrip(".,:;"), rest, last_page):
                log.drop("strip_page_numbers", match.group(1))
                last_page = number
                line = rest
        garble = _GLUED_GARBLE_RE.match(line) if last_page is not None else None
        if garble and garble.group(1) not in _REAL_SHORT_WORDS:
            log.drop("strip_page_numbers", garble.group(1))
            line = line[garble.end() :]
        out.append(line)
    return out
