"""Decoding text bytes (UTF-8, UTF-16, cp1252, latin-1) and parsing .txt files."""

from __future__ import annotations

import codecs
from typing import Any

from ingest.parse.common import ParsedFile, ParseError

__all__ = ["decode_text", "parse_txt"]

# Tab, LF, FF and CR are ordinary in text files; every other C0 byte and DEL suggests binary data.
_TEXT_CONTROL_BYTES = bytes([*range(0x20), 0x7F])
_ALLOWED_CONTROL_BYTES = b"\t\n\x0c\r"
_NOT_CONTROL_BYTES = bytes(
    b for b in range(256) if b not in _TEXT_CONTROL_BYTES or b in _ALLOWED_CONTROL_BYTES
)
_BINARY_CONTROL_RATIO = 0.05
_FALLBACK_CONTROL_RATIO = 0.01


def parse_txt(data: bytes, max_bytes: int) -> ParsedFile:
    """Parse plain text; raises ParseError for binary, undecodable or blank bytes."""
    text, metadata = decode_text(data)
    return ParsedFile(text=text, title=None, metadata=metadata, format="txt")


def decode_text(data: bytes) -> tuple[str, dict[str, Any]]:
    """Decode text bytes (UTF-8, else cp1252, else latin-1) with newlines normalised to LF.

    Returns the text and metadata naming any non-UTF-8 encoding; raises ParseError for binary
    content, an unrecognisable encoding, or text that is only whitespace.
    """
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
