"""Headings, sections and bundle parts of a cleaned report, so every passage knows its heading path."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.structure.outline import HeadingPass, OutlineEntry
from ingest.structure.paragraphs import boilerplate_tail, split_paragraphs, toc_indexes
from ingest.structure.parts import document_cover, part_covers

__all__ = ["NOT_INDEXABLE", "DocumentStructure", "Section", "detect_structure"]

# ---------------------------------------------------------------- public contract


@dataclass(frozen=True)
class Section:
    """One flat leaf of the document; together the sections cover the text exactly, in order."""

    path: tuple[str, ...]  # headings from the top part down to this one, without the document title
    kind: str  # front_matter | section | profile | case_study | part | annex | references | boilerplate | toc
    start: int  # char offset of the section's heading line (or of the block that opens it)
    end: int  # exclusive
    site: str | None = None  # the place a profile or case-study heading names, inherited by its subsections
    indexable: bool = True  # False for toc, references and boilerplate


@dataclass(frozen=True)
class DocumentStructure:
    """The outline of one document: its own title, its sections and, for bundles, its parts."""

    title: str
    sections: list[Section]
    parts: list[tuple[str, int, int]]  # (title, start, end) of bundle papers / numbered profiles / essays


NOT_INDEXABLE = frozenset({"toc", "references", "boilerplate"})

# ---------------------------------------------------------------- assembly


def _section_kind(stack: tuple[OutlineEntry, ...]) -> str:
    if not stack:
        return "front_matter"
    for entry in reversed(stack):
        if entry.kind not in ("section", "part"):
            return entry.kind
    return "part" if stack[-1].kind == "part" else "section"


def _site(stack: tuple[OutlineEntry, ...]) -> str | None:
    return next((e.site for e in reversed(stack) if e.site), None)


def _entry_ends(
    entries: list[OutlineEntry],
    boundaries: list[tuple[int, tuple[OutlineEntry, ...], str | None]],
    text_end: int,
) -> dict[int, int]:
    """Where each heading's scope closes: the first later boundary whose open stack no longer holds it."""
    ends: dict[int, int] = {}
    for entry in entries:
        ends[id(entry)] = text_end
        for offset, stack, _ in boundaries:
            if offset > entry.start and not any(e is entry for e in stack):
                ends[id(entry)] = offset
                break
    return ends


def _parts_from_headings(entries: list[OutlineEntry]) -> list[OutlineEntry]:
    """Profiles, case studies and essays are the parts of a single report; when they are its numbered
    top-level sections, every top-level section is a part (a trailing non-profile one is an annex)."""
    named = [e for e in entries if e.named]
    if len(named) < 3:
        return []
    if all(e.type == "numbered" and e.depth == 1 for e in named):
        parts = [e for e in entries if e.type == "numbered" and e.depth == 1 and e.start >= named[0].start]
        for entry in parts:
            if not entry.named and entry.start > named[-1].start:
                entry.kind = "annex"
        return parts
    return named


def detect_structure(text: str, *, title: str | None = None) -> DocumentStructure:
    """Split cleaned report text into flat, ordered sections that cover it exactly, each with its heading
    path, kind and site, and find the parts of a bundle (committee-pack papers, numbered profiles,
    essays). Takes text with paragraphs separated by blank lines; never raises on odd input."""
    paras = split_paragraphs(text)
    toc = toc_indexes(paras)
    tail = boilerplate_tail(paras)
    stop = tail if tail is not None else len(paras)
    doc_cover = document_cover(paras, toc)
    covers = part_covers(paras, toc, doc_cover, stop)
    is_bundle = len(covers) >= 2
    if not is_bundle:
        covers = []
    skipped = set(doc_cover.members).union(*(c.members for c in covers)) if covers else set(doc_cover.members)
    cover_at = {c.index: c for c in covers}

    walker = HeadingPass(paras)
    entries: list[OutlineEntry] = []
    part_entries: list[OutlineEntry] = []
    boundaries: list[tuple[int, tuple[OutlineEntry, ...], str | None]] = [(0, (), None)]
    for i, para in enumerate(paras):
        if i == tail:
            boundaries.append((para.start, tuple(walker.stack), "boilerplate"))
            break
        if i in cover_at:
            part = OutlineEntry(cover_at[i].title, "part", "part", para.start)
            walker.push(part)
            walker.reset_numbering()
            part_entries.append(part)
            boundaries.append((para.start, tuple(walker.stack), None))
        if i in skipped:
            continue
        if i in toc:
            if i - 1 not in toc:
                boundaries.append((para.start, tuple(walker.stack), "toc"))
            if i + 1 not in toc and i + 1 < len(paras):
                boundaries.append((paras[i + 1].start, tuple(walker.stack), None))
            continue
        entry = walker.classify(i)
        if entry is not None:
            walker.push(entry)
            entries.append(entry)
            boundaries.append((para.start, tuple(walker.stack), None))

    # Later boundaries at the same offset win (a heading right after a contents block).
    by_offset: dict[int, tuple[tuple[OutlineEntry, ...], str | None]] = {}
    for offset, stack, override in boundaries:
        by_offset[offset] = (stack, override)
    offsets = sorted(by_offset)

    part_list: list[tuple[str, int, int]] = []
    if is_bundle:
        starts = [e.start for e in part_entries]
        end_of_all = paras[tail].start if tail is not None else len(text)
        part_list.append((doc_cover.title, 0, starts[0]))
        for n, entry in enumerate(part_entries):
            part_list.append((entry.title, entry.start, starts[n + 1] if n + 1 < len(starts) else end_of_all))
    else:
        heading_parts = _parts_from_headings(entries)
        for entry in heading_parts:
            if entry.kind == "section":
                entry.kind = "part"
        ends = _entry_ends(heading_parts, [(o, *by_offset[o]) for o in offsets], len(text))
        part_list = [(e.title, e.start, ends[id(e)]) for e in heading_parts]

    sections: list[Section] = []
    for n, offset in enumerate(offsets):
        stack, override = by_offset[offset]
        end = offsets[n + 1] if n + 1 < len(offsets) else len(text)
        if end <= offset:
            continue
        kind = override or _section_kind(stack)
        path = tuple(e.title for e in stack)
        sections.append(Section(path, kind, offset, end, _site(stack), kind not in NOT_INDEXABLE))
    if not sections:
        sections.append(Section((), "front_matter", 0, len(text)))
    return DocumentStructure(title or doc_cover.title, sections, part_list)
