"""Cleaning stage: turn raw PDF-converted report text into clean paragraphs, keeping what it removes."""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CleanedText:
    text: str  # the cleaned document text
    contacts: list[str]  # contact lines / e-mail addresses / phone numbers removed from the body
    dropped: list[tuple[str, str]]  # (rule_name, original_text) for every line or fragment removed


@dataclass
class _Log:
    """What the rules took out of the body, so no fact is silently lost."""

    contacts: list[str] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)

    def drop(self, rule: str, text: str) -> None:
        if text.strip():
            self.dropped.append((rule, text))


Lines = list[str]
Rule = Callable[[Lines, _Log], Lines]

# --- shared patterns -------------------------------------------------------------------------------

_EMAIL = r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+"
_EMAIL_RE = re.compile(_EMAIL)
# UK numbers as printed in the packs: "01296 382876", "0300 123 4567".
_PHONE_RE = re.compile(r"(?<!\d)0\d{2,4}[ -]?\d{3}[ -]?\d{3,4}(?!\d)")
_TERMINAL_RE = re.compile(r"[.!?:;][\"')\]]*$")
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
# Words the seed brochures use as fixed profile headings; a page stamp glued to one is not a figure.
HEADING_WORDS = frozenset({"AIM", "AIMS", "OUTLINE", "PARTNERS", "POPULATION", "CONTACT"})
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


def _is_table_row(line: str) -> bool:
    return "\t" in line


# --- rules on raw lines ----------------------------------------------------------------------------


def normalise_whitespace(lines: Lines, log: _Log) -> Lines:
    """Blank out whitespace-only lines and trailing spaces; NBSP and zero-width marks become plain."""
    out = []
    for line in lines:
        line = line.replace("\u00a0", " ").replace("\u200b", "").replace("\u00ad", "").replace("\ufeff", "")
        line = line.rstrip(" \r\f\v")
        out.append("" if not line.strip() else line)
    return out


_CONTENTS_HEADING_RE = re.compile(r"^(table of )?contents[.\s]*$", re.IGNORECASE)
_PAGE_CELL_RE = re.compile(r"^\d{1,3}$")
_DOT_LEADER_ENTRY_RE = re.compile(r"\.{3,}\s*\d{1,3}$")
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


def drop_contents_pages(lines: Lines, log: _Log) -> Lines:
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


_FIELD_CODE_RE = re.compile(r"\s*Error!\s*Bookmark not defined\.?")


def fix_field_code_residue(lines: Lines, log: _Log) -> Lines:
    """Remove Word's "Error! Bookmark not defined." (possibly split over two lines), keep its sentence."""
    text = "\n".join(lines)
    for match in _FIELD_CODE_RE.finditer(text):
        log.drop("fix_field_code_residue", match.group().strip())
    return _FIELD_CODE_RE.sub("", text).split("\n")


_QUOTES = str.maketrans(
    {"‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "“": '"', "”": '"', "„": '"', "″": '"'}
)
_LOOKALIKES = str.maketrans(
    {
        "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
        "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M",
        "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "а": "a", "е": "e", "о": "o", "р": "p",
        "с": "c", "у": "y", "х": "x",
    }
)  # fmt: skip
_ENTITY_RE = re.compile(r"&(#\d{1,6}|#x[0-9a-fA-F]{1,6}|[A-Za-z]{2,8});")
_DROP_CAP_RE = re.compile(r"^([A-Z][a-z])\t([a-z]+\b)")
_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)


def _is_foreign_letter(ch: str) -> bool:
    if unicodedata.category(ch).startswith("M"):
        return True
    return ch.isalpha() and not unicodedata.name(ch, "").startswith("LATIN")


def _fix_lookalikes(word: re.Match[str]) -> str:
    text = word.group()
    # Only inside Latin words: a Greek or Cyrillic capital there is a conversion slip ("Αppendix").
    if any("a" <= c.lower() <= "z" for c in text):
        return text.translate(_LOOKALIKES)
    return text


