"""Benchmark: every way kb can encode passages, over the same seed passages in one run, against plain
sentence-transformers fp32; then single-query latency, alone and beside a bulk encode; then what "auto" picks.

    python bench/bench_encoders.py [--seeds ../shared/seeds] [--limit N] [--quick] [--check]

--quick encodes 320 passages instead of every view of the seeds (about 3,250). --check exits 1 when the backend
"auto" chooses here is slower than plain fp32 or its vectors drift (cosine < 0.99): `make check-latest` runs it
under the newest library versions, so that an upgrade that makes a fast path slow is seen before the lock moves.
Prints a table; paste it into bench/RESULTS.md with the machine, the versions and the date.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from sqlmodel import Session  # noqa: E402

from ingest.pipeline import collect_files, ingest_paths  # noqa: E402
from kb.settings import Settings  # noqa: E402
from kb.store import repo  # noqa: E402
from search.embeddings import bundled_model_path  # noqa: E402
from search.minilm import MIN_COSINE, MiniLMEmbedder, OnnxEncoder, TorchEncoder  # noqa: E402
from search.service import passage_views  # noqa: E402
from web.flows import open_engine  # noqa: E402

QUERIES = [
    "care homes",
    "what reduced emergency admissions from nursing homes",
    "single point of access",
    "DToC",
    "how did the vanguard pool budgets with the council",
    "social prescribing for people living alone",
    "hospital at home",
    "workforce",
]


def seed_views(seeds: Path) -> list[str]:
    """Exactly the texts kb embeds for the seeds: every view of every passage."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), load_default_corpus=False, embedder="hashing")
        engine = open_engine(settings)
        ingest_paths(list(collect_files([seeds])), engine=engine, trigger="bench")
        texts: list[str] = []
        with Session(engine) as session:
            for batch in repo.iter_index_rows(session=session):
                for row in batch:
                    texts.extend(passage_views(title=row.title, heading=row.heading, text=row.text))
        engine.dispose()
    return texts


