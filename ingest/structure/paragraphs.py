"""Paragraph splitting and the regions that are not body text: contents blocks and a publisher's tail."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.structure.headings import is_heading, strip_heading_markup

CONTENTS_RE = re.compile(r"^(?:table of\s+)?contents:?$", re.I)
# A dot leader is tried only where a run of dots starts, so a long run is read once (linear time).
_TOC_ENTRY_RE = re.compile(r"(?:\t|(?<!\.)\.{2,}+\s*+)\d{1,3}\s*$|^\s*\d{1,3}\t\S|bookmark not defined")
_TOC_LOOSE_RE = re.compile(r"\s\d{1,3}$")
_BOILERPLATE_RE = re.compile(
    r"\bISBN\b|©|registered charity|charity (?:no|number)|company number|all rights reserved", re.I
)

# ---------------------------------------------------------------- paragraphs


@dataclass
class Para:
    start: int
    end: int
    text: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.text.split("\n") if line.strip()]

    @property
    def single(self) -> bool:
        return len(self.lines) == 1


def split_paragraphs(text: str) -> list[Para]:
    """Maximal runs of non-blank lines; whitespace-only lines count as blank."""
    paras: list[Para] = []
    offset, block_start, block_end = 0, None, 0
    for line in text.splitlines(keepends=True):
        if line.strip():
            if block_start is None:
                block_start = offset
            block_end = offset + len(line.rstrip("\r\n"))
        elif block_start is not None:
            paras.append(Para(block_start, block_end, text[block_start:block_end]))
            block_start = None
        offset += len(line)
    if block_start is not None:
        paras.append(Para(block_start, block_end, text[block_start:block_end]))
    return paras


def is_list_item(para: Para) -> bool:
    return para.text.lstrip().startswith(("- ", "• ", "· "))


# ---------------------------------------------------------------- regions that are not body text


def _toc_like(para: Para, *, loose: bool) -> bool:
    lines = para.lines
    strict = sum(bool(_TOC_ENTRY_RE.search(line)) for line in lines)
    if strict and strict * 2 >= len(lines):
        return True
    return loose and para.single and bool(_TOC_LOOSE_RE.search(para.text.strip())) and len(para.text) < 120


def toc_indexes(paras: list[Para]) -> set[int]:
    """Contents blocks: a "Contents" heading and the entries after it, or a run of page-numbered entries."""
    toc: set[int] = set()
    i = 0
    while i < len(paras):
        if paras[i].single and CONTENTS_RE.match(strip_heading_markup(paras[i].text)):
            j = i + 1
            while j < len(paras) and _toc_like(paras[j], loose=True):
                j += 1
            toc.update(range(i, j))
            i = j
            continue
        j = i
        while j < len(paras) and _toc_like(paras[j], loose=False):
            j += 1
        entries = sum(len(p.lines) for p in paras[i:j])
        if entries >= 3:
            toc.update(range(i, j))
        i = max(j, i + 1)
    return toc


def boilerplate_tail(paras: list[Para]) -> int | None:
    """Where a publisher's closing block (mission statement, ISBN, ©) begins, if the text ends in one."""
    first_candidate = int(len(paras) * 0.8)
    for i in range(first_candidate, len(paras)):
        if _BOILERPLATE_RE.search(paras[i].text):
            start = i
            while start - 1 > first_candidate and start - i < 8:
                prev = paras[start - 1]
                about_us = re.search(r"\b(?:we|our|us)\b|charity|foundation", prev.text, re.I)
                if is_list_item(prev) or not (about_us or is_heading(prev.text)):
                    break
                start -= 1
            return start
    return None
