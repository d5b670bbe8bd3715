"""Headings, sections and bundle parts of a cleaned report, so every passage knows its heading path."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# ---------------------------------------------------------------- public contract


@dataclass(frozen=True)
class Section:
    """One flat leaf of the document; together the sections cover the text exactly, in order."""

    path: tuple[str, ...]  # headings from the top part down to this one, without the document title
    kind: str  # front_matter | section | profile | case_study | part | annex | references | boilerplate | toc
    start: int  # char offset of the section's heading line (or of the block that opens it)
    end: int  # exclusive
    site: str | None = None  # the place a profile or case-study heading names, inherited by its subsections
    indexable: bool = True  # False for toc, references and boilerplate


@dataclass(frozen=True)
class DocumentStructure:
    """The outline of one document: its own title, its sections and, for bundles, its parts."""

    title: str
    sections: list[Section]
    parts: list[tuple[str, int, int]]  # (title, start, end) of bundle papers / numbered profiles / essays


NOT_INDEXABLE = frozenset({"toc", "references", "boilerplate"})

# ---------------------------------------------------------------- line patterns

_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
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
_METADATA_RE = re.compile(
    r"^(author|authors|editors?|edited by|report owner|prepared by|written by|date|time|venue|contact"
    r"|e-?mail|tel|telephone|phone|website|twitter|follow us|source|note|notes|key|action)\s*:",
    re.IGNORECASE,
)
_AUTHOR_RE = re.compile(
    r"^(authors?|editors?|edited by|report owner|prepared by|written by)\b", re.IGNORECASE
)
_CAPTION_RE = re.compile(r"^(figure|fig\.?|table|chart|graph|diagram|photo|image)\s*\d+[a-z]?\s*[:.–-]", re.I)
_NUMBERED_RE = re.compile(r"^(?P<num>\d{1,3}(?:\.\d{1,3})*)(?:\s+|(?<=\.\d)(?=[A-Z]))(?P<title>\S.*)$")
_DOTTED_RE = re.compile(r"^(?P<num>\d{1,2})\.\s+(?P<title>\S.*)$")
_LIST_NUMBER_RE = re.compile(r"^\s*(?:\d{1,2}|[a-z]|[ivx]+)[.)]\s")
_PAGE_STAMP_RE = re.compile(r"^\d{1,3}\s+(?P<rest>.+)$")
_URL_RE = re.compile(r"https?://|www\.|\]\(|@\w|\w@\w|\.(?:com|org|net|gov|nhs)\.?uk\b|\.com\b")
_CASE_STUDY_RE = re.compile(
    r"^(?:\d+\s+)?case study\s*(?::\s*(?P<site>[^–—]+?)\s+[–—-]\s+|[–—-]\s*)(?P<title>.+)$", re.I
)
_PIONEER_PROFILE_RE = re.compile(r"^(?:\d+\s+)?(?P<site>.+?)\s+Pioneer Programme\s*[–—-]\s*Profile$", re.I)
_PERSPECTIVE_RE = re.compile(r"^(?:an?|the)\s.+\sperspective:\s*\S.+$", re.I)
_CONTENTS_RE = re.compile(r"^(?:table of\s+)?contents:?$", re.I)
_TOC_ENTRY_RE = re.compile(r"(?:\t|\.{2,}\s*)\d{1,3}\s*$|^\s*\d{1,3}\t\S|bookmark not defined")
_TOC_LOOSE_RE = re.compile(r"\s\d{1,3}$")
_BOILERPLATE_RE = re.compile(
    r"\bISBN\b|©|registered charity|charity (?:no|number)|company number|all rights reserved", re.I
)
_HONORIFIC_RE = re.compile(r"^(?:dr|mr|mrs|ms|miss|prof|professor|cllr|sir|dame)\.?\s", re.I)
_IMAGE_DESCRIPTION_RE = re.compile(r"^(?:an?|the)\s+(?:photograph|photo|image|picture|illustration)\b", re.I)
_RUNNING_HEADER_RE = re.compile(r"\blast updated\b|^version\s+\d|^draft\b", re.I | re.M)

# Template labels used by profile-style documents; value = nesting rank among labels.
_LABELS: dict[str, int] = {
    "aim": 1,
    "aims": 1,
    "outline": 1,
    "partners": 1,
    "population characteristics": 1,
    "partner organisations": 1,
    "main changes introduced": 1,
    "new contractual arrangements": 1,
    "further information": 1,
    "our goal": 1,
}
_LABEL_PREFIXES: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^our goal:\s*\S", re.I), 1),
    (re.compile(r"^how it could happen\b", re.I), 2),
    (re.compile(r"^lesson\s+\d+\b", re.I), 1),
    (re.compile(r"^box\s+\d+\s*[:.–-]", re.I), 1),
)
# The first label of a profile: a heading directly above one of these names a site.
_PROFILE_OPENERS = frozenset({"partners", "population characteristics", "partner organisations"})

# Report-level headings, with their kind and how they nest: annexes and references hold what follows
# them ("top"); front matter and publisher pages stand beside other unnumbered chapters ("softtop");
# closing chapters such as "Implications for the future" hold the subheadings after them ("group").
_TOP_HEADINGS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^(?:appendix|appendices|annex(?:es)?)\b", re.I), "annex", "top"),
    (re.compile(r"^(?:references|bibliography|endnotes|works cited)$", re.I), "references", "top"),
    (re.compile(r"^(?:about the (?:authors?|editors?)|acknowledge?ments)$", re.I), "boilerplate", "softtop"),
    (
        re.compile(
            r"^(?:introduction|executive summary|summary|key messages|key findings|foreword|preface"
            r"|glossary)$",
            re.I,
        ),
        "section",
        "softtop",
    ),
    (
        re.compile(r"^(?:conclusions?|recommendations|implications\b.*|next steps|where to next\??)$", re.I),
        "section",
        "group",
    ),
)


def _strip_markup(line: str) -> str:
    """Remove converter residue (bold/italic stars, escaped brackets, citation superscripts)."""
    text = line.strip().replace("\\(", "(").replace("\\)", ")")
    text = re.sub(r"\*{1,2}([^*]+?)\*{1,2}", r"\1", text).replace("**", "")
    text = re.sub(r"\^\{[^}]*\}", "", text)
    text = re.sub(rf"[\s{_SUPERSCRIPTS}†]+$", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _label_rank(text: str) -> int | None:
    key = text.rstrip(":").strip().lower()
    if key in _LABELS:
        return _LABELS[key]
    for pattern, rank in _LABEL_PREFIXES:
        if pattern.match(text):
            return rank
    return None


def heading_text(paragraph: str) -> str:
    """The display form of a heading line: markup removed, a page stamp before a label dropped ("30 AIM")."""
    text = _strip_markup(paragraph)
    stamp = _PAGE_STAMP_RE.match(text)
    if stamp and _label_rank(stamp["rest"]) is not None and not _NUMBERED_RE.match(stamp["rest"]):
        text = stamp["rest"]
    if _label_rank(text) is not None and text.endswith(":"):
        text = text[:-1].rstrip()
    return text


def _looks_like_heading(text: str) -> bool:
    """Shape test for a cleaned one-line paragraph; numbering sequence is checked by the caller."""
    if not 2 <= len(text) <= 120 or not re.search(r"[A-Za-z]{2}", text):
        return False
    if not (text[0].isalnum() or text[0] in "'‘“\"") or text[0] in _SUPERSCRIPTS:
        return False
    if re.search(r"\d,\d{3}|\s[–-]$", text) or "\t" in text or " | " in text or "%" in text or "£" in text:
        return False
    if _URL_RE.search(text) or _METADATA_RE.match(text) or _CAPTION_RE.match(text):
        return False
    if _LIST_NUMBER_RE.match(text) or text[0].islower() or re.match(r"^\d[\d.,]*\s+[a-z]", text):
        return False
    if text[-1] in ".,;:!" or len(text.split()) > 20 or "__" in text or "☐" in text:
        return False
    # Quote attributions ("GP lead, EHCH"), signatures ("Dr …") and pull quotes are not headings.
    if re.search(r"[,.]\s*(?:an?\s+)?[A-Z]{2,6}(?:\s+site)?$", text):
        return False
    if _HONORIFIC_RE.match(text) or re.match(r"^[A-Z][a-z]+(?: [A-Z][a-z'-]+){1,2}, ", text):
        return False
    if text[0] in "'‘“\"" and text[-1] in "'’”\"":
        return False
    if re.search(r"\bet al\b|\(\D*\b(?:19|20)\d\d[a-z]?\)$", text):  # a citation under an epigraph
        return False
    if re.search(r",\s*(?:19|20)\d\d$", text) and "," in text[:-6]:  # "Title, Publisher, 2011": a source line
        return False
    numbered = _NUMBERED_RE.match(text)
    if numbered:
        title = numbered["title"]
        return title[0].isupper() or title[0].isdigit() or title[0] in "'‘“\""
    return True


def is_heading(paragraph: str) -> bool:
    """True when one paragraph reads as a heading on its own: a short single line, no closing full stop,
    not a list item, metadata line, caption or attribution. Numbering sequence and "1. Title" headings
    need document context, so they are judged by detect_structure. Never raises."""
    if not paragraph.strip() or "\n" in paragraph.strip():
        return False
    text = heading_text(paragraph)
    if _label_rank(text) is not None:
        return len(text) <= 200
    return _looks_like_heading(text)


# ---------------------------------------------------------------- paragraphs


@dataclass
class _Para:
    start: int
    end: int
    text: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.text.split("\n") if line.strip()]

    @property
    def single(self) -> bool:
        return len(self.lines) == 1


def _paragraphs(text: str) -> list[_Para]:
    """Maximal runs of non-blank lines; whitespace-only lines count as blank."""
    paras: list[_Para] = []
    offset, block_start, block_end = 0, None, 0
    for line in text.splitlines(keepends=True):
        if line.strip():
            if block_start is None:
                block_start = offset
            block_end = offset + len(line.rstrip("\r\n"))
        elif block_start is not None:
            paras.append(_Para(block_start, block_end, text[block_start:block_end]))
            block_start = None
        offset += len(line)
    if block_start is not None:
        paras.append(_Para(block_start, block_end, text[block_start:block_end]))
    return paras


def _is_list_item(para: _Para) -> bool:
    return para.text.lstrip().startswith(("- ", "• ", "· "))


def _is_date_line(line: str) -> bool:
    text = _strip_markup(line)
    if re.match(r"^date\s*:", text, re.I):
        return True
    first_cell = re.split(r"\t| \| ", line.strip())[0].strip()
    return bool(_DATE_RE.match(text) or _DATE_RE.match(first_cell))


def _is_cover_terminator(para: _Para) -> bool:
    """A date, author or contents line: what follows a title on a cover page."""
    first = _strip_markup(para.lines[0])
    if para.single and _CONTENTS_RE.match(first):
        return True
    return any(_is_date_line(line) or _AUTHOR_RE.match(_strip_markup(line)) for line in para.lines[:3])


def _is_title_like(para: _Para) -> bool:
    lines = para.lines
    if len(lines) > 4 or _is_list_item(para) or _is_cover_terminator(para):
        return False
    text = " ".join(_strip_markup(line) for line in lines)
    if any(len(line.strip()) > 120 for line in lines) or "\t" in para.text or " | " in text:
        return False
    if not text or _URL_RE.search(text) or text[0].islower() or _METADATA_RE.match(text):
        return False
    if _RUNNING_HEADER_RE.search(text) or _IMAGE_DESCRIPTION_RE.match(text) or _HONORIFIC_RE.match(text):
        return False
    return not text.endswith(".") or len(text) <= 100


def _is_cover_residue(para: _Para) -> bool:
    """Branding, logos, image descriptions and running headers that sit on a cover before its title."""
    text = para.text.strip()
    if _IMAGE_DESCRIPTION_RE.match(text) or _RUNNING_HEADER_RE.search(text):
        return True
    lines = para.lines
    if all(_URL_RE.search(line) or line.strip().startswith("#") for line in lines):
        return True
    return len(lines) >= 3 and all(
        len(line.split()) <= 4 and line.strip()[-1] not in ".,;:" for line in lines
    )


_CONTINUES_RE = re.compile(r"\b(?:the|for|of|and|in|to|a|an|on|with)$|[&,–-]$", re.I)


def _title_of(paras: list[_Para], *, limit: int = 2) -> str:
    """A cover title from its paragraphs: wrapped pieces rejoin, and at most a title and subtitle are kept."""
    pieces: list[str] = []
    for para in paras:
        text = " ".join(_strip_markup(line) for line in para.lines)
        if pieces and (_CONTINUES_RE.search(pieces[-1]) or text[:1] in "&(" or text[:1].islower()):
            pieces[-1] += " " + text
        else:
            pieces.append(text)
    title = ""
    for piece in pieces[:limit]:
        title = piece if not title else title + (" " if title.endswith(":") else " – ") + piece
    return title


# ---------------------------------------------------------------- regions that are not body text


def _toc_like(para: _Para, *, loose: bool) -> bool:
    lines = para.lines
    strict = sum(bool(_TOC_ENTRY_RE.search(line)) for line in lines)
    if strict and strict * 2 >= len(lines):
        return True
    return loose and para.single and bool(_TOC_LOOSE_RE.search(para.text.strip())) and len(para.text) < 120


def _toc_indexes(paras: list[_Para]) -> set[int]:
    """Contents blocks: a "Contents" heading and the entries after it, or a run of page-numbered entries."""
    toc: set[int] = set()
    i = 0
    while i < len(paras):
        if paras[i].single and _CONTENTS_RE.match(_strip_markup(paras[i].text)):
            j = i + 1
            while j < len(paras) and _toc_like(paras[j], loose=True):
                j += 1
            toc.update(range(i, j))
            i = j
            continue
        j = i
        while j < len(paras) and _toc_like(paras[j], loose=False):
            j += 1
        entries = sum(len(p.lines) for p in paras[i:j])
        if entries >= 3:
            toc.update(range(i, j))
        i = max(j, i + 1)
    return toc


def _boilerplate_tail(paras: list[_Para]) -> int | None:
    """Where a publisher's closing block (mission statement, ISBN, ©) begins, if the text ends in one."""
    first_candidate = int(len(paras) * 0.8)
    for i in range(first_candidate, len(paras)):
        if _BOILERPLATE_RE.search(paras[i].text):
            start = i
            while start - 1 > first_candidate and start - i < 8:
                prev = paras[start - 1]
                about_us = re.search(r"\b(?:we|our|us)\b|charity|foundation", prev.text, re.I)
                if _is_list_item(prev) or not (about_us or is_heading(prev.text)):
                    break
                start -= 1
            return start
    return None


