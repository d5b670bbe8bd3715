"""Domain vocabulary (acronyms, synonym groups, lay terms, site aliases): loading and checking it, its phrase
index, and the site lookups ingest needs. Query expansion over the index is search/expansion.py."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

DEFAULT_VOCABULARY_PATH = Path(__file__).resolve().parents[1] / "corpus" / "vocabulary.yaml"

ACRONYM_WEIGHT = 0.7
# Below ACRONYM_WEIGHT on purpose: search.service spells out expansions of 0.65 and above for
# the embedder, and an acronym given back for a spelled-out phrase adds nothing there.
REVERSE_ACRONYM_WEIGHT = 0.6
SITE_WEIGHT = 0.6
SYNONYM_WEIGHT = 0.5
# The longest phrase a query is matched against, in words. The longest names the documents use are 10 words
# ("Mental Health Alliance for Excellence Resilience Innovation and Training"); a longer entry could never
# match, so load_vocabulary refuses it rather than keep it unused. Matching cost grows linearly with this.
MAX_PHRASE_TOKENS = 10

SITE_TYPES = frozenset({"pioneer", "pacs", "mcp", "ehch", "uec", "acc", "stp", "other"})

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2032": "'",
        "\u2013": "-",
        "\u2014": "-",
        "\u2012": "-",
        "\u2212": "-",
    }
)
_WHITESPACE = re.compile(r"\s+")
# "&" is kept inside a token so that "a&e", "im&t" and "h&wb" stay single tokens;
# apostrophes and hyphens split, so "Torbay's" still contains the token "torbay" and
# "multi-disciplinary" equals "multi disciplinary".
_TOKEN = re.compile(r"[a-z0-9]+(?:&[a-z0-9]+)*")

Key = tuple[str, ...]
EntryKind = Literal["acronym", "expansion", "synonym", "lay", "site"]


@dataclass(frozen=True)
class Site:
    """A place or programme the documents name, with the aliases they use for it."""

    id: str
    name: str
    type: str
    place: str
    aliases: tuple[str, ...] = ()
    population: str | None = None


@dataclass(frozen=True)
class PhraseEntry:
    """What one matched phrase contributes to a query's expansion: the phrases to add and their weight."""

    kind: EntryKind
    owner: str
    phrases: tuple[str, ...]
    weight: float


@dataclass(frozen=True)
class Vocabulary:
    """The loaded vocabulary plus the phrase index that makes expansion a dictionary lookup."""

    acronyms: Mapping[str, tuple[str, ...]]
    synonyms: tuple[tuple[str, ...], ...]
    sites: tuple[Site, ...]
    # Everyday phrases for a professional term ("care home" -> "old people's home"), matched one way only.
    lay_terms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Where an entry came from, for the entries that say so: "acronym DToC", "synonyms[3]" or "lay care home".
    sources: Mapping[str, str] = field(default_factory=dict)
    phrase_index: Mapping[Key, tuple[PhraseEntry, ...]] = field(
        repr=False, compare=False, default_factory=dict
    )
    _site_index: Mapping[Key, tuple[str, ...]] = field(repr=False, compare=False, default_factory=dict)

    def site(self, site_id: str) -> Site:
        """Return the site with this id; raise KeyError if there is none."""
        for site in self.sites:
            if site.id == site_id:
                return site
        raise KeyError(site_id)


def normalise(text: str) -> str:
    """Lower-case, straighten curly quotes, turn en/em dashes into "-", collapse whitespace."""
    return _WHITESPACE.sub(" ", text.translate(_QUOTES).lower()).strip()


def _stem(token: str) -> str:
    # A deliberately crude plural folder: it only has to map "homes"/"home", "GPs"/"GP"
    # and "communities"/"community" to the same key, and it is applied to both sides,
    # so over-stemming ("ics" -> "ic") is harmless.
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 2 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


def _strip_accents(text: str) -> str:
    # NFKD only for matching keys (never for stored text): "café" must match "cafe".
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def phrase_key(text: str) -> Key:
    """Return the matching key of a phrase: normalised, accent-free, plural-folded tokens."""
    return tuple(_stem(token) for token in _TOKEN.findall(_strip_accents(normalise(text))))


def longest_matches(keys: Key, index: Mapping[Key, Any]) -> Iterable[tuple[int, int, Key]]:
    """Yield (start, end, key) for leftmost-longest, non-overlapping phrase matches."""
    position = 0
    while position < len(keys):
        for length in range(min(MAX_PHRASE_TOKENS, len(keys) - position), 0, -1):
            candidate = keys[position : position + length]
            if candidate in index:
                yield position, position + length, candidate
                position += length
                break
        else:
            position += 1


