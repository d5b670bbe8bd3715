"""`kb adapt`: fit the bundled MiniLM to the ingested corpus with self-supervised pairs, and adopt the result only
if it retrieves better on documents it never trained on.

The pairs come from the corpus's own structure, never from judged queries: a passage's heading path and the
passage (a short, query-like description of what follows), and two adjacent passages of one document (the
same topic in other words). Training uses in-batch negatives (the other passages of the batch; the
"multiple negatives ranking" loss) for a bounded number of steps.

Adoption is decided on held-out documents: a fifth of the documents (chosen by a fixed seed) give no training
pair; for each of their heading -> passage pairs, the passage is ranked among all their passages by the base
model and by the adapted one (mean reciprocal rank at 10). The adapted model is adopted only when it is
better by a margin. The result lives in the data dir (`adapted/model`, a sentence-transformers folder, and
`adapted/manifest.json`); `flows.build_search_service` uses it when the manifest says adopted, and the
changed model id makes the index re-encode every passage once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from kb.store.repo import IndexRow
from search.embeddings import bundled_model_path

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
ADOPT_MARGIN = 0.01  # held-out MRR@10 the adapted model must gain to be adopted
MIN_ANCHOR_CHARS = 12  # a heading shorter than this ("Results") describes too little to train on
HEADING_SEPARATOR = " › "


@dataclass(frozen=True)
class Pair:
    anchor: str
    positive: str
    source: str  # the document both come from: the unit of the held-out split
    kind: str  # "heading" or "adjacent"


@dataclass
class AdaptReport:
    adopted: bool
    heldout_base: float
    heldout_adapted: float
    train_pairs: int
    heldout_pairs: int
    heldout_documents: int
    steps: int
    batch_size: int
    learning_rate: float
    seed: int
    seconds: float
    base_model_sha256: str
    model_sha256: str = ""
    created_at: str = ""
    format: int = FORMAT_VERSION
    reason: str = ""


def training_pairs(rows: Sequence[IndexRow]) -> list[Pair]:
    """Heading -> passage and passage -> next passage pairs from the index rows (passage id order is document
    order). A heading goes with the first passage under it; one found in several documents ("Introduction")
    is dropped: as an anchor it would have several right answers in one batch."""
    by_source: dict[str, list[IndexRow]] = {}
    for row in rows:
        by_source.setdefault(row.source, []).append(row)
    sources_of: dict[str, set[str]] = {}
    for row in rows:
        anchor = _heading_anchor(row.heading).lower()
        if anchor:
            sources_of.setdefault(anchor, set()).add(row.source)
    pairs: list[Pair] = []
    for source, passages in by_source.items():
        seen_headings: set[str] = set()
        for row in passages:
            anchor = _heading_anchor(row.heading)
            key = anchor.lower()
            if anchor and len(sources_of[key]) == 1 and key not in seen_headings:
                seen_headings.add(key)
                pairs.append(Pair(anchor, row.text, source, "heading"))
        for first, second in zip(passages, passages[1:], strict=False):
            if len(first.text) >= 200 and len(second.text) >= 200:
                pairs.append(Pair(first.text, second.text, source, "adjacent"))
    return pairs


def _heading_anchor(heading: str) -> str:
    """The last two levels of a heading path: enough to tell "Profile › Details of the year" apart."""
    parts = [part.strip() for part in heading.split(HEADING_SEPARATOR) if part.strip()]
    anchor = HEADING_SEPARATOR.join(parts[-2:]) if len(parts) > 1 else (parts[0] if parts else "")
    return anchor if len(anchor) >= MIN_ANCHOR_CHARS else ""


def split_by_document(pairs: Sequence[Pair], *, seed: int, heldout_share: float = 0.2) -> tuple[list, list]:
    """Training pairs and held-out pairs, split by document so no held-out text is ever trained on."""
    sources = sorted({p.source for p in pairs})
    rng = random.Random(seed)
    rng.shuffle(sources)
    heldout = set(sources[: max(1, round(len(sources) * heldout_share))])
    return [p for p in pairs if p.source not in heldout], [p for p in pairs if p.source in heldout]


def heldout_mrr(
    encode: Callable[[list[str]], np.ndarray], pairs: Sequence[Pair], passages: Sequence[str]
) -> float:
    """Mean reciprocal rank (at 10) of each heading pair's passage among all the held-out passages."""
    heading_pairs = [p for p in pairs if p.kind == "heading"]
    if not heading_pairs:
        return 0.0
    position = {text: i for i, text in enumerate(passages)}
    corpus = encode(list(passages))
    queries = encode([p.anchor for p in heading_pairs])
    scores = queries @ corpus.T
    total = 0.0
    for row, pair in zip(scores, heading_pairs, strict=True):
        target = position[pair.positive]
        rank = int((row > row[target]).sum())
        total += 1.0 / (rank + 1) if rank < 10 else 0.0
    return total / len(heading_pairs)


