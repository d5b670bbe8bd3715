"""The index folders: a manifest guards each, a stale or damaged one is rebuilt, never used."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import write
from tests.test_pipeline import REPORT
from web.flows import build_search_service, ingest_and_index, open_engine


def loaded_service(settings, tmp_path: Path):
    engine = open_engine(settings)
    service = build_search_service(settings, engine)
    ingest_and_index(
        [write(tmp_path / "kent.txt", REPORT)], settings=settings, engine=engine, service=service
    )
    return engine, service


def test_manifest_describes_the_index(settings, tmp_path: Path):
    _, service = loaded_service(settings, tmp_path)
    manifest = json.loads((settings.index_dir / "vectors" / "manifest.json").read_text())
    assert manifest["model"] == service.embedder.model_id
    assert manifest["dimension"] == service.embedder.dimension
    assert manifest["count"] == len(set(service.vectors.ids.tolist())) > 0
    assert len(manifest["corpus_hash"]) == 64


def test_a_stale_or_damaged_index_is_rebuilt(settings, tmp_path: Path):
    engine, service = loaded_service(settings, tmp_path)
    before = service.search("discharge team").results[0].passage_id
    path = settings.index_dir / "vectors" / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(manifest | {"corpus_hash": "0" * 64}))
    (settings.index_dir / "lexical" / "ids.npy").write_bytes(b"garbage")
    fresh = build_search_service(settings, engine)
    report = fresh.refresh()
    assert report.vectors == "built" and report.lexical == "built"
    assert fresh.search("discharge team").results[0].passage_id == before
    assert json.loads(path.read_text())["corpus_hash"] == manifest["corpus_hash"]


def test_save_and_load_give_identical_results(settings, tmp_path: Path):
    engine, service = loaded_service(settings, tmp_path)
    fresh = build_search_service(settings, engine)
    report = fresh.refresh()
    assert report.vectors == "loaded" and report.lexical == "loaded"
    for query in ["discharge team", "care navigators long-term conditions", "DToC"]:
        a = [(h.passage_id, h.score) for h in service.search(query).results]
        b = [(h.passage_id, h.score) for h in fresh.search(query).results]
        assert a == b


def test_another_process_ingesting_makes_this_one_refresh(settings, tmp_path: Path):
    engine, service = loaded_service(settings, tmp_path)
    other = build_search_service(settings, engine)
    ingest_and_index(
        [
            write(
                tmp_path / "leeds.txt",
                "Leeds care record\n\nThe Leeds Care Record lets GPs and hospital staff see one shared record for each patient.",
            )
        ],
        settings=settings,
        engine=engine,
        service=other,
    )
    assert service.search("Leeds Care Record").results[0].source == "leeds.txt"


def test_processes_saving_one_index_folder_at_once_never_fail_and_leave_a_whole_index(tmp_path: Path):
    """`kb serve --workers` shares a data dir: every worker may save the same index at the same moment."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from search.vectors import Manifest, VectorIndex

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((50, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    manifest = Manifest(model="m", dimension=8, count=50, corpus_hash="h")
    index = VectorIndex(vectors, np.arange(50), manifest)
    folder = tmp_path / "index" / "vectors"
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _: index.save(folder), range(30)))  # raises here if a rename failed
    loaded = VectorIndex.load(folder, expected=manifest)
    assert loaded is not None and len(loaded) == 50
    assert sorted(p.name for p in folder.parent.iterdir() if not p.name.endswith(".lock")) == ["vectors"]
