"""Benchmark: search at scale, in one run, against the real server over HTTP.

    python bench/bench_scale.py [--sizes seeds,100k,1m] [--load-seconds 60] [--users 50]

For each size it builds a data dir under /tmp, starts `kb serve` as a subprocess and reports the time
from process start to the first answered query (index built from cached vectors, then again with the
saved index loaded), search latency p50/p95 over HTTP for the judged dev queries, the server's peak
memory (VmHWM), and recall@10 of the approximate index against exact search. Also: encoding throughput
of kb's embedder against plain sentence-transformers fp32 on the seed passages, and 50 concurrent
locust users for 60 s against the seeds server. Prints every figure; paste them into bench/RESULTS.md.

Synthetic corpora: the seeds cannot be encoded a million times on this CPU (~70 passages/s), so each
synthetic passage recombines sentences of two seed passages (real vocabulary, under 600 characters so
it has one view), and its vector mixes those passages' real vectors with noise, normalised. Both are
written straight into a copy of the seeds database (passages and the embedding cache), so the server's
start-up finds every vector cached and only builds the indexes.

    python bench/bench_scale.py --during-publish --sizes 100k,1m

measures instead search latency while a change is published (issue 14): drafts are written beside the
published synthetic corpus, the server builds its indexes, then one client searches the dev queries back to
back while this process publishes the drafts through kb.curation (as a curator on another server would).
A small publish (one document, 50 passages) is applied in place; a large one (more passages than the delta
limit) makes the server build afresh in the background. The searches' latency p50/p95/p99/max before and
during each publish, how long until the published passages are found, and the load average are printed.
The vectors and texts are synthetic and already cached: the encoder is not what is measured, except the
query's own encoding in each search, as in any search.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kb.passage_text import passage_context_text  # noqa: E402
from kb.text import paragraph_spans, sentence_spans  # noqa: E402
from search.vector_cache import cache_key  # noqa: E402

SIZES = {"seeds": 0, "100k": 100_000, "1m": 1_000_000}
PASSAGES_PER_DOCUMENT = 50
MAX_SYNTHETIC_CHARS = 580  # under 1.5 x VIEW_CHARS: one view (one vector) per synthetic passage
NOISE = 0.04  # per dimension; about 0.8 of a unit vector's norm over 384 dimensions


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    import torch

    return (
        f"{platform.machine()} {model}, {os.cpu_count()} cores, {memory:.0f} GB, Python {platform.python_version()}, "
        f"torch {torch.__version__}, faiss {__import__('faiss').__version__}"
    )


# --- the seeds ---------------------------------------------------------------------------


def ingest_seeds(seeds: Path, data_dir: Path) -> None:
    """The five seeds ingested and indexed with the real model into data_dir (what `kb ingest` does)."""
    from ingest.pipeline import collect_files
    from kb.settings import Settings
    from web.flows import build_search_service, ingest_and_index, open_engine

    settings = Settings(data_dir=data_dir, load_default_corpus=False)
    engine = open_engine(settings)
    service = build_search_service(settings, engine)
    ingest_and_index(
        list(collect_files([seeds])), settings=settings, engine=engine, service=service, trigger="bench"
    )
    engine.dispose()


def encoding_speed(data_dir: Path) -> dict:
    """kb's embedder against plain sentence-transformers fp32 over the same seed passages, in this run."""
    from sentence_transformers import SentenceTransformer

    from search.embeddings import MiniLMEmbedder, bundled_model_path

    with sqlite3.connect(data_dir / "kb.sqlite3") as db:
        rows = db.execute(
            "SELECT d.title, p.heading, p.text FROM passage p JOIN document d ON d.id = p.document_id ORDER BY p.id"
        ).fetchall()
    texts = [passage_context_text(title=t, heading=h, text=x) for t, h, x in rows]
    plain = SentenceTransformer(str(bundled_model_path()), device="cpu", local_files_only=True)
    plain.encode(texts[:16])
    started = time.perf_counter()
    reference = plain.encode(texts, batch_size=64, normalize_embeddings=True)
    fp32_seconds = time.perf_counter() - started
    ours = MiniLMEmbedder()
    ours.encode(texts[:16])
    started = time.perf_counter()
    vectors = ours.encode(texts)
    ours_seconds = time.perf_counter() - started
    cosine = (vectors * reference).sum(axis=1)
    return {
        "passages": len(texts),
        "fp32_per_s": len(texts) / fp32_seconds,
        "kb_per_s": len(texts) / ours_seconds,
        "speedup": fp32_seconds / ours_seconds,
        "cosine_min": float(cosine.min()),
        "cosine_mean": float(cosine.mean()),
    }


