"""Cover pages: the document's own title page and the papers bound into a bundle, with their titles."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.structure.headings import (
    HONORIFIC_RE,
    METADATA_RE,
    NUMBERED_RE,
    URL_RE,
    heading_text,
    is_heading,
    label_rank,
    strip_heading_markup,
    top_heading,
)
from ingest.structure.paragraphs import CONTENTS_RE, Para, is_list_item
from ingest.text import is_table_row

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DATE_RE = re.compile(
    rf"^(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+)?"
    rf"(?:{_MONTHS})\.?,?\s+\d{{4}}$",
    re.IGNORECASE,
)
# Lines that carry metadata ("Author: …", "Contact: …") look like headings but never are.
_AUTHOR_RE = re.compile(
    r"^(authors?|editors?|edited by|report owner|prepared by|written by)\b", re.IGNORECASE
)
_IMAGE_DESCRIPTION_RE = re.compile(r"^(?:an?|the)\s+(?:photograph|photo|image|picture|illustration)\b", re.I)
_RUNNING_HEADER_RE = re.compile(r"\blast updated\b|^version\s+\d|^draft\b", re.I | re.M)

# ---------------------------------------------------------------- cover lines


def _is_date_line(line: str) -> bool:
    text = strip_heading_markup(line)
    if re.match(r"^date\s*:", text, re.I):
        return True
    first_cell = re.split(r"\t| \| ", line.strip())[0].strip()
    return bool(_DATE_RE.match(text) or _DATE_RE.match(first_cell))


def _is_cover_terminator(para: Para) -> bool:
    """A date, author or contents line: what follows a title on a cover page."""
    first = strip_heading_markup(para.lines[0])
    if para.single and CONTENTS_RE.match(first):
        return True
    return any(_is_date_line(line) or _AUTHOR_RE.match(strip_heading_markup(line)) for line in para.lines[:3])


def _is_title_like(para: Para) -> bool:
    lines = para.lines
    if len(lines) > 4 or is_list_item(para) or _is_cover_terminator(para):
        return False
    text = " ".join(strip_heading_markup(line) for line in lines)
    if any(len(line.strip()) > 120 for line in lines) or is_table_row(para.text) or is_table_row(text):
        return False
    if not text or URL_RE.search(text) or text[0].islower() or METADATA_RE.match(text):
        return False
    if _RUNNING_HEADER_RE.search(text) or _IMAGE_DESCRIPTION_RE.match(text) or HONORIFIC_RE.match(text):
        return False
    return not text.endswith(".") or len(text) <= 100


def _is_cover_residue(para: Para) -> bool:
    """Branding, logos, image descriptions and running headers that sit on a cover before its title."""
    text = para.text.strip()
    if _IMAGE_DESCRIPTION_RE.match(text) or _RUNNING_HEADER_RE.search(text):
        return True
    lines = para.lines
    if all(URL_RE.search(line) or line.strip().startswith("#") for line in lines):
        return True
    return len(lines) >= 3 and all(
        len(line.split()) <= 4 and line.strip()[-1] not in ".,;:" for line in lines
    )


_CONTINUES_RE = re.compile(r"\b(?:the|for|of|and|in|to|a|an|on|with)$|[&,–-]$", re.I)


def _title_of(paras: list[Para], *, limit: int = 2) -> str:
    """A cover title from its paragraphs: wrapped pieces rejoin, and at most a title and subtitle are kept."""
    pieces: list[str] = []
    for para in paras:
        text = " ".join(strip_heading_markup(line) for line in para.lines)
        if pieces and (_CONTINUES_RE.search(pieces[-1]) or text[:1] in "&(" or text[:1].islower()):
            pieces[-1] += " " + text
        else:
            pieces.append(text)
    title = ""
    for piece in pieces[:limit]:
        title = piece if not title else title + (" " if title.endswith(":") else " – ") + piece
    return title


# ---------------------------------------------------------------- covers


@dataclass
class _Cover:
    index: int  # first paragraph of the cover (after snapping back over residue)
    members: set[int]  # paragraphs that belong to the cover and are never headings
    title: str


def _followed_by_cover(paras: list[Para], i: int, toc: set[int]) -> bool:
    following = i + 1
    if following >= len(paras) or following in toc:
        return True
    return _is_title_like(paras[following]) or _is_cover_terminator(paras[following])


def document_cover(paras: list[Para], toc: set[int]) -> _Cover:
    """The title page: leading title-like paragraphs, then dates, authors and names up to the body."""
    i = 0
    members: set[int] = set()
    while i < len(paras) and _is_cover_residue(paras[i]) and i < 3:
        members.add(i)
        i += 1
    titles: list[Para] = []
    while i < len(paras) and i not in toc and len(titles) < 3 and _is_title_like(paras[i]):
        text = heading_text(paras[i].text)
        if titles and (NUMBERED_RE.match(text) or top_heading(text) or label_rank(text) is not None):
            break
        if titles and not _followed_by_cover(paras, i, toc):
            break  # a heading over body text, not a subtitle
        titles.append(paras[i])
        members.add(i)
        i += 1
    # Dates, author lines and the names between them still belong to the cover.
    while i < len(paras) and i not in toc:
        para = paras[i]
        name_before_date = (
            i + 1 < len(paras)
            and _is_cover_terminator(paras[i + 1])
            and _is_title_like(para)
            and len(para.text.split()) <= 6
        )
        meeting_detail = re.match(r"^(time|venue|location)\s*:", para.text.strip(), re.I)
        if not (_is_cover_terminator(para) or name_before_date or meeting_detail):
            break
        members.add(i)
        i += 1
    return _Cover(0, members, _title_of(titles, limit=3))


_FRONT_KEYWORD_RE = re.compile(
    r"^(?:foreword|preface|executive summary|introduction|acknowledge?ments)$", re.I
)


def _cover_title_start(paras: list[Para], i: int, floor: int, taken: set[int]) -> int:
    """Walk back from a cover terminator over the title paragraphs (a cleaned title may be split over
    several); a lone word such as a signature ("CHAIRMAN") ends the previous paper, not this title."""
    j = i
    while j - 1 > floor and i - (j - 1) <= 5 and j - 1 not in taken and _is_title_like(paras[j - 1]):
        previous = heading_text(paras[j - 1].text)
        if NUMBERED_RE.match(previous) or (
            j < i and len(previous.split()) == 1 and not previous.endswith(":")
        ):
            break
        j -= 1
    return j


def _snap_back_over_residue(paras: list[Para], start: int, floor: int, taken: set[int]) -> int:
    """Branding, logos and running headers just above a title belong to that paper's cover."""
    for _ in range(3):
        previous = start - 1
        if previous <= floor or previous in taken or not _is_cover_residue(paras[previous]):
            break
        start = previous
        if _IMAGE_DESCRIPTION_RE.match(paras[start].text.strip()):
            break
        header_title = start - 1
        if (
            _RUNNING_HEADER_RE.search(paras[start].text)
            and header_title > floor
            and paras[header_title].single
        ):
            start = header_title  # "BCF Integrated Care Commissioning Strategy" above "Last updated …"
    return start