def adapt(
    rows: Sequence[IndexRow],
    out_dir: Path,
    *,
    base_path: Path | None = None,
    steps: int = 300,
    batch_size: int = 32,
    learning_rate: float = 2e-5,
    max_tokens: int = 128,
    seed: int = 13,
    on_step: Callable[[int, float], None] | None = None,
) -> AdaptReport:
    """Fine-tune a copy of the base model on the corpus's own pairs, measure it on held-out documents, and
    keep it in out_dir with a manifest saying whether it is adopted."""
    import torch
    from sentence_transformers import SentenceTransformer

    started = time.perf_counter()
    base_path = Path(base_path) if base_path else bundled_model_path()
    pairs = training_pairs(rows)
    train, heldout = split_by_document(pairs, seed=seed)
    if len(train) < batch_size * 4 or not any(p.kind == "heading" for p in heldout):
        raise ValueError(
            f"too little text to adapt the model on: {len(train)} training pairs and "
            f"{sum(p.kind == 'heading' for p in heldout)} held-out headings (ingest more documents first)"
        )
    heldout_sources = {p.source for p in heldout}
    heldout_passages = sorted({r.text for r in rows if r.source in heldout_sources})

    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = SentenceTransformer(str(base_path), device="cpu", local_files_only=True)

    def encode(texts: list[str]) -> np.ndarray:
        return model.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True)

    base_score = heldout_mrr(encode, heldout, heldout_passages)
    full_length = model.max_seq_length
    model.max_seq_length = max_tokens  # why: training on the first 128 tokens is 2-3x faster, and enough
    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (steps - step) / steps)
    )
    model.train()
    order: list[Pair] = []
    for step in range(steps):
        if len(order) < batch_size:
            order = list(train)
            rng.shuffle(order)
        batch, order = order[:batch_size], order[batch_size:]
        anchors = _embed(model, [p.anchor for p in batch])
        positives = _embed(model, [p.positive for p in batch])
        scores = anchors @ positives.T * 20.0  # cosine similarity, scaled as the ranking loss usually is
        labels = torch.arange(len(batch))
        loss = (
            torch.nn.functional.cross_entropy(scores, labels)
            + torch.nn.functional.cross_entropy(scores.T, labels)
        ) / 2
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if on_step:
            on_step(step + 1, float(loss.detach()))
    model.eval()
    model.max_seq_length = full_length
    adapted_score = heldout_mrr(encode, heldout, heldout_passages)

    adopted = adapted_score >= base_score + ADOPT_MARGIN
    report = AdaptReport(
        adopted=adopted,
        heldout_base=round(base_score, 4),
        heldout_adapted=round(adapted_score, 4),
        train_pairs=len(train),
        heldout_pairs=len(heldout),
        heldout_documents=len(heldout_sources),
        steps=steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        seconds=round(time.perf_counter() - started, 1),
        base_model_sha256=_weights_sha256(base_path),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        reason=(
            f"held-out MRR@10 {adapted_score:.3f} against {base_score:.3f} for the base model: "
            + ("adopted" if adopted else f"not adopted (it must gain at least {ADOPT_MARGIN})")
        ),
    )
    model_dir = out_dir / "model"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(str(model_dir))
    report.model_sha256 = _weights_sha256(model_dir)
    (out_dir / "manifest.json").write_text(json.dumps(asdict(report), indent=2) + "\n")
    return report


def _embed(model, texts: list[str]):
    """Normalised sentence embeddings with gradients (encode() runs without them)."""
    import torch

    features = model.preprocess(texts) if hasattr(model, "preprocess") else model.tokenize(texts)
    output = model(features)["sentence_embedding"]
    return torch.nn.functional.normalize(output, dim=-1)


def _weights_sha256(path: Path) -> str:
    weights = next((p for p in (path / "model.safetensors", path / "pytorch_model.bin") if p.exists()), None)
    if weights is None:
        return ""
    digest = hashlib.sha256()
    with weights.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(adapted_dir: Path) -> dict | None:
    try:
        return json.loads((adapted_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return None


def adopted_model_path(adapted_dir: Path) -> Path | None:
    """The adapted model, when `kb adapt` adopted one and its weights are the ones its manifest names."""
    manifest = read_manifest(adapted_dir)
    if not manifest or not manifest.get("adopted") or manifest.get("format") != FORMAT_VERSION:
        return None
    model_dir = adapted_dir / "model"
    if not model_dir.is_dir() or _weights_sha256(model_dir) != manifest.get("model_sha256"):
        log.warning("the adapted model in %s does not match its manifest; using the bundled model", model_dir)
        return None
    return model_dir


def set_adopted(adapted_dir: Path, adopted: bool) -> dict:
    """Adopt or withdraw the adapted model by hand (the manifest keeps the measured figures either way)."""
    manifest = read_manifest(adapted_dir)
    if manifest is None:
        raise ValueError(f"no adapted model in {adapted_dir}: run `kb adapt` first")
    manifest["adopted"] = adopted
    manifest["reason"] = manifest.get("reason", "") + (
        " · adopted by hand" if adopted else " · withdrawn by hand"
    )
    (adapted_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