def _strip_ocr_garbage(line: str, log: _Log) -> str:
    def replace(token: re.Match[str]) -> str:
        if all(_is_foreign_letter(c) for c in token.group()):
            log.drop("normalise_unicode:ocr_garbage", token.group())
            return ""
        return token.group()

    return re.sub(r"[^\s\t]+", replace, line)


def normalise_unicode(lines: Lines, log: _Log) -> Lines:
    """Straight quotes, decoded entities, Latin lookalikes, re-joined drop caps, no OCR garbage letters.

    Not NFKC: that would turn the citation "success¹" into the figure "success1".
    """
    out = []
    for line in lines:
        line = line.translate(_QUOTES).replace("…", "...")
        # "&#}x27;" is "^{†}" + "&#x27;" with the brace misplaced by the converter (seed 002 L221).
        line = line.replace("&#}x27;", "}'")
        line = _ENTITY_RE.sub(lambda m: html.unescape(m.group()), line)
        line = _WORD_RE.sub(_fix_lookalikes, line)
        line = _DROP_CAP_RE.sub(r"\1\2", line)
        line = _strip_ocr_garbage(line, log)
        line = re.sub(r"(?<=\w)--(?=\s)", " –", line)
        line = re.sub(r"(?<=[A-Za-z])\s*—\s*(?=[A-Za-z])", " – ", line)
        # Keep the en dash as a spaced separator when the converter lost one of its spaces.
        line = re.sub(r"(?<=[A-Za-z)])–(?= )", " –", line)
        line = re.sub(r"(?<= )–(?=[A-Za-z(])", "– ", line)
        out.append(line.rstrip(" "))
    return out


_LATEX_CITATION_RE = re.compile(r"\s?\^\{[^}\n]*\}")
_SUPERSCRIPT_RE = re.compile(rf"(^|\s?)[{_SUPERSCRIPTS}]+(?:[{_SUPERSCRIPTS}†*]*)\s?")
_TRAILING_CITATION_RE = re.compile(r"(?<=[a-z%)'\"][.!?]) (\d{1,3}(?:,\d{1,3})+(?= |$)|\d{1,3}$)")
_DAGGER_RE = re.compile(r"\s?†")
_FOOTNOTE_STAR_RE = re.compile(r"(?<=[.!?'\"])\*(?=\s|$)")


def _strip_superscripts(line: str, log: _Log) -> str:
    def replace(match: re.Match[str]) -> str:
        start = match.start()
        # A unit like "250m²" keeps its exponent.
        if re.search(r"\d\s?k?m$", line[:start]):
            return match.group()
        log.drop("strip_citation_markers", match.group().strip())
        lead, trail = match.group()[:1].isspace(), match.group()[-1:].isspace()
        return " " if (lead and trail and start > 0) else ""

    return _SUPERSCRIPT_RE.sub(replace, line)


def strip_citation_markers(lines: Lines, log: _Log) -> Lines:
    """Remove footnote/citation markers so they never read as figures ("per year. 11,12" -> "per year.")."""
    out = []
    for line in lines:
        for match in _LATEX_CITATION_RE.finditer(line):
            log.drop("strip_citation_markers", match.group().strip())
        line = _LATEX_CITATION_RE.sub("", line)
        line = _strip_superscripts(line, log)
        for match in _TRAILING_CITATION_RE.finditer(line):
            log.drop("strip_citation_markers", match.group().strip())
        line = _TRAILING_CITATION_RE.sub("", line)
        line = _DAGGER_RE.sub("", line)
        # An odd count of lone asterisks means one is a footnote marker, not half of an *italic* pair.
        if len(re.findall(r"(?<!\*)\*(?!\*)", line)) % 2 == 1:
            line = _FOOTNOTE_STAR_RE.sub("", line)
        out.append(line.rstrip(" "))
    return out


