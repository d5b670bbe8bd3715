"""Passages: cut a cleaned, sectioned document into citable pieces of at most ~1,200 characters."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ingest.structure import Section

PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# A sentence ends at . ! ? (optionally closed by a quote or bracket) followed by space and a capital, digit or quote.
SENTENCE_END = re.compile(r"(?<=[.!?])['\")\]]?\s+(?=[A-Z0-9'\"(£])")
MIN_PASSAGE_CHARS = 40
MIN_DEDUP_SENTENCE_CHARS = 40


@dataclass(frozen=True)
class PassageDraft:
    text: str
    heading_path: tuple[str, ...]
    section_kind: str
    site: str | None
    char_start: int
    char_end: int


def paragraph_spans(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each non-blank paragraph of text[start:end], trimmed of surrounding white space."""
    position = start
    for match in PARAGRAPH_BREAK.finditer(text, start, end):
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


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, position = [], start
    for match in SENTENCE_END.finditer(text, start, end):
        spans.append((position, match.start()))
        position = match.end()
    spans.append((position, end))
    return [(s, e) for s, e in spans if e > s]


def _pieces(text: str, start: int, end: int, max_chars: int) -> Iterator[tuple[int, int]]:
    """Split one over-long paragraph on sentence boundaries; a single over-long sentence on a word boundary."""
    for s_start, s_end in sentence_spans(text, start, end):
        while s_end - s_start > max_chars:
            cut = text.rfind(" ", s_start, s_start + max_chars)
            cut = cut if cut > s_start + max_chars // 2 else s_start + max_chars
            yield s_start, cut
            s_start = cut
            while s_start < s_end and text[s_start].isspace():
                s_start += 1
        if s_end > s_start:
            yield s_start, s_end


def _sentence_keys(text: str) -> list[str]:
    keys = []
    for s, e in sentence_spans(text, 0, len(text)):
        sentence = re.sub(r"[^a-z0-9]+", " ", text[s:e].lower()).strip()
        if len(sentence) >= MIN_DEDUP_SENTENCE_CHARS:
            keys.append(hashlib.sha1(sentence.encode()).hexdigest())
    return keys


def split_passages(text: str, sections: list[Section], *, max_chars: int = 1200) -> list[PassageDraft]:
    """Pack each indexable section's paragraphs into passages of at most `max_chars`.

    A paragraph whose every sentence already appeared earlier in the document (a profile paragraph
    repeated in its case study, a pull quote) is left out, so repeated text is not indexed twice; it
    stays in the document text for the reader.
    """
    drafts: list[PassageDraft] = []
    seen_sentences: set[str] = set()
    for section in sections:
        if not section.indexable:
            continue
        units: list[tuple[int, int]] = []
        for p_start, p_end in paragraph_spans(text, section.start, section.end):
            keys = _sentence_keys(text[p_start:p_end])
            if keys and all(k in seen_sentences for k in keys):
                continue
            seen_sentences.update(keys)
            if p_end - p_start > max_chars:
                units.extend(_pieces(text, p_start, p_end, max_chars))
            else:
                units.append((p_start, p_end))
        drafts.extend(_pack(text, units, section, max_chars))
    return drafts


def _pack(text: str, units: list[tuple[int, int]], section: Section, max_chars: int) -> Iterator[PassageDraft]:
    group: list[tuple[int, int]] = []

    def flush() -> Iterator[PassageDraft]:
        if not group:
            return
        start, end = group[0][0], group[-1][1]
        body = text[start:end]
        heading_only = len(group) == 1 and section.path and body.strip() == section.path[-1].strip()
        if len(body.strip()) >= MIN_PASSAGE_CHARS and not heading_only:
            yield PassageDraft(
                text=body,
                heading_path=section.path,
                section_kind=section.kind,
                site=section.site,
                char_start=start,
                char_end=end,
            )

    for unit in units:
        if group and unit[1] - group[0][0] > max_chars:
            yield from flush()
            group = []
        group.append(unit)
    yield from flush()