def sites_in(text: str, vocabulary: Vocabulary) -> list[str]:
    """Return ids of sites named in the text (name or alias, whole words), in order of first mention."""
    found: list[str] = []
    for _start, _end, matched in longest_matches(phrase_key(text), vocabulary._site_index):
        for site_id in vocabulary._site_index[matched]:
            if site_id not in found:
                found.append(site_id)
    return found


def site_mentions(text: str, vocabulary: Vocabulary) -> dict[str, int]:
    """How many times each site is named in the text (name or alias, whole words)."""
    counts: dict[str, int] = {}
    for _start, _end, matched in longest_matches(phrase_key(text), vocabulary._site_index):
        for site_id in vocabulary._site_index[matched]:
            counts[site_id] = counts.get(site_id, 0) + 1
    return counts


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps the last)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise ValueError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ValueError(f"{where}: expected a list of non-empty strings, got {value!r}")
    return tuple(item.strip() for item in value)


def _with_source(value: Any, list_field: str, where: str) -> tuple[Any, str | None]:
    """An entry is a bare list, or a mapping of the list (under `list_field`) and the `source` it came from.

    Raises ValueError for a mapping with other keys or without a non-empty source: an entry that claims a
    source must name it.
    """
    if not isinstance(value, dict):
        return value, None
    unknown = set(value) - {list_field, "source"}
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    source = value.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"{where}: 'source' must say where the entry comes from")
    return value.get(list_field), source.strip()


def _parse_lay_terms(raw: Any, sources: dict[str, str], path: Path) -> dict[str, tuple[str, ...]]:
    """Read the lay_terms entries: {term: "care home", lay: [...], source: "..."}, the words people use for a
    service. Raises ValueError for a malformed entry, one without a source, or a term listed twice."""
    if not isinstance(raw, list):
        raise ValueError(f"{path}: 'lay_terms' must be a list of {{term, lay, source}} entries")
    lay_terms: dict[str, tuple[str, ...]] = {}
    for number, item in enumerate(raw, start=1):
        where = f"{path}: lay_terms #{number}"
        if not isinstance(item, dict) or not isinstance(item.get("term"), str) or not item["term"].strip():
            raise ValueError(f"{where}: expected a mapping with a non-empty 'term'")
        term = item["term"].strip()
        lay, source = _with_source({k: v for k, v in item.items() if k != "term"}, "lay", f"{where} ({term})")
        if source is None:
            raise ValueError(f"{where} ({term}): 'source' must say where the entry comes from")
        phrases = _strings(lay, f"{where} ({term}) lay")
        if not phrases:
            raise ValueError(f"{where} ({term}): 'lay' must be a list of non-empty strings")
        if term in lay_terms:
            raise ValueError(f"{where}: a second entry for {term!r}; merge them")
        sources[f"lay {term}"] = source
        lay_terms[term] = phrases
    return lay_terms


def _parse_sites(raw: Any, path: Path) -> tuple[Site, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"{path}: 'sites' must be a list")
    sites: list[Site] = []
    seen_ids: set[str] = set()
    for number, item in enumerate(raw, start=1):
        where = f"{path}: site #{number}"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: expected a mapping")
        missing = [name for name in ("id", "name", "type", "place") if not isinstance(item.get(name), str)]
        if missing:
            raise ValueError(f"{where}: missing or non-string field(s) {', '.join(missing)}")
        site_id = item["id"]
        if site_id in seen_ids:
            raise ValueError(f"{path}: duplicate site id {site_id!r}")
        seen_ids.add(site_id)
        if item["type"] not in SITE_TYPES:
            raise ValueError(f"{where} ({site_id}): type {item['type']!r} not one of {sorted(SITE_TYPES)}")
        population = item.get("population")
        if population is not None and not isinstance(population, str):
            raise ValueError(f"{where} ({site_id}): population must be a quoted string as written")
        raw_aliases = item.get("aliases") or []
        aliases = _strings(raw_aliases, f"{where} ({site_id}) aliases") if raw_aliases else ()
        sites.append(Site(site_id, item["name"], item["type"], item["place"], aliases, population))
    return tuple(sites)


