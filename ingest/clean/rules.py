"""Cleaning stage: raw converted text to clean paragraphs; owns the result type and the rule order."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.clean.characters import (
    fix_field_code_residue,
    normalise_unicode,
    normalise_whitespace,
    strip_citation_markers,
)
from ingest.clean.common import Lines, Log, Rule
from ingest.clean.contacts import extract_contacts
from ingest.clean.furniture import (
    drop_boilerplate,
    drop_contents_pages,
    drop_form_residue,
    drop_garbage_lines,
    drop_image_descriptions,
    drop_logo_residue,
    drop_repeated_lines,
    strip_page_numbers,
)
from ingest.clean.paragraphs import (
    drop_number_only_paragraphs,
    join_broken_paragraphs,
    join_wrapped_lines,
    normalise_bullets,
    repair_broken_tokens,
)
from ingest.clean.tables import convert_tables, strip_markup

__all__ = ["RULES", "CleanedText", "Lines", "Rule", "clean_text"]


@dataclass(frozen=True)
class CleanedText:
    text: str  # the cleaned document text
    contacts: list[str]  # contact lines / e-mail addresses / phone numbers removed from the body
    dropped: list[tuple[str, str]]  # (rule_name, original_text) for every line or fragment removed


# The rules live in the modules of this package, grouped by the damage they repair; order matters here.
RULES: tuple[Rule, ...] = (
    normalise_whitespace,
    drop_contents_pages,
    fix_field_code_residue,
    normalise_unicode,
    strip_citation_markers,
    extract_contacts,
    drop_boilerplate,
    drop_repeated_lines,
    drop_logo_residue,
    drop_image_descriptions,
    drop_form_residue,
    drop_garbage_lines,
    strip_page_numbers,
    join_wrapped_lines,
    convert_tables,
    strip_markup,
    normalise_bullets,
    join_broken_paragraphs,
    repair_broken_tokens,
    drop_number_only_paragraphs,
)


def clean_text(raw: str) -> CleanedText:
    """Apply every cleaning rule in order to raw converted text.

    Takes the whole document as one string; returns paragraphs separated by one blank line, with the
    contacts moved to metadata and every removed line or fragment listed in ``dropped``. Never raises
    on odd input: unknown artefacts are left in the text rather than guessed at.
    """
    log = Log()
    lines: Lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for rule in RULES:
        lines = rule(lines, log)
    return CleanedText(text="\n\n".join(lines), contacts=log.contacts, dropped=log.dropped)
