"""The FAISS vector index, exact or approximate by size, saved as a folder with a JSON manifest and checked on
load so a stale index is never used.

Below EXACT_UP_TO vectors the index is exact (IndexFlatIP): a query scans every vector, 6 ms at 100,000
on the project's 2-core machine but 20-40 ms at 200,000, where the vectors stop fitting in cache. Above
it the index is IVF with 8-bit scalar quantization (IndexIVFScalarQuantizer): a quarter of the memory of
float32 (400 MB instead of 1.5 GB at a million vectors) and a scan of a few percent of the lists per
query. IVF rather than HNSW because it trains in seconds on a sample, where an HNSW graph over a million
vectors takes many minutes to build on 2 cores and keeps float32 vectors or a graph beside them.
`recall_at_k` measures what the approximation costs against exact search.

Either kind is keyed by passage id (the flat index inside an IndexIDMap2; IVF keeps ids itself), so a
compaction removes and adds passages with `remove_ids` / `add_with_ids` instead of rebuilding. Between
compactions the index does not change at all: passages removed since are tombstones filtered from its
answers and passages added since sit in a small exact index searched beside it (`with_changes`), so a
search holding an index is never disturbed by a change (FAISS indexes are not safe to change while searched).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

FORMAT_VERSION = 3  # 2: a long passage's views are cut on the shared sentence rule (kb/text.py); 3: ids inside the FAISS index (IndexIDMap2 for flat)
EXACT = "flat-ip"
APPROXIMATE = "ivf-sq8"
EXACT_UP_TO = 150_000  # vectors: flat search costs ~15 ms a query at 100k in the server (bench/RESULTS.md)
TRAINING_POINTS_PER_LIST = 40  # faiss warns below 39; more buys little and costs training time
PROBED_SHARE = 1 / 4  # lists scanned per query: recall@10 0.956 at 100k and 0.984 at 1M for the dev queries
MIN_PROBES = 16
ADD_BATCH = 65_536


def kind_for(vector_count: int) -> str:
    """The index kind for a corpus of this many vectors: exact while it is fast enough, approximate above."""
    return EXACT if vector_count <= EXACT_UP_TO else APPROXIMATE


def lists_for(vector_count: int) -> int:
    """IVF lists for this many vectors: about the square root, so each list holds about as many vectors as there are lists."""
    return max(1, min(vector_count, max(64, int(math.sqrt(vector_count)))))


def probes_for(lists: int) -> int:
    return min(lists, max(MIN_PROBES, round(lists * PROBED_SHARE)))


@dataclass(frozen=True)
class Manifest:
    model: str
    dimension: int
    count: int  # passages covered (a passage may have several vectors, one per view)
    corpus_hash: str  # hash of (passage id, embedded-text hash) for every passage covered
    views: int = 0  # the view size the vectors were cut with (0: one vector per passage)
    kind: str = EXACT  # EXACT or APPROXIMATE (see kind_for)
    lists: int = 0  # IVF lists (approximate kind only)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.kind not in (EXACT, APPROXIMATE):
            raise ValueError(f"unknown vector index kind {self.kind!r}: use {EXACT!r} or {APPROXIMATE!r}")
        if (self.kind == APPROXIMATE) != (self.lists > 0):
            raise ValueError("an approximate index needs its number of lists; an exact one has none")


def empty_index(manifest: Manifest) -> faiss.Index:
    if manifest.kind == EXACT:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(manifest.dimension))
    index = faiss.index_factory(manifest.dimension, f"IVF{manifest.lists},SQ8", faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = 1234  # why: the same vectors train the same lists
    index.cp.niter = 20
    return index


def training_sample(count: int, lists: int) -> np.ndarray:
    """Evenly spaced positions to train an approximate index on (deterministic, spread over the whole corpus)."""
    wanted = min(count, lists * TRAINING_POINTS_PER_LIST)
    return np.linspace(0, count - 1, wanted).astype(np.int64) if wanted else np.zeros(0, dtype=np.int64)


class VectorIndex:
    """Inner-product search over normalised vectors (cosine), each vector labelled with its passage id.

    Takes vectors as float32 or float16 rows (a million float16 rows is 770 MB where float32 is 1.5 GB);
    the index is built in batches, so only one batch is ever held in float32 besides the index itself.
    `ids` is the passage id of each vector of the main index in the order added (a passage may have several).
    """

    def __init__(self, vectors: np.ndarray, ids: np.ndarray, manifest: Manifest):
        if len(vectors) != len(ids):
            raise ValueError(f"{len(vectors)} vectors for {len(ids)} ids")
        self.manifest = manifest
        self.ids = ids.astype(np.int64)
        self.index = empty_index(manifest)
        if manifest.kind == APPROXIMATE and len(vectors):
            sample = training_sample(len(vectors), manifest.lists)
            self.index.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
        for start in range(0, len(vectors), ADD_BATCH):
            self.index.add_with_ids(
                np.ascontiguousarray(vectors[start : start + ADD_BATCH], dtype=np.float32),
                self.ids[start : start + ADD_BATCH],
            )
        self._no_changes()
        self._tune()

    def _no_changes(self) -> None:
        self.lookup = SortedIds(self.ids)
        self.dead = np.zeros(0, dtype=np.int64)  # passage ids removed since the build, sorted
        self.dead_vectors = 0  # vectors of the main index those passages own
        self.added_ids = np.zeros(0, dtype=np.int64)
        self.added_vectors = np.zeros((0, self.manifest.dimension), dtype=np.float32)
        self.added_index: faiss.Index | None = None

    def _tune(self) -> None:
        if self.manifest.kind == APPROXIMATE:
            self.index.nprobe = probes_for(self.manifest.lists)

    def __len__(self) -> int:
        return int(self.index.ntotal) - self.dead_vectors + len(self.added_ids)

    @property
    def changed(self) -> int:
        """Vectors removed or added since the build: what a compaction would fold in."""
        return self.dead_vectors + len(self.added_ids)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids, cosine scores), best first, at most k."""
        if len(self) == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        # why k + dead_vectors: every removed vector may rank above the k wanted
        wanted = min(k + self.dead_vectors, int(self.index.ntotal))
        found_ids, found_scores = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if wanted:
            scores, labels = self.index.search(query, wanted)
            keep = labels[0] >= 0
            found_ids, found_scores = labels[0][keep], scores[0][keep]
            if len(self.dead):
                alive = ~np.isin(found_ids, self.dead, assume_unique=False)
                found_ids, found_scores = found_ids[alive], found_scores[alive]
        if self.added_index is not None:
            scores, positions = self.added_index.search(query, min(k, len(self.added_ids)))
            keep = positions[0] >= 0
            found_ids = np.concatenate([found_ids, self.added_ids[positions[0][keep]]])
            found_scores = np.concatenate([found_scores, scores[0][keep]])
            order = np.argsort(-found_scores, kind="stable")
            found_ids, found_scores = found_ids[order], found_scores[order]
        return found_ids[:k], found_scores[:k]

    def with_changes(self, *, removed: Iterable[int], vectors: np.ndarray, ids: np.ndarray) -> VectorIndex:
        """A new index without the `removed` passages' vectors and with `vectors` (labelled `ids`) in place of
        any earlier vectors of those passages. The main FAISS index is shared, not copied or changed."""
        ids = ids.astype(np.int64)
        touched = np.union1d(np.fromiter(removed, dtype=np.int64), ids)
        changed = VectorIndex.__new__(VectorIndex)
        changed.manifest, changed.ids, changed.index = self.manifest, self.ids, self.index
        changed.lookup = self.lookup  # why shared: sorting a million ids once per build, not once per change
        changed.dead = np.union1d(self.dead, touched[self.lookup.contains(touched)])
        changed.dead_vectors = len(self.lookup.positions(changed.dead))
        kept = ~np.isin(self.added_ids, touched)
        changed.added_ids = np.concatenate([self.added_ids[kept], ids])
        changed.added_vectors = np.concatenate([self.added_vectors[kept], vectors.astype(np.float32)])
        changed.added_index = None
        if len(changed.added_ids):
            changed.added_index = faiss.IndexFlatIP(self.manifest.dimension)
            changed.added_index.add(np.ascontiguousarray(changed.added_vectors))
        return changed

    def compacted(self, manifest: Manifest) -> VectorIndex:
        """The changes folded into a copy of the main index by `remove_ids` and `add_with_ids` (no retraining:
        an approximate index keeps its lists, which a full rebuild would choose afresh)."""
        index = faiss.clone_index(self.index)
        if len(self.dead):
            index.remove_ids(faiss.IDSelectorBatch(self.dead))
        if len(self.added_ids):
            index.add_with_ids(np.ascontiguousarray(self.added_vectors), self.added_ids)
        compact = VectorIndex.__new__(VectorIndex)
        compact.manifest, compact.index = manifest, index
        compact.ids = np.concatenate([self.ids[~np.isin(self.ids, self.dead)], self.added_ids])
        compact._no_changes()
        compact._tune()
        return compact

    def save(self, folder: Path) -> None:
        """Write the index, then swap it in by rename: a reader never sees a half-written folder."""
        if self.changed:
            raise ValueError("compact a changed vector index before saving it")
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".vectors-", dir=folder.parent))
        faiss.write_index(self.index, str(staging / "index.faiss"))
        np.save(staging / "ids.npy", self.ids)
        (staging / "manifest.json").write_text(json.dumps(asdict(self.manifest), indent=2))
        swap_in(staging, folder)

    @classmethod
    def load(cls, folder: Path, *, expected: Manifest) -> VectorIndex | None:
        """The saved index if its manifest matches what is expected (kind included); None if missing,
        unreadable, stale or of another kind than its manifest says."""
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
            or len(np.unique(ids)) != manifest.count
            or index.d != manifest.dimension
            or kind_of(index) != manifest.kind
            or (manifest.kind == APPROXIMATE and faiss.extract_index_ivf(index).nlist != manifest.lists)
        ):
            return None
        loaded = cls.__new__(cls)
        loaded.manifest, loaded.ids, loaded.index = manifest, ids.astype(np.int64), index
        loaded._no_changes()
        loaded._tune()
        return loaded


