"""The controlled vocabulary (corpus/taxonomy.yaml): loading, validation and lookup by id, label or synonym."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_TAXONOMY_PATH = Path(__file__).resolve().parents[1] / "corpus" / "taxonomy.yaml"

REQUIRED_DIMENSIONS = (
    "care_model",
    "intervention_type",
    "population",
    "setting",
    "enabler",
    "outcome_measure",
    "evidence_level",
    "outcome_kind",
)
# Top-level keys that are not dimensions; every other key is read as one, so a new
# dimension can be added to the file without touching this module.
NON_DIMENSION_KEYS = frozenset({"evidence_scale"})

# Hyphens, dashes, underscores and whitespace are all dropped, so "multi-disciplinary team",
# "Multidisciplinary team" and "multidisciplinary-team" meet; curly quotes are straightened
# because the seed documents mix them with straight ones.
_SEPARATORS = re.compile(r"[\s\-_\u2010-\u2015]+")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


class TaxonomyError(ValueError):
    """The taxonomy file is malformed; the message names the dimension and term at fault."""


def lookup_key(value: str) -> str:
    """Fold a phrase to the form resolve() compares: case, spacing and hyphenation ignored."""
    return _SEPARATORS.sub("", value.translate(_QUOTES).casefold())


@dataclass(frozen=True)
class Term:
    id: str
    label: str
    description: str
    synonyms: tuple[str, ...]
    parent: str | None
    dimension: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "description": self.description,
            "synonyms": list(self.synonyms),
            "parent": self.parent,
        }


@dataclass(frozen=True)
class Taxonomy:
    dimensions: dict[str, tuple[Term, ...]]
    scale: dict
    # Built once from `dimensions`; kept out of eq/repr because it is derived.
    _by_id: dict[str, dict[str, Term]] = field(init=False, repr=False, compare=False)
    _by_key: dict[str, dict[str, Term]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[str, dict[str, Term]] = {}
        by_key: dict[str, dict[str, Term]] = {}
        for dimension, terms in self.dimensions.items():
            by_id[dimension] = {term.id: term for term in terms}
            keys: dict[str, Term] = {}
            for term in terms:
                for phrase in (term.id, term.label, *term.synonyms):
                    keys.setdefault(lookup_key(phrase), term)
            by_key[dimension] = keys
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_by_key", by_key)

    def _dimension(self, dimension: str) -> dict[str, Term]:
        try:
            return self._by_id[dimension]
        except KeyError:
            known = ", ".join(self.dimensions)
            raise KeyError(f"unknown taxonomy dimension {dimension!r} (known: {known})") from None

    def term(self, dimension: str, term_id: str) -> Term:
        """The term with this exact id; raises KeyError naming the dimension if there is none."""
        terms = self._dimension(dimension)
        try:
            return terms[term_id]
        except KeyError:
            raise KeyError(f"no term {term_id!r} in taxonomy dimension {dimension!r}") from None

    def resolve(self, dimension: str, value: str) -> Term | None:
        """The term whose id, label or synonym matches `value`, ignoring case, spacing and hyphens."""
        self._dimension(dimension)
        # Evidence levels arrive as ints from YAML front matter; their ids are strings.
        key = lookup_key(str(value)) if value is not None else ""
        if not key:
            return None
        return self._by_key[dimension].get(key)

    def children(self, dimension: str, term_id: str) -> tuple[Term, ...]:
        """Terms whose parent is `term_id`, in file order."""
        self.term(dimension, term_id)
        return tuple(term for term in self.dimensions[dimension] if term.parent == term_id)

    def as_dict(self) -> dict:
        """A JSON-serialisable copy for GET /api/taxonomy."""
        return {
            "dimensions": {
                dimension: [term.as_dict() for term in terms] for dimension, terms in self.dimensions.items()
            },
            "evidence_scale": copy.deepcopy(self.scale),
        }


def _text(raw: dict, key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise TaxonomyError(f"{where}: missing or empty {key!r}")
    return value.strip()


def _parse_term(raw: Any, dimension: str, position: int) -> Term:
    if not isinstance(raw, dict):
        raise TaxonomyError(
            f"dimension {dimension!r}, entry {position}: expected a mapping, got {type(raw).__name__}"
        )
    term_id = raw.get("id")
    # YAML reads an unquoted 0..5 as an int; accept it rather than fail on quoting.
    if isinstance(term_id, int) and not isinstance(term_id, bool):
        term_id = str(term_id)
    if not isinstance(term_id, str) or not term_id.strip():
        raise TaxonomyError(f"dimension {dimension!r}, entry {position}: missing 'id'")
    where = f"dimension {dimension!r}, term {term_id!r}"
    synonyms = raw.get("synonyms", [])
    if synonyms is None:
        synonyms = []
    if not isinstance(synonyms, list):
        raise TaxonomyError(f"{where}: 'synonyms' must be a list, got {type(synonyms).__name__}")
    for synonym in synonyms:
        if not isinstance(synonym, str) or not synonym.strip():
            raise TaxonomyError(f"{where}: synonym {synonym!r} is not a non-empty string")
    parent = raw.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise TaxonomyError(f"{where}: 'parent' must be a term id string")
    return Term(
        id=term_id,
        label=_text(raw, "label", where),
        description=_text(raw, "description", where),
        synonyms=tuple(synonym.strip() for synonym in synonyms),
        parent=parent,
        dimension=dimension,
    )


def _check_dimension(dimension: str, terms: tuple[Term, ...]) -> None:
    ids: dict[str, Term] = {}
    for term in terms:
        if term.id in ids:
            raise TaxonomyError(f"dimension {dimension!r}: duplicate id {term.id!r}")
        ids[term.id] = term

    for term in terms:
        if term.parent is not None and term.parent not in ids:
            raise TaxonomyError(f"dimension {dimension!r}, term {term.id!r}: unknown parent {term.parent!r}")
    for term in terms:
        seen = [term.id]
        current = term
        while current.parent is not None:
            if current.parent in seen:
                chain = " -> ".join([*seen, current.parent])
                raise TaxonomyError(f"dimension {dimension!r}, term {term.id!r}: parent cycle {chain}")
            seen.append(current.parent)
            current = ids[current.parent]

    # One phrase, one meaning: if "crisis house" could resolve to two terms, resolve()
    # would silently pick whichever came first in the file.
    owners: dict[str, tuple[str, str]] = {}
    for term in terms:
        for phrase in (term.id, term.label, *term.synonyms):
            key = lookup_key(phrase)
            owner = owners.get(key)
            if owner is not None and owner[0] != term.id:
                raise TaxonomyError(
                    f"dimension {dimension!r}: {phrase!r} (term {term.id!r}) is also used by term "
                    f"{owner[0]!r} as {owner[1]!r}"
                )
            owners.setdefault(key, (term.id, phrase))


def parse_taxonomy(data: Any, source: str = "taxonomy") -> Taxonomy:
    """Build a validated Taxonomy from already-parsed YAML; raises TaxonomyError on any defect."""
    if not isinstance(data, dict):
        raise TaxonomyError(f"{source}: expected a mapping of dimensions at the top level")
    missing = [name for name in REQUIRED_DIMENSIONS if name not in data]
    if missing:
        raise TaxonomyError(f"{source}: missing required dimension(s): {', '.join(missing)}")
    scale = data.get("evidence_scale") or {}
    if not isinstance(scale, dict):
        raise TaxonomyError(f"{source}: 'evidence_scale' must be a mapping")

    dimensions: dict[str, tuple[Term, ...]] = {}
    for dimension, raw_terms in data.items():
        if dimension in NON_DIMENSION_KEYS:
            continue
        if not isinstance(raw_terms, list) or not raw_terms:
            raise TaxonomyError(f"dimension {dimension!r}: expected a non-empty list of terms")
        terms = tuple(_parse_term(raw, dimension, position) for position, raw in enumerate(raw_terms, 1))
        _check_dimension(dimension, terms)
        dimensions[dimension] = terms
    return Taxonomy(dimensions=dimensions, scale=scale)


@lru_cache(maxsize=8)
def _load_cached(path: Path) -> Taxonomy:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TaxonomyError(f"cannot read taxonomy file {path}: {error}") from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise TaxonomyError(f"taxonomy file {path} is not valid YAML: {error}") from error
    return parse_taxonomy(data, source=str(path))


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Load and validate the taxonomy file (default corpus/taxonomy.yaml), cached per resolved path."""
    return _load_cached(Path(path or DEFAULT_TAXONOMY_PATH).resolve())
