"""Parsing: a file's bytes -> its plain text, title and metadata, one parser per format, chosen by suffix."""

from ingest.parse.common import ParsedFile, ParseError
from ingest.parse.dispatch import SUPPORTED_SUFFIXES, parse_bytes, parse_file

__all__ = ["SUPPORTED_SUFFIXES", "ParseError", "ParsedFile", "parse_bytes", "parse_file"]
