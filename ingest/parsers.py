"""Turn an uploaded file's bytes into plain text, a title and metadata, chosen by the file's suffix."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import re
import threading
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import docx
import pypdfium2 as pdfium
import yaml
from docx.table import Table
from markdown_it import MarkdownIt
from markdown_it.token import Token
from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = ["SUPPORTED_SUFFIXES", "ParseError", "ParsedFile", "parse_bytes", "parse_file"]

DEFAULT_MAX_BYTES = 50 * 1024 * 1024

_FORMAT_BY_SUFFIX: dict[str, str] = {
    ".txt": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_FORMAT_BY_SUFFIX)
_SUPPORTED_LIST = ", ".join(sorted(SUPPORTED_SUFFIXES))


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


def parse_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedFile:
    """Parse the file at `path`; raises ParseError if it is unsupported, too large, unreadable or empty."""
    path = Path(path)
    _format_for(path.name)
    try:
        size = path.stat().st_size
        _check_size(size, max_bytes)
        with path.open("rb") as handle:
            # Read one byte past the limit so a file that grew after stat() is still refused.
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ParseError(f"could not read the file ({exc.strerror or exc.__class__.__name__})") from exc
    return parse_bytes(data, filename=path.name, max_bytes=max_bytes)


def parse_bytes(data: bytes, *, filename: str, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedFile:
    """Parse `data` as the format named by `filename`'s suffix; raises ParseError for any bad input."""
    file_format = _format_for(filename)
    _check_size(len(data), max_bytes)
    if not data.strip():
        raise ParseError("the file is empty")
    return _PARSERS[file_format](data, max_bytes)


def _format_for(filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    if not suffix:
        raise ParseError(
            f"unsupported file type: the file name has no extension (supported: {_SUPPORTED_LIST})"
        )
    if suffix not in _FORMAT_BY_SUFFIX:
        raise ParseError(f"unsupported file type '{suffix}' (supported: {_SUPPORTED_LIST})")
    return _FORMAT_BY_SUFFIX[suffix]


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise ParseError(
            f"the file is too large ({_human_size(size)}; the limit is {_human_size(max_bytes)})"
        )


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}"


# ---------------------------------------------------------------------------- text decoding

# Tab, LF, FF and CR are ordinary in text files; every other C0 byte and DEL suggests binary data.
_TEXT_CONTROL_BYTES = bytes([*range(0x20), 0x7F])
_ALLOWED_CONTROL_BYTES = b"\t\n\x0c\r"
_NOT_CONTROL_BYTES = bytes(
    b for b in range(256) if b not in _TEXT_CONTROL_BYTES or b in _ALLOWED_CONTROL_BYTES
)
_BINARY_CONTROL_RATIO = 0.05
_FALLBACK_CONTROL_RATIO = 0.01


def _decode_text(data: bytes) -> tuple[str, dict[str, Any]]:
    """Decode text bytes (UTF-8, else cp1252, else latin-1) with newlines normalised to LF."""
    metadata: dict[str, Any] = {}
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # UTF-16 is full of NUL bytes, so it must be recognised by its BOM before the binary check.
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ParseError("binary content, not text") from exc
        metadata["encoding"] = "utf-16"
    else:
        if b"\x00" in data:
            raise ParseError("binary content, not text")
        control_ratio = len(data.translate(None, _NOT_CONTROL_BYTES)) / len(data)
        if control_ratio > _BINARY_CONTROL_RATIO:
            raise ParseError("binary content, not text")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            if control_ratio > _FALLBACK_CONTROL_RATIO:
                raise ParseError(
                    "the text encoding could not be recognised; please save the file as UTF-8"
                ) from None
            # latin-1 decodes any byte, so it is the last resort; cp1252 first because Windows
            # editors write “smart quotes” and £/€ in the 0x80–0x9F range that latin-1 gets wrong.
            try:
                text = data.decode("cp1252")
                metadata["encoding"] = "cp1252"
            except UnicodeDecodeError:
                text = data.decode("latin-1")
                metadata["encoding"] = "latin-1"
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ParseError("the file is empty")
    return text, metadata


# ---------------------------------------------------------------------------- shared block joining

# A block is (kind, text) with kind "para", "item" (a "- " list item) or "row" (TAB-joined cells).
Block = tuple[str, str]


def _join_blocks(blocks: Iterable[Block]) -> str:
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


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _no_text(what: str) -> ParseError:
    return ParseError(f"no text could be extracted from the {what}")


# ---------------------------------------------------------------------------- .txt


