"""Benchmark: the seeds as a new user meets them. `kb ingest ../shared/seeds` into an empty data dir (wall time,
end to end: start, model load, the encoder check, parse, clean, store, encode, index), then `kb serve` on it and
200 sequential `/api/search` requests over one keep-alive loopback connection.

    python bench/bench_seeds.py [--seeds ../shared/seeds] [--queries 200]

The queries are distinct (no vector cache hit): the 45 dev queries, then passage headings of the seeds. Prints the
figures; paste them into bench/RESULTS.md with the machine and the date.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.conftest import start_server  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def queries_for(data_dir: Path, dev_queries: Path, count: int) -> list[str]:
    from sqlalchemy import create_engine, text

    out = (
        [json.loads(line)["query"] for line in dev_queries.read_text().splitlines() if line.strip()]
        if dev_queries.exists()
        else []
    )
    engine = create_engine(f"sqlite:///{data_dir / 'kb.sqlite3'}")
    with engine.connect() as connection:
        headings = [
            row[0]
            for row in connection.execute(text("SELECT DISTINCT heading FROM passage WHERE heading != ''"))
        ]
    engine.dispose()
    random.Random(7).shuffle(headings)
    seen = {q.lower() for q in out}
    for heading in headings:
        words = heading.split(" › ")[-1].split()[:8]
        query = " ".join(words)
        if len(query) > 3 and query.lower() not in seen:
            seen.add(query.lower())
            out.append(query)
        if len(out) >= count:
            break
    return out[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=Path, default=REPO.parent / "shared" / "seeds")
    parser.add_argument(
        "--dev-queries", type=Path, default=REPO.parent / "shared" / "eval" / "dev_queries.jsonl"
    )
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    kb = Path(sys.executable).with_name("kb")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        env = os.environ | {"KB_DATA_DIR": str(data_dir), "KB_LOAD_DEFAULT_CORPUS": "false"}
        env.pop("KB_EMBEDDER", None)
        started = time.perf_counter()
        run = subprocess.run(
            [str(kb), "ingest", "--quiet", str(args.seeds)], env=env, capture_output=True, text=True
        )
        ingest_seconds = time.perf_counter() - started
        if run.returncode != 0:
            print(run.stdout, run.stderr, file=sys.stderr)
            return 1
        choice = json.loads((data_dir / "encoder" / "encoder-choice.json").read_text())
        print(f"kb ingest {args.seeds} into an empty data dir: {ingest_seconds:.1f} s wall, end to end")
        print(f"  encoder chosen: {choice['reason']}")
        print(f"  {run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ''}")

        queries = queries_for(data_dir, args.dev_queries, args.queries)
        server = start_server(env, Path(tmp) / "server.log")
        try:
            parts = urlsplit(server.base_url)
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            connection.request("GET", "/api/search?" + urlencode({"q": "warm up", "limit": 10}))
            connection.getresponse().read()
            latencies, empty = [], 0
            for query in queries:
                t0 = time.perf_counter()
                connection.request("GET", "/api/search?" + urlencode({"q": query, "limit": 10}))
                response = connection.getresponse()
                body = response.read()
                latencies.append((time.perf_counter() - t0) * 1000)
                if response.status != 200:
                    print(f"{response.status} for {query!r}: {body[:200]!r}", file=sys.stderr)
                    return 1
                empty += not json.loads(body)["results"]
            connection.close()
        finally:
            server.stop()
    print(
        f"/api/search over HTTP, {len(latencies)} sequential distinct queries: p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {percentile(latencies, 0.95):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms"
        f" ({empty} with no results)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
