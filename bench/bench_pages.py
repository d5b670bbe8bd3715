"""Benchmark: the site's pages over HTTP on loopback, timed from the client: the search page (20 queries), an
intervention page (20 ids) and the catalogue page (unfiltered and with filters), each URL requested 5 times.

    python bench/bench_pages.py            # the five seeds (../shared/seeds), real model: about a minute to build
    python bench/bench_pages.py --quick    # the bundled case studies (corpus/cases) instead

Starts its own kb server on a free 127.0.0.1 port over a temporary data dir and stops it at the end. Prints
p50/p95 per page type, the command and the machine; copy what you want to keep into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# The browser tests' server helpers: ingest into a data dir in-process, then uvicorn in a subprocess.
from tests.browser.conftest import Server, ingest_into, start_server  # noqa: E402

QUERIES = [
    "reducing emergency admissions from care homes",
    "social prescribing",
    "DToC",
    "single point of access",
    "integrated discharge team",
    "frail older people at home",
    "multidisciplinary team meetings in primary care",
    "personal health budgets",
    "hospital at home",
    "care coordinators for long-term conditions",
    "mental health liaison in A&E",
    "telemedicine in nursing homes",
    "population health segmentation",
    "workforce and new roles",
    "shared care record",
    "volunteers and community support",
    "what did the vanguards learn about evaluation",
    "rapid response to avoid admission",
    "end of life care",
    "how were savings measured",
]
INTERVENTIONS = 20
REPEATS = 5


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{mem_kb / 1024 / 1024:.0f} GB"
    except (OSError, ValueError, IndexError):
        memory = "memory unknown"
    return f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPUs, {memory}, Python {platform.python_version()}"


class Client:
    """One keep-alive HTTP connection to the server, as a browser would hold."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    def get(self, path: str) -> tuple[int, bytes, float]:
        """(status, body, milliseconds from sending the request to the last byte of the body)."""
        started = time.perf_counter()
        self.connection.request("GET", path, headers={"Accept": "text/html"})
        response = self.connection.getresponse()
        body = response.read()
        return response.status, body, (time.perf_counter() - started) * 1000

    def json(self, path: str) -> dict:
        status, body, _ = self.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        return json.loads(body)


def page_urls(client: Client) -> dict[str, list[str]]:
    """The URLs of each page type: queries, intervention ids spread over the catalogue, catalogue filters
    taken from the facets the server reports (the most common value of each dimension)."""
    listing = client.json("/api/interventions?limit=500")
    ids = [r["id"] for r in listing["results"]]
    if not ids:
        raise RuntimeError("the catalogue is empty: nothing to benchmark")
    step = max(1, len(ids) // INTERVENTIONS)
    filters = [{"has_results": "true"}, {"q": "care home"}]
    for dimension in ("intervention_type", "population", "setting", "outcome_measure", "evidence_level"):
        facets = listing["facets"].get(dimension) or []
        if facets:
            filters.append({dimension: max(facets, key=lambda f: f["count"])["id"]})
    if len(filters) > 3:
        filters.append(filters[2] | filters[3])  # two dimensions at once
    return {
        "search": ["/search?" + urlencode({"q": q}) for q in QUERIES],
        "intervention": [f"/interventions/{i}" for i in ids[::step][:INTERVENTIONS]],
        "catalogue": ["/catalogue", "/catalogue?page=2"] if len(ids) > 50 else ["/catalogue"],
        "catalogue, filtered": ["/catalogue?" + urlencode(f) for f in filters],
    }


def measure(client: Client, urls: dict[str, list[str]], repeats: int) -> dict[str, list[float]]:
    """Every URL once untimed (first-request work: caches, lazy indexes), then `repeats` interleaved rounds."""
    for group in urls.values():
        for path in group:
            status, body, _ = client.get(path)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
    timings: dict[str, list[float]] = {kind: [] for kind in urls}
    for _ in range(repeats):
        for kind, group in urls.items():
            for path in group:
                status, _, ms = client.get(path)
                if status != 200:
                    raise RuntimeError(f"GET {path} answered {status}")
                timings[kind].append(ms)
    return timings


def percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1] if len(values) > 1 else values[0]


def serve(args: argparse.Namespace, root: Path) -> tuple[Server, str, float]:
    """Ingest (or let the server load the bundled corpus), start the server; returns it, what it holds, and
    the seconds from the start of ingestion to the server answering (encoding and index build included)."""
    data_dir = root / "data"
    env = os.environ | {"KB_DATA_DIR": str(data_dir), "KB_EMBEDDER": args.embedder}
    env.pop("KB_DATABASE_URL", None)
    started = time.perf_counter()
    if args.quick:
        env["KB_LOAD_DEFAULT_CORPUS"] = "true"
        corpus = "the bundled case studies (corpus/cases)"
    else:
        if not args.seeds.is_dir():
            sys.exit(f"{args.seeds} is not a folder: put the seeds beside the checkout or use --quick")
        env["KB_LOAD_DEFAULT_CORPUS"] = "false"
        ingest_into(data_dir, [args.seeds], embedder=args.embedder)
        corpus = f"the seeds ({args.seeds})"
    server = start_server(env, root / "server.log", timeout=900)
    return server, corpus, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="serve the bundled case studies, not the seeds")
    parser.add_argument("--seeds", type=Path, default=REPO.parent / "shared" / "seeds")
    parser.add_argument("--embedder", default="minilm", choices=["minilm", "hashing"])
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kb-bench-pages-") as tmp:
        server, corpus, build_seconds = serve(args, Path(tmp))
        try:
            client = Client(server.base_url)
            stats = client.json("/api/stats")
            urls = page_urls(client)
            timings = measure(client, urls, args.repeats)
        finally:
            server.stop()

    print(f"command: python {' '.join(sys.argv)}")
    print(f"machine: {machine()}")
    print(f"date:    {datetime.now():%Y-%m-%d %H:%M}")
    print(
        f"corpus:  {corpus}, embedder {args.embedder}: {stats.get('documents')} documents, "
        f"{stats.get('passages')} passages; ingest + start-up {build_seconds:.1f} s"
    )
    print("client:  one keep-alive HTTP/1.1 connection on 127.0.0.1, time to the last byte of the HTML")
    print()
    print(f"{'page':<22}{'urls':>5}{'requests':>10}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for kind, values in timings.items():
        print(
            f"{kind:<22}{len(urls[kind]):>5}{len(values):>10}{statistics.median(values):>9.1f}"
            f"{percentile(values, 95):>9.1f}{max(values):>9.1f}"
        )


if __name__ == "__main__":
    main()
