"""Score the in-process search service against judged queries (kbeval's metric), honestly: every choice of
weights is also scored by 5-fold cross-validation (chosen on four folds, scored on the fifth), and the
dense match cut-off is calibrated the same way.

KB_DATA_DIR=/tmp/kbseed python bench/tune_search.py              # the service as configured, by style
KB_DATA_DIR=/tmp/kbseed python bench/tune_search.py --cv         # grid search: in-sample and held-out scores
KB_DATA_DIR=/tmp/kbseed python bench/tune_search.py --cv --tune LEXICAL_WEIGHT NEIGHBOUR_WEIGHT  # fewer settings
KB_DATA_DIR=/tmp/kbseed python bench/tune_search.py --calibrate  # the dense cut-off, per fold
KB_DATA_DIR=/tmp/kbseed python bench/tune_search.py --cv --vocabulary /tmp/other.yaml  # another vocabulary file
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO.parent / "shared" / "eval"))

from kbeval import matches, score_query  # noqa: E402
from sqlmodel import Session  # noqa: E402

import search.service as service_module  # noqa: E402
from kb.settings import get_settings  # noqa: E402
from kb.store import repo  # noqa: E402
from kb.vocabulary import load_vocabulary  # noqa: E402
from search.lexical import tokenize  # noqa: E402
from web.flows import build_search_service, open_engine  # noqa: E402

FOLDS = 5
STYLES = ("keyword", "question", "jargon", "lay")
# The weights the grid searches over, each around the value in search/service.py.
GRID = {
    "LEXICAL_WEIGHT": [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8],
    "EXPANSION_SCALE": [0.4, 0.6, 0.8],
    "SOURCE_DECAY": [0.85, 0.95, 1.0],
    "NEIGHBOUR_WEIGHT": [0.0, 0.1, 0.15, 0.2],
}
# A judged-relevant passage is lost when it has no word of the query and its cosine is under the cut-off.
# "Essentially never": at most this share of the judged-relevant passages may be lost on the tuning folds.
LOSS_TOLERANCE = 0.02
NONSENSE = ["zzqxv", "xyzzy", "12345", "qwerty asdf", "lorem ipsum dolor", "banana smoothie recipe",
            "quantum chromodynamics", "asdfgh", "999999", "hello", "weather tomorrow", "kjhkjh lkjlkj"]  # fmt: skip


def folds_of(queries: list[dict]) -> list[list[dict]]:
    """Five folds with the same mix of styles: queries sorted by style and id, dealt round-robin."""
    ordered = sorted(
        queries, key=lambda q: (STYLES.index(q["style"]) if q["style"] in STYLES else 9, q["id"])
    )
    return [ordered[i::FOLDS] for i in range(FOLDS)]


class CachedEmbedder:
    """The service's embedder with a memory of query vectors: the grid changes weights, never the encoder."""

    def __init__(self, embedder):  # noqa: ANN001
        self.embedder, self.cache = embedder, {}
        self.model_id, self.dimension = embedder.model_id, embedder.dimension

    def encode(self, texts: list[str], **kwargs) -> np.ndarray:  # noqa: ANN003
        missing = [t for t in texts if t not in self.cache]
        if missing:
            for text, vector in zip(missing, self.embedder.encode(missing, **kwargs), strict=True):
                self.cache[text] = vector
        return np.stack([self.cache[t] for t in texts])

    def encode_query(self, text: str) -> np.ndarray:
        # The service encodes queries through this (the Embedder protocol's query path); same cache.
        return self.encode([text])[0]


def per_query(service, queries: Iterable[dict]) -> dict[str, dict]:  # noqa: ANN001
    return {
        q["id"]: score_query(
            [h.model_dump() for h in service.search(q["query"], limit=10).results], q["relevant"]
        )
        for q in queries
    }


