"""Terms a document defines itself: acronyms spelled out at first use, glossary lines and "known as" names.

The acronym rule is Schwartz and Hearst's (2003, "A simple algorithm for identifying abbreviation definitions in
biomedical text"): a short form in brackets after a phrase, or a phrase in brackets after a short form, counts as a
definition only when the short form's letters can be found, in order and right to left, in the phrase, with its
first letter starting the phrase's first word. That is what separates "delayed transfers of care (DToC)" from
"(2016)", "(see page 4)", "(n=120)" or "Morecambe Bay (North)". Nothing here is added to the vocabulary
automatically: the proposals are for a person to review (`bench/harvest_vocabulary.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

DefinitionKind = Literal["acronym", "alias"]

# The longest phrase the vocabulary matches (kb.vocabulary.MAX_PHRASE_TOKENS); a longer one is no use.
MAX_LONG_FORM_WORDS = 10
_SHORT_FORM = r"[A-Za-z][A-Za-z0-9&\-]{1,9}"
# "long form (SF)" and "long form (SF; more)" / "(SF, ...)": the short form alone or first in the brackets.
_LONG_THEN_SHORT = re.compile(r"\((" + _SHORT_FORM + r")(?:[;,][^)]*)?\)")
# "SF (long form)": a short form, then a bracketed phrase of words.
_SHORT_THEN_LONG = re.compile(r"\b(" + _SHORT_FORM + r")\s+\(([A-Za-z][A-Za-z'&,\- ]{3,120})\)")
# Glossary lines: "DToC - delayed transfers of care", "CCG: clinical commissioning group", "LOS<tab>length of stay".
_GLOSSARY_LINE = re.compile(
    r"^\s*(" + _SHORT_FORM + r")\s*(?:[:=\u2013\u2014\t]|\s-\s|\s{2,})\s*([A-Za-z][^.;]{3,120}?)\.?\s*$"
)
# "... (known as X)", "..., also called X", "... also known as X": the name runs to a bracket or punctuation.
_KNOWN_AS = re.compile(
    r"\(?\b(?:also |otherwise |commonly |locally |sometimes |now )?(?:known as|called|referred to as)\s+"
    r"(?:the\s+)?[\"'\u2018\u201c]?(?P<name>[A-Za-z][\w&'\- ]{2,80}?)[\"'\u2019\u201d]?(?=\)|[,.;:]|$)"
)
# Words that end the noun phrase a "known as" name is given to ("what is known as": nothing is named).
_FUNCTION_WORDS = frozenset(
    "a an the is are was were be been it its this that these those what which who we our they their in on at "
    "of for to by with from and or as also now then there here usually often he she you i them through".split()
)
# Where a long form cannot reach back past: the end of a sentence or clause, or another bracket.
_CLAUSE_BREAK = re.compile(r"[.;:!?()\[\]\u2022]|\s[\u2013\u2014-]\s")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Definition:
    """One term a document defines: the short form or name, what it stands for, and where it was said."""

    kind: DefinitionKind
    short: str
    long: str
    line: int  # 1-based line of the text the definition was read from
    evidence: str  # that line, trimmed, for the reviewer


def is_short_form(token: str) -> bool:
    """Whether a bracketed token looks like an abbreviation: at least two capitals, no spaces, not a year or a
    count, and mostly capitals ("DToC", "IM&T", "CCGs" yes; "West", "n=120", "2016", "Lorenzo" no)."""
    core = token[:-1] if len(token) > 2 and token.endswith("s") and token[-2].isupper() else token
    capitals = sum(ch.isupper() for ch in core)
    letters = sum(ch.isalpha() for ch in core)
    return capitals >= 2 and letters >= 2 and capitals * 2 >= letters and not core.isdigit()


# Words an acronym may skip ("A&E", "Department of Health" -> DH) but may also take a letter from ("DToC").
_MINOR_WORDS = frozenset("and of the for in on to at with & a an".split())


def _initials_tail(chars: list[str], words: list[str]) -> int | None:
    """The index of the first word of the shortest tail of `words` whose initials spell `chars`, skipping minor
    words where that still works, or None."""

    def walk(char_index: int, word_index: int) -> int | None:
        if char_index < 0:
            return word_index + 1
        if word_index < 0:
            return None
        word = words[word_index]
        initial = next((ch.lower() for ch in word if ch.isalnum()), "")
        if word.lower() in _MINOR_WORDS:
            skipped = walk(char_index, word_index - 1)
            if skipped is not None:
                return skipped
        if initial == chars[char_index]:
            return walk(char_index - 1, word_index - 1)
        return None

    return walk(len(chars) - 1, len(words) - 1)


def best_long_form(short: str, candidate: str) -> str | None:
    """The tail of `candidate` that the short form abbreviates, or None (after Schwartz and Hearst).

    First the words whose initials spell the short form ("Hampshire Health Record (HHR)"); failing that, Schwartz
    and Hearst's rule: every letter and digit of the short form must occur in the tail in order, matched right to left, and the
    first must start a word of it; a plural "s" on the short form is ignored.
    """
    if len(short) > 2 and short.endswith("s") and short[-2].isupper():
        short = short[:-1]
    chars = [ch.lower() for ch in short if ch.isalnum()]
    words = candidate.split()
    first = _initials_tail(chars, words)
    if first is not None and len(words) - first >= 2:
        return " ".join(words[first:]).strip(" ,")
    text = candidate.lower()
    position = len(text) - 1
    for index in range(len(chars) - 1, -1, -1):
        wanted = chars[index]
        while position >= 0 and (
            text[position] != wanted or (index == 0 and position > 0 and text[position - 1].isalnum())
        ):
            position -= 1
        if position < 0:
            return None
        position -= 1
    start = position + 1
    long_form = candidate[start:].strip(" ,")
    words = long_form.split()
    if len(words) < 2 or len(words) > MAX_LONG_FORM_WORDS or long_form.lower() == short.lower():
        return None
    # Every capital of the short form should start a word; otherwise "Barnsley Hospital (BHT)" would pass via
    # the "h" and "t" inside words of a longer phrase. Allow one miss for forms like "DToC" and "IM&T".
    initials = {word[0].lower() for word in words if word[0].isalnum()}
    capitals = [ch.lower() for ch in short if ch.isupper()]
    if sum(ch not in initials for ch in capitals) > max(0, len(capitals) // 4):
        return None
    return long_form


def _window_before(line: str, end: int, short: str) -> str:
    """The words before position `end`, back to a clause break, at most min(|SF| + 5, 2|SF|) words."""
    before = line[:end]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    if breaks:
        before = before[breaks[-1].end() :]
    words = _WORD.findall(before)
    limit = min(len(short) + 5, len(short) * 2)
    return " ".join(words[-limit:])


def _acronyms_in_line(line: str) -> Iterator[tuple[str, str]]:
    for match in _LONG_THEN_SHORT.finditer(line):
        short = match.group(1)
        if not is_short_form(short):
            continue
        long_form = best_long_form(short, _window_before(line, match.start(), short))
        if long_form:
            yield short, long_form
    for match in _SHORT_THEN_LONG.finditer(line):
        short, inside = match.group(1), match.group(2).strip()
        if not is_short_form(short) or is_short_form(inside.split()[0]):
            continue
        long_form = best_long_form(short, inside)
        # The whole bracket must be the expansion, not its tail ("CCG (with the council)" is not a definition).
        if long_form and long_form == inside.strip(" ,"):
            yield short, long_form
    glossary = _GLOSSARY_LINE.match(line)
    if glossary and is_short_form(glossary.group(1)):
        short, rest = glossary.group(1), glossary.group(2).strip()
        long_form = best_long_form(short, rest)
        if long_form and long_form == rest.strip(" ,"):
            yield short, long_form


def _names_in_line(line: str) -> Iterator[tuple[str, str]]:
    for match in _KNOWN_AS.finditer(line):
        name = match.group("name").strip()
        before = line[: match.start()].rstrip(" ,(\u2013\u2014-")
        breaks = list(_CLAUSE_BREAK.finditer(before))
        if breaks:
            before = before[breaks[-1].end() :]
        # The thing named is the noun phrase just before "known as": the words after the last function word.
        words: list[str] = []
        for word in reversed(before.split()):
            if word.lower().strip(",") in _FUNCTION_WORDS:
                break
            words.insert(0, word)
        thing = " ".join(words[-6:]).strip(" ,")
        if len(thing.split()) >= 1 and len(thing) > 2 and name.lower() != thing.lower():
            if len(name.split()) <= MAX_LONG_FORM_WORDS:
                yield name, thing


def definitions_in(text: str) -> list[Definition]:
    """Every acronym a text spells out and every name it says something is known by, in order of first use.

    An acronym is kept once per (short form, long form) pair, at its first line; a "known as" name likewise.
    Lines are numbered from 1 as the text splits them.
    """
    found: list[Definition] = []
    seen: set[tuple[str, str, str]] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        evidence = line.strip()
        for kind, pairs in (("acronym", _acronyms_in_line(line)), ("alias", _names_in_line(line))):
            for short, long_form in pairs:
                key = (kind, short.lower(), " ".join(long_form.lower().split()))
                if key in seen:
                    continue
                seen.add(key)
                found.append(Definition(kind, short, " ".join(long_form.split()), number, evidence[:240]))  # type: ignore[arg-type]
    return found