@dataclass
class _Cover:
    index: int  # first paragraph of the cover (after snapping back over residue)
    members: set[int]  # paragraphs that belong to the cover and are never headings
    title: str


def _followed_by_cover(paras: list[_Para], i: int, toc: set[int]) -> bool:
    following = i + 1
    if following >= len(paras) or following in toc:
        return True
    return _is_title_like(paras[following]) or _is_cover_terminator(paras[following])


def _document_cover(paras: list[_Para], toc: set[int]) -> _Cover:
    """The title page: leading title-like paragraphs, then dates, authors and names up to the body."""
    i = 0
    members: set[int] = set()
    while i < len(paras) and _is_cover_residue(paras[i]) and i < 3:
        members.add(i)
        i += 1
    titles: list[_Para] = []
    while i < len(paras) and i not in toc and len(titles) < 3 and _is_title_like(paras[i]):
        text = heading_text(paras[i].text)
        if titles and (_NUMBERED_RE.match(text) or _top_heading(text) or _label_rank(text) is not None):
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


def _cover_title_start(paras: list[_Para], i: int, floor: int, taken: set[int]) -> int:
    """Walk back from a cover terminator over the title paragraphs (a cleaned title may be split over
    several); a lone word such as a signature ("CHAIRMAN") ends the previous paper, not this title."""
    j = i
    while j - 1 > floor and i - (j - 1) <= 5 and j - 1 not in taken and _is_title_like(paras[j - 1]):
        previous = heading_text(paras[j - 1].text)
        if _NUMBERED_RE.match(previous) or (
            j < i and len(previous.split()) == 1 and not previous.endswith(":")
        ):
            break
        j -= 1
    return j


