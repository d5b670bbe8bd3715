"""The result and error types every format parser returns, and the small text helpers they share."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Block",
    "ParseError",
    "ParsedFile",
    "collapse",
    "human_size",
    "join_blocks",
    "json_safe",
    "no_text",
    "refuse_non_prose",
]


class ParseError(Exception):
    """A file that cannot be ingested; `reason` is a short plain-English sentence shown to the user."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ParsedFile:
    """A document's text before cleaning, with the title and metadata the file itself declares."""

    text: str
    title: str | None
    metadata: dict[str, Any]
    format: str


# A block is (kind, text) with kind "para", "item" (a "- " list item) or "row" (TAB-joined cells).
Block = tuple[str, str]

# Front matter is the deepest metadata we copy; .docx properties are flat and share the limit.
_JSON_SAFE_MAX_DEPTH = 50


def join_blocks(blocks: Iterable[Block]) -> str:
    """Separate blocks by a blank line, but keep a run of list items or table rows on adjacent lines."""
    out: list[str] = []
    previous_kind = None
    for kind, text in blocks:
        if not text.strip():
            continue
        if out:
            out.append("\n" if kind == previous_kind and kind in ("item", "row") else "\n\n")
        out.append(text)
        previous_kind = kind
    return "".join(out)


def collapse(text: str) -> str:
    """Return `text` with every whitespace run turned into one space and the ends trimmed."""
    return " ".join(text.split())


# A "word" longer than this is not a word: encoded data, a hash, a run of one character.
UNBROKEN_RUN_CHARS = 1000
# Starts only where a token starts and reads it once (linear time on any text).
_UNBROKEN_RUN_RE = re.compile(rf"(?<!\S)\S{{{UNBROKEN_RUN_CHARS},}}+")
_WHITESPACE_RE = re.compile(r"\s+")


def refuse_non_prose(text: str) -> None:
    """Raise ParseError when most of `text` is unbroken runs of characters with no space (not prose at all).

    Text is prose when at least half of its non-space characters sit in words of fewer than
    UNBROKEN_RUN_CHARS characters; a file that is one enormous token (or mostly such tokens) is refused."""
    runs = [m.end() - m.start() for m in _UNBROKEN_RUN_RE.finditer(text)]
    if not runs:
        return
    visible = len(_WHITESPACE_RE.sub("", text))
    if sum(runs) * 2 > visible:
        raise ParseError(
            f"this is not prose: {sum(runs) / visible:.0%} of the text is in runs of over "
            f"{UNBROKEN_RUN_CHARS:,} characters with no space (the longest is {human_size(max(runs))} long)"
        )


def no_text(what: str) -> ParseError:
    """Return (not raise) the ParseError for a `what` that held no extractable text."""
    return ParseError(f"no text could be extracted from the {what}")


def human_size(size: int) -> str:
    """Format a byte count for people: "900 bytes", "3.0 MB"."""
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}"


def json_safe(value: Any, budget: list[int], depth: int) -> Any:
    """Copy YAML output into JSON types: dates to ISO strings, keys to str, sets to lists.

    `budget` is a one-item list of nodes still allowed, shared across the walk; raises ParseError
    when it runs out or the value nests too deeply.
    """
    budget[0] -= 1
    if budget[0] < 0 or depth > _JSON_SAFE_MAX_DEPTH:
        raise ParseError("the front matter is too large or nested too deeply")
    if isinstance(value, dt.date | dt.time):  # datetime is a date subclass
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {_json_key(key): json_safe(item, budget, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [json_safe(item, budget, depth + 1) for item in items]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _json_key(key: Any) -> str:
    if isinstance(key, dt.date | dt.time):
        return key.isoformat()
    return key if isinstance(key, str) else str(key)
