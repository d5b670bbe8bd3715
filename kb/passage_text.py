"""The text a passage is indexed as: its words in their document and section context (ingest stores its hash,
search encodes and scores it)."""

from __future__ import annotations

HEADING_SEPARATOR = " › "  # joins a passage's heading path ("Part 2 › Outcomes")


def passage_context_text(*, title: str, heading: str, text: str) -> str:
    """What the embedder and the lexical index see for a passage: its text in its document and section context."""
    context = HEADING_SEPARATOR.join(part for part in (title, heading) if part)
    return f"{context}\n{text}" if context else text
