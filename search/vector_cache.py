"""The embedding cache: the one way kb encodes passage texts, reusing every vector already stored for the text."""

from __future__ import annotations

import hashlib

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from kb import uploads
from kb.store import repo
from search.embeddings import Embedder

DOCUMENT_BATCH = 256  # views encoded and committed at a time when a whole document is pre-encoded


def cache_key(model_id: str, embed_hash: str) -> str:
    return hashlib.sha256(f"{model_id}:{embed_hash}".encode()).hexdigest()


def text_cache_key(model_id: str, text: str) -> str:
    return cache_key(model_id, hashlib.sha256(text.encode()).hexdigest())


def encode_cached(*, session: Session, embedder: Embedder, texts: list[str]) -> tuple[np.ndarray, int]:
    """float32 vectors for the texts, one row each, and how many had to be encoded.

    Vectors already cached for this model and text are read, the rest encoded once each (a text repeated in
    the list is encoded once) and stored; the session is committed when anything new was stored, so an
    interrupted build keeps its work.
    """
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32), 0
    keys = [text_cache_key(embedder.model_id, t) for t in texts]
    found = repo.cached_vectors(session=session, keys=keys)
    missing = sorted({key: i for i, key in enumerate(keys) if key not in found}.values())
    if missing:
        vectors = embedder.encode([texts[i] for i in missing])
        new = {keys[i]: vectors[n] for n, i in enumerate(missing)}
        repo.store_vectors(session=session, vectors=new)
        session.commit()
        found.update(new)
    return np.stack([found[k] for k in keys]).astype(np.float32, copy=False), len(missing)


def encode_document_views(*, engine: Engine, embedder: Embedder, document_id: int) -> int:
    """Put the vectors of every view of a document's passages in the cache (so publishing it later encodes
    nothing); returns how many were encoded. The same views and keys the search index reads."""
    from search.service import passage_views  # why here: service imports this module

    with Session(engine) as session:
        rows = uploads.passage_texts(session=session, document_id=document_id)
    texts = [
        view
        for title, heading, text in rows
        for view in passage_views(title=title, heading=heading, text=text)
    ]
    encoded = 0
    for start in range(0, len(texts), DOCUMENT_BATCH):
        with Session(engine) as session:
            encoded += encode_cached(
                session=session, embedder=embedder, texts=texts[start : start + DOCUMENT_BATCH]
            )[1]
    return encoded
