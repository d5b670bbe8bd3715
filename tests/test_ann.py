"""The vector index kind chosen by size: exact below the threshold, IVF + SQ8 above it, its recall against exact,
and the kind recorded in the manifest and checked on load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from search import vectors
from search.vectors import APPROXIMATE, EXACT, Manifest, VectorIndex, kind_for, lists_for, recall_at_k
from tests.conftest import write
from tests.test_pipeline import REPORT
from web.flows import build_search_service, ingest_and_index, open_engine

DIMENSION = 48


def clustered(count: int, *, seed: int, centres: int = 100) -> np.ndarray:
    """Unit vectors around a few random topics, like passages about a handful of subjects."""
    rng = np.random.default_rng(seed)
    middles = np.random.default_rng(7).standard_normal((centres, DIMENSION))
    points = middles[rng.integers(0, centres, count)] + 0.6 * rng.standard_normal((count, DIMENSION))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def approximate_manifest(count: int) -> Manifest:
    return Manifest(
        model="test",
        dimension=DIMENSION,
        count=count,
        corpus_hash="h",
        kind=APPROXIMATE,
        lists=lists_for(count),
    )


def test_the_kind_follows_the_number_of_vectors():
    assert kind_for(1_000) == EXACT
    assert kind_for(vectors.EXACT_UP_TO) == EXACT
    assert kind_for(vectors.EXACT_UP_TO + 1) == APPROXIMATE
    assert lists_for(1_000_000) == 1000


def test_a_manifest_must_name_a_known_kind_and_its_lists():
    with pytest.raises(ValueError):
        Manifest(model="m", dimension=4, count=1, corpus_hash="h", kind="hnsw")
    with pytest.raises(ValueError):
        Manifest(model="m", dimension=4, count=1, corpus_hash="h", kind=APPROXIMATE)


def test_the_approximate_index_finds_what_exact_search_finds():
    data = clustered(20_000, seed=1)
    index = VectorIndex(data, np.arange(20_000) * 3, approximate_manifest(20_000))
    assert vectors.kind_of(index.index) == APPROXIMATE
    assert recall_at_k(index, data, clustered(100, seed=2), k=10) >= 0.95


def test_float16_input_builds_the_same_kind_of_index():
    data = clustered(5_000, seed=3)
    index = VectorIndex(data.astype(np.float16), np.arange(5_000), approximate_manifest(5_000))
    assert len(index) == 5_000
    assert recall_at_k(index, data, clustered(50, seed=4), k=10) >= 0.95


def test_save_load_keeps_the_kind_and_the_results(tmp_path: Path):
    data = clustered(8_000, seed=5)
    manifest = approximate_manifest(8_000)
    index = VectorIndex(data, np.arange(8_000), manifest)
    index.save(tmp_path / "vectors")
    assert json.loads((tmp_path / "vectors" / "manifest.json").read_text())["kind"] == APPROXIMATE
    loaded = VectorIndex.load(tmp_path / "vectors", expected=manifest)
    assert loaded is not None and loaded.index.nprobe == index.index.nprobe
    for query in clustered(10, seed=6):
        a, b = index.search(query, 10), loaded.search(query, 10)
        assert a[0].tolist() == b[0].tolist() and np.allclose(a[1], b[1])


def test_load_rejects_another_kind(tmp_path: Path):
    data = clustered(8_000, seed=8)
    manifest = approximate_manifest(8_000)
    VectorIndex(data, np.arange(8_000), manifest).save(tmp_path / "vectors")
    exact = Manifest(model="test", dimension=DIMENSION, count=8_000, corpus_hash="h")
    assert VectorIndex.load(tmp_path / "vectors", expected=exact) is None
    # a manifest that claims a kind its FAISS file is not
    VectorIndex(data, np.arange(8_000), exact).save(tmp_path / "flat")
    path = tmp_path / "flat" / "manifest.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {"kind": APPROXIMATE, "lists": manifest.lists}))
    assert VectorIndex.load(tmp_path / "flat", expected=manifest) is None


def test_the_service_builds_an_approximate_index_above_the_threshold(settings, tmp_path: Path, monkeypatch):
    engine = open_engine(settings)
    exact_service = build_search_service(settings, engine)
    ingest_and_index(
        [write(tmp_path / "kent.txt", REPORT)], settings=settings, engine=engine, service=exact_service
    )
    assert exact_service.vectors.manifest.kind == EXACT
    monkeypatch.setattr(vectors, "EXACT_UP_TO", 1)
    service = build_search_service(settings, engine)
    report = service.refresh()
    assert report.vectors == "built" and report.encoded == 0  # every vector came from the cache
    manifest = json.loads((settings.index_dir / "vectors" / "manifest.json").read_text())
    assert manifest["kind"] == APPROXIMATE and manifest["lists"] == lists_for(len(service.vectors))
    assert service.search("discharge team").results
    again = build_search_service(settings, engine)
    assert again.refresh().vectors == "loaded"
