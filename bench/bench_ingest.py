"""Benchmark: ingest the five seeds into a fresh data dir and report each stage's time, passages per second,
our encoder against plain sentence-transformers fp32 over the same passages, and in-process search latency.

    python bench/bench_ingest.py [--seeds ../shared/seeds] [--queries ../shared/eval/dev_queries.jsonl]

Prints a table; paste it into bench/RESULTS.md with the machine and the date.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlmodel import Session  # noqa: E402

from ingest.pipeline import collect_files, ingest_paths  # noqa: E402
from kb.passage_text import passage_context_text  # noqa: E402
from kb.settings import Settings  # noqa: E402
from kb.store import repo  # noqa: E402
from search.embeddings import bundled_model_path  # noqa: E402
from web.flows import build_search_service, open_engine  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=Path, default=REPO.parent / "shared" / "seeds")
    parser.add_argument("--queries", type=Path, default=REPO.parent / "shared" / "eval" / "dev_queries.jsonl")
    args = parser.parse_args()
    files = list(collect_files([args.seeds]))
    if not files:
        print(f"no seed documents under {args.seeds}", file=sys.stderr)
        return 2
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), load_default_corpus=False)
        engine = open_engine(settings)

        started = time.perf_counter()
        summary = ingest_paths(files, engine=engine, trigger="bench")
        ingest_seconds = time.perf_counter() - started
        stage = {
            k: sum(f.timings.get(k, 0.0) for f in summary.files) / 1000
            for k in ("parse_ms", "clean_ms", "segment_ms", "store_ms")
        }

        t0 = time.perf_counter()
        service = build_search_service(settings, engine)
        service.embedder.encode(["warm up the model"])
        load_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = service.refresh()
        index_seconds = time.perf_counter() - t0

        with Session(engine) as session:
            rows = repo.index_rows(session=session)
        texts = [passage_context_text(title=r[4], heading=r[3], text=r[2]) for r in rows]

        from sentence_transformers import SentenceTransformer

        plain = SentenceTransformer(str(bundled_model_path()), device="cpu")
        plain.encode(texts[:16])
        t0 = time.perf_counter()
        reference = plain.encode(texts, batch_size=64, normalize_embeddings=True)
        fp32_seconds = time.perf_counter() - t0
        ours = service.embedder
        ours.encode(texts[:16])
        t0 = time.perf_counter()
        vectors = ours.encode(texts)
        ours_seconds = time.perf_counter() - t0
        cosine = (vectors * reference).sum(axis=1)

        queries = (
            [json.loads(line)["query"] for line in args.queries.read_text().splitlines() if line.strip()]
            if args.queries.exists()
            else ["care homes", "social prescribing", "DToC", "hospital at home"]
        )
        latencies = []
        for _ in range(3):
            for query in queries:
                t0 = time.perf_counter()
                service.search(query, limit=10)
                latencies.append((time.perf_counter() - t0) * 1000)

    passages = summary.passages
    print(f"files: {len(files)}, passages: {passages}, failures: {len(summary.failed)}")
    print("stage                      seconds")
    for name, seconds in [
        ("parse", stage["parse_ms"]),
        ("clean", stage["clean_ms"]),
        ("segment", stage["segment_ms"]),
        ("store (database)", stage["store_ms"]),
        ("ingest total", ingest_seconds),
        ("model load + warm-up", load_seconds),
        ("embed + index (first build)", index_seconds),
    ]:
        print(f"  {name:<26} {seconds:8.2f}")
    print(
        f"passages per second, end to end (ingest + embed + index): {passages / (ingest_seconds + index_seconds):.1f}"
    )
    print(f"encoding, plain sentence-transformers fp32: {len(texts) / fp32_seconds:7.1f} passages/s")
    print(
        f"encoding, kb ({getattr(ours, 'backend', '?')}):                  {len(texts) / ours_seconds:7.1f} passages/s"
        f"  -> {fp32_seconds / ours_seconds:.2f}x, cosine to fp32 min {cosine.min():.4f} mean {cosine.mean():.5f}"
    )
    print(
        f"vectors encoded in the first build: {report.encoded} (each passage whole, and a long one in pieces too)"
    )
    print(
        f"search in-process over {len(latencies)} queries: p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {percentile(latencies, 0.95):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
