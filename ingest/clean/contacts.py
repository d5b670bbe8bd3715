"""Contact-details rule: moves e-mail addresses, phone numbers and contact lines (PII) out of the body."""

from __future__ import annotations

import re

from ingest.clean.common import Lines, Log, is_tab_row

# Linear time on any line: an address may only start where a run of local-part characters starts (the
# lookbehind), and no part gives characters back (possessive), so a long run with no "@" is read once.
_EMAIL = r"(?<![\w.+'-])[\w.+'-]++@[\w-]++(?:\.[\w-]++)+"
_EMAIL_RE = re.compile(_EMAIL)
# UK numbers as printed in the packs: "01296 382876", "0300 123 4567".
_PHONE_RE = re.compile(r"(?<!\d)0\d{2,4}[ -]?\d{3}[ -]?\d{3,4}(?!\d)")
_CONTACT_LABEL_RE = re.compile(r"^\s*(?:[-•]\s*)?contacts?\s*:", re.IGNORECASE)
_EMAIL_LABEL_RE = re.compile(r"^\s*(?:[-•]\s*)?e-?mail\s*:", re.IGNORECASE)
_BARE_EMAILS_RE = re.compile(rf"^\s*{_EMAIL}(?:\s*[;,]\s*{_EMAIL})*\s*[;,]?$")
_INLINE_EMAIL_RE = re.compile(rf"(?<!\s)\s*+\(?(?:(?:contact|e-?mail)\s*:?\s*)?{_EMAIL}\)?", re.IGNORECASE)


def _is_contact_line(line: str) -> bool:
    return bool(
        _CONTACT_LABEL_RE.match(line)
        or _EMAIL_LABEL_RE.match(line)
        or _BARE_EMAILS_RE.match(line)
        or _PHONE_RE.search(line)
    )


def extract_contacts(lines: Lines, log: Log) -> Lines:
    """Move contact lines, e-mail addresses and phone numbers (PII) out of the body into metadata."""
    out: Lines = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line or is_tab_row(line) or not _is_contact_line(line):
            if line and _EMAIL_RE.search(line) and not is_tab_row(line):
                log.contacts.extend(m.group() for m in _EMAIL_RE.finditer(line))
                line = _INLINE_EMAIL_RE.sub("", line)
            out.append(line)
            i += 1
            continue
        contact = line.strip()
        # A contact split over two lines ends in "," (seed 004 L726-727); a split e-mail in ";" (L2987).
        while i + 1 < len(lines) and lines[i + 1].strip() and contact.endswith((",", ";")):
            i += 1
            contact = f"{contact} {lines[i].strip()}"
        log.contacts.append(contact)
        i += 1
    return out
