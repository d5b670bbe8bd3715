"""Parsing Word .docx files: paragraphs, lists and tables in order, and the core properties."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import docx
from docx.table import Table

from ingest.parse.common import (
    Block,
    ParsedFile,
    ParseError,
    collapse,
    human_size,
    join_blocks,
    json_safe,
    no_text,
)

__all__ = ["parse_docx"]

# A .docx is a zip; a small "zip bomb" could expand to gigabytes once python-docx loads its parts.
_DOCX_EXPANSION_LIMIT = 20
_DOCX_CORE_PROPERTIES = (
    "author", "category", "comments", "content_status", "created", "identifier", "keywords", "language",
    "last_modified_by", "last_printed", "modified", "revision", "subject", "title", "version",
)  # fmt: skip
_INVALID_DOCX = "not a valid .docx file (it may be damaged, or another kind of file renamed to .docx)"


def parse_docx(data: bytes, max_bytes: int) -> ParsedFile:
    """Parse a .docx; the title is the core `title` property, else the first Title/Heading paragraph.

    Raises ParseError for damaged files, zip bombs, or documents with no text.
    """
    _check_docx_package(data, max_bytes)
    raw_blocks, properties = _read_docx(data)
    blocks: list[Block] = []
    first_heading: str | None = None
    for raw in raw_blocks:
        if raw[0] == "table":
            for cells in raw[1]:
                row = "\t".join(collapse(cell) for cell in cells)
                if row.strip():
                    blocks.append(("row", row))
            continue
        _, style_name, numbered, text = raw
        # Keep the line breaks Word users type with Shift+Enter; drop the empty ones.
        text = "\n".join(line for line in map(collapse, text.split("\n")) if line)
        if not text:
            continue
        if style_name == "Title" or style_name.startswith("Heading"):
            first_heading = first_heading or text
            blocks.append(("para", text))
        elif style_name.startswith("List") or numbered:
            blocks.append(("item", "- " + text))
        else:
            blocks.append(("para", text))
    plain = join_blocks(blocks)
    if not plain.strip():
        raise no_text(".docx file")
    metadata = {key: json_safe(value, [1000], 0) for key, value in properties.items()}
    title = collapse(str(properties.get("title") or "")) or first_heading
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
            f"not a valid .docx file: it unpacks to {human_size(unpacked)}, "
            f"over the {human_size(limit)} limit"
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
