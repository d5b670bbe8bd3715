"""Tests for the taxonomy file (corpus/taxonomy.yaml) and its loader in kb.taxonomy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kb.taxonomy import (
    DEFAULT_TAXONOMY_PATH,
    REQUIRED_DIMENSIONS,
    Taxonomy,
    TaxonomyError,
    load_taxonomy,
    lookup_key,
)

REPO = Path(__file__).resolve().parents[1]
CASES_DIR = REPO / "corpus" / "cases"

REQUIRED_IDS = {
    "care_model": {"integrated-care-pioneer", "pacs", "mcp", "ehch", "uec", "acc", "stp", "other"},
    "intervention_type": {
        "multidisciplinary-team",
        "care-coordination",
        "risk-stratification",
        "social-prescribing",
        "rapid-response",
        "discharge-reablement",
        "self-care",
        "personal-health-budgets",
        "shared-records-telehealth",
        "new-workforce-roles",
        "integrated-commissioning",
        "voluntary-sector",
        "extended-gp-access",
        "mental-health-crisis",
        "estates",
        "care-home-support",
        "engagement-co-design",
        "prevention-wellbeing",
        "single-point-of-access",
        "intermediate-care",
        "primary-secondary-interface",
        "end-of-life-care",
        "workforce-development",
        "evaluation-and-metrics",
        "governance-and-organisational-form",
    },
    "population": {
        "frail-older-people",
        "care-home-residents",
        "long-term-conditions",
        "mental-health",
        "children-young-people",
        "end-of-life",
        "whole-population",
        "carers",
        "high-risk-of-admission",
        "learning-disability",
        "people-with-dementia",
        "socially-isolated",
    },
    "setting": {
        "primary-care",
        "community",
        "acute",
        "care-home",
        "home",
        "voluntary-sector",
        "local-authority",
        "mental-health-services",
    },
    "enabler": {
        "designing-new-care-models",
        "evaluation-and-metrics",
        "integrated-commissioning-and-provision",
        "empowering-patients-and-communities",
        "harnessing-technology",
        "workforce-redesign",
        "local-leadership-and-delivery",
        "communications-and-engagement",
        "governance-accountability-regulation",
        "new-operating-model",
    },
    "outcome_measure": {
        "emergency-admissions",
        "ae-attendances",
        "bed-days",
        "length-of-stay",
        "delayed-transfers",
        "readmissions",
        "care-home-placements",
        "patient-experience",
        "staff-experience",
        "cost-and-savings",
        "gp-referrals",
        "outpatient-attendances",
        "wellbeing",
        "mortality",
        "reach-activity",
        "quality-of-life",
        "self-management",
        "ambulance-conveyances",
        "other",
    },
    "evidence_level": {"0", "1", "2", "3", "4", "5"},
    "outcome_kind": {"result", "activity", "target", "projection", "baseline", "illustrative"},
}

# Front-matter field in corpus/cases/*.md -> the dimension its values must resolve in.
CASE_FIELDS = {
    "care_model": "care_model",
    "intervention_types": "intervention_type",
    "population": "population",
    "setting": "setting",
    "evidence_level": "evidence_level",
}


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


def _front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    end = text.find("\n---\n", 4)
    assert text.startswith("---\n") and end != -1, f"{path.name}: no front matter"
    return yaml.safe_load(text[4:end])


def _case_values() -> list[tuple[str, str, str]]:
    """(case file, dimension, value) for every tagged value in the curated cases."""
    values = []
    for path in sorted(CASES_DIR.glob("*.md")):
        meta = _front_matter(path)
        for field_name, dimension in CASE_FIELDS.items():
            raw = meta.get(field_name)
            for value in raw if isinstance(raw, list) else [raw]:
                values.append((path.name, dimension, value))
        for outcome in meta.get("outcomes") or []:
            values.append((path.name, "outcome_measure", outcome.get("measure")))
            values.append((path.name, "outcome_kind", outcome.get("kind")))
    return values


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _minimal(**overrides: list[dict]) -> dict:
    """A valid file with one term per required dimension, plus any dimensions overridden."""
    data: dict = {"evidence_scale": {"name": "test scale"}}
    for dimension in REQUIRED_DIMENSIONS:
        data[dimension] = [{"id": "only", "label": "Only", "description": "The only term.", "synonyms": []}]
    data.update(overrides)
    return data


def _term(term_id: str, **fields: object) -> dict:
    return {
        "id": term_id,
        "label": term_id.title(),
        "description": f"About {term_id}.",
        "synonyms": [],
    } | fields


# --- the real file ---------------------------------------------------------------------


def test_real_file_has_every_required_dimension_and_id(taxonomy: Taxonomy) -> None:
    for dimension, required in REQUIRED_IDS.items():
        assert dimension in taxonomy.dimensions, dimension
        ids = {term.id for term in taxonomy.dimensions[dimension]}
        assert required <= ids, f"{dimension} is missing {sorted(required - ids)}"


def test_real_file_terms_are_well_formed(taxonomy: Taxonomy) -> None:
    for dimension, terms in taxonomy.dimensions.items():
        for term in terms:
            where = f"{dimension}/{term.id}"
            assert term.dimension == dimension
            assert "\n" not in term.description, f"{where}: description must be one line"
            assert 4 <= len(term.synonyms) <= 15, f"{where}: has {len(term.synonyms)} synonyms"
            assert all(synonym == synonym.lower() for synonym in term.synonyms), (
                f"{where}: synonyms lower-case"
            )
            keys = [lookup_key(synonym) for synonym in term.synonyms]
            assert len(keys) == len(set(keys)), f"{where}: synonyms repeat each other"
            assert lookup_key(term.label) not in keys, f"{where}: a synonym repeats the label"
            if dimension != "evidence_level":
                assert term.id == term.id.lower() and " " not in term.id, f"{where}: id is not a slug"


def test_evidence_scale_names_nesta_and_keeps_level_separate_from_effect(taxonomy: Taxonomy) -> None:
    assert taxonomy.scale["name"] == "Nesta Standards of Evidence"
    assert taxonomy.scale["year"] == 2013
    notes = " ".join(taxonomy.scale["notes"]).lower()
    assert "size" in notes and "level 0" in notes
    assert [term.id for term in taxonomy.dimensions["evidence_level"]] == ["0", "1", "2", "3", "4", "5"]


def test_pioneer_and_vanguard_labels_resolve(taxonomy: Taxonomy) -> None:
    assert taxonomy.resolve("care_model", "pioneer").id == "integrated-care-pioneer"
    assert taxonomy.resolve("care_model", "Integrated primary and acute care systems").id == "pacs"
    assert taxonomy.resolve("care_model", "ACO").parent == "other"


@pytest.mark.parametrize(
    ("dimension", "value", "expected"),
    [
        ("intervention_type", "multidisciplinary-team", "multidisciplinary-team"),
        ("intervention_type", "Multidisciplinary team", "multidisciplinary-team"),
        ("intervention_type", "MDT", "multidisciplinary-team"),
        ("intervention_type", "  multi-disciplinary   TEAM ", "multidisciplinary-team"),
        ("intervention_type", "virtual ward", "hospital-at-home"),
        ("intervention_type", "Safe haven", "mental-health-crisis"),
        ("outcome_measure", "A&E attendances", "ae-attendances"),
        ("outcome_measure", "reach/activity", "reach-activity"),
        ("outcome_measure", "DToC", "delayed-transfers"),
        ("population", "nursing home residents", "care-home-residents"),
        ("population", "people at high risk of admission", "high-risk-of-admission"),
        ("setting", "GP surgery", "primary-care"),
        ("evidence_level", "2", "2"),
        ("outcome_kind", "forecast", "projection"),
    ],
)
def test_resolve_by_id_label_or_synonym(
    taxonomy: Taxonomy, dimension: str, value: str, expected: str
) -> None:
    term = taxonomy.resolve(dimension, value)
    assert term is not None, f"{value!r} did not resolve in {dimension}"
    assert term.id == expected


def test_resolve_misses_return_none_and_unknown_dimension_raises(taxonomy: Taxonomy) -> None:
    assert taxonomy.resolve("intervention_type", "underwater basket weaving") is None
    assert taxonomy.resolve("intervention_type", "") is None
    # Dimensions are separate vocabularies: a setting does not resolve as a population.
    assert taxonomy.resolve("population", "acute") is None
    with pytest.raises(KeyError, match="no_such_dimension"):
        taxonomy.resolve("no_such_dimension", "mdt")


def test_evidence_level_resolves_from_an_integer(taxonomy: Taxonomy) -> None:
    assert taxonomy.resolve("evidence_level", 3).id == "3"  # type: ignore[arg-type]


def test_term_lookup_by_id_and_clear_key_error(taxonomy: Taxonomy) -> None:
    assert taxonomy.term("setting", "care-home").label == "Care home"
    with pytest.raises(KeyError, match="no term 'nope' in taxonomy dimension 'setting'"):
        taxonomy.term("setting", "nope")


def test_parents_point_within_their_dimension(taxonomy: Taxonomy) -> None:
    hospital_at_home = taxonomy.term("intervention_type", "hospital-at-home")
    assert hospital_at_home.parent == "intermediate-care"
    assert hospital_at_home in taxonomy.children("intervention_type", "intermediate-care")


def test_as_dict_is_json_serialisable(taxonomy: Taxonomy) -> None:
    payload = json.loads(json.dumps(taxonomy.as_dict()))
    assert set(payload) == {"dimensions", "evidence_scale"}
    assert set(payload["dimensions"]) >= set(REQUIRED_DIMENSIONS)
    first = payload["dimensions"]["intervention_type"][0]
    assert set(first) == {"id", "label", "description", "synonyms", "parent"}
    assert payload["evidence_scale"]["name"] == "Nesta Standards of Evidence"


def test_load_is_cached_per_path() -> None:
    assert load_taxonomy() is load_taxonomy(DEFAULT_TAXONOMY_PATH)


def test_every_value_in_the_curated_cases_resolves(taxonomy: Taxonomy) -> None:
    values = _case_values()
    assert values, "no curated cases found"
    unresolved = sorted(
        {
            (dimension, str(value))
            for _name, dimension, value in values
            if taxonomy.resolve(dimension, value) is None
        }
    )
    assert not unresolved, f"case front-matter values missing from the taxonomy: {unresolved}"


# --- validation ------------------------------------------------------------------------


def test_minimal_file_loads(tmp_path: Path) -> None:
    loaded = load_taxonomy(_write(tmp_path, _minimal()))
    assert loaded.term("care_model", "only").label == "Only"


def test_missing_dimension_is_refused(tmp_path: Path) -> None:
    data = _minimal()
    del data["enabler"]
    with pytest.raises(TaxonomyError, match="missing required dimension.*enabler"):
        load_taxonomy(_write(tmp_path, data))


def test_duplicate_id_is_refused(tmp_path: Path) -> None:
    data = _minimal(setting=[_term("home"), _term("home", label="Home again")])
    with pytest.raises(TaxonomyError, match="'setting'.*duplicate id 'home'"):
        load_taxonomy(_write(tmp_path, data))


def test_unknown_parent_is_refused(tmp_path: Path) -> None:
    data = _minimal(setting=[_term("home", parent="nowhere")])
    with pytest.raises(TaxonomyError, match="'setting', term 'home': unknown parent 'nowhere'"):
        load_taxonomy(_write(tmp_path, data))


def test_parent_cycle_is_refused(tmp_path: Path) -> None:
    data = _minimal(setting=[_term("a", parent="b"), _term("b", parent="c"), _term("c", parent="a")])
    with pytest.raises(TaxonomyError, match="'setting'.*parent cycle"):
        load_taxonomy(_write(tmp_path, data))


def test_self_parent_is_a_cycle(tmp_path: Path) -> None:
    data = _minimal(setting=[_term("a", parent="a")])
    with pytest.raises(TaxonomyError, match="parent cycle a -> a"):
        load_taxonomy(_write(tmp_path, data))


@pytest.mark.parametrize("missing", ["label", "description"])
def test_missing_label_or_description_is_refused(tmp_path: Path, missing: str) -> None:
    term = _term("home")
    del term[missing]
    with pytest.raises(TaxonomyError, match=f"'setting', term 'home': missing or empty '{missing}'"):
        load_taxonomy(_write(tmp_path, _minimal(setting=[term])))


def test_non_list_synonyms_are_refused(tmp_path: Path) -> None:
    data = _minimal(setting=[_term("home", synonyms="at home")])
    with pytest.raises(TaxonomyError, match="'setting', term 'home': 'synonyms' must be a list"):
        load_taxonomy(_write(tmp_path, data))


def test_one_synonym_for_two_terms_is_refused(tmp_path: Path) -> None:
    data = _minimal(setting=[_term("home", synonyms=["at home"]), _term("house", synonyms=["At-Home"])])
    with pytest.raises(TaxonomyError, match="'setting'.*'At-Home'.*'house'.*'home'"):
        load_taxonomy(_write(tmp_path, data))


def test_the_same_synonym_in_different_dimensions_is_allowed(tmp_path: Path) -> None:
    data = _minimal(
        setting=[_term("home", synonyms=["at home"])],
        population=[_term("housebound", synonyms=["at home"])],
    )
    loaded = load_taxonomy(_write(tmp_path, data))
    assert loaded.resolve("setting", "at home").id == "home"
    assert loaded.resolve("population", "at home").id == "housebound"


def test_invalid_yaml_is_a_taxonomy_error(tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.yaml"
    path.write_text("care_model: [unclosed\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="not valid YAML"):
        load_taxonomy(path)
