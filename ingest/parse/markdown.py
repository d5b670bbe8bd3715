"""Parsing Markdown files: YAML front matter as metadata, and the rendered text without raw HTML."""

from __future__ import annotations

import re
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from ingest.parse.common import Block, ParsedFile, ParseError, collapse, join_blocks, json_safe, no_text
from ingest.parse.plain_text import decode_text

__all__ = ["parse_md"]

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL | re.MULTILINE)
# Alias-heavy YAML ("billion laughs") is cheap for the loader but explodes when copied out.
_FRONT_MATTER_MAX_NODES = 10_000
# Raw HTML tags whose inline content is code or chrome, not prose.
_MARKDOWN_HIDDEN_INLINE_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "textarea"})
_HTML_TAG_NAME = re.compile(r"<\s*(/?)\s*([A-Za-z][A-Za-z0-9-]*)")


def parse_md(data: bytes, max_bytes: int) -> ParsedFile:
    """Parse Markdown; the title is front matter `title`, else the first level-1 heading.

    Raises ParseError for undecodable bytes, bad or oversized front matter, or no text.
    """
    text, metadata = decode_text(data)
    front, body = _split_front_matter(text)
    metadata.update(front)
    blocks, first_h1 = _markdown_blocks(body)
    plain = join_blocks(blocks)
    if not plain.strip():
        raise no_text("Markdown file")
    title = front.get("title")
    title = collapse(str(title)) if title not in (None, "") else first_h1
    return ParsedFile(text=plain, title=title or None, metadata=metadata, format="md")


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, text
    try:
        loaded = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise ParseError(f"the front matter is not valid YAML: {_yaml_message(exc)}") from exc
    except RecursionError as exc:
        raise ParseError("the front matter is nested too deeply") from exc
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise ParseError("the front matter must be a set of 'key: value' lines")
    budget = [_FRONT_MATTER_MAX_NODES]
    metadata = json_safe(loaded, budget, 0)
    return metadata, text[match.end() :]


def _yaml_message(exc: yaml.YAMLError) -> str:
    """The YAML error's first line, plus the problem and line when PyYAML knows them."""
    message = str(exc).strip()
    first_line = message.splitlines()[0] if message else "invalid YAML"
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = exc.problem or ""
        if problem and problem not in first_line:
            first_line = f"{first_line}: {problem}"
        if exc.problem_mark is not None:
            # +2: marks count from 0 and the front matter starts below the opening "---".
            first_line = f"{first_line} (line {exc.problem_mark.line + 2})"
    return first_line


def _markdown_parser() -> MarkdownIt:
    # html=True so raw HTML arrives as html_block/html_inline tokens we can drop; with it off,
    # markdown-it would hand the markup back as literal text.
    parser = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    # The default validator leaves `[x](javascript:…)` as literal source text; we never emit URLs,
    # so accepting every link just lets us keep the link text.
    parser.validateLink = lambda url: True
    return parser


_MARKDOWN = _markdown_parser()


def _markdown_blocks(body: str) -> tuple[list[Block], str | None]:
    """Walk markdown-it's flat token stream into blocks; also return the first level-1 heading."""
    try:
        tokens = _MARKDOWN.parse(body)
    except RecursionError as exc:
        raise ParseError("the Markdown is nested too deeply to read") from exc
    blocks: list[Block] = []
    first_h1: str | None = None
    item_pending = False  # the next block opens a list item and takes the "- " marker
    heading_tag: str | None = None
    row: list[str] | None = None
    for token in tokens:
        kind = token.type
        if kind == "list_item_open":
            item_pending = True
        elif kind == "list_item_close":
            item_pending = False
        elif kind == "heading_open":
            heading_tag = token.tag
        elif kind == "heading_close":
            heading_tag = None
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close":
            if row is not None and any(row):
                blocks.append(("row", "\t".join(row)))
            row = None
        elif kind == "inline":
            text = _markdown_inline_text(token.children or [])
            if row is not None:
                row.append(collapse(text))
                continue
            text = "\n".join(line for line in map(collapse, text.split("\n")) if line)
            if not text:
                continue
            if heading_tag == "h1" and first_h1 is None:
                first_h1 = collapse(text)
            if item_pending:
                blocks.append(("item", "- " + text))
                item_pending = False
            else:
                blocks.append(("para", text))
        elif kind in ("fence", "code_block"):
            code = token.content.rstrip("\n")
            if code.strip():
                blocks.append(("item", "- " + code) if item_pending else ("para", code))
                item_pending = False
        # html_block and html_inline are dropped on purpose: raw HTML never reaches the text.
    return blocks, first_h1


def _markdown_inline_text(children: list[Token]) -> str:
    parts: list[str] = []
    hidden_depth = 0
    for child in children:
        kind = child.type
        if kind == "html_inline":
            match = _HTML_TAG_NAME.match(child.content)
            if match and match.group(2).lower() in _MARKDOWN_HIDDEN_INLINE_TAGS:
                if match.group(1):
                    hidden_depth = max(0, hidden_depth - 1)
                elif not child.content.rstrip().endswith("/>"):
                    hidden_depth += 1
            continue
        if hidden_depth:
            continue
        if kind in ("text", "code_inline", "text_special"):
            # TAB is reserved for table cells in our output.
            parts.append(child.content.replace("\t", " "))
        elif kind == "image":
            parts.append(child.content)
        elif kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak":
            parts.append("\n")
    return "".join(parts)