def mean_ndcg(scores: dict[str, dict], ids: Iterable[str]) -> float:
    ids = list(ids)
    return sum(scores[i]["ndcg"] for i in ids) / len(ids) if ids else 0.0


def with_settings(values: dict[str, float], run: Callable[[], dict]) -> dict:
    saved = {name: getattr(service_module, name) for name in values}
    try:
        for name, value in values.items():
            setattr(service_module, name, value)
        return run()
    finally:
        for name, value in saved.items():
            setattr(service_module, name, value)


def style_table(queries: list[dict], scores: dict[str, dict]) -> str:
    cells = []
    for style in STYLES:
        ids = [q["id"] for q in queries if q["style"] == style]
        cells.append(f"{style} {mean_ndcg(scores, ids):.3f} (n={len(ids)})")
    return "  ".join(cells)


def cross_validate(service, queries: list[dict], names: list[str]) -> None:  # noqa: ANN001
    """Grid search over GRID[names] (the other settings stay as search/service.py has them): the best setting on
    all queries (in-sample), and the mean held-out-fold score of the setting chosen on the other four folds."""
    settings = [
        dict(zip(names, values, strict=True)) for values in itertools.product(*(GRID[n] for n in names))
    ]
    current = {name: getattr(service_module, name) for name in names}
    if current not in settings:
        settings.append(current)
    table = {}
    for number, values in enumerate(settings, start=1):
        table[tuple(values.items())] = with_settings(values, lambda: per_query(service, queries))
        if number % 25 == 0 or number == len(settings):
            print(f"  {number}/{len(settings)} settings scored", file=sys.stderr)
    all_ids = [q["id"] for q in queries]
    best_in_sample = max(table, key=lambda key: mean_ndcg(table[key], all_ids))
    print(
        f"current setting {current}: in-sample nDCG@10 {mean_ndcg(table[tuple(current.items())], all_ids):.3f}"
    )
    print(f"best in-sample  {dict(best_in_sample)}: nDCG@10 {mean_ndcg(table[best_in_sample], all_ids):.3f}")
    print(f"{'fold':<6}{'tuned on the other four':<96}tuning  held-out")
    held_out = []
    held_out_scores: dict[str, dict] = {}
    for number, fold in enumerate(folds_of(queries), start=1):
        test_ids = [q["id"] for q in fold]
        train_ids = [i for i in all_ids if i not in test_ids]
        chosen = max(table, key=lambda key: mean_ndcg(table[key], train_ids))
        score = mean_ndcg(table[chosen], test_ids)
        held_out.append((score, len(test_ids)))
        held_out_scores.update({i: table[chosen][i] for i in test_ids})
        print(f"{number:<6}{str(dict(chosen)):<96}{mean_ndcg(table[chosen], train_ids):.3f}   {score:.3f}")
    mean = sum(s for s, _ in held_out) / len(held_out)
    print(f"5-fold cross-validated nDCG@10 (mean of held-out folds): {mean:.3f}")
    # Each query scored with the setting chosen on the four folds it is not in.
    print(f"held-out, by style: {style_table(queries, held_out_scores)}")
    fixed = [mean_ndcg(table[tuple(current.items())], [q["id"] for q in fold]) for fold in folds_of(queries)]
    print(
        f"current setting, same folds: {sum(fixed) / len(fixed):.3f} (no tuning: what it would score unseen)"
    )