def _snap_back_over_residue(paras: list[_Para], start: int, floor: int, taken: set[int]) -> int:
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


def _part_covers(paras: list[_Para], toc: set[int], doc: _Cover, stop: int) -> list[_Cover]:
    """Cover pages of papers bound into a bundle: a title followed by a date, author or contents line (or
    by a foreword after a title and subtitle), or the document's own masthead repeating."""
    covers: list[_Cover] = []
    taken = set(doc.members)
    floor = max(doc.members, default=-1) + 1
    for i in range(floor + 1, stop):
        para = paras[i]
        if i in taken or (i in toc and not _CONTENTS_RE.match(_strip_markup(para.text))):
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


def _masthead_repeats(paras: list[_Para], doc: _Cover, taken: set[int], stop: int) -> list[_Cover]:
    """Agenda packs restart the council masthead before the minutes: a repeated masthead opens a paper."""
    title_paras = sorted(i for i in doc.members if _is_title_like(paras[i]))
    masthead = [_strip_markup(line).lower() for i in title_paras for line in paras[i].lines]
    if len(masthead) < 2:
        return []
    lines = [(i, _strip_markup(line).lower()) for i, p in enumerate(paras) for line in p.lines]
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


def _merge_close_covers(covers: list[_Cover], paras: list[_Para]) -> list[_Cover]:
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