class SortedIds:
    """Where given ids sit in a large id array (a passage may appear several times), by binary search over a
    sorted copy made on first use: a change of a few passages costs microseconds, not a pass over a million."""

    def __init__(self, ids: np.ndarray):
        self.ids = ids
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None

    def _order(self) -> tuple[np.ndarray, np.ndarray]:
        if self._sorted is None:
            order = np.argsort(self.ids, kind="stable")
            self._sorted = (order, self.ids[order])
        return self._sorted

    def contains(self, wanted: np.ndarray) -> np.ndarray:
        """For each wanted id, whether the array holds it."""
        _, ordered = self._order()
        at = np.searchsorted(ordered, wanted)
        return (
            (at < len(ordered)) & (ordered[np.minimum(at, len(ordered) - 1)] == wanted)
            if len(ordered)
            else np.zeros(len(wanted), dtype=bool)
        )

    def positions(self, wanted: np.ndarray) -> np.ndarray:
        """Every position of the array that holds one of the wanted ids."""
        if not len(wanted) or not len(self.ids):
            return np.zeros(0, dtype=np.int64)
        order, ordered = self._order()
        starts = np.searchsorted(ordered, wanted, side="left")
        ends = np.searchsorted(ordered, wanted, side="right")
        spans = [order[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True) if b > a]
        return np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)


