"""The intervention catalogue: filters on every taxonomy dimension, facet counts, full-text and semantic query,
duplicate merging, curated precedence and comparable interventions, over records held in memory.

The catalogue is small next to the passages (hundreds to a few thousand records), so it is loaded whole
from the database and rebuilt when the database generation changes.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from kb import site_profiles
from kb.curation import MERGED_NOTE
from kb.errors import InvalidInput, NotFound
from kb.store import repo
from kb.store.models import Document, Intervention
from kb.taxonomy import Taxonomy
from search.areas import AREA_LABELS, area_terms, similarity
from search.embeddings import Embedder
from search.lexical import LexicalIndex, LexicalManifest
from search.settle import MIN_TAG_CONFIDENCE, record_text
from search.vector_cache import encode_cached

DIMENSIONS = ("care_model", "intervention_type", "population", "setting", "enabler", "outcome_measure")
MAX_LIMIT = 500


@dataclass
class Record:
    row: Intervention
    document: dict | None
    tags: list[dict]
    outcomes: list[dict]
    passages: list[dict]
    merged: list[str] = field(default_factory=list)  # keys of the records folded into this one
    area: set[str] = field(
        default_factory=set
    )  # area terms its site's characteristics satisfy (search.areas)

    def values(self, dimension: str) -> set[str]:
        if dimension == "evidence_level":
            return {self.row.evidence_level}
        if dimension == "area":
            return self.area
        return {
            t["id"]
            for t in self.tags
            if t["dimension"] == dimension and t["confidence"] >= MIN_TAG_CONFIDENCE
        }

    def text(self) -> str:
        return record_text(self.row)  # the tags are the stored ones: the catalogue adds none at read time


@dataclass
class Filters:
    values: dict[str, list[str]] = field(
        default_factory=dict
    )  # dimension (or evidence_level) -> term ids, all required
    site: str | None = None
    programme: str | None = None
    has_results: bool | None = None
    origin: str | None = None

    def active(self) -> dict:
        out: dict = {k: v for k, v in self.values.items() if v}
        for name in ("site", "programme", "has_results", "origin"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


class CatalogueService:
    def __init__(self, *, engine: Engine, embedder: Embedder, taxonomy: Taxonomy):
        self.engine, self.embedder, self.taxonomy = engine, embedder, taxonomy
        self._lock = threading.Lock()
        self._generation = -1
        self.records: dict[int, Record] = {}
        self.order: list[int] = []
        self.vectors = np.zeros((0, embedder.dimension), dtype=np.float32)
        self.position: dict[int, int] = {}
        self.lexical: LexicalIndex | None = None
        self.merged_into: dict[
            int, tuple[int, int | None]
        ] = {}  # folded record -> (its record, its document)
        self.areas: dict[str, dict] = {}  # site id -> its profile (kb.site_profiles.profiles)

    # --- loading ----------------------------------------------------------------------

    def ensure_fresh(self) -> None:
        with Session(self.engine) as session:
            generation = repo.current_generation(session=session)
        if generation != self._generation:
            self.refresh()

    def refresh(self) -> None:
        with self._lock, Session(self.engine) as session:
            generation = repo.current_generation(session=session)
            rows = list(
                session.exec(
                    select(Intervention).where(Intervention.status == "published").order_by(Intervention.id)
                )
            )
            documents = {
                d.id: {"id": d.id, "title": d.title, "source": d.source}
                for d in session.exec(select(Document.id, Document.title, Document.source))  # type: ignore[call-overload]
            }
            areas = site_profiles.profiles(session=session)
            records = {
                row.id: Record(
                    row,
                    documents.get(row.document_id),
                    json.loads(row.tags_json),
                    json.loads(row.outcomes_json),
                    json.loads(row.passages_json),
                    merged=json.loads(row.merged_keys_json),
                )
                for row in rows
            }
            for record in records.values():
                record.area = area_terms(areas.get(record.row.site_id or ""))
            self.areas = areas
            ids = list(records)
            texts = [records[i].text() for i in ids]
            vectors = self._encode(session, texts)
            self.records, self.vectors = records, vectors
            self.position = {key: n for n, key in enumerate(ids)}
            self.merged_into = self._merged_into(session, records)
            self.order = ids
            visible = np.array(self.order, dtype=np.int64)
            manifest = LexicalManifest(count=len(visible), corpus_hash=str(generation))
            self.lexical = LexicalIndex.build([records[i].text() for i in self.order], visible, manifest)
            self._generation = generation

    def _encode(self, session: Session, texts: list[str]) -> np.ndarray:
        return encode_cached(session=session, embedder=self.embedder, texts=texts)[0]

    @staticmethod
    def _merged_into(session: Session, records: dict[int, Record]) -> dict[int, tuple[int, int | None]]:
        """Records folded into a published one (search/settle.py, or a curator's merge): their address
        shows the record they went into, and so does their document's list."""
        folded = session.exec(
            select(Intervention.id, Intervention.review_note, Intervention.document_id).where(
                Intervention.status == "rejected"
            )
        )
        aliases = {}
        for row_id, note, document_id in folded:
            found = MERGED_NOTE.match(note or "")
            if found and int(found.group(1)) in records:
                aliases[row_id] = (int(found.group(1)), document_id)
        return aliases

    # --- queries ----------------------------------------------------------------------

    def query(
        self, *, q: str | None = None, filters: Filters | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[Record], int, dict[str, list[dict]]]:
        """(page of records, total matching, facet counts for every dimension over the matching records)."""
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.")
        if offset < 0:
            raise InvalidInput("offset must be 0 or more.")
        self.ensure_fresh()
        filters = filters or Filters()
        self._check(filters)
        matching = [key for key in self.order if self._passes(self.records[key], filters)]
        if q and q.strip():
            ranked = self._rank(q.strip(), set(matching))
            matching = [key for key in ranked]
        facets = self.facet_counts([self.records[key] for key in matching])
        page = [self.records[key] for key in matching[offset : offset + limit]]
        return page, len(matching), facets

    def matching(self, *, q: str | None = None, filters: Filters | None = None) -> list[tuple[Record, float]]:
        """Every record query() would list, in its order, with its relevance score (1.0 each when there is no
        query). Raises InvalidInput for an unknown filter value."""
        self.ensure_fresh()
        filters = filters or Filters()
        self._check(filters)
        keys = [key for key in self.order if self._passes(self.records[key], filters)]
        if not (q and q.strip()):
            return [(self.records[key], 1.0) for key in keys]
        return [(self.records[key], score) for score, key in self.scored(q.strip(), set(keys))]

    def _check(self, filters: Filters) -> None:
        for dimension, values in filters.values.items():
            if dimension == "evidence_level":
                dimension_terms = {t.id for t in self.taxonomy.dimensions.get("evidence_level", ())}
            elif dimension == "area":
                dimension_terms = set(AREA_LABELS)
            elif dimension in DIMENSIONS:
                dimension_terms = {t.id for t in self.taxonomy.dimensions.get(dimension, ())}
            else:
                raise InvalidInput(f"Unknown filter {dimension!r}.")
            unknown = [v for v in values if v not in dimension_terms]
            if unknown:
                where = f"one of {', '.join(AREA_LABELS)}" if dimension == "area" else "See /api/taxonomy"
                raise InvalidInput(f"Unknown {dimension} value(s): {', '.join(unknown)}. {where}.")

    def _passes(self, record: Record, filters: Filters) -> bool:
        for dimension, wanted in filters.values.items():
            if wanted and not set(wanted) <= record.values(dimension):
                return False
        row = record.row
        if filters.site and filters.site.lower() not in {(row.site_id or "").lower(), row.site.lower()}:
            return False
        if filters.programme and filters.programme.lower() != row.programme.lower():
            return False
        if filters.has_results is not None and filters.has_results != any(
            o["kind"] == "result" for o in record.outcomes
        ):
            return False
        return not (filters.origin and filters.origin != row.origin)

    def _rank(self, q: str, allowed: set[int]) -> list[int]:
        return [key for _, key in self.scored(q, allowed)]

    def scored(self, q: str, allowed: set[int]) -> list[tuple[float, int]]:
        """(relevance score, record id) for the records in `allowed` that match `q`, best first: half BM25
        over the record text (scaled by the best), half cosine; a record needs a word in common or a cosine
        of 0.35."""
        lexical: dict[int, float] = {}
        if self.lexical is not None and len(self.lexical):
            scores = self.lexical.scores([(q, 1.0)])
            top = scores.max() if len(scores) else 0.0
            if top > 0:
                lexical = {
                    int(k): float(s / top) for k, s in zip(self.lexical.ids, scores, strict=True) if s > 0
                }
        vector = self.embedder.encode_query(q)
        cosine = self.vectors @ vector if len(self.vectors) else np.zeros(0)
        scored = []
        for key in allowed:
            dense = float(cosine[self.position[key]])
            score = 0.5 * lexical.get(key, 0.0) + 0.5 * max(dense - 0.2, 0.0) / 0.8
            if key in lexical or dense >= 0.35:
                scored.append((score, key))
        return sorted(scored, key=lambda item: (-item[0], item[1]))

    def facet_counts(self, records: list[Record]) -> dict[str, list[dict]]:
        """For every dimension (and evidence_level, area): each value these records hold, with its label and
        how many hold it, most first."""
        facets = {}
        for dimension in (*DIMENSIONS, "evidence_level", "area"):
            counts: Counter[str] = Counter()
            for record in records:
                counts.update(record.values(dimension))
            labels = (
                AREA_LABELS
                if dimension == "area"
                else {t.id: t.label for t in self.taxonomy.dimensions.get(dimension, ())}
            )
            facets[dimension] = [
                {"id": value, "label": labels.get(value, value), "count": count}
                for value, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            ]
        return facets

    def get(self, intervention_id: int) -> Record:
        self.ensure_fresh()
        if intervention_id in self.merged_into:
            intervention_id = self.merged_into[intervention_id][0]
        record = self.records.get(intervention_id)
        if record is None:
            raise NotFound(f"No intervention with id {intervention_id}.")
        return record

    def for_document(self, document_id: int) -> list[Record]:
        """The interventions found in a document (a merged one once, as the record it was merged into)."""
        self.ensure_fresh()
        found: dict[int, Record] = {}
        for key in self.records:
            if self.records[key].row.document_id == document_id:
                found.setdefault(key, self.records[key])
        for target, folded_from in self.merged_into.values():
            if folded_from == document_id:
                found.setdefault(target, self.records[target])
        return list(found.values())

    def comparable(self, intervention_id: int, *, limit: int = 5) -> list[tuple[Record, float, str]]:
        """The most similar other interventions, by content, shared tags and context, each with the reason."""
        record = self.get(intervention_id)
        mine = {d: record.values(d) for d in DIMENSIONS}
        vector = self.vectors[self.position[record.row.id]]  # type: ignore[index]
        scored = []
        for key in self.order:
            other = self.records[key]
            if key == record.row.id or (other.row.site_id and other.row.site_id == record.row.site_id):
                continue  # comparable means elsewhere
            content = float(self.vectors[self.position[key]] @ vector)
            shared = {d: mine[d] & other.values(d) for d in DIMENSIONS}
            overlap = sum(len(v) for d, v in shared.items() if d != "care_model")
            score = content + 0.05 * min(overlap, 4)
            scored.append((score, key, shared, content))
        scored.sort(key=lambda item: (-item[0], item[1]))
        out = []
        for score, key, shared, content in scored[:limit]:
            reason = self._reason(shared, content)
            area = self.area_reason(record.row.site_id, self.records[key].row.site_id)
            out.append((self.records[key], round(score, 3), f"{reason}; {area}" if area else reason))
        return out

    def area_reason(self, site_id: str | None, other_site_id: str | None) -> str:
        """'similar area (…)' when both sites' characteristics are known and alike, else ''."""
        mine, theirs = self.areas.get(site_id or ""), self.areas.get(other_site_id or "")
        if not (mine and theirs):
            return ""
        _, reasons = similarity(mine, theirs)
        return f"similar area ({'; '.join(reasons)})" if reasons else ""

    def _reason(self, shared: dict[str, set[str]], content: float) -> str:
        parts = []
        for dimension, label in (
            ("intervention_type", "same kind of intervention"),
            ("population", "same population"),
            ("setting", "same setting"),
            ("outcome_measure", "measures the same outcome"),
        ):
            if shared[dimension]:
                names = ", ".join(sorted(self.taxonomy.term(dimension, v).label for v in shared[dimension]))
                parts.append(f"{label} ({names})")
        if content >= 0.6:
            parts.insert(0, "closely similar description")
        return "; ".join(parts) or "similar description"


SORT_KEYS = ("title", "site", "evidence_level", "results", "added")


def sort_records(records: list[Record], sort: str | None) -> list[Record]:
    """The records in the order `sort` names ("title", "site", "evidence_level", "results" or "added", "-" for
    descending); ties keep their given order. No sort gives the records back as they came (relevance or id).
    Raises InvalidInput for an unknown sort key."""
    if not sort:
        return list(records)
    descending = sort.startswith("-")
    name = sort.removeprefix("-")
    keys = {
        "title": lambda r: r.row.title.casefold(),
        "site": lambda r: r.row.site.casefold(),
        "evidence_level": lambda r: int(r.row.evidence_level) if r.row.evidence_level.isdigit() else -1,
        "results": lambda r: sum(1 for o in r.outcomes if o["kind"] == "result"),
        "added": lambda r: (r.row.created_at.isoformat() if r.row.created_at else "", r.row.id or 0),
    }
    if name not in keys:
        raise InvalidInput(f"sort must be one of {', '.join(SORT_KEYS)} (with - for descending).")
    # sorted() is stable with reverse=True too, so equal records keep their given order either way
    return sorted(records, key=keys[name], reverse=descending)
