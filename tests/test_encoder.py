"""The encoder backends on real seed text: interchangeable vectors, the timed choice and its fallback, queries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SEEDS, make_settings
from web.flows import build_search_service, ingest_and_index, open_engine

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory) -> Path:
    """One folder of ONNX exports for the module (each export takes a few seconds)."""
    return tmp_path_factory.mktemp("encoder")


@pytest.fixture(scope="module")
def seed_passages() -> list[str]:
    if not SEEDS.is_dir():
        pytest.skip("the seed documents (../shared/seeds) are not beside this checkout")
    text = (SEEDS / "004_8f3ccc48e79b99ee.txt").read_text(encoding="utf-8")
    return [text[i : i + 1000] for i in range(2000, 2000 + 40 * 700, 700)]


@pytest.fixture(scope="module")
def reference(seed_passages):
    from sentence_transformers import SentenceTransformer

    from search.embeddings import bundled_model_path

    plain = SentenceTransformer(str(bundled_model_path()), device="cpu")
    return plain.encode(seed_passages, normalize_embeddings=True)


@pytest.mark.parametrize("backend", ["fp32", "bf16", "onnx"])
def test_every_interchangeable_backend_matches_plain_fp32(backend, encoder_dir, seed_passages, reference):
    from search.minilm import MIN_COSINE, MiniLMEmbedder

    embedder = MiniLMEmbedder(backend=backend, cache_dir=encoder_dir)
    vectors = embedder.encode(seed_passages)
    assert vectors.shape == reference.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert (vectors * reference).sum(axis=1).min() >= MIN_COSINE
    assert embedder.model_id == "all-MiniLM-L6-v2:model"  # same cache entries, same index
    query = embedder.encode_query(seed_passages[0])
    assert float(query @ reference[0]) >= MIN_COSINE


def test_int8_vectors_get_a_model_id_of_their_own(encoder_dir, seed_passages, reference):
    from search.minilm import MiniLMEmbedder

    embedder = MiniLMEmbedder(backend="onnx-int8", cache_dir=encoder_dir)
    vectors = embedder.encode(seed_passages)
    cosine = (vectors * reference).sum(axis=1)
    assert cosine.min() > 0.9  # close, but not interchangeable: hence the distinct id
    assert embedder.model_id.endswith(":int8")
    manifest = json.loads((encoder_dir / "onnx-manifest.json").read_text())
    assert {"fp32", "int8"} <= set(manifest) and manifest["int8"]["file"] == "minilm-int8.onnx"


def test_the_choice_is_timed_kept_and_made_again_when_the_machine_changes(encoder_dir):
    from search.minilm import MiniLMEmbedder

    (encoder_dir / "encoder-choice.json").unlink(missing_ok=True)
    first = MiniLMEmbedder(backend="auto", cache_dir=encoder_dir)
    recorded = json.loads((encoder_dir / "encoder-choice.json").read_text())
    assert recorded["backend"] == first.backend
    assert set(recorded["measured"]) >= {"fp32", "bf16", "onnx"}
    chosen = recorded["measured"][first.backend]
    assert chosen["min_cosine"] >= 0.99
    assert first.backend == "fp32" or chosen["speedup"] >= 1.1
    assert all(
        chosen["speedup"] >= m["speedup"] for n, m in recorded["measured"].items() if m["min_cosine"] >= 0.99
    )

    recorded["backend"], recorded["reason"] = "onnx", "a note left by an earlier start"
    (encoder_dir / "encoder-choice.json").write_text(json.dumps(recorded))
    assert MiniLMEmbedder(backend="auto", cache_dir=encoder_dir).backend == "onnx"  # kept: not timed again

    recorded["fingerprint"]["libraries"]["torch"] = "0.0.1"  # as after an upgrade
    (encoder_dir / "encoder-choice.json").write_text(json.dumps(recorded))
    again = MiniLMEmbedder(backend="auto", cache_dir=encoder_dir)
    assert again.check.get("reason") != "a note left by an earlier start"
    assert json.loads((encoder_dir / "encoder-choice.json").read_text())["fingerprint"] == again.fingerprint


def test_bf16_is_refused_where_the_cpu_only_emulates_it(tmp_path):
    """oneDNN limited to AVX2 has no native bf16, like the CPUs where bf16 ran 6x slower than fp32."""
    script = (
        "import logging, sys; from pathlib import Path; logging.basicConfig(level=logging.INFO);"
        "from search.minilm import MiniLMEmbedder;"
        f"e = MiniLMEmbedder(backend='auto', cache_dir=Path({str(tmp_path)!r}));"
        "print('CHOSEN', e.backend, e.check['measured']['bf16']['speedup'])"
    )
    env = os.environ | {"ONEDNN_MAX_CPU_ISA": "AVX2"}
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-2000:]
    chosen = next(line for line in run.stdout.splitlines() if line.startswith("CHOSEN")).split()
    assert chosen[1] != "bf16" and float(chosen[2]) < 1.0
    assert "bf16 is not faster than fp32 on this machine" in run.stderr


def test_queries_are_cached_and_match_the_bulk_vectors(encoder_dir):
    from search.minilm import MiniLMEmbedder

    embedder = MiniLMEmbedder(backend="bf16", cache_dir=encoder_dir)
    first = embedder.encode_query("care home residents sent to hospital")
    assert embedder.encode_query("care home residents sent to hospital") is first
    assert not first.flags.writeable  # a caller cannot corrupt the cached vector
    bulk = embedder.encode(["care home residents sent to hospital"])[0]
    assert float(first @ bulk) >= 0.99


def test_switching_to_int8_rebuilds_the_index_under_its_own_model_id(tmp_path, seeds):
    settings = make_settings(tmp_path, embedder="minilm", embed_backend="onnx")
    engine = open_engine(settings)
    service = build_search_service(settings, engine)
    summary = ingest_and_index(
        [seeds / "001_8bf685fc17428613.txt"], settings=settings, engine=engine, service=service
    )
    assert summary.indexed == 1
    vectors_manifest = settings.index_dir / "vectors" / "manifest.json"
    assert json.loads(vectors_manifest.read_text())["model"] == "all-MiniLM-L6-v2:model"

    int8 = build_search_service(make_settings(tmp_path, embedder="minilm", embed_backend="onnx-int8"), engine)
    report = int8.refresh()
    assert report.vectors == "built" and report.encoded >= report.passages  # every view encoded again
    assert json.loads(vectors_manifest.read_text())["model"] == "all-MiniLM-L6-v2:model:int8"
    assert int8.search("information governance", limit=3).results