_CONTACT_LABEL_RE = re.compile(r"^\s*(?:[-•]\s*)?contacts?\s*:", re.IGNORECASE)
_EMAIL_LABEL_RE = re.compile(r"^\s*(?:[-•]\s*)?e-?mail\s*:", re.IGNORECASE)
_BARE_EMAILS_RE = re.compile(rf"^\s*{_EMAIL}(?:\s*[;,]\s*{_EMAIL})*\s*[;,]?$")
_INLINE_EMAIL_RE = re.compile(rf"\s*\(?(?:(?:contact|e-?mail)\s*:?\s*)?{_EMAIL}\)?", re.IGNORECASE)


def _is_contact_line(line: str) -> bool:
    return bool(
        _CONTACT_LABEL_RE.match(line)
        or _EMAIL_LABEL_RE.match(line)
        or _BARE_EMAILS_RE.match(line)
        or _PHONE_RE.search(line)
    )


def extract_contacts(lines: Lines, log: _Log) -> Lines:
    """Move contact lines, e-mail addresses and phone numbers (PII) out of the body into metadata."""
    out: Lines = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line or _is_table_row(line) or not _is_contact_line(line):
            if line and _EMAIL_RE.search(line) and not _is_table_row(line):
                log.contacts.extend(m.group() for m in _EMAIL_RE.finditer(line))
                line = _INLINE_EMAIL_RE.sub("", line)
            out.append(line)
            i += 1
            continue
        contact = line.strip()
        # A contact split over two lines ends in "," (seed 004 L726-727); a split e-mail in ";" (L2987).
        while i + 1 < len(lines) and lines[i + 1].strip() and contact.endswith((",", ";")):
            i += 1
            contact = f"{contact} {lines[i].strip()}"
        log.contacts.append(contact)
        i += 1
    return out


_COUNCIL_FOOTER_RE = re.compile(
    r"^(Visit \S+ for councillor information.*|Catch up with latest .* on twitter @\w+)$", re.IGNORECASE
)
_HANDLES_ONLY_RE = re.compile(r"^(?:\[?@\w+\]?(?:\([^)]*\))?[\s,]*)+$")
_SOCIAL_RE = re.compile(r"^(?:[-•]\s*)?(?:follow us|twitter)\s*:", re.IGNORECASE)
_HASHTAGS_ONLY_RE = re.compile(r"^(?:#\w+\s*)+$")
_COPYRIGHT_RE = re.compile(r"^(ISBN\b|©|\(c\) \d{4}|Copyright\b)|Registered charity number", re.IGNORECASE)
_WEBCAST_RE = re.compile(r"webcast", re.IGNORECASE)


