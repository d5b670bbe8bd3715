"""all-MiniLM-L6-v2 from the bundled package, offline, on the fastest backend that this machine runs well.

Backends, all giving vectors interchangeable with plain sentence-transformers fp32 (cosine >= MIN_COSINE on
every probe passage) except onnx-int8, which gets its own model id so that nothing mixes its vectors with others:

- "fp32": sentence-transformers as shipped (the reference);
- "bf16": the same model with its weights in bfloat16 — several times faster where the CPU has native bf16
  (AVX512-BF16, AMX), but several times *slower* where it must emulate it (measured in bench/RESULTS.md);
- "onnx": the model exported once to ONNX (mean pooling and normalisation inside the graph) and run by ONNX
  Runtime in fp32; kept in the data dir with a manifest;
- "onnx-int8": that export with dynamic int8 weights (faster still, but cosine to fp32 only about 0.98).

"auto" (the default) times fp32, bf16 and onnx on a few probe passages the first time a data dir is used on a
machine and keeps the fastest that is faithful to fp32, falling back to fp32 with a log line saying why. The
choice is kept in the data dir beside a fingerprint of the machine and library versions, and made again when
either changes (a library upgrade can turn a fast path slow).

Queries are encoded by their own single-threaded ONNX Runtime session, apart from the bulk encoder's threads,
so that a background ingest cannot take the query path's thread pool; repeated queries come from a cache.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import platform
import threading
import time
import warnings
from collections import OrderedDict
from importlib import metadata
from pathlib import Path
from typing import Protocol

import numpy as np

from search.embeddings import bundled_model_path, normalise_rows

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
MIN_COSINE = 0.99  # every probe passage, against plain fp32, for a backend to be interchangeable
MIN_SPEEDUP = 1.1  # a backend must beat fp32 by this much on the probe to be chosen over it
QUERY_CACHE_SIZE = 4096
FORMAT_VERSION = 1
BULK_BATCH = 16  # measured: with bf16 weights on this CPU 16 beats 64 (less padding; bench/RESULTS.md)

# Passages of the length and vocabulary kb embeds, written for the probe (our own words, no source's text).
_PROBE_BASE = [
    "The community matron visits frail older people at home after a fall, reviews their medicines with the "
    "practice pharmacist and agrees a care plan with the person and their family, so that a crisis can be "
    "managed without a trip to the emergency department.",
    "Care home staff were trained to recognise early signs of deterioration and to call a named GP, who holds "
    "a weekly ward round in each home. Emergency admissions from the homes fell over the first year, though "
    "the evaluation had no comparison group.",
    "A single point of access takes referrals from GPs, paramedics and social workers seven days a week and "
    "sends the right team within two hours: a rapid response nurse, an occupational therapist or a "
    "reablement worker, depending on what the person needs to stay at home.",
    "The multispecialty community provider brought together 14 practices serving about 120,000 people. "
    "Integrated neighbourhood teams share one record, meet daily to discuss people at highest risk and hold "
    "a pooled budget under a section 75 agreement with the county council.",
    "Patients with long-term conditions such as COPD and heart failure are offered a health coach, a "
    "personalised care plan and access to the voluntary sector through social prescribing link workers. "
    "Uptake was highest among people living alone in the most deprived wards.",
    "The acute trust and the community provider agreed a discharge to assess model: people medically fit to "
    "leave hospital go home with support, and their long-term needs are assessed there. Delayed transfers "
    "of care fell and length of stay for people over 75 was shorter.",
    "The programme board set targets to reduce non-elective bed days by 15% by 2019 and to shift outpatient "
    "follow-ups into primary care, funded by the transformation fund and monitored through a shared "
    "dashboard of core metrics reported each quarter.",
    "Lessons from the first wave: invest early in information governance, give clinicians protected time to "
    "design the service, and agree how savings will be shared between commissioners and providers before "
    "the new contract starts.",
]
PROBE_TEXTS = _PROBE_BASE + [
    f"{a} {b}" for a, b in zip(_PROBE_BASE, _PROBE_BASE[1:] + _PROBE_BASE[:1], strict=True)
]


class BulkEncoder(Protocol):
    def encode(self, texts: list[str], batch_size: int = BULK_BATCH) -> np.ndarray: ...


class TorchEncoder:
    """A sentence-transformers model (fp32 or with bfloat16 weights) on the CPU."""

    def __init__(self, model, torch):
        self.model, self._torch = model, torch

    def encode(self, texts: list[str], batch_size: int = BULK_BATCH) -> np.ndarray:
        with self._torch.inference_mode():
            vectors = self.model.encode(
                texts,
                batch_size=batch_size,
                convert_to_tensor=True,
                normalize_embeddings=False,
                show_progress_bar=False,
            )
        return normalise_rows(vectors.float().cpu().numpy())


class OnnxEncoder:
    """The ONNX export run by ONNX Runtime: the fast tokenizer, length-sorted batches, pooling in the graph."""

    def __init__(self, onnx_path: Path, tokenizer_path: Path, *, max_tokens: int, threads: int):
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str], batch_size: int = BULK_BATCH) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            out[rows] = self.session.run(None, feed)[0]
        return normalise_rows(out)


def export_onnx(model, out_path: Path) -> None:
    """Export a sentence-transformers MiniLM (fp32) to ONNX with mean pooling and L2 normalisation in the graph.

    Written to a temporary name and renamed, so processes starting together never read a half-written file.
    """
    import torch

    transformer = model[0].auto_model.eval()

    class Pooled(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    sample = model.tokenizer(
        ["a short text", "and a second, longer text to pad"], padding=True, return_tensors="pt"
    )
    names = ["input_ids", "attention_mask", "token_type_ids"]
    token_type_ids = sample.get("token_type_ids", torch.zeros_like(sample["input_ids"]))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    staging = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # why: the exporter's tracer warnings are about code paths MiniLM never takes
        torch.onnx.export(
            Pooled(transformer),
            (sample["input_ids"], sample["attention_mask"], token_type_ids),
            str(staging),
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes={
                **{n: {0: "batch", 1: "tokens"} for n in names},
                "sentence_embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,  # why: the TorchScript exporter needs no onnxscript and handles BERT's masks as-is
        )
    os.replace(staging, out_path)


def quantize_int8(fp32_path: Path, out_path: Path) -> None:
    """Dynamic int8 weights, per channel (per tensor loses far more: cosine to fp32 0.90 on seed passages)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    staging = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))  # why: it advises a pre-processing step, measured as no better
    try:
        quantize_dynamic(
            str(fp32_path),
            str(staging),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)
    os.replace(staging, out_path)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def machine_fingerprint(model_sha: str) -> dict[str, object]:
    """What a backend's speed depends on: the model, the libraries and the CPU (its model and its vector units)."""
    cpu, flags = platform.processor(), ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not cpu:
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "avx512_vnni", "avx_vnni")
                flags = " ".join(f for f in line.split(":", 1)[1].split() if f in wanted)
                break
    except OSError:
        pass
    return {
        "format": FORMAT_VERSION,
        "model_sha256": model_sha,
        "machine": platform.machine(),
        "cpu": cpu,
        "cpu_flags": flags,
        "cores": os.cpu_count(),
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", ""),
        "libraries": {
            name: _version(name)
            for name in ("torch", "transformers", "sentence-transformers", "onnxruntime", "tokenizers")
        },
    }


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staging.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(staging, path)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def time_encoders(
    encoders: dict[str, BulkEncoder], texts: list[str], rounds: int = 2
) -> dict[str, tuple[float, np.ndarray]]:
    """Passages per second for each encoder (the best of a few rounds, after a warm-up) and its vectors.

    The encoders take turns within each round, so a burst of load from elsewhere on a shared machine falls on
    all of them rather than on one. One already slower than the first (fp32) after a round is not timed again:
    an emulated bf16 path can be 7x slower than fp32, and timing it twice would only delay the first start."""
    names = list(encoders)
    for name in names:
        encoders[name].encode(texts[:2])
    best = dict.fromkeys(names, float("inf"))
    vectors: dict[str, np.ndarray] = {}
    for round_number in range(rounds):
        for name in names:
            if round_number and len(texts) / best[name] < len(texts) / best[names[0]] / 2:
                continue
            started = time.perf_counter()
            vectors[name] = encoders[name].encode(texts)
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: (len(texts) / best[name], vectors[name]) for name in names}