def _unusable_phrases(
    acronyms: Mapping[str, tuple[str, ...]],
    synonyms: tuple[tuple[str, ...], ...],
    sites: tuple[Site, ...],
    lay_terms: Mapping[str, tuple[str, ...]],
) -> list[str]:
    """Every entry the matcher could not use, each named with where it is and why.

    Unusable: no letters or digits (nothing to match), more than MAX_PHRASE_TOKENS words (never matched), the
    same phrase twice in one list once case, hyphens, accents and plurals are folded ("pooled budgets" beside
    "pooled budget": the second adds nothing), two acronyms that fold alike ("DToC", "DTOC"), or one phrase in
    two synonym groups (it would join two concepts without anyone deciding so), or a lay phrase that is also in a
    synonym group or given for two terms.
    """
    problems: list[str] = []

    def check_list(where: str, phrases: Iterable[str]) -> None:
        first_of: dict[Key, str] = {}
        for phrase in phrases:
            key = phrase_key(phrase)
            if not key:
                problems.append(f"{where}: {phrase!r} has no letters or digits to match")
            elif len(key) > MAX_PHRASE_TOKENS:
                problems.append(
                    f"{where}: {phrase!r} has {len(key)} words; phrases of more than {MAX_PHRASE_TOKENS} "
                    "cannot be matched (shorten it, or raise MAX_PHRASE_TOKENS in kb/vocabulary.py)"
                )
            elif key in first_of:
                problems.append(
                    f"{where}: {phrase!r} duplicates {first_of[key]!r} (case, hyphens, accents and plurals "
                    "are ignored in matching); remove one"
                )
            else:
                first_of[key] = phrase

    acronym_of: dict[Key, str] = {}
    for acronym, expansions in acronyms.items():
        check_list(f"acronym {acronym!r}", (acronym, *expansions))
        key = phrase_key(acronym)
        if key and key in acronym_of:
            problems.append(f"acronym {acronym!r} duplicates acronym {acronym_of[key]!r}; remove one")
        acronym_of.setdefault(key, acronym)
    group_of: dict[Key, int] = {}
    for number, group in enumerate(synonyms, start=1):
        check_list(f"synonym group #{number}", group)
        for phrase in group:
            key = phrase_key(phrase)
            other = group_of.setdefault(key, number)
            if key and other != number:
                problems.append(
                    f"synonym group #{number}: {phrase!r} is also in synonym group #{other}; "
                    "a phrase may belong to one group"
                )
    lay_of: dict[Key, str] = {}
    for term, phrases in lay_terms.items():
        check_list(f"lay term {term!r}", (term, *phrases))
        for phrase in phrases:
            key = phrase_key(phrase)
            if key in group_of:
                problems.append(
                    f"lay term {term!r}: {phrase!r} is in synonym group #{group_of[key]}; add {term!r} there instead"
                )
            other_term = lay_of.setdefault(key, term)
            if key and other_term != term:
                problems.append(f"lay term {term!r}: {phrase!r} is also given for {other_term!r}")
    for site in sites:
        check_list(f"site {site.id!r}", (site.name, *site.aliases))
    return problems


def _build_indexes(
    acronyms: Mapping[str, tuple[str, ...]],
    synonyms: tuple[tuple[str, ...], ...],
    sites: tuple[Site, ...],
    lay_terms: Mapping[str, tuple[str, ...]],
) -> tuple[dict[Key, tuple[PhraseEntry, ...]], dict[Key, tuple[str, ...]]]:
    phrase_index: dict[Key, list[PhraseEntry]] = {}
    site_index: dict[Key, list[str]] = {}

    def add(phrase: str, entry: PhraseEntry) -> None:
        # every phrase here passed _unusable_phrases, so none is empty or too long to match
        phrase_index.setdefault(phrase_key(phrase), []).append(entry)

    for acronym, expansions in acronyms.items():
        add(acronym, PhraseEntry("acronym", acronym, expansions, ACRONYM_WEIGHT))
        # The reverse direction helps BM25 find documents that only use the short form.
        for expansion in expansions:
            add(expansion, PhraseEntry("expansion", acronym, (acronym,), REVERSE_ACRONYM_WEIGHT))
    for number, group in enumerate(synonyms):
        for phrase in group:
            others = tuple(other for other in group if other != phrase)
            add(phrase, PhraseEntry("synonym", f"synonyms[{number}]", others, SYNONYM_WEIGHT))
    # One way only: a lay phrase gives its term and the term's synonym group, but the term does not give back
    # the lay phrases. Reports are written in the professional words, so "care home" searching for "old people's
    # home" would only add noise; the lay phrase is there for the reader who does not know the term.
    for term, lay in lay_terms.items():
        term_key = phrase_key(term)
        group = next((g for g in synonyms if term_key in {phrase_key(p) for p in g}), (term,))
        targets = (term, *(phrase for phrase in group if phrase_key(phrase) != term_key))
        for phrase in lay:
            add(phrase, PhraseEntry("lay", term, targets, SYNONYM_WEIGHT))
    for site in sites:
        names = (site.name, *site.aliases)
        for phrase in names:
            others = tuple(other for other in names if other != phrase)
            add(phrase, PhraseEntry("site", site.id, others, SITE_WEIGHT))
            key = phrase_key(phrase)
            if key and site.id not in site_index.setdefault(key, []):
                site_index[key].append(site.id)
    return (
        {key: tuple(entries) for key, entries in phrase_index.items()},
        {key: tuple(ids) for key, ids in site_index.items()},
    )