def _is_short_heading(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= 5 and not _TERMINAL_RE.search(line) and line[:1].isupper()


def _drop_webcast_notice(lines: Lines, log: _Log) -> Lines:
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


def drop_boilerplate(lines: Lines, log: _Log) -> Lines:
    """Drop council footers, "Follow us:" social lines, hashtags, webcast notices and ISBN/© lines."""
    out: Lines = []
    previous_social = False
    for line in lines:
        stripped = line.strip()
        social = bool(_SOCIAL_RE.match(stripped) or (stripped and _HANDLES_ONLY_RE.match(stripped))) or bool(
            previous_social and stripped and "@" in stripped and _HANDLES_ONLY_RE.match(stripped)
        )
        if social:
            log.drop("drop_boilerplate:social", line)
        elif _COUNCIL_FOOTER_RE.match(stripped):
            log.drop("drop_boilerplate:council_footer", line)
        elif _HASHTAGS_ONLY_RE.match(stripped):
            log.drop("drop_boilerplate:hashtag", line)
        elif _COPYRIGHT_RE.search(stripped):
            log.drop("drop_boilerplate:copyright", line)
        else:
            out.append(line)
        previous_social = social
    return _drop_webcast_notice(out, log)


def _looks_like_running_header(line: str) -> bool:
    if _is_table_row(line) or line.lstrip().startswith(("-", "•")) or line.strip().upper() in HEADING_WORDS:
        return False
    # A repeated short title-like line is a heading ("Population characteristics"); a repeated
    # sentence, URL or page label is page furniture.
    if re.search(r"www\.|https?://|\bpage \d+", line, re.IGNORECASE):
        return True
    return len(line) >= 60 and not line.rstrip().endswith((":", "?"))


def drop_repeated_lines(lines: Lines, log: _Log) -> Lines:
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


_LOGO_LINES = frozenset(
    {
        "NHS", "healthwatch", "CHILTERN", "WYCOMBE", "South Bucks", "District Council",
        "DISTRICT COUNCIL", "South Tyneside Council", "South Tyneside", "Chiltern", "Aylesbury Vale",
        "Clinical Commissioning Group", "Commissioning Group", "NHS Aylesbury Vale Clinical",
        "NHS Chiltern Clinical",
    }
)  # fmt: skip


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


def drop_logo_residue(lines: Lines, log: _Log) -> Lines:
    """Drop runs of lines that are only logo text ("CHILTERN" / "District Council", "NHS")."""
    out = list(lines)
    for start, end in _blocks(lines):
        block = [line.strip() for line in lines[start:end]]
        if all(line in _LOGO_LINES for line in block):
            for k in range(start, end):
                log.drop("drop_logo_residue", lines[k])
                out[k] = ""
    return out


_IMAGE_DESCRIPTION_RE = re.compile(
    r"^(?:(?:A|An) (?:\w+ )?(?:photograph|photo|image|picture|illustration)\b"
    r"(?: of| showing| shows| depicting)|(?:Image|Photo|Photograph|Alt text)\s*:)",
    re.IGNORECASE,
)
# A caption with no information: "River barge – Aylesbury", "Clock Tower – Aylesbury" (seed 003).
_PHOTO_CAPTION_RE = re.compile(r"^[A-Z][a-z]+ [A-Za-z][a-z]+ – [A-Z][a-z]+$")


def drop_image_descriptions(lines: Lines, log: _Log) -> Lines:
    """Drop machine-written alt text and bare photo captions; "The diagram below shows" is prose, kept."""
    out = []
    for line in lines:
        stripped = line.strip()
        if _IMAGE_DESCRIPTION_RE.match(stripped) or _PHOTO_CAPTION_RE.match(stripped):
            log.drop("drop_image_descriptions", line)
            out.append("")
        else:
            out.append(line)
    return out


_RATING_SCALE_RE = re.compile(r"\b1 2 3 4 5( 6 7 8 9 10)?\b")
_BLANK_FIELD_RE = re.compile(r"_{3,}")


def drop_form_residue(lines: Lines, log: _Log) -> Lines:
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


_PSEUDO_LATEX_RE = re.compile(r"\\frac\{|\\[a-z]+\{.*\}|^\$.*\$$")
_SALAD_NUMBER_RE = re.compile(r"(?:^|\s)\d{1,2}\.(?=\s)")


def _is_word_salad(line: str) -> bool:
    # A flattened figure reads its numbered labels in layout order: many "N." tokens scattered in one line.
    return "\t" not in line and len(_SALAD_NUMBER_RE.findall(line)) >= 5


def drop_garbage_lines(lines: Lines, log: _Log) -> Lines:
    """Drop pseudo-LaTeX source lines and flattened-figure word salad (seed 002 L124, L512)."""
    out = []
    for line in lines:
        if _PSEUDO_LATEX_RE.search(line) or _is_word_salad(line):
            log.drop("drop_garbage_lines", line)
            out.append("")
        else:
            out.append(line)
    return out


_PAGE_ONLY_RE = re.compile(r"^\d{1,3}$")
_GLUED_PAGE_RE = re.compile(r"^(\d{1,3}) (\S+)(.*)$")
_GLUED_GARBLE_RE = re.compile(r"^([a-z]{1,2}) (?=(?:The|This|These|As|It|In|A|An|We|Our)\b)")
_REAL_SHORT_WORDS = frozenset(
    "a i an as at be by do go he if in is it me my no of on or so to up us we".split()
)
_MAX_PAGE_GAP = 20


def _never_a_page_stamp(rest: str) -> bool:
    # Section headings in seed 004: "3 Case study: ...", "1 Barnsley Pioneer Programme – Profile".
    return rest.startswith("Case study") or "Pioneer Programme" in rest


def _is_glued_page_stamp(number: int, first_word: str, rest: str, last_page: int | None) -> bool:
    if _never_a_page_stamp(rest):
        return False
    if first_word in HEADING_WORDS:
        return last_page is None or number > last_page
    in_sequence = last_page is not None and last_page < number <= last_page + _MAX_PAGE_GAP
    counted = first_word in _COUNTED_NOUNS or first_word in _MONTHS or first_word.isupper()
    return in_sequence and first_word[:1].isupper() and first_word.isalpha() and not counted


def strip_page_numbers(lines: Lines, log: _Log) -> Lines:
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


_BULLET_START_RE = re.compile(r"^\s*(?:[-•▪◦●■►‣∙*–—])\s")


def join_wrapped_lines(lines: Lines, log: _Log) -> Lines:
    """Re-join hard-wrapped lines (continuations start with a space) and multi-line markdown table rows."""
    out: Lines = []
    open_pipe_row = False
    for line in lines:
        if open_pipe_row and line:
            out[-1] = f"{out[-1]} {line.strip()}"
            open_pipe_row = not line.rstrip().endswith("|")
            continue
        is_continuation = (
            line[:1] == " " and line.strip() and not _BULLET_START_RE.match(line) and out and out[-1]
        )
        if is_continuation and not _is_table_row(out[-1]):
            out[-1] = f"{out[-1].rstrip()} {line.strip()}"
            continue
        out.append(line)
        stripped = line.strip()
        open_pipe_row = stripped.startswith(("|", "- |")) and not stripped.endswith("|")
    return out


# --- tables -----------------------------------------------------------------------------------------

_TAG_RE = re.compile(r"<!--.*?-->|</?[A-Za-z][^>]*>", re.DOTALL)
_DANGEROUS_ELEMENT_RE = re.compile(
    r"<(script|style|iframe|object)\b.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL
)
_RULE_CELL_RE = re.compile(r"^:?-{2,}:?$|^-+$")


def _strip_html(text: str, log: _Log) -> str:
    for match in _DANGEROUS_ELEMENT_RE.finditer(text):
        log.drop("strip_markup:html", match.group())
    text = _DANGEROUS_ELEMENT_RE.sub(" ", text)
    for match in _TAG_RE.finditer(text):
        log.drop("strip_markup:html", match.group())
    return _TAG_RE.sub(" ", text)


def _clean_cell(cell: str, log: _Log) -> str:
    cell = _strip_html(cell, log)
    cell = re.sub(r"^\s*[•▪]\s*", "", cell)
    cell = re.sub(r"\s+[•▪]\s+", "; ", cell)
    return " ".join(cell.split())


def _is_rule_row(cells: list[str]) -> bool:
    filled = [c for c in cells if c]
    return bool(filled) and all(_RULE_CELL_RE.match(c) for c in filled)


@dataclass
class _TableState:
    header: list[str] | None = None
    width: int = 0
    fill: str = ""
    previous_was_filled: bool = False


def _tab_row(line: str, state: _TableState, log: _Log) -> str:
    cells = [_clean_cell(c, log) for c in line.split("\t")]
    if _is_rule_row(cells):
        log.drop("convert_tables:rule", line)
        return ""
    filled = [c for c in cells if c]
    if state.header is None:
        state.header, state.width = filled, len(filled)
        return " | ".join(filled)
    if filled == state.header:
        log.drop("convert_tables:repeated_header", line)
        return ""
    if cells[0] == "" and state.fill:
        # Merged cells: the group label sits on the first row only (seed 001 Annex A, seed 002 appendix).
        filled = [state.fill, *filled]
        state.previous_was_filled = True
    elif state.previous_was_filled and len(filled) == state.width - 1 and cells[-1] == "":
        # The last row of a group lost its empty first cell (seed 001 L383 "Airedale & Partners").
        filled = [state.fill, *filled]
    else:
        # A first cell followed by a gap and more cells is a garbled row (seed 002 L488), not a group label.
        garbled = len(cells) > 2 and cells[1] == "" and any(cells[2:])
        state.fill, state.previous_was_filled = ("" if garbled else cells[0]), False
    return " | ".join(filled)


def _pipe_row(line: str, log: _Log) -> str:
    cells = [_clean_cell(c, log) for c in re.sub(r"^-\s*", "", line.strip()).strip("|").split("|")]
    if not any(cells) or _is_rule_row(cells):
        log.drop("convert_tables:rule", line)
        return ""
    return " | ".join(c for c in cells if c)


def convert_tables(lines: Lines, log: _Log) -> Lines:
    """Flattened tables become one paragraph per row, cells joined with " | ", merged cells forward-filled."""
    out: Lines = []
    state = _TableState()
    for line in lines:
        stripped = line.strip()
        if _is_table_row(line):
            out.append(_tab_row(line, state, log))
            continue
        if stripped.startswith(("|", "- |")) and stripped.count("|") >= 2:
            out.append(_pipe_row(line, log))
            continue
        if stripped:
            state = _TableState()
        out.append(line)
    return out


# --- inline markup ----------------------------------------------------------------------------------

_LINK_RE = re.compile(r"\[([^\]\n]*)\]\(([^)\s]*)\)")
_AUTOLINK_RE = re.compile(r"<((?:https?://|www\.)[^>\s]+)>")
_BOLD_RE = re.compile(r"\*\*(.+?)\*\*")
_ITALIC_RE = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")


def _strip_links(line: str, log: _Log) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(2) not in ("", "#"):
            log.drop("strip_markup:link_target", match.group(2))
        return match.group(1)

    return _LINK_RE.sub(replace, line)


def strip_markup(lines: Lines, log: _Log) -> Lines:
    """Remove HTML tags, markdown emphasis, link syntax, escapes and heading hashes; keep their text."""
    out = []
    for line in lines:
        line = re.sub(r"^(\s*)\*\s+", r"\1- ", line)  # "* item" is a bullet, not emphasis
        line = _AUTOLINK_RE.sub(r"\1", line)
        line = _strip_html(line, log)
        line = _strip_links(line, log)
        line = _BOLD_RE.sub(r"\1", line)
        line = _ITALIC_RE.sub(r"\1", line)
        line = line.replace("*", "")
        line = re.sub(r"\\([()\[\]*_#.\-])", r"\1", line)
        line = re.sub(r"^#{1,6}\s+", "", line)
        out.append(line if line.strip() else "")
    return out


_BULLET_GLYPH_RE = re.compile(r"^\s*(?:[•▪◦●■►‣∙]\s*|[–—-]\s+)")
_PARA_NUMBER_BULLET_RE = re.compile(
    r"^- ((?:\d+\.)+|(?:i{1,3}|iv|vi{0,3}|ix|xi{0,3}|xiv|xvi{0,3}|xix|xxi{0,3}|xxiv)\.)\s"
)


def normalise_bullets(lines: Lines, log: _Log) -> Lines:
    """Every list item starts "- "; a numbered paragraph ("- 1.13.") keeps its number, loses the dash."""
    out = []
    for line in lines:
        if _BULLET_GLYPH_RE.match(line) and not _is_table_row(line):
            line = _BULLET_GLYPH_RE.sub("- ", line, count=1)
        line = _PARA_NUMBER_BULLET_RE.sub(r"\1 ", line)
        out.append(line)
    return out


def _is_heading_like(line: str) -> bool:
    words = line.split()
    numbered = re.match(r"^\d+(\.\d+)* [A-Z]", line) is not None
    return (numbered and len(words) <= 12) or (line.isupper() and len(words) <= 10)


def _continues(previous: str, following: str, gap: bool) -> bool:
    if _TERMINAL_RE.search(previous) or " | " in previous or " | " in following:
        return False
    if following.startswith(("www.", "http")) or _is_heading_like(previous):
        return False
    if following[:1].islower():
        # "i. The New Care Models..." is the next numbered paragraph, not a continuation.
        return not re.match(r"^[a-z]{1,5}\.\s", following)
    # A page break can give the continuation a spurious bullet (seed 004 L197 -> L199); a short
    # bullet before a lower-case one is just a list ("- refine the model", seed 003).
    long_bullet = previous.startswith("- ") and len(previous.split()) >= 8
    return gap and long_bullet and following.startswith("- ") and following[2:3].islower()


def join_broken_paragraphs(lines: Lines, log: _Log) -> Lines:
    """Re-join a paragraph split at a page break: no terminal punctuation, then a lower-case start."""
    out: Lines = []
    gap = False
    for line in lines:
        if not line.strip():
            gap = True
            continue
        text = line.strip()
        previous = out[-1] if out else ""
        if previous and _continues(previous, text, gap):
            spurious_bullet = text.startswith("- ") and previous.startswith("- ")
            out[-1] = f"{previous} {text[2:] if spurious_bullet else text}"
        else:
            out.append(text)
        gap = False
    return out


_HYPHEN_BREAK_RE = re.compile(r"\b([A-Za-z]+)- (?!(?:and|or|to|nor|through|versus|as)\b)([a-z]+)")
_NUMBER_BREAK_RE = re.compile(r"(?<![\d,])(\d{1,3}), (\d{3})(?![\d,])")
_URL_SLASH_BREAK_RE = re.compile(r"((?:https?://|www\.)\S*[/_]) (\S*[/._-]\S*)")
_URL_DOT_BREAK_RE = re.compile(r"((?:https?://|www\.)\S*\.) ([a-z][a-z0-9-]*(?:\.[a-z]\S*|/\S*))")


def repair_broken_tokens(lines: Lines, log: _Log) -> Lines:
    """Mend words, numbers and URLs broken by spaces: "long- term", "287, 594", "nationalvoices. org"."""
    out = []
    for line in lines:
        line = _HYPHEN_BREAK_RE.sub(r"\1-\2", line)
        line = _NUMBER_BREAK_RE.sub(r"\1,\2", line)
        for pattern in (_URL_SLASH_BREAK_RE, _URL_DOT_BREAK_RE):
            previous = None
            while previous != line:
                previous, line = line, pattern.sub(r"\1\2", line)
        line = re.sub(r"(?<=[a-z)])\.\.(?!\.)", ".", line)
        out.append(" ".join(line.split()))
    return out


def drop_number_only_paragraphs(lines: Lines, log: _Log) -> Lines:
    """Last guard: a paragraph of only digits is page furniture left over by another rule."""
    out = []
    for line in lines:
        if re.fullmatch(r"[\d\s]+", line):
            log.drop("drop_number_only_paragraphs", line)
        elif line:
            out.append(line)
    return out


RULES: tuple[Rule, ...] = (
    normalise_whitespace,
    drop_contents_pages,
    fix_field_code_residue,
    normalise_unicode,
    strip_citation_markers,
    extract_contacts,
    drop_boilerplate,
    drop_repeated_lines,
    drop_logo_residue,
    drop_image_descriptions,
    drop_form_residue,
    drop_garbage_lines,
    strip_page_numbers,
    join_wrapped_lines,
    convert_tables,
    strip_markup,
    normalise_bullets,
    join_broken_paragraphs,
    repair_broken_tokens,
    drop_number_only_paragraphs,
)


def clean_text(raw: str) -> CleanedText:
    """Apply every cleaning rule in order to raw converted text.

    Takes the whole document as one string; returns paragraphs separated by one blank line, with the
    contacts moved to metadata and every removed line or fragment listed in ``dropped``. Never raises
    on odd input: unknown artefacts are left in the text rather than guessed at.
    """
    log = _Log()
    lines: Lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for rule in RULES:
        lines = rule(lines, log)
    return CleanedText(text="\n\n".join(lines), contacts=log.contacts, dropped=log.dropped)