# ---------------------------------------------------------------- headings and their hierarchy


@dataclass(eq=False)
class _Entry:
    title: str
    type: str  # part | top | softtop | numbered | group | container | plain | label
    kind: str = "section"
    start: int = 0
    depth: int = 0  # numbering depth, or a label's rank
    site: str | None = None
    named: bool = False  # a profile, case study or perspective: a candidate bundle part


def _top_heading(text: str) -> tuple[str, str] | None:
    """(kind, nesting type) for report-level headings such as "References" or "Appendix 1 – …"."""
    for pattern, kind, nesting in _TOP_HEADINGS:
        if pattern.match(text):
            return kind, nesting
    return None


def _container_of(text: str) -> tuple[str, str | None] | None:
    """(kind, site) for headings that open a profile, case study or perspective essay."""
    if case := _CASE_STUDY_RE.match(text):
        return "case_study", (case["site"] or "").strip() or None
    if profile := _PIONEER_PROFILE_RE.match(text):
        return "profile", profile["site"].strip()
    if _PERSPECTIVE_RE.match(text):
        return "section", None
    return None


@dataclass
class _HeadingPass:
    """Walks the body paragraphs once, classifying headings and keeping the open heading stack."""

    paras: list[_Para]
    stack: list[_Entry] = field(default_factory=list)
    last_top: int = 0
    current_top: int | None = None
    last_dotted: int = 0
    numbering: str | None = None  # "plain" ("1 Title") or "dotted" ("1. Title"), fixed per part

    def reset_numbering(self) -> None:
        self.last_top, self.current_top, self.last_dotted, self.numbering = 0, None, 0, None

    def _text(self, i: int) -> str | None:
        if 0 <= i < len(self.paras) and self.paras[i].single:
            return heading_text(self.paras[i].text)
        return None

    def _opens_profile(self, i: int) -> bool:
        following = self._text(i + 1)
        return following is not None and following.rstrip(":").lower() in _PROFILE_OPENERS

    def _next_is_container(self, i: int) -> bool:
        following = self._text(i + 1)
        if following is None:
            return False
        dotted = _DOTTED_RE.match(following)
        return bool(
            _container_of(following)
            or (dotted and int(dotted["num"]) == self.last_dotted + 1)
            or re.match(r"^lesson\s+\d", following, re.I)
            or self._opens_profile(i + 1)
        )

    def _accept_number(self, number: str) -> bool:
        """Section numbers must run in sequence; that rejects "2014 saw…" and "203 staff…"."""
        levels = [int(n) for n in number.split(".")]
        if len(levels) > 1:
            return self.current_top is None or levels[0] == self.current_top
        if self.numbering == "dotted":
            return False
        n = levels[0]
        if n != self.last_top + 1:
            return False
        self.last_top, self.current_top, self.numbering = n, n, "plain"
        return True

    def _accept_dotted(self, i: int, number: int, title: str) -> bool:
        """ "1. Title" is a list item unless it stands alone and continues the heading sequence."""
        if self.numbering == "plain" or not _looks_like_heading(title):
            return False
        if number != self.last_dotted + 1 and not self._opens_profile(i):
            return False
        for neighbour in (i - 1, i + 1):
            if 0 <= neighbour < len(self.paras) and _LIST_NUMBER_RE.match(self.paras[neighbour].text):
                return False
        self.last_dotted, self.numbering = number, "dotted"
        return True

    def classify(self, i: int) -> _Entry | None:
        text = self._text(i)
        if text is None:
            return None
        start = self.paras[i].start
        rank = _label_rank(text)
        if rank is not None and len(text) <= 200:
            if re.match(r"^box\s", text, re.I):
                return _Entry(text, "plain", "case_study", start)
            if re.match(r"^lesson\s", text, re.I):
                return _Entry(text, "container", "section", start)
            return _Entry(text, "label", "section", start, depth=rank)
        if numbered := _NUMBERED_RE.match(text):
            if not _looks_like_heading(text) or not self._accept_number(numbered["num"]):
                return None
            entry = _Entry(text, "numbered", "section", start, depth=numbered["num"].count(".") + 1)
            return self._typed(entry, i, numbered["title"])
        if dotted := _DOTTED_RE.match(text):
            if not self._accept_dotted(i, int(dotted["num"]), dotted["title"]):
                return None
            return self._typed(_Entry(text, "container", "section", start), i, dotted["title"])
        if not _looks_like_heading(text):
            return None
        if top := _top_heading(text):
            return _Entry(text, top[1], top[0], start)
        entry = self._typed(_Entry(text, "plain", "section", start), i, text)
        if entry.type == "plain" and self._next_is_container(i):
            entry.type = "group"
        return entry

    def _typed(self, entry: _Entry, i: int, bare_title: str) -> _Entry:
        container = _container_of(entry.title)
        if container is None and self._opens_profile(i):
            container = ("profile", bare_title)
        if container is not None:
            entry.kind, entry.site = container
            entry.named = True
            if entry.type == "plain":
                entry.type = "container"
        return entry

    def push(self, entry: _Entry) -> None:
        stack = self.stack
        if entry.type == "part":
            stack[:] = [entry]
            return

        def pop_while(condition) -> None:
            while stack and condition(stack[-1]):
                stack.pop()

        if entry.type == "top":
            pop_while(lambda e: e.type != "part")
        elif entry.type == "numbered":
            pop_while(lambda e: e.type != "part" and not (e.type == "numbered" and e.depth < entry.depth))
        elif entry.type == "softtop":
            pop_while(lambda e: e.type not in ("part", "numbered"))
        elif entry.type == "group":
            pop_while(lambda e: e.type not in ("part", "top", "numbered"))
        elif entry.type == "container":
            pop_while(lambda e: e.type in ("container", "plain", "label"))
        elif entry.type == "plain":
            if all(e.type in ("part", "softtop") for e in stack):
                # Unnumbered headings with nothing above them are the document's own top level.
                entry.type = "softtop"
                pop_while(lambda e: e.type == "softtop")
            else:
                pop_while(lambda e: e.type in ("plain", "label"))
        elif entry.type == "label":
            pop_while(lambda e: e.type == "plain" or (e.type == "label" and e.depth >= entry.depth))
        stack.append(entry)