def load_vocabulary(path: Path | None = None) -> Vocabulary:
    """Load and validate the vocabulary YAML (default: corpus/vocabulary.yaml in the repo).

    An acronym maps to its expansions, or to {expansions: [...], source: "..."}; a synonym group is a list of
    phrases, or {phrases: [...], source: "..."}; a lay_terms entry {term, lay, source} lists everyday phrases
    that expand to the term and its synonym group (one way). Sources are kept in Vocabulary.sources.
    Raises ValueError on a malformed file: unreadable YAML, duplicate keys or site ids, an entry in the mapping
    form without a source, an acronym without expansions, a synonym group of fewer than two phrases, a site
    missing a required field or with an unknown type, or any phrase the matcher could not use (see
    _unusable_phrases); the message names every such entry.
    """
    path = path or DEFAULT_VOCABULARY_PATH
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML: {error}") from error
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping with acronyms, synonyms, lay_terms and sites")

    raw_acronyms = raw.get("acronyms") or {}
    if not isinstance(raw_acronyms, dict):
        raise ValueError(f"{path}: 'acronyms' must be a mapping of acronym -> list of expansions")
    acronyms: dict[str, tuple[str, ...]] = {}
    sources: dict[str, str] = {}
    for acronym, value in raw_acronyms.items():
        if not isinstance(acronym, str) or not acronym.strip():
            raise ValueError(f"{path}: acronym {acronym!r} must be a non-empty string (quote it)")
        expansions, source = _with_source(value, "expansions", f"{path}: acronym {acronym!r}")
        if source:
            sources[f"acronym {acronym}"] = source
        if not expansions:
            raise ValueError(f"{path}: acronym {acronym!r} has no expansion")
        acronyms[acronym] = _strings(expansions, f"{path}: acronym {acronym!r}")

    raw_synonyms = raw.get("synonyms") or []
    if not isinstance(raw_synonyms, list):
        raise ValueError(f"{path}: 'synonyms' must be a list of phrase lists")
    synonyms: list[tuple[str, ...]] = []
    for number, value in enumerate(raw_synonyms, start=1):
        group, source = _with_source(value, "phrases", f"{path}: synonym group #{number}")
        if source:
            sources[f"synonyms[{number - 1}]"] = source
        phrases = _strings(group, f"{path}: synonym group #{number}")
        if len(phrases) < 2:
            raise ValueError(f"{path}: synonym group #{number} needs at least two phrases")
        synonyms.append(phrases)

    lay_terms = _parse_lay_terms(raw.get("lay_terms") or [], sources, path)
    sites = _parse_sites(raw.get("sites") or [], path)
    problems = _unusable_phrases(acronyms, tuple(synonyms), sites, lay_terms)
    if problems:
        raise ValueError(
            f"{path}: {len(problems)} unusable entr{'y' if len(problems) == 1 else 'ies'}:\n  "
            + "\n  ".join(problems)
        )
    phrase_index, site_index = _build_indexes(acronyms, tuple(synonyms), sites, lay_terms)
    return Vocabulary(acronyms, tuple(synonyms), sites, lay_terms, sources, phrase_index, site_index)


ORGANISATION_WORDS = frozenset(
    "ccg clinical commissioning group programme pioneer vanguard partners partnership trust nhs ltd provider "
    "organisation accountable care practice resilience network collaborative alliance consortium".split()
)


def site_display_name(site: Site) -> str:
    """A plain place name for the site ("Northumberland", "Dudley", "Isle of Wight"), for readers and for
    matching other documents' names: the place itself where the site goes by it, else the site's name when
    that is a plain place name, else its shortest plain alias."""

    def plain(name: str) -> bool:
        words = set(re.findall(r"[a-z]+", name.lower()))
        return bool(words) and not words & ORGANISATION_WORDS and "(" not in name and not name.isupper()

    names = [site.name, *site.aliases]
    head = re.split(r"[,(]", site.place)[0].strip()
    for name in names:
        if name.lower() == head.lower() and plain(name):
            return name
    if plain(site.name):
        return site.name
    allowed = set(re.findall(r"[a-z]+", f"{site.name} {site.place}".lower()))
    candidates = [n for n in names if plain(n) and set(re.findall(r"[a-z]+", n.lower())) <= allowed]
    if candidates:
        return min(candidates, key=lambda n: (len(n.split()), len(n)))
    return re.sub(r"\s*\(.*?\)\s*", " ", site.name).strip() or site.name