def part_covers(paras: list[Para], toc: set[int], doc: _Cover, stop: int) -> list[_Cover]:
    """Cover pages of papers bound into a bundle: a title followed by a date, author or contents line (or
    by a foreword after a title and subtitle), or the document's own masthead repeating."""
    covers: list[_Cover] = []
    taken = set(doc.members)
    floor = max(doc.members, default=-1) + 1
    for i in range(floor + 1, stop):
        para = paras[i]
        if i in taken or (i in toc and not CONTENTS_RE.match(strip_heading_markup(para.text))):
            continue
        front_keyword = para.single and bool(_FRONT_KEYWORD_RE.match(heading_text(para.text)))
        if not (_is_cover_terminator(para) or front_keyword):
            continue
        j = _cover_title_start(paras, i, floor, taken)
        if j == i:
            continue
        if front_keyword and (i - j < 2 or j - 1 <= floor or not _is_cover_residue(paras[j - 1])):
            continue  # a foreword only marks a cover when a title and subtitle sit under branding
        ends_before = i in toc or front_keyword
        members = set(range(j, i if ends_before else i + 1))
        start = _snap_back_over_residue(paras, j, floor, taken)
        members |= set(range(start, j))
        covers.append(_Cover(start, members, _title_of(paras[j:i])))
        taken |= members
    covers.extend(_masthead_repeats(paras, doc, taken, stop))
    return _merge_close_covers(sorted(covers, key=lambda c: c.index), paras)


def _masthead_repeats(paras: list[Para], doc: _Cover, taken: set[int], stop: int) -> list[_Cover]:
    """Agenda packs restart the council masthead before the minutes: a repeated masthead opens a paper."""
    title_paras = sorted(i for i in doc.members if _is_title_like(paras[i]))
    masthead = [strip_heading_markup(line).lower() for i in title_paras for line in paras[i].lines]
    if len(masthead) < 2:
        return []
    lines = [(i, strip_heading_markup(line).lower()) for i, p in enumerate(paras) for line in p.lines]
    covers = []
    for k in range(len(lines) - len(masthead) + 1):
        first_index = lines[k][0]
        if first_index <= max(doc.members) or first_index >= stop or first_index in taken:
            continue
        if [text for _, text in lines[k : k + len(masthead)]] != masthead:
            continue
        last_index = lines[k + len(masthead) - 1][0]
        members = set(range(first_index, last_index + 1))
        following = []
        n = last_index + 1
        while n < len(paras) and len(following) < 2 and paras[n].single and is_heading(paras[n].text):
            following.append(paras[n])
            members.add(n)
            n += 1
        title = _title_of(following) if following else _title_of(paras[first_index : last_index + 1])
        covers.append(_Cover(first_index, members, title))
        taken |= members
    return covers


def _merge_close_covers(covers: list[_Cover], paras: list[Para]) -> list[_Cover]:
    """Two covers with no body text between them are one paper (a running header, then the title page)."""
    merged: list[_Cover] = []
    for cover in covers:
        if merged:
            prev = merged[-1]
            between = paras[max(prev.members) + 1 : cover.index]
            if not any(len(p.text) > 200 for p in between):
                merged[-1] = _Cover(
                    prev.index,
                    prev.members | cover.members | set(range(prev.index, cover.index)),
                    cover.title,
                )
                continue
        merged.append(cover)
    return merged
