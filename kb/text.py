"""Where a paragraph or a sentence of plain text begins and ends: the one rule ingest and search both read by."""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["paragraph_spans", "sentence_spans"]

PARAGRAPH_BREAK_RE = re.compile(r"\n\s*\n")
# A sentence ends at . ! ? (the quote or bracket closing it belongs to it) followed by white space and a
# capital, digit, opening quote, bracket or pound sign.
SENTENCE_END_RE = re.compile(r"(?<=[.!?])([\"'”’)\]]?)\s+(?=[A-Z\"“‘'(£\d])")
# Read only the few characters before a full stop (with pos/endpos, so `\b` still sees the one before them).
# "etc." is left out: before a capital it nearly always ends the sentence.
_ABBREVIATION_RE = re.compile(r"\b(?:c|e\.g|i\.e|approx|no|vs|St|Dr|Mr|Mrs|Ms)\.$")
_LONGEST_ABBREVIATION = len("approx.")


def paragraph_spans(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """(start, end) of each non-blank paragraph of text[start:end], trimmed of surrounding white space."""
    end = len(text) if end is None else end
    position = start
    for match in PARAGRAPH_BREAK_RE.finditer(text, start, end):
        yield from _trimmed(text, position, match.start())
        position = match.end()
    yield from _trimmed(text, position, end)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        yield start, end


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence of text[start:end], in order: a sentence keeps its closing quote or
    bracket, and the white space between two sentences belongs to neither. An abbreviation before a capital
    or a figure ("c. 13", "e.g. The", "Dr. Patel") does not end a sentence."""
    end = len(text) if end is None else end
    spans, position = [], start
    for match in SENTENCE_END_RE.finditer(text, start, end):
        stop = match.start()  # just after the . ! or ?
        if _ABBREVIATION_RE.search(text, max(start, stop - _LONGEST_ABBREVIATION), stop):
            continue
        spans.append((position, match.end(1)))
        position = match.end()
    spans.append((position, end))
    return [(s, e) for s, e in spans if e > s]
