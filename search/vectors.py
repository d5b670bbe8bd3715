"""The FAISS vector index, saved as a folder with a JSON manifest and checked on load so a stale index is never used."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    model: str
    dimension: int
    count: int  # passages covered (a passage may have several vectors, one per view)
    corpus_hash: str  # hash of (passage id, embedded-text hash) for every passage covered
    views: int = 0  # the view size the vectors were cut with (0: one vector per passage)
    kind: str = "flat-ip"
    format_version: int = FORMAT_VERSION


class VectorIndex:
    """Exact inner-product search over normalised vectors (cosine), with the passage id of each vector alongside."""

    def __init__(self, vectors: np.ndarray, ids: np.ndarray, manifest: Manifest):
        self.manifest = manifest
        self.ids = ids.astype(np.int64)
        self.index = faiss.IndexFlatIP(manifest.dimension)
        if len(vectors):
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids, cosine scores), best first, at most k."""
        if len(self) == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, positions = self.index.search(
            np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), min(k, len(self))
        )
        keep = positions[0] >= 0
        return self.ids[positions[0][keep]], scores[0][keep]

    def save(self, folder: Path) -> None:
        """Write the index, then swap it in by rename: a reader never sees a half-written folder."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".vectors-", dir=folder.parent))
        faiss.write_index(self.index, str(staging / "index.faiss"))
        np.save(staging / "ids.npy", self.ids)
        (staging / "manifest.json").write_text(json.dumps(asdict(self.manifest), indent=2))
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}-old-{os.getpid()}")
            os.replace(folder, old)
        os.replace(staging, folder)
        if old is not None:
            for child in old.iterdir():
                child.unlink()
            old.rmdir()

    @classmethod
    def load(cls, folder: Path, *, expected: Manifest) -> VectorIndex | None:
        """The saved index if its manifest matches what is expected; None if missing, unreadable or stale."""
        try:
            manifest = Manifest(**json.loads((folder / "manifest.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None
        if manifest != expected:
            return None
        try:
            index = faiss.read_index(str(folder / "index.faiss"))
            ids = np.load(folder / "ids.npy")
        except (OSError, RuntimeError, ValueError):
            return None
        if (
            index.ntotal != len(ids)
            or len(set(ids.tolist())) != manifest.count
            or index.d != manifest.dimension
        ):
            return None
        loaded = cls.__new__(cls)
        loaded.manifest, loaded.ids, loaded.index = manifest, ids.astype(np.int64), index
        return loaded
