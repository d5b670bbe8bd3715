"""Passages: cut a cleaned, sectioned document into citable pieces of at most ~1,200 characters."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ingest.structure import Section
from ingest.text import paragraph_spans, sentence_spans

MIN_PASSAGE_CHARS = 40
MIN_DEDUP_SENTENCE_CHARS = 40
PACK_ACROSS_SECTIONS_BELOW = 1.0  # share of max_chars under which a passage may take in the next section


@dataclass(frozen=True)
class PassageDraft:
    text: str
    heading_path: tuple[str, ...]
    section_kind: str
    site: str | None
    char_start: int
    char_end: int


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


@dataclass
class _Unit:
    start: int
    end: int
    section: Section
    joins_previous: bool  # False where something unindexed lies between this unit and the one before


def split_passages(text: str, sections: list[Section], *, max_chars: int = 1200) -> list[PassageDraft]:
    """Pack paragraphs into passages of at most `max_chars`, keeping each passage inside one part.

    A passage normally stays within its section; a short section (a profile's "AIM" or "PARTNERS")
    is packed together with the sections that follow it in the same part, under their common heading
    path, so a passage is a readable whole rather than a fragment. A paragraph whose every sentence
    already appeared earlier in the document (a profile paragraph repeated in its case study, a pull
    quote) is left out, so repeated text is not indexed twice; it stays in the document for the reader.
    """
    units: list[_Unit] = []
    seen_sentences: set[str] = set()
    contiguous = False
    for section in sections:
        if not section.indexable:
            contiguous = False
            continue
        for p_start, p_end in paragraph_spans(text, section.start, section.end):
            keys = _sentence_keys(text[p_start:p_end])
            if keys and all(k in seen_sentences for k in keys):
                contiguous = False
                continue
            seen_sentences.update(keys)
            pieces = (
                list(_pieces(text, p_start, p_end, max_chars))
                if p_end - p_start > max_chars
                else [(p_start, p_end)]
            )
            for piece_start, piece_end in pieces:
                units.append(_Unit(piece_start, piece_end, section, contiguous))
                contiguous = True
    return list(_pack(text, units, max_chars))


def _common_path(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    common = paths[0]
    for path in paths[1:]:
        n = 0
        while n < min(len(common), len(path)) and common[n] == path[n]:
            n += 1
        common = common[:n]
    return common


def _continues(first: Section, following: Section) -> bool:
    """True when `following` is a sibling or a child of `first` about the same site: "AIM" then "OUTLINE"
    of one profile, never the next profile."""
    if not first.path or not following.path or first.site != following.site:
        return False
    if following.path[: len(first.path)] == first.path:
        return True  # a subsection of the first
    parent = first.path[:-1]
    return bool(parent) and following.path[: len(parent)] == parent and len(following.path) >= len(first.path)


def _pack(text: str, units: list[_Unit], max_chars: int) -> Iterator[PassageDraft]:
    group: list[_Unit] = []

    def flush() -> Iterator[PassageDraft]:
        if not group:
            return
        start, end = group[0].start, group[-1].end
        body = text[start:end]
        sections = list(dict.fromkeys(u.section for u in group))
        path = sections[0].path if len(sections) == 1 else _common_path([s.path for s in sections])
        heading_only = len(group) == 1 and path and body.strip() == path[-1].strip()
        if len(body.strip()) >= MIN_PASSAGE_CHARS and not heading_only:
            sites = {s.site for s in sections}
            yield PassageDraft(
                text=body,
                heading_path=path,
                section_kind=sections[0].kind,
                site=sites.pop() if len(sites) == 1 else None,
                char_start=start,
                char_end=end,
            )

    for unit in units:
        if group:
            same_section = unit.section is group[-1].section
            small = group[-1].end - group[0].start < max_chars * PACK_ACROSS_SECTIONS_BELOW
            same_part = _continues(group[0].section, unit.section)
            fits = unit.end - group[0].start <= max_chars
            if not (unit.joins_previous and fits and (same_section or (small and same_part))):
                yield from flush()
                group = []
        group.append(unit)
    yield from flush()
