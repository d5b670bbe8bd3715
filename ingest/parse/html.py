"""Parsing HTML files: the body's prose as blocks, with page chrome, code and form state dropped."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ingest.parse.common import Block, ParsedFile, ParseError, collapse, join_blocks, no_text
from ingest.parse.plain_text import decode_text

__all__ = ["parse_html"]

# Subtrees whose text is code, page chrome or form state rather than the document's prose.
_HTML_DROPPED_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "nav", "footer",
        "head", "title", "textarea", "select", "xmp", "plaintext", "noembed", "noframes", "canvas",
        "audio", "video",
    }
)  # fmt: skip
_HTML_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "caption", "center", "dd", "details", "dialog",
        "div", "dl", "dt", "fieldset", "figcaption", "figure", "form", "h1", "h2", "h3", "h4", "h5",
        "h6", "header", "hgroup", "hr", "legend", "main", "ol", "p", "pre", "section", "summary",
        "table", "tbody", "tfoot", "thead", "ul",
    }
)  # fmt: skip
_HTML_CELL_TAGS = frozenset({"td", "th"})
_WHITESPACE_RUN = re.compile(r"\s+")
# Lexbor's tree builder slows quadratically with nesting depth (50k nested divs take seconds,
# 200k a minute), so absurd nesting is refused before parsing. Real pages stay in the hundreds.
_HTML_MAX_NESTING = 20_000
_HTML_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
# Void elements never nest, and these end tags are optional, so neither counts towards depth.
_HTML_NON_NESTING_TAGS = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
        "track", "wbr", "p", "li", "dt", "dd", "td", "th", "tr", "thead", "tbody", "tfoot", "option",
        "optgroup", "colgroup", "caption", "rb", "rt", "rp", "html", "head", "body",
    }
)  # fmt: skip


def parse_html(data: bytes, max_bytes: int) -> ParsedFile:
    """Parse HTML; the title is <title>, else the first <h1>.

    Raises ParseError for undecodable bytes, absurd nesting, or a page with no text.
    """
    text, metadata = decode_text(data)
    if _html_nesting_exceeds(text, _HTML_MAX_NESTING):
        raise ParseError("the HTML is nested too deeply to read")
    tree = LexborHTMLParser(text)
    title_node = tree.css_first("title")
    title = collapse(title_node.text()) if title_node is not None else ""
    root = tree.body if tree.body is not None else tree.root
    if root is None:
        raise no_text("HTML file")
    plain, first_h1 = _HtmlTextWriter().run(root)
    if not plain.strip():
        raise no_text("HTML file")
    return ParsedFile(text=plain, title=title or first_h1 or None, metadata=metadata, format="html")


def _html_nesting_exceeds(text: str, limit: int) -> bool:
    """Estimate nesting from tags alone (an over-estimate for sloppy HTML) and compare with `limit`."""
    depth = 0
    for match in _HTML_TAG.finditer(text):
        if match.group(2).lower() in _HTML_NON_NESTING_TAGS:
            continue
        if match.group(1):
            depth = max(0, depth - 1)
        else:
            depth += 1
            if depth > limit:
                return True
    return False


class _HtmlTextWriter:
    """Walk a DOM with an explicit stack (10k nested divs would overflow recursion) and emit text."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.pending_marker: str | None = None  # "- " waiting for the list item's first text
        self.row_depth = 0
        self.first_cell = False
        self.pre_depth = 0
        self.h1_start: int | None = None
        self.first_h1: str | None = None

    def run(self, root: LexborNode) -> tuple[str, str | None]:
        stack: list[tuple[LexborNode, bool]] = [(child, False) for child in self._children(root)]
        while stack:
            node, leaving = stack.pop()
            if leaving:
                self._leave(node)
                continue
            if node.is_text_node:
                self._text(node.text_content or "")
                continue
            tag = (node.tag or "").lower()
            if not node.is_element_node or tag in _HTML_DROPPED_TAGS:
                continue  # comments, doctypes and dropped subtrees
            self._enter(tag)
            stack.append((node, True))
            stack.extend((child, False) for child in self._children(node))
        return self._finish(), self.first_h1

    @staticmethod
    def _children(node: LexborNode) -> list[LexborNode]:
        children = list(node.iter(include_text=True))
        children.reverse()  # the stack pops the last pushed first
        return children

    def _emit(self, text: str) -> None:
        if self.pending_marker and text.strip():
            self.out.append(self.pending_marker)
            self.pending_marker = None
        self.out.append(text)

    def _text(self, text: str) -> None:
        if self.pre_depth and not self.row_depth:
            self._emit(text.replace("\t", " "))
        else:
            self._emit(_WHITESPACE_RUN.sub(" ", text))

    def _enter(self, tag: str) -> None:
        if self.row_depth:
            # Inside a table row, structure must not break the row onto new lines.
            if tag in _HTML_CELL_TAGS and self.row_depth == 1:
                self.out.append("" if self.first_cell else "\t")
                self.first_cell = False
            elif tag == "tr":
                self.row_depth += 1
            else:
                self.out.append(" ")
            return
        if tag == "tr":
            self.row_depth = 1
            self.first_cell = True
            self.out.append("\n\n")
        elif tag == "li":
            self.out.append("\n\n")
            self.pending_marker = "- "
        elif tag == "br":
            self.out.append("\n")
        elif tag in _HTML_BLOCK_TAGS:
            self.out.append("\n\n")
            if tag == "pre":
                self.pre_depth += 1
            if tag == "h1" and self.first_h1 is None and self.h1_start is None:
                self.h1_start = len(self.out)

    def _leave(self, node: LexborNode) -> None:
        tag = (node.tag or "").lower()
        if tag == "tr":
            self.row_depth -= 1
            if self.row_depth == 0:
                self.out.append("\n\n")
            return
        if self.row_depth:
            if tag not in _HTML_CELL_TAGS:
                self.out.append(" ")
            return
        if tag == "li":
            self.pending_marker = None
            self.out.append("\n\n")
        elif tag in _HTML_BLOCK_TAGS:
            if tag == "pre":
                self.pre_depth = max(0, self.pre_depth - 1)
            if tag == "h1" and self.h1_start is not None:
                self.first_h1 = collapse("".join(self.out[self.h1_start :])) or None
                self.h1_start = None
            self.out.append("\n\n")

    def _finish(self) -> str:
        paragraphs: list[list[str]] = [[]]
        for line in "".join(self.out).split("\n"):
            cells = [collapse(cell) for cell in line.split("\t")]
            if not any(cells):
                if paragraphs[-1]:
                    paragraphs.append([])
                continue
            paragraphs[-1].append("\t".join(cells))
        blocks: list[Block] = []
        for lines in paragraphs:
            if not lines:
                continue
            text = "\n".join(lines)
            kind = "item" if text.startswith("- ") else "row" if "\t" in text else "para"
            blocks.append((kind, text))
        return join_blocks(blocks)