# ---------------------------------------------------------------- assembly


def _section_kind(stack: tuple[_Entry, ...]) -> str:
    if not stack:
        return "front_matter"
    for entry in reversed(stack):
        if entry.kind not in ("section", "part"):
            return entry.kind
    return "part" if stack[-1].kind == "part" else "section"


def _site(stack: tuple[_Entry, ...]) -> str | None:
    return next((e.site for e in reversed(stack) if e.site), None)


def _entry_ends(
    entries: list[_Entry], boundaries: list[tuple[int, tuple[_Entry, ...], str | None]], text_end: int
) -> dict[int, int]:
    """Where each heading's scope closes: the first later boundary whose open stack no longer holds it."""
    ends: dict[int, int] = {}
    for entry in entries:
        ends[id(entry)] = text_end
        for offset, stack, _ in boundaries:
            if offset > entry.start and not any(e is entry for e in stack):
                ends[id(entry)] = offset
                break
    return ends


def _parts_from_headings(entries: list[_Entry]) -> list[_Entry]:
    """Profiles, case studies and essays are the parts of a single report; when they are its numbered
    top-level sections, every top-level section is a part (a trailing non-profile one is an annex)."""
    named = [e for e in entries if e.named]
    if len(named) < 3:
        return []
    if all(e.type == "numbered" and e.depth == 1 for e in named):
        parts = [e for e in entries if e.type == "numbered" and e.depth == 1 and e.start >= named[0].start]
        for entry in parts:
            if not entry.named and entry.start > named[-1].start:
                entry.kind = "annex"
        return parts
    return named


