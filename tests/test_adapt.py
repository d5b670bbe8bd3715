"""`kb adapt`: self-supervised pairs from the corpus's structure, a held-out split by document, and a model that
is used only when its manifest says it was adopted and its weights are the ones measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.store.repo import IndexRow
from search.adapt import (
    FORMAT_VERSION,
    adapt,
    adopted_model_path,
    set_adopted,
    split_by_document,
    training_pairs,
)


def row(pid: int, source: str, heading: str, text: str) -> IndexRow:
    return IndexRow(pid, f"h{pid}", text, heading, source.upper(), source, None)


LONG = "The team visits people at home within two hours and stays with them for up to six weeks. " * 3


def test_pairs_come_from_headings_and_neighbours_and_skip_shared_or_short_headings():
    rows = [
        row(1, "a", "Northfield › Falls response team", LONG + "falls"),
        row(2, "a", "Northfield › Falls response team", LONG + "falls, continued"),  # one pair per heading
        row(3, "a", "Introduction and background", LONG + "intro a"),
        row(4, "b", "Introduction and background", LONG + "intro b"),  # in two documents: no pair
        row(5, "b", "Results", "short"),  # too short an anchor, too short a passage
    ]
    pairs = training_pairs(rows)
    headings = [(p.anchor, p.positive) for p in pairs if p.kind == "heading"]
    assert headings == [("Northfield › Falls response team", LONG + "falls")]
    adjacent = [(p.anchor, p.positive) for p in pairs if p.kind == "adjacent"]
    assert adjacent == [(rows[0].text, rows[1].text), (rows[1].text, rows[2].text)]  # never across documents


def test_the_held_out_split_is_by_document_and_fixed_by_the_seed():
    rows = [row(i, f"doc{i % 10}", f"Doc › Section number {i}", LONG + str(i)) for i in range(100)]
    pairs = training_pairs(rows)
    train, heldout = split_by_document(pairs, seed=13)
    assert {p.source for p in train}.isdisjoint({p.source for p in heldout})
    assert len({p.source for p in heldout}) == 2  # a fifth of ten documents
    assert split_by_document(pairs, seed=13) == (train, heldout)
    assert split_by_document(pairs, seed=14) != (train, heldout)


def test_too_little_text_is_refused_with_a_reason(tmp_path: Path):
    with pytest.raises(ValueError, match="too little text"):
        adapt([row(1, "a", "Doc › A heading long enough", LONG)], tmp_path / "adapted", steps=1)


def fake_adapted(tmp_path: Path, *, adopted: bool) -> Path:
    """A manifest and weights as `kb adapt` leaves them (the weights here are not a real model)."""
    import hashlib

    model = tmp_path / "adapted" / "model"
    model.mkdir(parents=True)
    (model / "model.safetensors").write_bytes(b"weights")
    manifest = {
        "adopted": adopted,
        "format": FORMAT_VERSION,
        "model_sha256": hashlib.sha256(b"weights").hexdigest(),
        "reason": "measured",
    }
    (tmp_path / "adapted" / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path / "adapted"


def test_only_an_adopted_model_whose_weights_match_its_manifest_is_used(tmp_path: Path):
    assert adopted_model_path(tmp_path / "nothing-here") is None
    adapted = fake_adapted(tmp_path, adopted=False)
    assert adopted_model_path(adapted) is None
    set_adopted(adapted, True)
    assert adopted_model_path(adapted) == adapted / "model"
    (adapted / "model" / "model.safetensors").write_bytes(b"other weights")  # changed after it was measured
    assert adopted_model_path(adapted) is None
    with pytest.raises(ValueError, match="run `kb adapt` first"):
        set_adopted(tmp_path / "missing", True)


@pytest.mark.slow
def test_adapting_the_real_model_on_real_seed_text_writes_a_measured_manifest(tmp_path: Path, seeds: Path):
    """A few real training steps on passages of a real seed report: the manifest holds both held-out
    figures and the decision follows them; an adopted model gets its own id, so vectors never mix."""
    from search.minilm import MiniLMEmbedder
    from tests.conftest import make_settings
    from web.flows import ingest_and_index, open_engine

    settings = make_settings(tmp_path / "data")
    engine = open_engine(settings)
    files = [seeds / "002_c83671d1539688a3.txt", sorted(seeds.glob("003_*.txt"))[0]]
    assert not ingest_and_index(files, settings=settings, engine=engine, service=None).failed
    from sqlmodel import Session

    from kb.store import repo

    with Session(engine) as session:
        rows = repo.index_rows(session=session)
    report = adapt(rows, tmp_path / "adapted", steps=2, batch_size=8, seed=1)
    manifest = json.loads((tmp_path / "adapted" / "manifest.json").read_text())
    assert manifest["heldout_base"] > 0 and manifest["heldout_adapted"] > 0
    assert manifest["adopted"] == (manifest["heldout_adapted"] >= manifest["heldout_base"] + 0.01)
    assert report.train_pairs > 50 and report.heldout_documents == 1
    set_adopted(tmp_path / "adapted", True)
    adapted = MiniLMEmbedder(adopted_model_path(tmp_path / "adapted"), backend="fp32")
    bundled = MiniLMEmbedder(backend="fp32")
    assert adapted.model_id != bundled.model_id
    assert adapted.encode(["hospital at home"]).shape == (1, 384)
