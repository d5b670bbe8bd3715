"""Character-level cleaning rules: whitespace, Word field-code residue, Unicode slips, citation markers."""

from __future__ import annotations

import html
import re
import unicodedata

from ingest.clean.common import Lines, Log


def normalise_whitespace(lines: Lines, log: Log) -> Lines:
    """Blank out whitespace-only lines and trailing spaces; NBSP and zero-width marks become plain."""
    out = []
    for line in lines:
        line = line.replace("\u00a0", " ").replace("\u200b", "").replace("\u00ad", "").replace("\ufeff", "")
        line = line.rstrip(" \r\f\v")
        out.append("" if not line.strip() else line)
    return out


# The lookbehind starts a match only where a whitespace run starts, so a long run is not re-read from
# each of its characters (the same holds for every `(?<!\s)\s*` below).
_FIELD_CODE_RE = re.compile(r"(?<!\s)\s*+Error!\s*Bookmark not defined\.?")


def fix_field_code_residue(lines: Lines, log: Log) -> Lines:
    """Remove Word's "Error! Bookmark not defined." (possibly split over two lines), keep its sentence."""
    text = "\n".join(lines)
    for match in _FIELD_CODE_RE.finditer(text):
        log.drop("fix_field_code_residue", match.group().strip())
    return _FIELD_CODE_RE.sub("", text).split("\n")


_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
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
# A line with none of the lookalike letters has no word to fix (a quick test before a call per word).
_HAS_LOOKALIKE_RE = re.compile("[" + "".join(chr(c) for c in _LOOKALIKES) + "]")
_ENTITY_RE = re.compile(r"&(#\d{1,6}|#x[0-9a-fA-F]{1,6}|[A-Za-z]{2,8});")
_DROP_CAP_RE = re.compile(r"^([A-Z][a-z])\t([a-z]+\b)")
# A numeric entity with a closing brace misplaced into it ("&#}x27;" for "}&#x27;"): the converter wrote the
# brace of the marker before it one character late.
_BRACED_ENTITY_RE = re.compile(r"&#\}(x[0-9a-fA-F]{1,6}|\d{1,6});")
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


def _strip_ocr_garbage(line: str, log: Log) -> str:
    if line.isascii():  # garbage is made only of non-Latin letters and marks
        return line

    def replace(token: re.Match[str]) -> str:
        if all(_is_foreign_letter(c) for c in token.group()):
            log.drop("normalise_unicode:ocr_garbage", token.group())
            return ""
        return token.group()

    return re.sub(r"[^\s\t]+", replace, line)


def normalise_unicode(lines: Lines, log: Log) -> Lines:
    """Straight quotes, decoded entities, Latin lookalikes, re-joined drop caps, no OCR garbage letters.

    Not NFKC: that would turn the citation "success¹" into the figure "success1".
    """
    out = []
    for line in lines:
        line = line.translate(_QUOTES).replace("…", "...")
        line = _BRACED_ENTITY_RE.sub(lambda m: "}&#" + m.group(1) + ";", line)
        line = _ENTITY_RE.sub(lambda m: html.unescape(m.group()), line)
        if _HAS_LOOKALIKE_RE.search(line):
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


# The marker's body stops at the next "^": a line of "^{^{^{…" with no "}" is then read once, not once per "^{".
_LATEX_CITATION_RE = re.compile(r"\s?\^\{[^}\n^]*\}")
_SUPERSCRIPT_RE = re.compile(rf"(^|\s?)[{_SUPERSCRIPTS}]+(?:[{_SUPERSCRIPTS}†*]*)\s?")
_TRAILING_CITATION_RE = re.compile(r"(?<=[a-z%)'\"][.!?]) (\d{1,3}(?:,\d{1,3})+(?= |$)|\d{1,3}$)")
_DAGGER_RE = re.compile(r"\s?†")
_FOOTNOTE_STAR_RE = re.compile(r"(?<=[.!?'\"])\*(?=\s|$)")


def _strip_superscripts(line: str, log: Log) -> str:
    def replace(match: re.Match[str]) -> str:
        start = match.start()
        # A unit like "250m²" keeps its exponent.
        if re.search(r"\d\s?k?m$", line[max(0, start - 4) : start]):  # the unit is at most 4 characters
            return match.group()
        log.drop("strip_citation_markers", match.group().strip())
        lead, trail = match.group()[:1].isspace(), match.group()[-1:].isspace()
        return " " if (lead and trail and start > 0) else ""

    return _SUPERSCRIPT_RE.sub(replace, line)


def strip_citation_markers(lines: Lines, log: Log) -> Lines:
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
