"""Turn an uploaded file's bytes into plain text, a title and metadata, chosen by the file's suffix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePath

from ingest.parse.common import ParsedFile, ParseError, human_size, refuse_non_prose
from ingest.parse.docx import parse_docx
from ingest.parse.html import parse_html
from ingest.parse.markdown import parse_md
from ingest.parse.pdf import parse_pdf
from ingest.parse.plain_text import parse_txt

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

# Each parser takes the file's bytes and the size limit (for checks on unpacked content).
_PARSERS: dict[str, Callable[[bytes, int], ParsedFile]] = {
    "txt": parse_txt,
    "md": parse_md,
    "html": parse_html,
    "pdf": parse_pdf,
    "docx": parse_docx,
}


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
    """Parse `data` as the format named by `filename`'s suffix; raises ParseError for any bad input,
    including text that is not prose at all (mostly unbroken runs of characters with no space)."""
    file_format = _format_for(filename)
    _check_size(len(data), max_bytes)
    if not data.strip():
        raise ParseError("the file is empty")
    parsed = _PARSERS[file_format](data, max_bytes)
    refuse_non_prose(parsed.text)
    return parsed


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
        raise ParseError(f"the file is too large ({human_size(size)}; the limit is {human_size(max_bytes)})")