def calibrate(service, queries: list[dict]) -> None:  # noqa: ANN001
    """The dense cut-off: for each fold, the highest cosine (to 0.01) that loses at most LOSS_TOLERANCE of the
    judged-relevant passages of the other four folds (lost: no query word in it and its cosine below the cut-off);
    then the share lost on the held-out fold."""
    with Session(service.engine) as session:
        rows = [row for batch in repo.iter_index_rows(session=session) for row in batch]
    every = {row.passage_id for row in rows}
    relevant: dict[str, list[tuple[float, bool]]] = {}
    for q in queries:
        evidence = service.evidence(q["query"], allowed=every)
        weighted = [(q["query"], 1.0)] + [
            (p, w * service_module.EXPANSION_SCALE) for p, w in evidence.expansions
        ]
        scores = service.lexical.scores(weighted)
        lexical = set(service.lexical.ids[scores > 0].tolist())
        relevant[q["id"]] = [
            (evidence.dense[row.passage_id], row.passage_id in lexical)
            for row in rows
            if any(matches({"source": row.source, "text": row.text}, gold) for gold in q["relevant"])
        ]

    def cut_off(ids: list[str]) -> float:
        found = [item for i in ids for item in relevant[i]]
        allowed = int(LOSS_TOLERANCE * len(found))
        dense_only = sorted(cosine for cosine, lexical in found if not lexical)
        return float(np.floor(dense_only[allowed] * 100) / 100) if allowed < len(dense_only) else 1.0

    def lost(ids: list[str], threshold: float) -> tuple[int, int]:
        found = [item for i in ids for item in relevant[i]]
        return sum(1 for cosine, lexical in found if not lexical and cosine < threshold), len(found)

    all_ids = [q["id"] for q in queries]
    print("fold  cut-off (tuning folds)  relevant lost on the held-out fold")
    shares = []
    for number, fold in enumerate(folds_of(queries), start=1):
        test_ids = [q["id"] for q in fold]
        threshold = cut_off([i for i in all_ids if i not in test_ids])
        missed, total = lost(test_ids, threshold)
        shares.append(missed / total if total else 0.0)
        print(f"{number:>4}  {threshold:.2f}                    {missed}/{total} ({shares[-1]:.1%})")
    print(f"mean held-out share of relevant passages lost: {sum(shares) / len(shares):.1%}")
    print(
        f"cut-off from all dev queries: {cut_off(all_ids):.2f} (search/service.py has {service_module.DENSE_MATCH})"
    )
    print("nonsense queries, best cosine (no word of theirs is in any passage):")
    for query in NONSENSE:
        evidence = service.evidence(query, allowed=every)
        words = [t for t in tokenize(query) if t in service.lexical.retriever.vocab_dict]
        print(f"  {query:<25} {max(evidence.dense.values()):.3f}{'  (has a corpus word)' if words else ''}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=Path, default=REPO.parent / "shared" / "eval" / "dev_queries.jsonl")
    parser.add_argument("--per-query", action="store_true")
    parser.add_argument("--cv", action="store_true", help="grid search with 5-fold cross-validation")
    parser.add_argument("--calibrate", action="store_true", help="calibrate the dense match cut-off")
    parser.add_argument(
        "--vocabulary",
        type=Path,
        help="expand queries with this vocabulary file instead of corpus/vocabulary.yaml",
    )
    parser.add_argument(
        "--tune", nargs="+", choices=list(GRID), default=list(GRID), help="the settings --cv searches over"
    )
    args = parser.parse_args()
    settings = get_settings()
    service = build_search_service(settings, open_engine(settings))
    service.embedder = CachedEmbedder(service.embedder)
    if args.vocabulary:
        service.vocabulary = load_vocabulary(args.vocabulary)
    service.refresh()
    queries = [json.loads(line) for line in args.queries.read_text().splitlines() if line.strip()]
    if args.calibrate:
        calibrate(service, queries)
        return 0
    if args.cv:
        cross_validate(service, queries, args.tune)
        return 0
    scores = per_query(service, queries)
    for q in queries if args.per_query else ():
        s = scores[q["id"]]
        print(f"{q['id']} {s['ndcg']:.2f} {s['recall']:.2f} {q['query']}")
    n = len(queries)
    total = {key: sum(s[key] for s in scores.values()) / n for key in ("ndcg", "recall", "rr")}
    print(f"nDCG@10 {total['ndcg']:.3f}  R@10 {total['recall']:.3f}  MRR {total['rr']:.3f}")
    print(style_table(queries, scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