class MiniLMEmbedder:
    """The bundled all-MiniLM-L6-v2: a bulk encoder on the chosen backend and a separate query encoder."""

    def __init__(
        self, model_path: Path | None = None, *, backend: str = "auto", cache_dir: Path | None = None
    ):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # why: a bar per model load clutters `kb` commands' output
        path = Path(model_path) if model_path else bundled_model_path()
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise RuntimeError(f"no sentence-transformers model at {path}")
        self._torch = torch
        self.path = path
        self.fp32 = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        dimension_of = (
            getattr(self.fp32, "get_embedding_dimension", None) or self.fp32.get_sentence_embedding_dimension
        )
        self.dimension = int(dimension_of())
        self.max_tokens = int(self.fp32.max_seq_length or 256)
        weights = next(
            (p for p in (path / "model.safetensors", path / "pytorch_model.bin") if p.exists()), None
        )
        self.fingerprint = machine_fingerprint(file_sha256(weights) if weights else path.name)
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._onnx_paths: dict[str, Path | None] = {}
        self._built: dict[str, BulkEncoder] = {}  # encoders built for the check, reused for the choice
        self.check: dict[str, object] = {}

        if backend == "auto":
            backend = self._choose_backend()
        self.backend = backend
        self._bulk = self._built.get(backend) or self._make_bulk(backend)
        self._built.clear()
        # the bundled model keeps the id its cached vectors were made under; any other (an adapted one) is
        # named by its weights, so its vectors never mix with the bundled model's
        name = path.name if path == bundled_model_path() else f"weights-{self.fingerprint['model_sha256'][:16]}"
        self.model_id = f"{MODEL_NAME}:{name}" + (":int8" if backend == "onnx-int8" else "")
        # why a session of its own with one thread: a query never queues behind a bulk encode's thread pool
        query_model = self._onnx_path("fp32")
        self._query = (
            OnnxEncoder(query_model, path / "tokenizer.json", max_tokens=self.max_tokens, threads=1)
            if query_model and (path / "tokenizer.json").exists()
            else None
        )
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_lock = threading.Lock()
        (self._query or self._bulk).encode(
            ["warm up the query path"]
        )  # why: the first real query pays no set-up
        if backend != "fp32":
            self.fp32 = None  # the reference model is only kept when it is the bulk encoder

    # --- encoding ---------------------------------------------------------------------

    def encode(self, texts: list[str], *, batch_size: int = BULK_BATCH) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._bulk.encode(list(texts), batch_size)

    def encode_query(self, text: str) -> np.ndarray:
        with self._query_lock:
            cached = self._query_cache.get(text)
            if cached is not None:
                self._query_cache.move_to_end(text)
                return cached
        encoder = self._query or self._bulk
        vector = encoder.encode([text])[0]
        vector.setflags(write=False)
        with self._query_lock:
            self._query_cache[text] = vector
            while len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
        return vector

    # --- backends -----------------------------------------------------------------------

    def _make_bulk(self, backend: str) -> BulkEncoder:
        if backend == "fp32":
            return TorchEncoder(self.fp32, self._torch)
        if backend == "bf16":
            return TorchEncoder(copy.deepcopy(self.fp32).to(self._torch.bfloat16), self._torch)
        if backend in ("onnx", "onnx-int8"):
            onnx_path = self._onnx_path("int8" if backend == "onnx-int8" else "fp32")
            if onnx_path is None:
                raise RuntimeError(
                    f"the {backend} encoder could not be built here (see the log): use fp32 or bf16"
                )
            return OnnxEncoder(
                onnx_path,
                self.path / "tokenizer.json",
                max_tokens=self.max_tokens,
                threads=os.cpu_count() or 1,
            )
        raise ValueError(f"unknown embedding backend {backend!r}")

    def _onnx_path(self, kind: str) -> Path | None:
        """The ONNX export ("fp32" or "int8") in the data dir, made once per model; None if it cannot be made."""
        if kind in self._onnx_paths:
            return self._onnx_paths[kind]
        folder = self.cache_dir or Path(_temporary_dir())
        target = folder / f"minilm-{kind}.onnx"
        manifest_path = folder / "onnx-manifest.json"
        manifest = _read_json(manifest_path) or {}
        wanted = {"model_sha256": self.fingerprint["model_sha256"], "format": FORMAT_VERSION}
        entry = manifest.get(kind) or {}
        try:
            if not (
                target.exists()
                and all(entry.get(k) == v for k, v in wanted.items())
                and entry.get("sha256") == file_sha256(target)
            ):
                started = time.perf_counter()
                if kind == "fp32":
                    if self.fp32 is None:
                        raise RuntimeError("the fp32 model was let go before the export")
                    export_onnx(self.fp32, target)
                else:
                    source = self._onnx_path("fp32")
                    if source is None:
                        raise RuntimeError("no fp32 export to quantise")
                    quantize_int8(source, target)
                manifest = _read_json(manifest_path) or {}
                manifest[kind] = {
                    **wanted,
                    "sha256": file_sha256(target),
                    "file": target.name,
                    "torch": _version("torch"),
                    "onnxruntime": _version("onnxruntime"),
                    "seconds": round(time.perf_counter() - started, 2),
                }
                _write_json(manifest_path, manifest)
                log.info("encoder: exported MiniLM to %s in %.1f s", target, time.perf_counter() - started)
        except Exception as err:  # why: any exporter failure leaves the torch paths, which always work
            log.warning(
                "encoder: no ONNX %s export (%s: %s); using torch only", kind, type(err).__name__, err
            )
            target = None
        self._onnx_paths[kind] = target
        return target

    def _choose_backend(self) -> str:
        """Time fp32, bf16 and onnx on the probe passages; keep the fastest faithful one (or a recorded choice)."""
        choice_path = self.cache_dir / "encoder-choice.json" if self.cache_dir else None
        recorded = _read_json(choice_path) if choice_path else None
        if recorded and recorded.get("fingerprint") == self.fingerprint and recorded.get("backend"):
            self.check = recorded
            log.info(
                "encoder: %s (chosen when this data dir was first used here: %s)",
                recorded["backend"],
                recorded.get("reason"),
            )
            return str(recorded["backend"])
        candidates: dict[str, BulkEncoder] = {"fp32": TorchEncoder(self.fp32, self._torch)}
        for name in ("bf16", "onnx"):
            try:
                candidates[name] = self._built[name] = self._make_bulk(name)
            except RuntimeError:
                continue
        timings = time_encoders(candidates, PROBE_TEXTS)
        fp32_rate, reference = timings["fp32"]
        measured = {
            name: {
                "per_second": round(rate, 1),
                "speedup": round(rate / fp32_rate, 2),
                "min_cosine": round(float((vectors * reference).sum(axis=1).min()), 5),
            }
            for name, (rate, vectors) in timings.items()
        }
        faithful = {
            name: m
            for name, m in measured.items()
            if name != "fp32" and m["min_cosine"] >= MIN_COSINE and m["speedup"] >= MIN_SPEEDUP
        }
        backend = max(faithful, key=lambda n: faithful[n]["speedup"]) if faithful else "fp32"
        summary = ", ".join(
            f"{n} {m['per_second']}/s ({m['speedup']}x, cosine min {m['min_cosine']})"
            for n, m in measured.items()
        )
        reason = f"{summary} -> {backend}"
        if measured.get("bf16", {}).get("speedup", 0) < MIN_SPEEDUP:
            log.warning(
                "encoder: bf16 is not faster than fp32 on this machine (%.2fx): falling back to %s",
                measured.get("bf16", {}).get("speedup", 0),
                backend,
            )
        log.info("encoder check on %d probe passages: %s", len(PROBE_TEXTS), reason)
        self.check = {
            "backend": backend,
            "reason": reason,
            "measured": measured,
            "fingerprint": self.fingerprint,
        }
        if choice_path:
            _write_json(
                choice_path, {**self.check, "checked_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            )
        return backend


_TEMPORARY: list[str] = []


def _temporary_dir() -> str:
    """A folder for the ONNX export when no data dir is given (bench scripts, tests): one per process."""
    if not _TEMPORARY:
        import atexit
        import shutil
        import tempfile

        folder = tempfile.mkdtemp(prefix="kb-encoder-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _TEMPORARY.append(folder)
    return _TEMPORARY[0]
