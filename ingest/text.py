"""Text helpers the ingest stages share: sentence ends, table rows and illustrative-story cues."""

from __future__ import annotations

import re

from kb.text import paragraph_spans, sentence_spans

__all__ = [
    "STORY_HEADING_RE",
    "STORY_LEAD_RE",
    "STORY_SENTENCE_RE",
    "is_table_row",
    "paragraph_spans",
    "sentence_spans",
    "split_sentences",
]

# ---------------------------------------------------------------- sentences


def split_sentences(line: str) -> list[tuple[int, str]]:
    """Sentences of one line with their offsets in it (`sentence_spans`); a bullet or table row is one sentence."""
    return [(s, line[s:e]) for s, e in sentence_spans(line) if line[s:e].strip()]


# ---------------------------------------------------------------- table rows


def is_table_row(line: str) -> bool:
    """Whether a line of cleaned text is a table row: cells joined by " | " (as cleaning writes every table),
    or an inner tab. Cleaning itself reads tab-separated rows before it converts them (`ingest.clean`)."""
    return "\t" in line.strip("\t ") or " | " in line


# ---------------------------------------------------------------- illustrative stories
# A persona, a patient's story, an imagined or fictionalised case illustrates a model: its numbers are never
# results, and it is never an intervention of its own.

# A heading that opens a story: "How it could happen", "Ethel's story", "20.1 Patient story – 1", "Personas".
STORY_HEADING_RE = re.compile(
    r"how it could happen|patient(?:'s|’s)? story|\b\w+(?:'s|’s) story\b|case example|a day in the life|"
    r"^\s*(?:\d+(?:\.\d+)*\s+)?(?:patient story|story)\b|^\s*imagine\b|\bpersonas?\b",
    re.IGNORECASE,
)
# A sentence that announces the stories to follow: "a couple of fictionalised scenarios have been developed".
STORY_LEAD_RE = re.compile(
    r"^\s*imagine\b|\bfictionali[sz]ed\b|\bhypothetical (?:patient|scenario|case)", re.IGNORECASE
)
# Words that mark a sentence as part of a story: a named or aged person ("Mrs T", "an 83-year-old"),
# an imagined case.
STORY_SENTENCE_RE = re.compile(
    r"\b(?:Mrs?|Ms|Miss)\.?\s+[A-Z]\b|\b\d+[- ]years?[- ]old\b|"
    r"\bimagine\b|how it could happen|case example|patient story|\bmid-\d0s\b|\bfictionali[sz]ed\b|\bhypothetical\b",
    re.IGNORECASE,
)
