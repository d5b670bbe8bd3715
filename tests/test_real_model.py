"""The bundled MiniLM on real seed text: offline loading, the chosen backend close to fp32, search over two real reports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session

from kb.store import repo
from tests.conftest import make_settings
from web.flows import build_search_service, ingest_and_index, open_engine

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_service(tmp_path_factory, request):
    seeds = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"
    if not seeds.is_dir():
        pytest.skip("the seed documents (../shared/seeds) are not beside this checkout")
    settings = make_settings(tmp_path_factory.mktemp("real"), embedder="minilm")
    engine = open_engine(settings)
    service = build_search_service(settings, engine)
    files = [seeds / "001_8bf685fc17428613.txt", seeds / "002_c83671d1539688a3.txt"]
    summary = ingest_and_index(files, settings=settings, engine=engine, service=service)
    assert summary.indexed == 2 and not summary.failed
    return service


def test_model_loads_offline_and_the_chosen_backend_matches_fp32(real_service, seeds):
    from search.minilm import MiniLMEmbedder

    text = (seeds / "002_c83671d1539688a3.txt").read_text(encoding="utf-8")
    samples = [text[i : i + 900] for i in range(5000, 20000, 1500)]
    fp32 = MiniLMEmbedder(backend="fp32").encode(samples)
    bf16 = real_service.embedder.encode(samples)
    assert fp32.shape == (len(samples), 384)
    assert np.allclose(np.linalg.norm(bf16, axis=1), 1.0, atol=1e-4)
    assert (fp32 * bf16).sum(axis=1).min() > 0.99


def test_search_finds_the_right_passages_in_real_reports(real_service):
    hits = real_service.search("logic models", limit=5).results
    assert any("logic model" in hit.text.lower() for hit in hits[:3])
    engine_room = real_service.search("What is an engine room team?", limit=5).results
    assert engine_room[0].source.startswith("002") and "engine room" in engine_room[0].text.lower()
    for hit in hits:
        assert len(hit.text) <= 1300 and hit.heading is not None


def test_rebuilding_reuses_stored_vectors(real_service):
    real_service.vectors = None
    real_service.lexical = None
    report = real_service.refresh()
    with Session(real_service.engine) as session:
        stored = repo.count_passages(session=session, include_drafts=False)
    assert stored > 0 and report.passages == stored  # every stored passage, none of them encoded again
    assert report.encoded == 0 and report.vectors == "loaded"


def test_a_missing_index_is_rebuilt_from_stored_vectors(real_service):
    import shutil

    shutil.rmtree(real_service.index_dir)
    real_service.vectors = None
    report = real_service.refresh()
    assert report.vectors == "built" and report.encoded == 0
    assert (real_service.index_dir / "vectors" / "manifest.json").exists()


def test_nonsense_matches_nothing_in_real_reports(real_service):
    # why here: the dense cut-off (search.service.DENSE_MATCH) is calibrated for this model, not the hashing one
    for query in ("zzqxv", "xyzzy", "12345"):
        response = real_service.search(query)
        assert response.results == [] and response.total == 0, query
    assert real_service.search("logic models").total > 0


def test_the_models_intervention_types_are_stored_with_the_records(real_service):
    """Tags the model proposes (search/settle.py) are written to the records at ingest, so the review page,
    the catalogue, the API and the CSV all read the same tags; only records the rules left untyped get one."""
    import json

    from sqlmodel import select

    from kb.store.models import Intervention

    with Session(real_service.engine) as session:
        rows = session.exec(select(Intervention).where(Intervention.status != "rejected")).all()
    tagged = {r.id: [t for t in json.loads(r.tags_json) if t["provenance"] == "model"] for r in rows}
    tagged = {key: tags for key, tags in tagged.items() if tags}
    assert tagged, "no record got a model tag"
    for tags in tagged.values():
        assert len(tags) == 1
        assert tags[0]["dimension"] == "intervention_type" and tags[0]["confidence"] >= 0.5
    for row in rows:
        ruled = [
            t
            for t in json.loads(row.tags_json)
            if t["dimension"] == "intervention_type" and t["provenance"] != "model" and t["confidence"] >= 0.5
        ]
        assert not (ruled and row.id in tagged)  # a record the rules typed is left as the rules typed it