def detect_structure(text: str, *, title: str | None = None) -> DocumentStructure:
    """Split cleaned report text into flat, ordered sections that cover it exactly, each with its heading
    path, kind and site, and find the parts of a bundle (committee-pack papers, numbered profiles,
    essays). Takes text with paragraphs separated by blank lines; never raises on odd input."""
    paras = _paragraphs(text)
    toc = _toc_indexes(paras)
    tail = _boilerplate_tail(paras)
    stop = tail if tail is not None else len(paras)
    doc_cover = _document_cover(paras, toc)
    covers = _part_covers(paras, toc, doc_cover, stop)
    is_bundle = len(covers) >= 2
    if not is_bundle:
        covers = []
    skipped = set(doc_cover.members).union(*(c.members for c in covers)) if covers else set(doc_cover.members)
    cover_at = {c.index: c for c in covers}

    walker = _HeadingPass(paras)
    entries: list[_Entry] = []
    part_entries: list[_Entry] = []
    boundaries: list[tuple[int, tuple[_Entry, ...], str | None]] = [(0, (), None)]
    for i, para in enumerate(paras):
        if i == tail:
            boundaries.append((para.start, tuple(walker.stack), "boilerplate"))
            break
        if i in cover_at:
            part = _Entry(cover_at[i].title, "part", "part", para.start)
            walker.push(part)
            walker.reset_numbering()
            part_entries.append(part)
            boundaries.append((para.start, tuple(walker.stack), None))
        if i in skipped:
            continue
        if i in toc:
            if i - 1 not in toc:
                boundaries.append((para.start, tuple(walker.stack), "toc"))
            if i + 1 not in toc and i + 1 < len(paras):
                boundaries.append((paras[i + 1].start, tuple(walker.stack), None))
            continue
        entry = walker.classify(i)
        if entry is not None:
            walker.push(entry)
            entries.append(entry)
            boundaries.append((para.start, tuple(walker.stack), None))

    # Later boundaries at the same offset win (a heading right after a contents block).
    by_offset: dict[int, tuple[tuple[_Entry, ...], str | None]] = {}
    for offset, stack, override in boundaries:
        by_offset[offset] = (stack, override)
    offsets = sorted(by_offset)

    part_list: list[tuple[str, int, int]] = []
    if is_bundle:
        starts = [e.start for e in part_entries]
        end_of_all = paras[tail].start if tail is not None else len(text)
        part_list.append((doc_cover.title, 0, starts[0]))
        for n, entry in enumerate(part_entries):
            part_list.append((entry.title, entry.start, starts[n + 1] if n + 1 < len(starts) else end_of_all))
    else:
        heading_parts = _parts_from_headings(entries)
        for entry in heading_parts:
            if entry.kind == "section":
                entry.kind = "part"
        ends = _entry_ends(heading_parts, [(o, *by_offset[o]) for o in offsets], len(text))
        part_list = [(e.title, e.start, ends[id(e)]) for e in heading_parts]

    sections: list[Section] = []
    for n, offset in enumerate(offsets):
        stack, override = by_offset[offset]
        end = offsets[n + 1] if n + 1 < len(offsets) else len(text)
        if end <= offset:
            continue
        kind = override or _section_kind(stack)
        path = tuple(e.title for e in stack)
        sections.append(Section(path, kind, offset, end, _site(stack), kind not in NOT_INDEXABLE))
    if not sections:
        sections.append(Section((), "front_matter", 0, len(text)))
    return DocumentStructure(title or doc_cover.title, sections, part_list)
