"""The heading pass: which body paragraphs are headings, of what type, and how they nest."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.structure.headings import (
    DOTTED_RE,
    LIST_NUMBER_RE,
    NUMBERED_RE,
    PROFILE_OPENERS,
    container_of,
    heading_text,
    label_rank,
    looks_like_heading,
    top_heading,
)
from ingest.structure.paragraphs import Para


@dataclass(eq=False)
class OutlineEntry:
    title: str
    type: str  # part | top | softtop | numbered | group | container | plain | label
    kind: str = "section"
    start: int = 0
    depth: int = 0  # numbering depth, or a label's rank
    site: str | None = None
    named: bool = False  # a profile, case study or perspective: a candidate bundle part


@dataclass
class HeadingPass:
    """Walks the body paragraphs once, classifying headings and keeping the open heading stack."""

    paras: list[Para]
    stack: list[OutlineEntry] = field(default_factory=list)
    last_top: int = 0
    current_top: int | None = None
    last_dotted: int = 0
    numbering: str | None = None  # "plain" ("1 Title") or "dotted" ("1. Title"), fixed per part

    def reset_numbering(self) -> None:
        self.last_top, self.current_top, self.last_dotted, self.numbering = 0, None, 0, None

    def _text(self, i: int) -> str | None:
        if 0 <= i < len(self.paras) and self.paras[i].single:
            return heading_text(self.paras[i].text)
        return None

    def _opens_profile(self, i: int) -> bool:
        following = self._text(i + 1)
        return following is not None and following.rstrip(":").lower() in PROFILE_OPENERS

    def _next_is_container(self, i: int) -> bool:
        following = self._text(i + 1)
        if following is None:
            return False
        dotted = DOTTED_RE.match(following)
        return bool(
            container_of(following)
            or (dotted and int(dotted["num"]) == self.last_dotted + 1)
            or re.match(r"^lesson\s+\d", following, re.I)
            or self._opens_profile(i + 1)
        )

    def _accept_number(self, number: str) -> bool:
        """Section numbers must run in sequence; that rejects "2014 saw…" and "203 staff…"."""
        levels = [int(n) for n in number.split(".")]
        if len(levels) > 1:
            return self.current_top is None or levels[0] == self.current_top
        if self.numbering == "dotted":
            return False
        n = levels[0]
        if n != self.last_top + 1:
            return False
        self.last_top, self.current_top, self.numbering = n, n, "plain"
        return True

    def _accept_dotted(self, i: int, number: int, title: str) -> bool:
        """ "1. Title" is a list item unless it stands alone and continues the heading sequence."""
        if self.numbering == "plain" or not looks_like_heading(title):
            return False
        if number != self.last_dotted + 1 and not self._opens_profile(i):
            return False
        for neighbour in (i - 1, i + 1):
            if 0 <= neighbour < len(self.paras) and LIST_NUMBER_RE.match(self.paras[neighbour].text):
                return False
        self.last_dotted, self.numbering = number, "dotted"
        return True

    def classify(self, i: int) -> OutlineEntry | None:
        text = self._text(i)
        if text is None:
            return None
        start = self.paras[i].start
        rank = label_rank(text)
        if rank is not None and len(text) <= 200:
            if re.match(r"^box\s", text, re.I):
                return OutlineEntry(text, "plain", "case_study", start)
            if re.match(r"^lesson\s", text, re.I):
                return OutlineEntry(text, "container", "section", start)
            return OutlineEntry(text, "label", "section", start, depth=rank)
        if numbered := NUMBERED_RE.match(text):
            if not looks_like_heading(text) or not self._accept_number(numbered["num"]):
                return None
            entry = OutlineEntry(text, "numbered", "section", start, depth=numbered["num"].count(".") + 1)
            return self._typed(entry, i, numbered["title"])
        if dotted := DOTTED_RE.match(text):
            if not self._accept_dotted(i, int(dotted["num"]), dotted["title"]):
                return None
            return self._typed(OutlineEntry(text, "container", "section", start), i, dotted["title"])
        if not looks_like_heading(text):
            return None
        if top := top_heading(text):
            return OutlineEntry(text, top[1], top[0], start)
        entry = self._typed(OutlineEntry(text, "plain", "section", start), i, text)
        if entry.type == "plain" and self._next_is_container(i):
            entry.type = "group"
        return entry

    def _typed(self, entry: OutlineEntry, i: int, bare_title: str) -> OutlineEntry:
        container = container_of(entry.title)
        if container is None and self._opens_profile(i):
            container = ("profile", bare_title)
        if container is not None:
            entry.kind, entry.site = container
            entry.named = True
            if entry.type == "plain":
                entry.type = "container"
        return entry

    def push(self, entry: OutlineEntry) -> None:
        stack = self.stack
        if entry.type == "part":
            stack[:] = [entry]
            return

        def pop_while(condition) -> None:
            while stack and condition(stack[-1]):
                stack.pop()

        if entry.type == "top":
            pop_while(lambda e: e.type != "part")
        elif entry.type == "numbered":
            pop_while(lambda e: e.type != "part" and not (e.type == "numbered" and e.depth < entry.depth))
        elif entry.type == "softtop":
            pop_while(lambda e: e.type not in ("part", "numbered"))
        elif entry.type == "group":
            pop_while(lambda e: e.type not in ("part", "top", "numbered"))
        elif entry.type == "container":
            pop_while(lambda e: e.type in ("container", "plain", "label"))
        elif entry.type == "plain":
            if all(e.type in ("part", "softtop") for e in stack):
                # Unnumbered headings with nothing above them are the document's own top level.
                entry.type = "softtop"
                pop_while(lambda e: e.type == "softtop")
            else:
                pop_while(lambda e: e.type in ("plain", "label"))
        elif entry.type == "label":
            pop_while(lambda e: e.type == "plain" or (e.type == "label" and e.depth >= entry.depth))
        stack.append(entry)
