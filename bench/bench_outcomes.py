"""Measurement: how well outcome extraction finds the figures of the gold interventions in the seeds.

    python bench/bench_outcomes.py [--seeds ../shared/seeds] [--gold ../shared/eval/dev_interventions.jsonl]
                                   [--min-recall 0.8]

For every gold record with figures, extracts outcomes from about 1,500 characters around each of its anchors
and prints figure recall (gold figures found, by value) and, of the figures extracted as results, the share
whose value is in no gold figure of that record (a precision proxy), with the misses. Exits 1 when recall is
below --min-recall. tests/test_outcomes.py runs the same measurement against a recall floor.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingest.outcomes import Outcome, extract_outcomes  # noqa: E402

SHARED = REPO.parent / "shared"
SEEDS = SHARED / "seeds"
GOLD = SHARED / "eval" / "dev_interventions.jsonl"
SCALE = {"k": 1e3, "m": 1e6, "bn": 1e9, "thousand": 1e3, "million": 1e6, "billion": 1e9}


def values(figure: str) -> set[float]:
    """Numbers in a figure by value, as the catalogue scorer reads them: '£0.9m' -> {900000}."""
    found = re.findall(
        r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(k|m|bn|thousand|million|billion)?\b", figure.lower()
    )
    return {round(float(n.replace(",", "")) * SCALE.get(unit, 1), 6) for n, unit in found}


def collapsed(text: str) -> tuple[str, list[int]]:
    """Text with whitespace runs collapsed to one space, and each kept character's offset in the original."""
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        if ch.isspace() and chars and chars[-1] == " ":
            continue
        chars.append(" " if ch.isspace() else ch)
        offsets.append(i)
    return "".join(chars), offsets


def outcomes_near_anchors(record: dict, text: str) -> dict[int, Outcome]:
    """Outcomes from ~1,500 characters around each anchor, keyed by offset in the seed (first window wins)."""
    flat, offsets = collapsed(text)
    found: dict[int, Outcome] = {}
    for anchor in record["anchors"]:
        at = flat.find(" ".join(anchor.split()))
        if at < 0:
            continue
        start, end = offsets[at], offsets[at + len(" ".join(anchor.split())) - 1] + 1
        # Whole lines, so a window never starts mid-sentence.
        start = text.rfind("\n", 0, max(0, start - 750)) + 1
        end = text.find("\n", end + 750)
        window = text[start : end if end >= 0 else len(text)]
        for outcome in extract_outcomes(window, site=record["site"]):
            found.setdefault(start + outcome.start, outcome)
    return found


@dataclass
class FigureMeasurement:
    gold_total: int = 0
    gold_found: int = 0
    results: int = 0
    results_not_gold: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.gold_found / self.gold_total if self.gold_total else 0.0

    @property
    def results_not_gold_share(self) -> float:
        return self.results_not_gold / self.results if self.results else 0.0


def measure(gold: Path = GOLD, seeds: Path = SEEDS) -> FigureMeasurement:
    """Figure recall and the share of extracted results not in gold, over the gold records with figures."""
    measured = FigureMeasurement()
    for line in gold.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if not record.get("figures") or not (seeds / record["source"]).exists():
            continue
        outcomes = outcomes_near_anchors(record, (seeds / record["source"]).read_text(encoding="utf-8"))
        extracted = set().union(*(values(o.figure) for o in outcomes.values()))
        gold_values = set().union(*(values(f) for f in record["figures"]))
        for figure in record["figures"]:
            measured.gold_total += 1
            if values(figure) & extracted:
                measured.gold_found += 1
            else:
                measured.misses.append(f"{record['id']} {figure}")
        claimed = [o for o in outcomes.values() if o.kind == "result"]
        measured.results += len(claimed)
        measured.results_not_gold += sum(not (values(o.figure) & gold_values) for o in claimed)
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=Path, default=SEEDS)
    parser.add_argument("--gold", type=Path, default=GOLD)
    parser.add_argument("--min-recall", type=float, default=0.0)
    args = parser.parse_args()
    m = measure(args.gold, args.seeds)
    print(f"figure recall {m.gold_found}/{m.gold_total} = {m.recall:.3f}")
    print(f"results not in gold {m.results_not_gold}/{m.results} = {m.results_not_gold_share:.3f}")
    print(f"misses ({len(m.misses)}): {', '.join(m.misses) or 'none'}")
    return 1 if m.recall < args.min_recall else 0


if __name__ == "__main__":
    sys.exit(main())
