"""Score the in-process search service against judged queries (kbeval's metric) for quick ranking experiments.

KB_DATA_DIR=/tmp/kbseed python bench/tune_search.py [--per-query]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO.parent / "shared" / "eval"))

from kbeval import score_query  # noqa: E402

from kb.settings import get_settings  # noqa: E402
from web.flows import build_search_service, open_engine  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=Path, default=REPO.parent / "shared" / "eval" / "dev_queries.jsonl")
    parser.add_argument("--per-query", action="store_true")
    args = parser.parse_args()
    settings = get_settings()
    service = build_search_service(settings, open_engine(settings))
    service.refresh()
    queries = [json.loads(line) for line in args.queries.read_text().splitlines() if line.strip()]
    total = {"ndcg": 0.0, "recall": 0.0, "rr": 0.0}
    for q in queries:
        hits = service.search(q["query"], limit=10).results
        scores = score_query([h.model_dump() for h in hits], q["relevant"])
        for key in total:
            total[key] += scores[key]
        if args.per_query:
            print(f"{q['id']} {scores['ndcg']:.2f} {scores['recall']:.2f} {q['query']}")
    n = len(queries)
    print(f"nDCG@10 {total['ndcg'] / n:.3f}  R@10 {total['recall'] / n:.3f}  MRR {total['rr'] / n:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
