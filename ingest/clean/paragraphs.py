"""Paragraph rules: re-join wrapped and page-broken lines, normalise bullets, mend broken tokens."""

from __future__ import annotations

import re

from ingest.clean.common import TERMINAL_RE, Lines, Log, is_tab_row
from ingest.text import is_table_row

_BULLET_START_RE = re.compile(r"^\s*(?:[-•▪◦●■►‣∙*–—])\s")


def join_wrapped_lines(lines: Lines, log: Log) -> Lines:
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
        if is_continuation and not is_tab_row(out[-1]):
            out[-1] = f"{out[-1].rstrip()} {line.strip()}"
            continue
        out.append(line)
        stripped = line.strip()
        open_pipe_row = stripped.startswith(("|", "- |")) and not stripped.endswith("|")
    return out


_BULLET_GLYPH_RE = re.compile(r"^\s*(?:[•▪◦●■►‣∙]\s*|[–—-]\s+)")
_PARA_NUMBER_BULLET_RE = re.compile(
    r"^- ((?:\d+\.)+|(?:i{1,3}|iv|vi{0,3}|ix|xi{0,3}|xiv|xvi{0,3}|xix|xxi{0,3}|xxiv)\.)\s"
)


def normalise_bullets(lines: Lines, log: Log) -> Lines:
    """Every list item starts "- "; a numbered paragraph ("- 1.13.") keeps its number, loses the dash."""
    out = []
    for line in lines:
        if _BULLET_GLYPH_RE.match(line) and not is_table_row(line):  # tables are " | " rows by now
            line = _BULLET_GLYPH_RE.sub("- ", line, count=1)
        line = _PARA_NUMBER_BULLET_RE.sub(r"\1 ", line)
        out.append(line)
    return out


def _is_heading_like(line: str) -> bool:
    words = line.split()
    numbered = re.match(r"^\d+(\.\d+)* [A-Z]", line) is not None
    return (numbered and len(words) <= 12) or (line.isupper() and len(words) <= 10)


def _continues(previous: str, following: str, gap: bool) -> bool:
    if TERMINAL_RE.search(previous) or is_table_row(previous) or is_table_row(following):
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


def join_broken_paragraphs(lines: Lines, log: Log) -> Lines:
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
# A broken URL: the address's first part ends in "/" or "_" (or "."), then one space, then the rest. Each
# match starts only where a token starts, the atomic group settles on the token's first "http"/"www."
# (where the leftmost match would start anyway), and the token is read once to its end: linear time on
# any line (`(?:https?://|www\.)\S*[/_] ` re-read the token from each "www." in it: quadratic).
_URL_SLASH_BREAK_RE = re.compile(r"(?<!\S)(?>(\S*?)(?:https?://|www\.))(\S++)(?<=[/_]) (\S*[/._-]\S*)")
_URL_DOT_BREAK_RE = re.compile(
    r"(?<!\S)(?>(\S*?)(?:https?://|www\.))(\S++)(?<=\.) ([a-z][a-z0-9-]*(?:\.[a-z]\S*|/\S*))"
)
# A URL broken at more places than this is left as it is (each pass mends one break per URL).
_MAX_URL_REPAIRS = 8


def _joined_url(match: re.Match[str]) -> str:
    """The matched text without the space that broke the URL."""
    return match.group(0)[: match.start(3) - match.start() - 1] + match.group(3)


def repair_broken_tokens(lines: Lines, log: Log) -> Lines:
    """Mend words, numbers and URLs broken by spaces: "long- term", "287, 594", "nationalvoices. org"."""
    out = []
    for line in lines:
        line = _HYPHEN_BREAK_RE.sub(r"\1-\2", line)
        line = _NUMBER_BREAK_RE.sub(r"\1,\2", line)
        for pattern in (_URL_SLASH_BREAK_RE, _URL_DOT_BREAK_RE):
            for _ in range(_MAX_URL_REPAIRS):
                previous, line = line, pattern.sub(_joined_url, line)
                if line == previous:
                    break
        line = re.sub(r"(?<=[a-z)])\.\.(?!\.)", ".", line)
        out.append(" ".join(line.split()))
    return out


def drop_number_only_paragraphs(lines: Lines, log: Log) -> Lines:
    """Last guard: a paragraph of only digits is page furniture left over by another rule."""
    out = []
    for line in lines:
        if re.fullmatch(r"[\d\s]+", line):
            log.drop("drop_number_only_paragraphs", line)
        elif line:
            out.append(line)
    return out