def _parse_txt(data: bytes, max_bytes: int) -> ParsedFile:
    text, metadata = _decode_text(data)
    return ParsedFile(text=text, title=None, metadata=metadata, format="txt")


# ---------------------------------------------------------------------------- .md

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL | re.MULTILINE)
# Alias-heavy YAML ("billion laughs") is cheap for the loader but explodes when copied out.
_FRONT_MATTER_MAX_NODES = 10_000
_FRONT_MATTER_MAX_DEPTH = 50
# Raw HTML tags whose inline content is code or chrome, not prose.
_MARKDOWN_HIDDEN_INLINE_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "textarea"})
_HTML_TAG_NAME = re.compile(r"<\s*(/?)\s*([A-Za-z][A-Za-z0-9-]*)")


def _parse_md(data: bytes, max_bytes: int) -> ParsedFile:
    text, metadata = _decode_text(data)
    front, body = _split_front_matter(text)
    metadata.update(front)
    blocks, first_h1 = _markdown_blocks(body)
    plain = _join_blocks(blocks)
    if not plain.strip():
        raise _no_text("Markdown file")
    title = front.get("title")
    title = _collapse(str(title)) if title not in (None, "") else first_h1
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
    metadata = _json_safe(loaded, budget, 0)
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


def _json_safe(value: Any, budget: list[int], depth: int) -> Any:
    """Copy YAML output into JSON types: dates to ISO strings, keys to str, sets to lists."""
    budget[0] -= 1
    if budget[0] < 0 or depth > _FRONT_MATTER_MAX_DEPTH:
        raise ParseError("the front matter is too large or nested too deeply")
    if isinstance(value, dt.date | dt.time):  # datetime is a date subclass
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {_json_key(key): _json_safe(item, budget, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [_json_safe(item, budget, depth + 1) for item in items]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _json_key(key: Any) -> str:
    if isinstance(key, dt.date | dt.time):
        return key.isoformat()
    return key if isinstance(key, str) else str(key)


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
                row.append(_collapse(text))
                continue
            text = "\n".join(line for line in map(_collapse, text.split("\n")) if line)
            if not text:
                continue
            if heading_tag == "h1" and first_h1 is None:
                first_h1 = _collapse(text)
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


# ---------------------------------------------------------------------------- .html

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


def _parse_html(data: bytes, max_bytes: int) -> ParsedFile:
    text, metadata = _decode_text(data)
    if _html_nesting_exceeds(text, _HTML_MAX_NESTING):
        raise ParseError("the HTML is nested too deeply to read")
    tree = LexborHTMLParser(text)
    title_node = tree.css_first("title")
    title = _collapse(title_node.text()) if title_node is not None else ""
    root = tree.body if tree.body is not None else tree.root
    if root is None:
        raise _no_text("HTML file")
    plain, first_h1 = _HtmlTextWriter().run(root)
    if not plain.strip():
        raise _no_text("HTML file")
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
                self.first_h1 = _collapse("".join(self.out[self.h1_start :])) or None
                self.h1_start = None
            self.out.append("\n\n")

    def _finish(self) -> str:
        paragraphs: list[list[str]] = [[]]
        for line in "".join(self.out).split("\n"):
            cells = [_collapse(cell) for cell in line.split("\t")]
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
        return _join_blocks(blocks)


# ---------------------------------------------------------------------------- .pdf

# PDFium is not thread-safe; pypdfium2 says calls must never run concurrently, and the web app
# may ingest uploads from a thread pool.
_PDFIUM_LOCK = threading.Lock()


def _parse_pdf(data: bytes, max_bytes: int) -> ParsedFile:
    with _PDFIUM_LOCK:
        page_texts, title = _read_pdf(data)
    pages = [text.replace("\r\n", "\n").replace("\r", "\n").strip() for text in page_texts]
    plain = "\n\n".join(text for text in pages if text)
    if not plain:
        raise ParseError(
            "no text could be extracted from the PDF (it may be a scanned image without a text layer)"
        )
    title = _collapse(title or "")
    return ParsedFile(text=plain, title=title or None, metadata={"pages": len(pages)}, format="pdf")


def _read_pdf(data: bytes) -> tuple[list[str], str | None]:
    """Return each page's text and the metadata Title; only PDFium calls happen in here."""
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium.raw.FPDF_ERR_PASSWORD:
            raise ParseError("could not read the PDF: it is password-protected") from exc
        raise ParseError("could not read the PDF: the file is damaged or is not a PDF") from exc
    except Exception as exc:  # PDFium's bindings may raise other errors on hostile bytes
        raise ParseError("could not read the PDF: the file is damaged or is not a PDF") from exc
    try:
        title = document.get_metadata_dict(skip_empty=True).get("Title")
        page_texts: list[str] = []
        for index in range(len(document)):
            page = document[index]
            try:
                textpage = page.get_textpage()
                try:
                    # get_text_bounded gives full Unicode; get_text_range is limited to UCS-2.
                    page_texts.append(textpage.get_text_bounded())
                finally:
                    textpage.close()
            finally:
                page.close()
    except Exception as exc:  # any failure here comes from PDFium reading a damaged file
        raise ParseError("could not read the PDF: part of the file is damaged") from exc
    finally:
        document.close()
    return page_texts, title


# ---------------------------------------------------------------------------- .docx

# A .docx is a zip; a small "zip bomb" could expand to gigabytes once python-docx loads its parts.
_DOCX_EXPANSION_LIMIT = 20
_DOCX_CORE_PROPERTIES = (
    "author", "category", "comments", "content_status", "created", "identifier", "keywords", "language",
    "last_modified_by", "last_printed", "modified", "revision", "subject", "title", "version",
)  # fmt: skip
_INVALID_DOCX = "not a valid .docx file (it may be damaged, or another kind of file renamed to .docx)"


def _parse_docx(data: bytes, max_bytes: int) -> ParsedFile:
    _check_docx_package(data, max_bytes)
    raw_blocks, properties = _read_docx(data)
    blocks: list[Block] = []
    first_heading: str | None = None
    for raw in raw_blocks:
        if raw[0] == "table":
            for cells in raw[1]:
                row = "\t".join(_collapse(cell) for cell in cells)
                if row.strip():
                    blocks.append(("row", row))
            continue
        _, style_name, numbered, text = raw
        # Keep the line breaks Word users type with Shift+Enter; drop the empty ones.
        text = "\n".join(line for line in map(_collapse, text.split("\n")) if line)
        if not text:
            continue
        if style_name == "Title" or style_name.startswith("Heading"):
            first_heading = first_heading or text
            blocks.append(("para", text))
        elif style_name.startswith("List") or numbered:
            blocks.append(("item", "- " + text))
        else:
            blocks.append(("para", text))
    plain = _join_blocks(blocks)
    if not plain.strip():
        raise _no_text(".docx file")
    metadata = {key: _json_safe(value, [1000], 0) for key, value in properties.items()}
    title = _collapse(str(properties.get("title") or "")) or first_heading
    return ParsedFile(text=plain, title=title or None, metadata=metadata, format="docx")


def _check_docx_package(data: bytes, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            unpacked = sum(info.file_size for info in package.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ParseError(_INVALID_DOCX) from exc
    limit = max_bytes * _DOCX_EXPANSION_LIMIT
    if unpacked > limit:
        raise ParseError(
            f"not a valid .docx file: it unpacks to {_human_size(unpacked)}, "
            f"over the {_human_size(limit)} limit"
        )


def _read_docx(data: bytes) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """Copy paragraphs (style, numbered?, text) and tables (rows of cell text) out of python-docx.

    Only python-docx calls happen in here, so a damaged file's KeyError/lxml error becomes a
    ParseError without hiding mistakes in the formatting code above.
    """
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # BadZipFile, KeyError (missing part), lxml errors, ValueError (not Word)
        raise ParseError(_INVALID_DOCX) from exc
    try:
        raw: list[tuple[Any, ...]] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                raw.append(("table", _docx_table_rows(item)))
            else:
                style = item.style
                style_name = (style.name if style is not None else None) or ""
                # Word often numbers a list by direct formatting (w:numPr) rather than a List style.
                p_pr = item._p.pPr
                numbered = p_pr is not None and p_pr.numPr is not None
                raw.append(("paragraph", style_name, numbered, item.text))
        core = document.core_properties
        properties = {}
        for name in _DOCX_CORE_PROPERTIES:
            value = getattr(core, name)
            if value not in (None, ""):
                properties[name] = value
    except Exception as exc:  # python-docx reads lazily, so damage can surface only while walking
        raise ParseError(_INVALID_DOCX) from exc
    return raw, properties


def _docx_table_rows(table: Table) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells = []
        previous = None
        for cell in row.cells:
            # A horizontally merged cell appears once per grid column it spans; keep it once.
            if previous is not None and cell._tc is previous:
                continue
            previous = cell._tc
            cells.append(cell.text.replace("\t", " "))
        rows.append(cells)
    return rows


_PARSERS: dict[str, Callable[[bytes, int], ParsedFile]] = {
    "txt": _parse_txt,
    "md": _parse_md,
    "html": _parse_html,
    "pdf": _parse_pdf,
    "docx": _parse_docx,
}
