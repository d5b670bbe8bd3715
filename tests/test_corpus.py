"""Checks on the curated case-study corpus in ``corpus/cases/``.

Fast and model-free. The checks that need the seed documents (figures
traceable to the source, own-words rule) run only when the shared seeds
folder is present next to the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CASES_DIR = REPO / "corpus" / "cases"
SEEDS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"

MIN_RECORDS = 20
# The brief forbids borrowing 8 or more consecutive words; the test enforces
# a hard floor of 10 (lower-cased, punctuation stripped) to allow for chance
# overlaps of stock phrases.
SHARED_RUN = 10

REQUIRED_KEYS = {
    "id",
    "title",
    "site",
    "programme",
    "care_model",
    "intervention_types",
    "population",
    "setting",
    "evidence_level",
    "outcomes",
    "source",
}
PROGRAMMES = {
    "Integrated Care Pioneer",
    "PACS vanguard",
    "MCP vanguard",
    "EHCH vanguard",
    "UEC vanguard",
    "ACC vanguard",
    "STP",
    "Other",
}
CARE_MODELS = {"pioneer", "pacs", "mcp", "ehch", "uec", "acc", "stp", "other"}
INTERVENTION_TYPES = {
    "multidisciplinary team",
    "care coordination and navigation",
    "risk stratification and population health management",
    "social prescribing and community assets",
    "rapid response and admission avoidance",
    "discharge and reablement",
    "self-care and health coaching",
    "personal health budgets",
    "shared records and telehealth",
    "new workforce roles",
    "integrated commissioning and contracting",
    "voluntary sector and volunteers",
    "extended GP access",
    "mental health crisis alternatives",
    "estates",
    "care home support",
    "engagement and co-design",
    "prevention and wellbeing",
}
POPULATIONS = {
    "frail older people",
    "care home residents",
    "people with long-term conditions",
    "mental health",
    "children and young people",
    "end of life",
    "whole population",
    "carers",
    "people at high risk of admission",
}
SETTINGS = {
    "primary care",
    "community",
    "acute",
    "care home",
    "home",
    "voluntary sector",
    "local authority",
}
MEASURES = {
    "emergency admissions",
    "A&E attendances",
    "bed days",
    "length of stay",
    "delayed transfers",
    "readmissions",
    "care home placements",
    "patient experience",
    "staff experience",
    "cost and savings",
    "GP referrals",
    "outpatient attendances",
    "wellbeing",
    "mortality",
    "reach/activity",
    "other",
}
KINDS = {"result", "activity", "target", "projection", "baseline", "illustrative"}
DIRECTIONS = {"increase", "decrease", "no change"}
OUTCOME_KEYS = {"measure", "direction", "figure", "kind"}
BODY_SECTIONS = ["## What was done", "## How it was implemented", "## Results", "## Lessons"]
FILENAME_RE = re.compile(r"^\d{2}-[a-z0-9]+(?:-[a-z0-9]+)*\.md$")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _split(text: str) -> tuple[dict, str]:
    if not text.startswith("---\n"):
        raise ValueError("no opening front-matter fence")
    end = text.find("\n---\n", 4)
    if end == -1:
        raise ValueError("no closing front-matter fence")
    meta = yaml.safe_load(text[4:end])
    if not isinstance(meta, dict):
        raise ValueError("front matter is not a mapping")
    return meta, text[end + 5 :]


def _files() -> list[Path]:
    return sorted(CASES_DIR.glob("*.md"))


def _records() -> list[tuple[Path, dict, str]]:
    out = []
    for path in _files():
        meta, body = _split(path.read_text(encoding="utf-8"))
        out.append((path, meta, body))
    return out


def _words(text: str) -> list[str]:
    return re.sub(r"[^0-9a-z]+", " ", text.lower()).split()


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _nospace(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


_SEED_CACHE: dict[str, str] = {}


def _seed(name: str) -> str:
    if name not in _SEED_CACHE:
        _SEED_CACHE[name] = (SEEDS_DIR / name).read_text(encoding="utf-8")
    return _SEED_CACHE[name]


needs_seeds = pytest.mark.skipif(not SEEDS_DIR.is_dir(), reason="seed documents not available")

RECORD_FILES = _files()
IDS = [p.name for p in RECORD_FILES]


# --------------------------------------------------------------------------- corpus-level


def test_enough_records():
    assert len(RECORD_FILES) >= MIN_RECORDS, f"only {len(RECORD_FILES)} case records"


def test_ids_unique():
    ids = [meta["id"] for _, meta, _ in _records()]
    dupes = {i for i in ids if ids.count(i) > 1}
    assert not dupes, f"duplicate ids: {sorted(dupes)}"


def test_file_numbers_unique():
    nums = [p.name[:2] for p in RECORD_FILES]
    assert len(nums) == len(set(nums)), "two files share a number prefix"


# --------------------------------------------------------------------------- per record


@pytest.mark.parametrize("path", RECORD_FILES, ids=IDS)
def test_parses_and_has_required_keys(path: Path):
    assert FILENAME_RE.match(path.name), f"bad file name {path.name}"
    meta, body = _split(path.read_text(encoding="utf-8"))
    missing = REQUIRED_KEYS - meta.keys()
    assert not missing, f"missing keys: {sorted(missing)}"
    assert SLUG_RE.match(str(meta["id"])), "id must be a lower-case slug"
    for key in ("title", "site"):
        assert isinstance(meta[key], str) and meta[key].strip(), f"{key} must be a non-empty string"
    aliases = meta.get("site_aliases", [])
    assert isinstance(aliases, list) and all(isinstance(a, str) for a in aliases)
    for heading in BODY_SECTIONS:
        assert heading in body, f"body lacks section {heading!r}"


@pytest.mark.parametrize("path", RECORD_FILES, ids=IDS)
def test_vocabularies(path: Path):
    meta, _ = _split(path.read_text(encoding="utf-8"))
    assert meta["programme"] in PROGRAMMES, meta["programme"]
    assert meta["care_model"] in CARE_MODELS, meta["care_model"]
    for field, allowed in (
        ("intervention_types", INTERVENTION_TYPES),
        ("population", POPULATIONS),
        ("setting", SETTINGS),
    ):
        values = meta[field]
        assert isinstance(values, list) and values, f"{field} must be a non-empty list"
        bad = [v for v in values if v not in allowed]
        assert not bad, f"{field} has values outside the vocabulary: {bad}"


@pytest.mark.parametrize("path", RECORD_FILES, ids=IDS)
def test_evidence_level_and_outcomes(path: Path):
    meta, _ = _split(path.read_text(encoding="utf-8"))
    level = meta["evidence_level"]
    assert isinstance(level, int) and not isinstance(level, bool), "evidence_level must be an int"
    assert 0 <= level <= 5
    outcomes = meta["outcomes"]
    assert isinstance(outcomes, list)
    for o in outcomes:
        assert isinstance(o, dict)
        missing = OUTCOME_KEYS - o.keys()
        assert not missing, f"outcome missing {sorted(missing)}: {o}"
        assert o["measure"] in MEASURES, o["measure"]
        assert o["direction"] in DIRECTIONS, o["direction"]
        assert o["kind"] in KINDS, o["kind"]
        assert isinstance(o["figure"], str) and o["figure"].strip(), f"figure must be a non-empty string: {o}"
        assert isinstance(o.get("second_hand", False), bool)
    kinds = {o["kind"] for o in outcomes}
    # A record claiming data show change must carry at least one measured result,
    # and a plan-only record cannot carry one.
    if level >= 2:
        assert "result" in kinds, "evidence_level >= 2 but no result-kind outcome"
    if level == 0:
        assert "result" not in kinds, "evidence_level 0 (plan only) but a result-kind outcome"


@pytest.mark.parametrize("path", RECORD_FILES, ids=IDS)
def test_source_block(path: Path):
    meta, _ = _split(path.read_text(encoding="utf-8"))
    src = meta["source"]
    assert isinstance(src, dict)
    assert re.match(r"^\d{3}_[0-9a-f]+\.txt$", str(src.get("document", ""))), src
    loc = str(src.get("location", ""))
    assert re.search(r"lines? \d+", loc), f"location must cite line numbers: {loc!r}"


# --------------------------------------------------------------------------- against the seeds


@needs_seeds
@pytest.mark.parametrize("path", RECORD_FILES, ids=IDS)
def test_source_document_exists_and_lines_in_range(path: Path):
    meta, _ = _split(path.read_text(encoding="utf-8"))
    doc = SEEDS_DIR / meta["source"]["document"]
    assert doc.is_file(), f"source document {doc.name} not found"
    n_lines = len(_seed(doc.name).splitlines())
    spans = re.findall(r"lines? ([\d\s,–\-and]+)", meta["source"]["location"])
    cited = [int(x) for span in spans for x in re.findall(r"\d+", span)]
    assert cited and max(cited) <= n_lines, f"cited lines {cited} beyond {n_lines}"


@needs_seeds
@pytest.mark.parametrize("path", RECORD_FILES, ids=IDS)
def test_figures_occur_in_seed(path: Path):
    meta, _ = _split(path.read_text(encoding="utf-8"))
    seed_ns = _nospace(_seed(meta["source"]["document"]))
    for o in meta["outcomes"]:
        fig = str(o["figure"])
        # Every run of digits (with its separators) must be in the seed ...
        for token in re.findall(r"\d[\d,.:/]*\d|\d", fig):
            assert token in seed_ns, f"figure token {token!r} of {fig!r} not in seed"
        # ... and so must the figure as written, once spaces are removed.
        assert _nospace(fig) in seed_ns, f"figure {fig!r} not found verbatim in seed"
        base = str(o.get("baseline") or "")
        if base:
            assert _nospace(base) in seed_ns, f"baseline {base!r} not found in seed"


@needs_seeds
@pytest.mark.parametrize("path", RECORD_FILES, ids=IDS)
def test_written_in_own_words(path: Path):
    meta, body = _split(path.read_text(encoding="utf-8"))
    seed_grams = _ngrams(_words(_seed(meta["source"]["document"])), SHARED_RUN)
    text = meta["title"] + "\n" + body
    shared = _ngrams(_words(text), SHARED_RUN) & seed_grams
    assert not shared, "copied from seed: " + " | ".join(" ".join(g) for g in sorted(shared)[:3])


def test_own_words_check_is_real():
    """The n-gram detector must catch a copied sentence and pass a paraphrase."""
    source = "The integrated discharge team aims to reduce admissions and enable patients to leave hospital in a timely manner."
    copied = "Notes: the integrated discharge team aims to reduce admissions and enable patients to go home."
    paraphrase = (
        "A joint team at the hospital door tried to keep people out of beds and get them home sooner."
    )
    grams = _ngrams(_words(source), SHARED_RUN)
    assert _ngrams(_words(copied), SHARED_RUN) & grams
    assert not (_ngrams(_words(paraphrase), SHARED_RUN) & grams)
