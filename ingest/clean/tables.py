"""Table and markup rules: flattened tables become " | " rows; HTML, emphasis and link syntax go."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.clean.common import Lines, Log, is_tab_row

# Linear time on any line: a body never runs past the next opener ("<" for a tag, "<!--" for a comment,
# "[" for a link), so a line full of openers with no closer is read once, not once per opener.
_TAG_RE = re.compile(r"<!--(?:(?!<!--).)*?-->|</?[A-Za-z][^<>]*>", re.DOTALL)
_DANGEROUS_ELEMENT_RE = re.compile(
    r"<(script|style|iframe|object)\b.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL
)
_RULE_CELL_RE = re.compile(r"^:?-{2,}:?$|^-+$")


def _strip_html(text: str, log: Log) -> str:
    for match in _DANGEROUS_ELEMENT_RE.finditer(text):
        log.drop("strip_markup:html", match.group())
    text = _DANGEROUS_ELEMENT_RE.sub(" ", text)
    for match in _TAG_RE.finditer(text):
        log.drop("strip_markup:html", match.group())
    return _TAG_RE.sub(" ", text)


def _clean_cell(cell: str, log: Log) -> str:
    cell = _strip_html(cell, log)
    cell = re.sub(r"^\s*[•▪]\s*", "", cell)
    cell = re.sub(r"(?<!\s)\s++[•▪]\s+", "; ", cell)  # starts where a whitespace run starts: linear
    return " ".join(cell.split())


def _is_rule_row(cells: list[str]) -> bool:
    filled = [c for c in cells if c]
    return bool(filled) and all(_RULE_CELL_RE.match(c) for c in filled)


@dataclass
class _TableState:
    header: list[str] | None = None
    width: int = 0
    fill: str = ""
    previous_was_filled: bool = False


def _tab_row(line: str, state: _TableState, log: Log) -> str:
    cells = [_clean_cell(c, log) for c in line.split("\t")]
    if _is_rule_row(cells):
        log.drop("convert_tables:rule", line)
        return ""
    filled = [c for c in cells if c]
    if state.header is None:
        state.header, state.width = filled, len(filled)
        return " | ".join(filled)
    if filled == state.header:
        log.drop("convert_tables:repeated_header", line)
        return ""
    if cells[0] == "" and state.fill:
        # Merged cells: the group label sits on the first row only (seed 001 Annex A, seed 002 appendix).
        filled = [state.fill, *filled]
        state.previous_was_filled = True
    elif state.previous_was_filled and len(filled) == state.width - 1 and cells[-1] == "":
        # The last row of a group lost its empty first cell (seed 001 L383 "Airedale & Partners").
        filled = [state.fill, *filled]
    else:
        # A first cell followed by a gap and more cells is a garbled row (seed 002 L488), not a group label.
        garbled = len(cells) > 2 and cells[1] == "" and any(cells[2:])
        state.fill, state.previous_was_filled = ("" if garbled else cells[0]), False
    return " | ".join(filled)


def _pipe_row(line: str, log: Log) -> str:
    cells = [_clean_cell(c, log) for c in re.sub(r"^-\s*", "", line.strip()).strip("|").split("|")]
    if not any(cells) or _is_rule_row(cells):
        log.drop("convert_tables:rule", line)
        return ""
    return " | ".join(c for c in cells if c)


def convert_tables(lines: Lines, log: Log) -> Lines:
    """Flattened tables become one paragraph per row, cells joined with " | ", merged cells forward-filled."""
    out: Lines = []
    state = _TableState()
    for line in lines:
        stripped = line.strip()
        if is_tab_row(line):
            out.append(_tab_row(line, state, log))
            continue
        if stripped.startswith(("|", "- |")) and stripped.count("|") >= 2:
            out.append(_pipe_row(line, log))
            continue
        if stripped:
            state = _TableState()
        out.append(line)
    return out


_LINK_RE = re.compile(r"\[([^\[\]\n]*)\]\(([^)\s\[\]]*)\)")
_AUTOLINK_RE = re.compile(r"<((?:https?://|www\.)[^<>\s]+)>")
_BOLD_RE = re.compile(r"\*\*(.+?)\*\*")
_ITALIC_RE = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")


def _strip_links(line: str, log: Log) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(2) not in ("", "#"):
            log.drop("strip_markup:link_target", match.group(2))
        return match.group(1)

    return _LINK_RE.sub(replace, line)


def strip_markup(lines: Lines, log: Log) -> Lines:
    """Remove HTML tags, markdown emphasis, link syntax, escapes and heading hashes; keep their text."""
    out = []
    for line in lines:
        line = re.sub(r"^(\s*)\*\s+", r"\1- ", line)  # "* item" is a bullet, not emphasis
        line = _AUTOLINK_RE.sub(r"\1", line)
        line = _strip_html(line, log)
        line = _strip_links(line, log)
        line = _BOLD_RE.sub(r"\1", line)
        line = _ITALIC_RE.sub(r"\1", line)
        line = line.replace("*", "")
        line = re.sub(r"\\([()\[\]*_#.\-])", r"\1", line)
        line = re.sub(r"^#{1,6}\s+", "", line)
        out.append(line if line.strip() else "")
    return out
