"""The document reader's layout: the cleaned text as headings, passages (addressable) and the text between them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.store.models import Passage

PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


@dataclass
class Item:
    kind: str  # "heading" or "paragraph"
    text: str
    level: int = 2
    anchor: str = ""


@dataclass
class Block:
    kind: str  # "passage" (indexed, addressable) or "text" (not indexed: repeated or unsearchable text)
    items: list[Item] = field(default_factory=list)
    anchor: str = ""
    passage_id: int | None = None
    heading: str = ""


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in PARAGRAPH_BREAK.split(text) if p.strip()]


def reader_blocks(text: str, outline: list[dict], passages: list[Passage]) -> list[Block]:
    """Blocks in document order. Section headings (with anchors for the outline) sit inside the passage
    that spans them, so a cited passage is highlighted whole, headings included."""
    headings = {entry["start"]: (i, entry) for i, entry in enumerate(outline)}
    by_start = {p.char_start: p for p in passages}
    cuts = sorted({0, len(text), *by_start, *(p.char_end for p in passages), *headings})
    blocks: list[Block] = []
    current: Block | None = None
    passage_end = -1
    for start, end in zip(cuts, cuts[1:], strict=False):
        if start in by_start:
            passage = by_start[start]
            current = Block(
                kind="passage", passage_id=passage.id, anchor=f"passage-{passage.id}", heading=passage.heading
            )
            blocks.append(current)
            passage_end = passage.char_end
        inside = current is not None and start < passage_end
        if not inside and (not blocks or blocks[-1].kind != "text"):
            blocks.append(Block(kind="text"))
        target = current if inside else blocks[-1]
        paragraphs = _paragraphs(text[start:end])
        if start in headings:
            index, entry = headings[start]
            title = entry["path"][-1].strip() if entry["path"] else ""
            if title:
                level = min(len(entry["path"]) + 1, 4)
                target.items.append(Item(kind="heading", text=title, level=level, anchor=f"section-{index}"))
                if paragraphs and paragraphs[0] == title:
                    paragraphs = paragraphs[1:]  # shown once, as the heading
        target.items.extend(Item(kind="paragraph", text=p) for p in paragraphs)
    return [b for b in blocks if b.items]
