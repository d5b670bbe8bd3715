"""The document reader's layout: the cleaned text as headings, passages (addressable) and the text between them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.models import Passage

PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


@dataclass
class Block:
    kind: str  # "heading", "passage" or "text"
    paragraphs: list[str] = field(default_factory=list)
    level: int = 2
    anchor: str = ""
    passage_id: int | None = None
    heading: str = ""


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in PARAGRAPH_BREAK.split(text) if p.strip()]


def reader_blocks(text: str, outline: list[dict], passages: list[Passage]) -> list[Block]:
    """Blocks in document order; a section heading becomes a heading block with an anchor for the outline."""
    headings = {entry["start"]: (i, entry) for i, entry in enumerate(outline)}
    by_start = {p.char_start: p for p in passages}
    cuts = sorted({0, len(text), *by_start, *(p.char_end for p in passages), *headings})
    blocks: list[Block] = []
    current: Block | None = None
    passage_end = -1
    for start, end in zip(cuts, cuts[1:]):
        paragraphs = _paragraphs(text[start:end])
        if start in headings:
            index, entry = headings[start]
            title = entry["path"][-1].strip() if entry["path"] else ""
            if title:
                level = min(len(entry["path"]) + 1, 4)
                blocks.append(Block(kind="heading", paragraphs=[title], level=level, anchor=f"section-{index}"))
                if paragraphs and paragraphs[0] == title:
                    paragraphs = paragraphs[1:]  # shown once, as the heading
        if start in by_start:
            passage = by_start[start]
            current = Block(kind="passage", passage_id=passage.id, anchor=f"passage-{passage.id}", heading=passage.heading)
            blocks.append(current)
            passage_end = passage.char_end
        if not paragraphs:
            continue
        if current is not None and start < passage_end:
            current.paragraphs.extend(paragraphs)
        elif blocks and blocks[-1].kind == "text":
            blocks[-1].paragraphs.extend(paragraphs)
        else:
            blocks.append(Block(kind="text", paragraphs=paragraphs))
    return [b for b in blocks if b.kind != "passage" or b.paragraphs]
