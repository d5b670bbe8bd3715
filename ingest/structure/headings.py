"""The heading-line classifier: line patterns, heading_text, is_heading and the roles a heading plays."""

from __future__ import annotations

import re

from ingest.text import is_table_row

# ---------------------------------------------------------------- line patterns

_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
METADATA_RE = re.compile(
    r"^(author|authors|editors?|edited by|report owner|prepared by|written by|date|time|venue|contact"
    r"|e-?mail|tel|telephone|phone|website|twitter|follow us|source|note|notes|key|action)\s*:",
    re.IGNORECASE,
)
_CAPTION_RE = re.compile(r"^(figure|fig\.?|table|chart|graph|diagram|photo|image)\s*\d+[a-z]?\s*[:.–-]", re.I)
NUMBERED_RE = re.compile(r"^(?P<num>\d{1,3}(?:\.\d{1,3})*)(?:\s+|(?<=\.\d)(?=[A-Z]))(?P<title>\S.*)$")
DOTTED_RE = re.compile(r"^(?P<num>\d{1,2})\.\s+(?P<title>\S.*)$")
LIST_NUMBER_RE = re.compile(r"^\s*(?:\d{1,2}|[a-z]|[ivx]+)[.)]\s")
_PAGE_STAMP_RE = re.compile(r"^\d{1,3}\s+(?P<rest>.+)$")
URL_RE = re.compile(r"https?://|www\.|\]\(|@\w|\w@\w|\.(?:com|org|net|gov|nhs)\.?uk\b|\.com\b")
_CASE_STUDY_RE = re.compile(
    r"^(?:\d+\s+)?case study\s*(?::\s*(?P<site>[^–—]+?)\s+[–—-]\s+|[–—-]\s*)(?P<title>.+)$", re.I
)
_PIONEER_PROFILE_RE = re.compile(r"^(?:\d+\s+)?(?P<site>.+?)\s+Pioneer Programme\s*[–—-]\s*Profile$", re.I)
_PERSPECTIVE_RE = re.compile(r"^(?:an?|the)\s.+\sperspective:\s*\S.+$", re.I)
HONORIFIC_RE = re.compile(r"^(?:dr|mr|mrs|ms|miss|prof|professor|cllr|sir|dame)\.?\s", re.I)

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
PROFILE_OPENERS = frozenset({"partners", "population characteristics", "partner organisations"})

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


def strip_heading_markup(line: str) -> str:
    """Remove converter residue (bold/italic stars, escaped brackets, citation superscripts)."""
    text = line.strip().replace("\\(", "(").replace("\\)", ")")
    text = re.sub(r"\*{1,2}([^*]+?)\*{1,2}", r"\1", text).replace("**", "")
    # Linear time on any line: a marker's body stops at the next "^", and the trailing run is tried only
    # where a run starts.
    text = re.sub(r"\^\{[^}^]*\}", "", text)
    text = re.sub(rf"(?<![\s{_SUPERSCRIPTS}†])[\s{_SUPERSCRIPTS}†]++$", "", text)
    return re.sub(r"\s+", " ", text).strip()


def label_rank(text: str) -> int | None:
    key = text.rstrip(":").strip().lower()
    if key in _LABELS:
        return _LABELS[key]
    for pattern, rank in _LABEL_PREFIXES:
        if pattern.match(text):
            return rank
    return None


def heading_text(paragraph: str) -> str:
    """The display form of a heading line: markup removed, a page stamp before a label dropped ("30 AIM")."""
    text = strip_heading_markup(paragraph)
    stamp = _PAGE_STAMP_RE.match(text)
    if stamp and label_rank(stamp["rest"]) is not None and not NUMBERED_RE.match(stamp["rest"]):
        text = stamp["rest"]
    if label_rank(text) is not None and text.endswith(":"):
        text = text[:-1].rstrip()
    return text


def looks_like_heading(text: str) -> bool:
    """Shape test for a cleaned one-line paragraph; numbering sequence is checked by the caller."""
    if not 2 <= len(text) <= 120 or not re.search(r"[A-Za-z]{2}", text):
        return False
    if not (text[0].isalnum() or text[0] in "'‘“\"") or text[0] in _SUPERSCRIPTS:
        return False
    if re.search(r"\d,\d{3}|\s[–-]$", text) or is_table_row(text) or "%" in text or "£" in text:
        return False
    if URL_RE.search(text) or METADATA_RE.match(text) or _CAPTION_RE.match(text):
        return False
    if LIST_NUMBER_RE.match(text) or text[0].islower() or re.match(r"^\d[\d.,]*\s+[a-z]", text):
        return False
    if text[-1] in ".,;:!" or len(text.split()) > 20 or "__" in text or "☐" in text:
        return False
    # Quote attributions ("GP lead, EHCH"), signatures ("Dr …") and pull quotes are not headings.
    if re.search(r"[,.]\s*(?:an?\s+)?[A-Z]{2,6}(?:\s+site)?$", text):
        return False
    if HONORIFIC_RE.match(text) or re.match(r"^[A-Z][a-z]+(?: [A-Z][a-z'-]+){1,2}, ", text):
        return False
    if text[0] in "'‘“\"" and text[-1] in "'’”\"":
        return False
    if re.search(r"\bet al\b|\(\D*\b(?:19|20)\d\d[a-z]?\)$", text):  # a citation under an epigraph
        return False
    if re.search(r",\s*(?:19|20)\d\d$", text) and "," in text[:-6]:  # "Title, Publisher, 2011": a source line
        return False
    numbered = NUMBERED_RE.match(text)
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
    if label_rank(text) is not None:
        return len(text) <= 200
    return looks_like_heading(text)


# ---------------------------------------------------------------- heading roles


def top_heading(text: str) -> tuple[str, str] | None:
    """(kind, nesting type) for report-level headings such as "References" or "Appendix 1 – …"."""
    for pattern, kind, nesting in _TOP_HEADINGS:
        if pattern.match(text):
            return kind, nesting
    return None


def container_of(text: str) -> tuple[str, str | None] | None:
    """(kind, site) for headings that open a profile, case study or perspective essay."""
    if case := _CASE_STUDY_RE.match(text):
        return "case_study", (case["site"] or "").strip() or None
    if profile := _PIONEER_PROFILE_RE.match(text):
        return "profile", profile["site"].strip()
    if _PERSPECTIVE_RE.match(text):
        return "section", None
    return None
