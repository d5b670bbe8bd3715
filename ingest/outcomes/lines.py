"""Lines, sentences and clauses of a span, with the context (lead-in, story, elsewhere) each line carries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ingest.outcomes.figures import BULLET_RE, is_section_heading
from ingest.outcomes.measures import named_place
from ingest.text import STORY_HEADING_RE, STORY_LEAD_RE, is_table_row, split_sentences

_ELSEWHERE_HEADING_RE = re.compile(
    r"^\s*(?:experience|evidence|learning|examples?|lessons?) from (?:elsewhere|other (?:areas|sites|places))",
    re.IGNORECASE,
)


def _is_heading(line: str) -> bool:
    """A short title line: numbered, or a few words with no sentence punctuation and no figures."""
    text = line.strip()
    if not text or BULLET_RE.match(text) or is_table_row(text):
        return False
    if is_section_heading(text):
        return True
    words = text.split()
    return len(words) <= 10 and not re.search(r"[.;:!?,]$", text) and not re.search(r"\d", text)


@dataclass
class Line:
    text: str
    start: int
    lead_in: str  # the sentence ending with ":" that introduces this bullet/fragment/table row
    story: bool  # inside a persona or patient story
    elsewhere: str | None  # inside an "Experience from elsewhere" block: the place named there ("" if none)
    header: str  # for table rows, the table's header row


def walk_lines(text: str) -> Iterator[Line]:
    """Walk the span line by line, carrying the context that earlier lines set for later ones."""
    lead_in, story, elsewhere, header = "", False, None, ""
    offset = 0
    for raw in text.splitlines(keepends=True):
        start, offset = offset, offset + len(raw)
        line = raw.rstrip("\r\n")
        stripped = line.strip()
        if not stripped:
            continue
        if (STORY_HEADING_RE.search(stripped) and len(stripped.split()) <= 12) or STORY_LEAD_RE.search(
            stripped
        ):
            story, lead_in = True, ""
        elif _ELSEWHERE_HEADING_RE.match(stripped):
            elsewhere, story, lead_in = "", False, ""
            continue
        elif stripped.lower() in {"before", "after"}:
            story = True  # a bare Before/After card describes one person (seed 004 "Beatrice's story")
        elif _is_heading(stripped):
            story, elsewhere, lead_in = False, None, ""
        elif re.match(r"^(?:our goal|what this means)\b", stripped, re.IGNORECASE):
            story = False
        if elsewhere == "":
            elsewhere = named_place(stripped) or ""
        table = is_table_row(line)
        if table and not header:
            header = stripped
        elif not table:
            header = ""
        yield Line(line, start, lead_in, story, elsewhere, header)
        bullet = bool(BULLET_RE.match(line))
        if stripped.endswith(":"):
            lead_in = split_sentences(stripped)[-1][1] if split_sentences(stripped) else stripped
        elif not bullet and not table and re.search(r"[.!?][\"'”’)]?$", stripped):
            lead_in = ""  # a full paragraph ends the list the lead-in introduced


_CLAUSE_BREAK_RE = re.compile(
    r",\s(?!\d{3}\b)|;\s|\s[–—-]\s|:\s|\s\|\s|\t|\(|\)|\bwhile\b|\bwhereas\b|\bbut\b"
)


def clause_around(sentence: str, pos: int) -> str:
    """The stretch of the sentence around position `pos` between commas, semicolons and dashes."""
    left = max((m.end() for m in _CLAUSE_BREAK_RE.finditer(sentence, 0, pos)), default=0)
    nxt = _CLAUSE_BREAK_RE.search(sentence, pos)
    right = nxt.start() if nxt else len(sentence)
    return sentence[left:right]