# --- synthetic corpora -------------------------------------------------------------------


def seed_material(db: sqlite3.Connection, model_id: str) -> tuple[list[tuple], np.ndarray]:
    """Each seed passage (title, heading, site, sentences) and its whole-passage vector from the cache."""
    rows = db.execute(
        "SELECT d.title, p.heading, p.site, p.text FROM passage p JOIN document d ON d.id = p.document_id ORDER BY p.id"
    ).fetchall()
    material, vectors = [], []
    for title, heading, site, text in rows:
        view = passage_context_text(title=title, heading=heading, text=text)
        key = cache_key(model_id, hashlib.sha256(view.encode()).hexdigest())
        found = db.execute("SELECT vector FROM embeddingcache WHERE key = ?", (key,)).fetchone()
        sentences = [text[s:e] for p, q in paragraph_spans(text) for s, e in sentence_spans(text, p, q)]
        if found is None or not sentences:
            continue
        material.append((title, heading, site, sentences))
        vectors.append(np.frombuffer(found[0], dtype=np.float32))
    return material, np.array(vectors)


def add_synthetic_passages(
    db_path: Path, count: int, model_id: str, seed: int = 0, status: str = "published"
) -> list[int]:
    """`count` synthetic passages in documents of PASSAGES_PER_DOCUMENT, with their vectors in the cache;
    returns the documents' ids."""
    rng = np.random.default_rng(seed)
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA synchronous=OFF")
    material, seed_vectors = seed_material(db, model_id)
    document_columns = {row[1] for row in db.execute("PRAGMA table_info(document)")}
    now = datetime.now(UTC).isoformat(sep=" ")
    next_document = (db.execute("SELECT max(id) FROM document").fetchone()[0] or 0) + 1
    for first in range(0, count, 20_000):
        batch = min(20_000, count - first)
        pairs = rng.integers(0, len(material), size=(batch, 2))
        mix = rng.uniform(0.3, 0.7, size=(batch, 1)).astype(np.float32)
        vectors = mix * seed_vectors[pairs[:, 0]] + (1 - mix) * seed_vectors[pairs[:, 1]]
        vectors += NOISE * rng.standard_normal(vectors.shape, dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        documents, passages, cached = [], [], []
        for n in range(batch):
            number = first + n
            a, b = material[pairs[n, 0]], material[pairs[n, 1]]
            if number % PASSAGES_PER_DOCUMENT == 0:
                document_id = next_document + number // PASSAGES_PER_DOCUMENT
                values = {
                    "id": document_id,
                    "source": f"synthetic-{document_id}.txt",
                    "title": f"Synthetic report {document_id}: {a[0]}",
                    "format": "txt",
                    "origin": "ingest",
                    "path": f"/synthetic/{document_id}.txt",
                    "content_hash": f"{document_id:064x}",
                    "raw_text": "",
                    "text": "",
                    "metadata_json": "{}",
                    "contacts_json": "[]",
                    "outline_json": "[]",
                    "passage_count": PASSAGES_PER_DOCUMENT,
                    "created_at": now,
                    "updated_at": now,
                    "status": status,
                }
                documents.append({k: v for k, v in values.items() if k in document_columns})
                title = values["title"]
            sentences_a = a[3][rng.integers(0, len(a[3])) :][:2]
            sentences_b = b[3][rng.integers(0, len(b[3])) :][:2]
            text = " ".join([*sentences_a, *sentences_b])[:MAX_SYNTHETIC_CHARS]
            view = passage_context_text(title=title, heading=a[1], text=text)
            embed_hash = hashlib.sha256(view.encode()).hexdigest()
            passages.append(
                (
                    number % PASSAGES_PER_DOCUMENT,
                    text,
                    a[1],
                    "section",
                    a[2],
                    0,
                    len(text),
                    next_document + number // PASSAGES_PER_DOCUMENT,
                    embed_hash,
                )
            )
            cached.append((cache_key(model_id, embed_hash), vectors.shape[1], vectors[n].tobytes()))
        if documents:
            columns = list(documents[0])
            db.executemany(
                f"INSERT INTO document ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [tuple(d[c] for c in columns) for d in documents],
            )
        db.executemany(
            "INSERT INTO passage (ordinal, text, heading, section_kind, site, char_start, char_end, document_id, embed_hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            passages,
        )
        db.executemany(
            "INSERT OR REPLACE INTO embeddingcache (key, dimension, vector) VALUES (?, ?, ?)", cached
        )
        db.commit()
    db.execute("UPDATE indexstate SET generation = generation + 1")
    db.commit()
    db.close()
    return list(
        range(next_document, next_document + (count + PASSAGES_PER_DOCUMENT - 1) // PASSAGES_PER_DOCUMENT)
    )


# --- the server ----------------------------------------------------------------------------


class Server:
    """`kb serve` in a subprocess on a free loopback port, with the data dir given."""

    def __init__(self, data_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = os.environ | {"KB_DATA_DIR": str(data_dir), "KB_LOAD_DEFAULT_CORPUS": "false"}
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "web.cli", "serve", "--port", str(self.port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def first_answer_seconds(self, timeout: float = 1800) -> float:
        import httpx

        while time.perf_counter() - self.started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.process.stderr.read()[-2000:]}")
            try:
                if (
                    httpx.get(f"{self.url}/api/search", params={"q": "care homes"}, timeout=5).status_code
                    == 200
                ):
                    return time.perf_counter() - self.started
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the server did not answer in time")

    def peak_memory_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def http_latency(url: str, queries: list[str], rounds: int = 3) -> tuple[float, float, int]:
    import httpx

    latencies, errors = [], 0
    with httpx.Client(base_url=url, timeout=30) as client:
        for query in queries[:5]:
            client.get("/api/search", params={"q": query})
        for _ in range(rounds):
            for query in queries:
                started = time.perf_counter()
                response = client.get("/api/search", params={"q": query, "limit": 10})
                latencies.append((time.perf_counter() - started) * 1000)
                errors += response.status_code != 200
    return statistics.median(latencies), percentile(latencies, 0.95), errors


LOCUSTFILE = """
import json, random
from locust import HttpUser, between, task
QUERIES = json.loads({queries!r})
class Searcher(HttpUser):
    wait_time = between(1, 3)  # a person reading the results before the next search
    @task
    def search(self):
        self.client.get("/api/search", params={{"q": random.choice(QUERIES), "limit": 10}}, name="/api/search")
"""


def load_test(url: str, queries: list[str], users: int, seconds: int, folder: Path, spawn_rate: int) -> dict:
    locustfile = folder / "locustfile.py"
    locustfile.write_text(LOCUSTFILE.format(queries=json.dumps(queries)))
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(users), "-r", str(spawn_rate),
         "-t", f"{seconds}s", "--host", url, "--csv", str(folder / "load"), "--only-summary"],
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    with (folder / "load_stats.csv").open() as handle:
        total = next(row for row in csv.DictReader(handle) if row["Name"] == "Aggregated")
    requests, failures = int(total["Request Count"]), int(total["Failure Count"])
    return {
        "users": users,
        "spawn_rate": spawn_rate,
        "seconds": seconds,
        "requests": requests,
        "per_second": float(total["Requests/s"]),
        "error_rate": failures / max(requests, 1),
        "p50": float(total["50%"]),
        "p95": float(total["95%"]),
    }


# --- recall --------------------------------------------------------------------------------


def served_vectors(data_dir: Path, model_id: str) -> np.ndarray:
    """The vectors the server indexed, in its order: every view of every passage, read from the cache."""
    from search.service import passage_views

    db = sqlite3.connect(data_dir / "kb.sqlite3")
    rows = db.execute(
        "SELECT d.title, p.heading, p.text FROM passage p JOIN document d ON d.id = p.document_id ORDER BY p.id"
    )
    keys = [
        cache_key(model_id, hashlib.sha256(view.encode()).hexdigest())
        for title, heading, text in rows
        for view in passage_views(title=title, heading=heading, text=text)
    ]
    matrix = np.zeros((len(keys), 384), dtype=np.float32)
    for start in range(0, len(keys), 900):
        chunk = keys[start : start + 900]
        found = dict(
            db.execute(
                f"SELECT key, vector FROM embeddingcache WHERE key IN ({','.join('?' * len(chunk))})", chunk
            )
        )
        for n, key in enumerate(chunk):
            matrix[start + n] = np.frombuffer(found[key], dtype=np.float32)
    db.close()
    return matrix


def recall(data_dir: Path, query_vectors: np.ndarray, model_id: str) -> dict:
    """recall@10 of the served index against exact search; and of an approximate index over the same vectors."""
    from search.vectors import APPROXIMATE, Manifest, VectorIndex, lists_for, recall_at_k

    folder = data_dir / "index" / "vectors"
    manifest = Manifest(**json.loads((folder / "manifest.json").read_text()))
    served = VectorIndex.load(folder, expected=manifest)
    assert served is not None, "the saved index did not load"
    matrix = served_vectors(data_dir, model_id)
    out = {
        "kind": manifest.kind,
        "vectors": len(matrix),
        "served": recall_at_k(served, matrix, query_vectors),
    }
    if manifest.kind != APPROXIMATE:
        started = time.perf_counter()
        approximate = VectorIndex(
            matrix,
            served.ids,
            Manifest(
                **(
                    json.loads((folder / "manifest.json").read_text())
                    | {"kind": APPROXIMATE, "lists": lists_for(len(matrix))}
                )
            ),
        )
        out["approximate_build_s"] = time.perf_counter() - started
        out["approximate"] = recall_at_k(approximate, matrix, query_vectors)
    return out


# --- search latency during a publish (issue 14) ----------------------------------------------


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def latency_figures(latencies: list[float]) -> dict:
    if not latencies:
        return {"searches": 0}
    return {
        "searches": len(latencies),
        "p50": percentile(latencies, 0.50),
        "p95": percentile(latencies, 0.95),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies),
    }


def publish_during_searches(
    url: str,
    data_dir: Path,
    queries: list[str],
    document_ids: list[int],
    *,
    before_s: float = 10,
    after_s: float = 10,
) -> dict:
    """Search back to back; after `before_s`, publish these draft documents in one transaction (through kb, from
    this process); keep searching until their passages are found and `after_s` more. Latencies in ms."""
    import threading

    import httpx
    from sqlmodel import Session

    from kb import curation
    from kb.settings import Settings
    from kb.store.db import make_engine

    samples: list[tuple[float, float, int]] = []  # (start, ms, status)
    stop = threading.Event()

    def search_loop() -> None:
        with httpx.Client(base_url=url, timeout=600) as client:
            n = 0
            while not stop.is_set():
                query = queries[n % len(queries)]
                n += 1
                started = time.perf_counter()
                response = client.get("/api/search", params={"q": query, "limit": 10})
                samples.append((started, (time.perf_counter() - started) * 1000, response.status_code))

    published = len(document_ids) * PASSAGES_PER_DOCUMENT
    vectors_before = httpx.get(f"{url}/api/stats", timeout=600).json()["indexed_vectors"]
    searcher = threading.Thread(target=search_loop, daemon=True)
    searcher.start()
    time.sleep(before_s)
    load_before = load_average()
    engine = make_engine(Settings(data_dir=data_dir, load_default_corpus=False))
    published_at = time.perf_counter()
    with Session(engine) as session:
        for document_id in document_ids:
            curation.publish_document(
                session=session, document_id=document_id, user_id=None, interventions=False
            )
        session.commit()
    committed_at = time.perf_counter()
    engine.dispose()
    # found: the server's index holds the published passages (one vector each; /api/stats counts them). Not a
    # search limited to the document: that scores every passage and would measure itself.
    found_at = None
    with httpx.Client(base_url=url, timeout=600) as client:
        while time.perf_counter() - committed_at < 1800:
            if client.get("/api/stats").json()["indexed_vectors"] >= vectors_before + published:
                found_at = time.perf_counter()
                break
            time.sleep(0.1)
    time.sleep(after_s)
    stop.set()
    searcher.join(600)
    before = [ms for started, ms, _ in samples if started < published_at]
    during = [ms for started, ms, _ in samples if published_at <= started <= (found_at or started) + after_s]
    return {
        "published_passages": published,
        "commit_s": committed_at - published_at,
        "found_after_s": None if found_at is None else found_at - committed_at,
        "before": latency_figures(before),
        "during": latency_figures(during),
        "errors": sum(status != 200 for _, _, status in samples),
        "load_before": load_before,
        "load_after": load_average(),
    }


def measure_during_publish(
    name: str, data_dir: Path, queries: list[str], small: list[int], large: list[int]
) -> dict:
    shutil.rmtree(data_dir / "index", ignore_errors=True)
    result: dict = {"size": name, "load_at_start": load_average()}
    server = Server(data_dir)
    try:
        result["first_answer_build_s"] = server.first_answer_seconds()
        http_latency(server.url, queries, rounds=1)  # warm
        result["small"] = publish_during_searches(server.url, data_dir, queries, small)
        print(json.dumps(result), flush=True)
        result["large"] = publish_during_searches(server.url, data_dir, queries, large)
        result["peak_mb"] = server.peak_memory_mb()
    finally:
        server.stop()
    print(json.dumps(result), flush=True)
    return result


def publish_report(results: list[dict], command: str) -> str:
    lines = [
        f"command: {command}",
        f"machine: {machine()}",
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        "size  publish           found after  search ms before: p50 / p95 / p99 / max   during: p50 / p95 / p99 / max   (searches)   load avg before -> after",
    ]
    for r in results:
        for kind in ("small", "large"):
            m = r[kind]
            b, d = m["before"], m["during"]
            found = "never" if m["found_after_s"] is None else f"{m['found_after_s']:.2f} s"
            lines.append(
                f"{r['size']:<5} {kind:<5} {m['published_passages']:>6} passages  {found:>9}   "
                f"{b['p50']:6.0f} / {b['p95']:5.0f} / {b['p99']:5.0f} / {b['max']:5.0f}      "
                f"{d['p50']:6.0f} / {d['p95']:5.0f} / {d['p99']:5.0f} / {d['max']:5.0f}   ({b['searches']} + {d['searches']})   "
                f"{m['load_before']} -> {m['load_after']}"
            )
    lines.append(
        "first answer (index build at start): "
        + ", ".join(f"{r['size']} {r['first_answer_build_s']:.1f} s" for r in results)
        + "; server peak RSS: "
        + ", ".join(f"{r['size']} {r['peak_mb']:.0f} MB" for r in results)
        + "; search errors: "
        + ", ".join(f"{r['size']} {r['small']['errors'] + r['large']['errors']}" for r in results)
    )
    return "\n".join(lines)


def run_during_publish(
    args: argparse.Namespace, sizes: list[str], queries: list[str], command: str, work: Path
) -> None:
    from kb.settings import Settings
    from search.embeddings import make_embedder
    from search.service import DELTA_AT_LEAST, DELTA_SHARE

    seeds_dir = work / "seeds"
    if not (seeds_dir / "kb.sqlite3").exists():
        ingest_seeds(args.seeds, seeds_dir)
    settings = Settings(data_dir=seeds_dir, load_default_corpus=False)
    # the model id the server will use: the backend chosen for the seeds data dir, copied with it
    model_id = make_embedder(
        settings.embedder,
        model_path=settings.model_path,
        backend=settings.embed_backend,
        cache_dir=settings.encoder_dir,
    ).model_id
    results = []
    for name in sizes:
        data_dir = work / name
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.copytree(seeds_dir, data_dir, ignore=shutil.ignore_patterns("index"))
        started = time.perf_counter()
        add_synthetic_passages(data_dir / "kb.sqlite3", SIZES[name], model_id)
        small = add_synthetic_passages(
            data_dir / "kb.sqlite3", PASSAGES_PER_DOCUMENT, model_id, seed=1, status="draft"
        )
        limit = max(DELTA_AT_LEAST, int(DELTA_SHARE * SIZES[name]))
        large = add_synthetic_passages(
            data_dir / "kb.sqlite3", limit + 1000, model_id, seed=2, status="draft"
        )
        print(
            f"{name}: synthetic corpus and drafts written in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        results.append(measure_during_publish(name, data_dir, queries, small, large))
        shutil.rmtree(data_dir, ignore_errors=True)
    print()
    print(publish_report(results, command))


def index_latency_during_changes(count: int, *, seconds: float = 30, publishes_every: float = 2.0) -> dict:
    """The indexes alone, in one process, at `count` passages: what a search asks of them (BM25 over a query's
    tokens, the 200 best; the 800 nearest vectors) back to back, while another thread publishes 50 passages
    every `publishes_every` seconds (a new snapshot: `with_changes`, swapped in by assignment, as the service
    does), then while a compaction folds the changes in. Synthetic: clustered random vectors (float16, IVF-SQ8
    above 150,000 as the service chooses) and Zipf-distributed tokens, 20-100 a passage; no database, model or
    HTTP, so it isolates what a change costs the indexes from a machine too loaded to run the server at 1M."""
    import threading

    from search.fusion import top_candidates
    from search.lexical import LexicalIndex, LexicalManifest, TokenIdCorpus
    from search.vectors import APPROXIMATE, Manifest, VectorIndex, kind_for, lists_for

    rng = np.random.default_rng(0)
    dimension, vocabulary = 384, 50_000
    centres = rng.standard_normal((2000, dimension)).astype(np.float32)
    vectors = np.zeros((count, dimension), dtype=np.float16)
    for start in range(0, count, 50_000):
        end = min(count, start + 50_000)
        batch = centres[rng.integers(0, len(centres), end - start)] + rng.standard_normal(
            (end - start, dimension), dtype=np.float32
        )
        vectors[start:end] = batch / np.linalg.norm(batch, axis=1, keepdims=True)
    lengths = rng.integers(20, 100, count)
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = ((rng.zipf(1.3, int(offsets[-1])) - 1) % vocabulary).astype(np.int32)
    words = {f"t{n}": n for n in range(vocabulary)}
    ids = np.arange(1, count + 1, dtype=np.int64)
    kind = kind_for(count)
    started = time.perf_counter()
    index = VectorIndex(
        vectors, ids, Manifest(model="synthetic", dimension=dimension, count=count, corpus_hash="s", kind=kind,
                               lists=lists_for(count) if kind == APPROXIMATE else 0),
    )  # fmt: skip
    del vectors
    vector_build = time.perf_counter() - started
    started = time.perf_counter()
    lexical = LexicalIndex.from_corpus(TokenIdCorpus(flat, offsets, words), ids, LexicalManifest(count, "s"))
    del flat
    lexical_build = time.perf_counter() - started
    state = {"vectors": index, "lexical": lexical}
    queries = [
        ([(" ".join(f"t{t}" for t in rng.integers(1, 3000, 4)), 1.0), (f"t{rng.integers(1, 300)}", 0.6)],
         (lambda v: v / np.linalg.norm(v))(centres[rng.integers(0, len(centres))] + rng.standard_normal(dimension).astype(np.float32)))
        for _ in range(50)
    ]  # fmt: skip
    samples: list[tuple[str, float]] = []
    phase = ["before"]
    stop = threading.Event()

    def search_loop() -> None:
        n = 0
        while not stop.is_set():
            weighted, vector = queries[n % len(queries)]
            n += 1
            began = time.perf_counter()
            vectors_now, lexical_now = state["vectors"], state["lexical"]  # one snapshot per search
            top_candidates(lexical_now.ids, lexical_now.scores(weighted), 200)
            vectors_now.search(vector, 800)
            samples.append((phase[0], (time.perf_counter() - began) * 1000))

    searcher = threading.Thread(target=search_loop, daemon=True)
    searcher.start()
    time.sleep(5)
    phase[0] = "publishing"
    applies, next_id = [], count + 1
    publish_until = time.perf_counter() + seconds
    while time.perf_counter() < publish_until:
        new_ids = np.arange(next_id, next_id + PASSAGES_PER_DOCUMENT, dtype=np.int64)
        next_id += PASSAGES_PER_DOCUMENT
        new_vectors = rng.standard_normal((PASSAGES_PER_DOCUMENT, dimension)).astype(np.float32)
        new_vectors /= np.linalg.norm(new_vectors, axis=1, keepdims=True)
        texts = {int(k): " ".join(f"t{t}" for t in rng.integers(1, 3000, 60)) for k in new_ids}
        began = time.perf_counter()
        changed_vectors = state["vectors"].with_changes(removed=[], vectors=new_vectors, ids=new_ids)
        changed_lexical = state["lexical"].with_changes(removed=[], added=texts)
        state["vectors"], state["lexical"] = changed_vectors, changed_lexical
        applies.append((time.perf_counter() - began) * 1000)
        time.sleep(publishes_every)
    phase[0] = "compacting"
    began = time.perf_counter()
    compact_vectors = state["vectors"].compacted(state["vectors"].manifest)
    compact_lexical = state["lexical"].compacted(LexicalManifest(count, "c"))
    state["vectors"], state["lexical"] = compact_vectors, compact_lexical
    compaction = time.perf_counter() - began
    phase[0] = "after"
    time.sleep(3)
    stop.set()
    searcher.join(60)
    return {
        "passages": count,
        "kind": kind,
        "vector_build_s": vector_build,
        "lexical_build_s": lexical_build,
        "apply_ms": latency_figures(applies),
        "compaction_s": compaction,
        "changed_at_compaction": len(applies) * PASSAGES_PER_DOCUMENT,
        **{name: latency_figures([ms for p, ms in samples if p == name]) for name in ("before", "publishing", "compacting", "after")},
        "load": load_average(),
    }  # fmt: skip


# --- the run -------------------------------------------------------------------------------


def measure_size(
    name: str, data_dir: Path, queries: list[str], query_vectors: np.ndarray, model_id: str
) -> dict:
    shutil.rmtree(data_dir / "index", ignore_errors=True)
    result: dict = {"size": name}
    server = Server(data_dir)
    try:
        result["first_answer_build_s"] = server.first_answer_seconds()
        result["p50"], result["p95"], result["errors"] = http_latency(server.url, queries)
        result["peak_mb_build"] = server.peak_memory_mb()
        with sqlite3.connect(data_dir / "kb.sqlite3") as db:
            result["passages"] = db.execute("SELECT count(*) FROM passage").fetchone()[0]
    finally:
        server.stop()
    server = Server(data_dir)
    try:
        result["first_answer_load_s"] = server.first_answer_seconds()
        result["p50_loaded"], result["p95_loaded"], _ = http_latency(server.url, queries, rounds=1)
        result["peak_mb_load"] = server.peak_memory_mb()
    finally:
        server.stop()
    result["recall"] = recall(data_dir, query_vectors, model_id)
    print(json.dumps(result), flush=True)
    return result


def report(results: list[dict], encoding: dict | None, loads: list[dict], command: str) -> str:
    lines = [
        f"command: {command}",
        f"machine: {machine()}",
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
    ]
    lines.append(
        "size      passages  index    vectors  first answer (build / load)  search p50 / p95 ms  peak RSS MB (build / load)  recall@10 served  recall@10 IVF-SQ8"
    )
    for r in results:
        rec = r["recall"]
        approximate = rec.get("approximate", rec["served"])
        lines.append(
            f"{r['size']:<8}  {r['passages']:>8}  {rec['kind']:<7}  {rec['vectors']:>7}  "
            f"{r['first_answer_build_s']:>8.1f} s / {r['first_answer_load_s']:>6.1f} s      "
            f"{r['p50']:>6.1f} / {r['p95']:>6.1f}        {r['peak_mb_build']:>6.0f} / {r['peak_mb_load']:>6.0f}              "
            f"{rec['served']:.3f}             {approximate:.3f}"
        )
    lines.append("search errors over HTTP: " + ", ".join(f"{r['size']} {r['errors']}" for r in results))
    if encoding:
        lines.append(
            f"encoding {encoding['passages']} seed passages: plain sentence-transformers fp32 {encoding['fp32_per_s']:.1f}/s, "
            f"kb {encoding['kb_per_s']:.1f}/s -> {encoding['speedup']:.2f}x, cosine to fp32 min {encoding['cosine_min']:.4f} "
            f"mean {encoding['cosine_mean']:.5f}"
        )
    for load in loads:
        arrival = "all at once" if load["spawn_rate"] >= load["users"] else f"arriving {load['spawn_rate']}/s"
        lines.append(
            f"load, seeds server: {load['users']} locust users ({arrival}, 1-3 s think time) for {load['seconds']} s: "
            f"{load['requests']} requests ({load['per_second']:.1f}/s), error rate {load['error_rate']:.2%}, "
            f"p50 {load['p50']:.0f} ms, p95 {load['p95']:.0f} ms"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="seeds,100k,1m", help=f"comma-separated, of {', '.join(SIZES)}")
    parser.add_argument("--seeds", type=Path, default=REPO.parent / "shared" / "seeds")
    parser.add_argument("--queries", type=Path, default=REPO.parent / "shared" / "eval" / "dev_queries.jsonl")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--load-seconds", type=int, default=60)
    parser.add_argument("--skip-encoding", action="store_true")
    parser.add_argument(
        "--work", type=Path, default=None, help="where the data dirs go (default: a temp dir, removed)"
    )
    parser.add_argument(
        "--during-publish", action="store_true", help="measure search latency while drafts are published"
    )
    parser.add_argument(
        "--indexes-only",
        action="store_true",
        help="with --during-publish: the indexes alone, in-process, on synthetic vectors and tokens",
    )
    args = parser.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size {unknown}: use {', '.join(SIZES)}")
    command = "python bench/bench_scale.py " + " ".join(sys.argv[1:])
    queries = [json.loads(line)["query"] for line in args.queries.read_text().splitlines() if line.strip()]

    work = args.work or Path(tempfile.mkdtemp(prefix="kb-scale-"))
    if args.during_publish and args.indexes_only:
        for name in sizes:
            if SIZES[name]:
                print(json.dumps(index_latency_during_changes(SIZES[name])), flush=True)
        return 0
    if args.during_publish:
        try:
            run_during_publish(args, [s for s in sizes if SIZES[s]], queries, command, work)
        finally:
            if args.work is None:
                shutil.rmtree(work, ignore_errors=True)
        return 0
    try:
        seeds_dir = work / "seeds"
        started = time.perf_counter()
        ingest_seeds(args.seeds, seeds_dir)
        print(f"seeds ingested and indexed in {time.perf_counter() - started:.1f} s", flush=True)

        from search.embeddings import MiniLMEmbedder

        embedder = MiniLMEmbedder()
        query_vectors = embedder.encode(queries)
        model_id = embedder.model_id
        del embedder
        encoding = None if args.skip_encoding else encoding_speed(seeds_dir)
        if encoding:
            print(json.dumps(encoding), flush=True)

        results, loads = [], []
        for name in sizes:
            data_dir = seeds_dir
            if SIZES[name]:
                data_dir = work / name
                shutil.rmtree(data_dir, ignore_errors=True)
                shutil.copytree(seeds_dir, data_dir, ignore=shutil.ignore_patterns("index"))
                started = time.perf_counter()
                add_synthetic_passages(data_dir / "kb.sqlite3", SIZES[name], model_id)
                print(
                    f"{name}: synthetic corpus written in {time.perf_counter() - started:.1f} s", flush=True
                )
            results.append(measure_size(name, data_dir, queries, query_vectors, model_id))
            if name == "seeds" and args.load_seconds > 0:
                server = Server(data_dir)
                try:
                    server.first_answer_seconds()
                    # why both: users arriving over a few seconds is the steady state; all 50 at once
                    # is the worst burst (its first ~50 requests queue behind each other on 2 cores)
                    for spawn_rate in (10, args.users):
                        loads.append(
                            load_test(server.url, queries, args.users, args.load_seconds, work, spawn_rate)
                        )
                        print(json.dumps(loads[-1]), flush=True)
                finally:
                    server.stop()
            if SIZES[name]:
                shutil.rmtree(data_dir, ignore_errors=True)
        print()
        print(report(results, encoding, loads, command))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