def interleaved(
    encoders: dict[str, object], texts: list[str], chunk: int = 32
) -> dict[str, tuple[float, np.ndarray]]:
    """Seconds and vectors per encoder, timed chunk by chunk in turn (the order rotating), so that load from
    elsewhere on a shared machine falls on every encoder alike and the ratios stay fair."""
    names = list(encoders)
    for name in names:
        encoders[name](texts[:8])  # warm-up
    seconds = dict.fromkeys(names, 0.0)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for n, start in enumerate(range(0, len(texts), chunk)):
        piece = texts[start : start + chunk]
        for name in names[n % len(names) :] + names[: n % len(names)]:
            started = time.perf_counter()
            parts[name].append(encoders[name](piece))
            seconds[name] += time.perf_counter() - started
    return {name: (seconds[name], np.vstack(parts[name])) for name in names}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def query_latencies(encode_one, rounds: int = 5) -> list[float]:
    """Milliseconds per distinct query (no cache: each call gets a new text)."""
    encode_one("warm up")
    out = []
    for r in range(rounds):
        for q in QUERIES:
            started = time.perf_counter()
            encode_one(f"{q} {r}")
            out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=Path, default=REPO.parent / "shared" / "seeds")
    parser.add_argument("--limit", type=int, default=0, help="encode only the first N views")
    parser.add_argument("--quick", action="store_true", help="320 views, for a check")
    parser.add_argument("--check", action="store_true", help="exit 1 if auto is slower than fp32 or drifts")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    texts = seed_views(args.seeds)
    if not texts:
        print(f"no seed documents under {args.seeds}", file=sys.stderr)
        return 2
    limit = args.limit or (320 if args.quick else 0)
    texts = texts[:limit] if limit else texts
    versions = ", ".join(
        f"{n} {metadata.version(n)}"
        for n in ("torch", "transformers", "sentence-transformers", "onnxruntime", "tokenizers")
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.processor() or ''} Python {platform.python_version()}"
    )
    print(f"versions: {versions}")
    print(f"passages: {len(texts)} seed views (mean {statistics.mean(len(t) for t in texts):.0f} characters)")

    with tempfile.TemporaryDirectory() as cache:
        cache_dir = Path(cache)
        plain = SentenceTransformer(str(bundled_model_path()), device="cpu")

        def autocast(t: list[str]) -> np.ndarray:
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
                v = plain.encode(t, batch_size=16, convert_to_tensor=True, show_progress_bar=False)
            v = v.float().numpy()
            return v / np.linalg.norm(v, axis=1, keepdims=True)

        embedders = {
            backend: MiniLMEmbedder(backend=backend, cache_dir=cache_dir)
            for backend in ("bf16", "onnx", "onnx-int8")
        }
        encoders = {
            "sentence-transformers fp32 (reference)": lambda t: plain.encode(
                t, batch_size=64, normalize_embeddings=True, show_progress_bar=False
            ),
            "sentence-transformers bf16 autocast": autocast,
            **{f"kb {backend}": embedder.encode for backend, embedder in embedders.items()},
        }
        results = interleaved(encoders, texts)
        fp32_seconds, reference = results["sentence-transformers fp32 (reference)"]
        rows = [(name, seconds, vectors) for name, (seconds, vectors) in results.items()]

        print()
        print(f"{'encoder':<42} {'passages/s':>10} {'x fp32':>7} {'cos min':>8} {'cos mean':>9}")
        for name, seconds, vectors in rows:
            cosine = (vectors * reference).sum(axis=1)
            print(
                f"{name:<42} {len(texts) / seconds:>10.1f} {fp32_seconds / seconds:>7.2f} "
                f"{cosine.min():>8.4f} {cosine.mean():>9.5f}"
            )

        onnx_path = cache_dir / "minilm-fp32.onnx"
        model_dir = bundled_model_path()
        query_onnx = OnnxEncoder(onnx_path, model_dir / "tokenizer.json", max_tokens=256, threads=1)
        bf16_torch: TorchEncoder = embedders["bf16"]._bulk  # type: ignore[assignment]
        print()
        print(f"{'single query (distinct texts, no cache)':<52} {'p50 ms':>7} {'p95 ms':>7}")
        for name, encode_one in (
            ("sentence-transformers fp32", lambda q: plain.encode([q], show_progress_bar=False)),
            ("kb bf16 torch", lambda q: bf16_torch.encode([q])),
            ("kb query path: ONNX Runtime fp32, 1 thread", lambda q: query_onnx.encode([q])),
        ):
            ms = query_latencies(encode_one)
            print(f"{name:<52} {statistics.median(ms):>7.2f} {percentile(ms, 0.95):>7.2f}")

        stop = threading.Event()

        def bulk() -> None:
            while not stop.is_set():
                embedders["bf16"].encode(texts[:64])

        worker = threading.Thread(target=bulk, daemon=True)
        worker.start()
        time.sleep(0.5)
        ms = query_latencies(lambda q: query_onnx.encode([q]))
        stop.set()
        worker.join()
        print(
            f"{'kb query path while a bulk bf16 encode runs':<52} {statistics.median(ms):>7.2f} {percentile(ms, 0.95):>7.2f}"
        )
        cached = embedders["bf16"]
        cached.encode_query("care homes")
        started = time.perf_counter()
        for _ in range(1000):
            cached.encode_query("care homes")
        print(
            f"{'kb repeated query (from the cache)':<52} {(time.perf_counter() - started):>7.3f} (ms per call)"
        )

        auto = MiniLMEmbedder(backend="auto", cache_dir=cache_dir / "auto")
        print()
        print(f"auto chooses: {auto.backend} ({auto.check.get('reason')})")
        chosen = (
            next(vectors for name, _, vectors in rows if name == f"kb {auto.backend}")
            if auto.backend != "fp32"
            else reference
        )
        chosen_seconds = next((s for name, s, _ in rows if name == f"kb {auto.backend}"), fp32_seconds)
        speedup = fp32_seconds / chosen_seconds
        min_cosine = float((chosen * reference).sum(axis=1).min())
        print(f"auto over these passages: {speedup:.2f}x fp32, cosine min {min_cosine:.4f}")
    if args.check:
        problems = []
        if speedup < 0.95:
            problems.append(f"the chosen encoder ({auto.backend}) is slower than plain fp32 ({speedup:.2f}x)")
        if min_cosine < MIN_COSINE:
            problems.append(f"its vectors drift from fp32 (cosine min {min_cosine:.4f})")
        if speedup < 3:
            print(
                f"warning: {speedup:.2f}x fp32 is under the 3x that the lock's versions give on this machine"
            )
        for problem in problems:
            print(f"CHECK FAILED: {problem}", file=sys.stderr)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