def kind_of(index: faiss.Index) -> str | None:
    """The kind of a FAISS index as the manifest names it, None for any other FAISS index."""
    if isinstance(index, faiss.IndexIDMap2) and isinstance(
        faiss.downcast_index(index.index), faiss.IndexFlatIP
    ):
        return EXACT
    if isinstance(index, faiss.IndexIVFScalarQuantizer) and index.metric_type == faiss.METRIC_INNER_PRODUCT:
        return APPROXIMATE
    return None


def exact_neighbours(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k nearest vectors (inner product) of each query, by exact search in batches."""
    exact = faiss.IndexFlatIP(vectors.shape[1])
    for start in range(0, len(vectors), ADD_BATCH):
        exact.add(np.ascontiguousarray(vectors[start : start + ADD_BATCH], dtype=np.float32))
    return exact.search(np.ascontiguousarray(queries, dtype=np.float32), k)[1]


def recall_at_k(index: VectorIndex, vectors: np.ndarray, queries: np.ndarray, *, k: int = 10) -> float:
    """Mean share of the exact top k (by passage id) that the index also returns in its top k.

    `vectors` are the index's own vectors in the same order as `index.ids`; `queries` one row per query.
    """
    if len(queries) == 0 or len(vectors) == 0:
        return 1.0
    truth = exact_neighbours(vectors, queries, k)
    found = []
    for query, positions in zip(queries, truth, strict=True):
        wanted = set(index.ids[positions[positions >= 0]].tolist())
        got = set(index.search(query, k)[0].tolist())
        found.append(len(wanted & got) / max(len(wanted), 1))
    return float(np.mean(found))


def swap_in(staging: Path, folder: Path) -> None:
    """Put a fully written staging folder in the place of `folder` by rename.

    Several processes may share a data dir (`kb serve --workers`) and save the same index at once: an
    exclusive lock on a file beside the folder lets one swap at a time, so neither rename fails half-way.
    A reader never sees a half-written folder (at worst, for an instant, none, and it rebuilds)."""
    import fcntl
    import shutil

    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}-old-{os.getpid()}")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
        os.replace(staging, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
