"""After ingest, the decisions about new records that need the embedding model, stored in the records themselves
so that curators, readers, the API and the CSV all see the same thing:

- **model tags**: a record the rules could not give an intervention type gets the closest taxonomy term by
  embedding similarity to the term's label, description and synonyms (provenance "model", with the cosine
  as its confidence), when it is close enough;
- **merges**: a new record that describes an intervention another record of the same site and status already
  covers is folded into it with `kb.curation.fold` (the one merge there is, also behind a curator's merge):
  two automatic records nearly alike in content, or alike in content and named with the same words (a
  programme's overview in one report and its profile in another; a scheme's highlight bullet and its own
  section), or an automatic record inside the lines a curated record cites.
  The folded record is rejected with the note "merged into #N", so a curator finds it under "rejected" and
  can publish it again.

Only pairs with at least one new record are compared, so a decision a curator made is never made again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from sqlmodel import Session, or_, select

from kb.curation import fold
from kb.store.models import Document, Intervention
from kb.taxonomy import Taxonomy
from search.embeddings import Embedder
from search.fusion import shingles
from search.vector_cache import encode_cached

MIN_TAG_CONFIDENCE = 0.5  # a tag below this is a suggestion: neither shown as a facet nor part of the text
ZERO_SHOT_MIN_COSINE = 0.5  # MiniLM cosine between a record and a term description worth proposing as a tag
SAME_INTERVENTION_COSINE = 0.93  # two automatic records about one site this alike describe one intervention
SAME_TEXT_SHARE = 0.6  # …or this share of the shorter one's cited word shingles is in the other
SAME_TITLE_COSINE = 0.5  # two records of one site with the same title words, at least this alike in content
SIMILAR_TITLE_COSINE = 0.8  # …with titles mostly the same words (or one inside the other), this alike
GENERIC_TITLE_WORDS = frozenset(
    "the a an and of for in on to our its their with by at from programme overview profile".split()
)
CURATED_MATCH_COSINE = 0.5  # an automatic record inside a curated record's cited lines, at least this alike
CURATED_MATCH_SHARE = 0.5  # the share of its word trigrams that must lie inside the cited lines
LINES = re.compile(r"\blines?\s+(\d+)(?:\s*[–-]\s*(\d+))?")


@dataclass
class SettleReport:
    tagged: int = 0
    merged: list[tuple[int, int]] = field(default_factory=list)  # (folded record, record it went into)


def record_text(row: Intervention) -> str:
    """What a record is compared by: its title, site, summary and the labels of its confident tags."""
    tags = json.loads(row.tags_json)
    labels = " ".join(t["label"] for t in tags if t.get("confidence", 0) >= MIN_TAG_CONFIDENCE)
    return f"{row.title}. {row.site}. {row.summary} {labels}"


def title_words(title: str) -> set[str]:
    """The words that name a record ("Salford Together: programme overview" -> salford, together)."""
    words = re.findall(r"[a-z0-9]+", title.lower().replace("…", " "))
    return {w for w in words if len(w) > 2 and w not in GENERIC_TITLE_WORDS}


def same_name(a: str, b: str, cosine: float) -> bool:
    """Two titles of one site that name one thing: the same words (at least two), and alike in content; or
    mostly the same words, or one's words inside the other's, and much alike in content."""
    wa, wb = title_words(a), title_words(b)
    if min(len(wa), len(wb)) < 2:
        return False  # "Evaluation", "Workforce": a heading, not a name
    if wa == wb:
        return cosine >= SAME_TITLE_COSINE
    overlap = len(wa & wb) / len(wa | wb)
    return (overlap >= 0.5 or wa <= wb or wb <= wa) and cosine >= SIMILAR_TITLE_COSINE


def cited_lines(location: str) -> list[tuple[int, int]]:
    """The line ranges a curated record's source location names ("lines 120-168; line 200")."""
    return [(int(a), int(b or a)) for a, b in LINES.findall(location)]


def word_trigrams(text: str) -> set[tuple[str, str, str]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}  # type: ignore[misc]


def settle_documents(
    *, session: Session, embedder: Embedder, taxonomy: Taxonomy, document_ids: Iterable[int]
) -> SettleReport:
    """Tag and merge the live records of these (newly ingested) documents; the caller commits."""
    ids = sorted(set(document_ids))
    report = SettleReport()
    if not ids:
        return report
    new = list(
        session.exec(
            select(Intervention)
            .where(Intervention.document_id.in_(ids), Intervention.status != "rejected")  # type: ignore[union-attr]
            .order_by(Intervention.id)
        )
    )
    if not new:
        return report
    sites = {_site(r) for r in new} - {""}
    others = (
        list(
            session.exec(
                select(Intervention)
                .where(
                    Intervention.status != "rejected",
                    Intervention.id.not_in([r.id for r in new]),  # type: ignore[union-attr]
                    or_(Intervention.site_id.in_(sites), Intervention.site.in_(sites)),  # type: ignore[union-attr]
                )
                .order_by(Intervention.id)
            )
        )
        if sites
        else []
    )
    rows = sorted(new + others, key=lambda r: r.id)
    vectors = encode_cached(session=session, embedder=embedder, texts=[record_text(r) for r in rows])[0]
    position = {r.id: n for n, r in enumerate(rows)}
    report.tagged = _tag_by_model(session, new, vectors, position, embedder, taxonomy)
    report.merged = _merge(session, rows, {r.id for r in new}, vectors, position)
    for row in rows:
        session.add(row)
    return report


def _site(row: Intervention) -> str:
    return row.site_id or row.site or ""


def _tag_by_model(
    session: Session,
    rows: list[Intervention],
    vectors: np.ndarray,
    position: dict[int, int],
    embedder: Embedder,
    taxonomy: Taxonomy,
) -> int:
    terms = list(taxonomy.dimensions.get("intervention_type", ()))
    untyped = [
        r
        for r in rows
        if not any(
            t["dimension"] == "intervention_type" and t.get("confidence", 0) >= MIN_TAG_CONFIDENCE
            for t in json.loads(r.tags_json)
        )
    ]
    if not terms or not untyped:
        return 0
    descriptions = [f"{t.label}: {t.description} ({', '.join(t.synonyms[:6])})" for t in terms]
    term_vectors = encode_cached(session=session, embedder=embedder, texts=descriptions)[0]
    tagged = 0
    for row in untyped:
        similarity = term_vectors @ vectors[position[row.id]]
        best = int(np.argmax(similarity))
        if similarity[best] >= ZERO_SHOT_MIN_COSINE:
            term = terms[best]
            tags = json.loads(row.tags_json)
            tags.append(
                {
                    "dimension": "intervention_type",
                    "id": term.id,
                    "label": term.label,
                    "confidence": round(float(similarity[best]), 2),
                    "provenance": "model",
                }
            )
            row.tags_json = json.dumps(tags)
            tagged += 1
    return tagged


def _merge(
    session: Session, rows: list[Intervention], new: set[int], vectors: np.ndarray, position: dict[int, int]
) -> list[tuple[int, int]]:
    """Fold each new record into the record of its site that already covers it (see the module's note)."""

    def cosine(a: Intervention, b: Intervention) -> float:
        return float(vectors[position[a.id]] @ vectors[position[b.id]])

    def same_text(a: Intervention, b: Intervention) -> bool:
        ga = shingles(" ".join(p["text"] for p in json.loads(a.passages_json)))
        gb = shingles(" ".join(p["text"] for p in json.loads(b.passages_json)))
        return bool(ga and gb) and len(ga & gb) / min(len(ga), len(gb)) >= SAME_TEXT_SHARE

    cited = _cited_text(session, [r for r in rows if r.origin == "curated"])
    sources = _document_sources(session, rows)
    merged: list[tuple[int, int]] = []
    groups: dict[tuple[str, str], list[Intervention]] = {}
    for row in rows:
        if _site(row):
            groups.setdefault((_site(row), row.status), []).append(row)
    for members in groups.values():
        curated = [r for r in members if r.origin == "curated"]
        automatic = [r for r in members if r.origin != "curated"]
        for (
            record
        ) in curated:  # the automatic record of the same intervention: inside the cited lines, most alike
            inside = [
                o
                for o in automatic
                if o.status != "rejected"
                and (o.id in new or record.id in new)
                and _cites(cited.get(record.id), o, sources)
            ]
            if inside:
                best = max(inside, key=lambda o: cosine(record, o))
                if cosine(record, best) >= CURATED_MATCH_COSINE:
                    fold(best, record)
                    merged.append((best.id, record.id))  # type: ignore[arg-type]
        for n, record in enumerate(automatic):
            if record.status == "rejected":
                continue
            for other in automatic[n + 1 :]:
                if (
                    other.status != "rejected"
                    and (other.id in new or record.id in new)
                    and (
                        cosine(record, other) >= SAME_INTERVENTION_COSINE
                        or same_text(record, other)
                        or same_name(record.title, other.title, cosine(record, other))
                    )
                ):
                    fold(other, record)
                    merged.append((other.id, record.id))  # type: ignore[arg-type]
    return merged


def _cites(cited: tuple[str, set] | None, row: Intervention, sources: dict[int, str]) -> bool:
    """The curated record's cited lines hold most of the automatic record's text: the same intervention."""
    if cited is None or sources.get(row.document_id or 0) != cited[0]:
        return False
    grams = word_trigrams(" ".join(p["text"] for p in json.loads(row.passages_json)))
    return bool(grams) and len(grams & cited[1]) / len(grams) >= CURATED_MATCH_SHARE


def _document_sources(session: Session, rows: list[Intervention]) -> dict[int, str]:
    ids = {r.document_id for r in rows if r.document_id}
    if not ids:
        return {}
    found = session.exec(select(Document.id, Document.source).where(Document.id.in_(ids)))  # type: ignore[union-attr]
    return dict(found.all())  # type: ignore[arg-type]


def _cited_text(session: Session, curated: list[Intervention]) -> dict[int, tuple[str, set]]:
    """For each curated record whose front matter cites a source document and its lines, that source's
    name and the word trigrams of the cited lines (when that document is ingested too)."""
    by_document = {row.document_id: row.id for row in curated if row.document_id}
    if not by_document:
        return {}
    metadata = session.exec(
        select(Document.id, Document.metadata_json).where(Document.id.in_(list(by_document)))  # type: ignore[union-attr]
    ).all()
    wanted: dict[int, tuple[str, list[tuple[int, int]]]] = {}
    for document_id, metadata_json in metadata:
        source = json.loads(metadata_json or "{}").get("source") or {}
        ranges = cited_lines(str(source.get("location") or ""))
        if source.get("document") and ranges:
            wanted[by_document[document_id]] = (str(source["document"]), ranges)
    names = {name for name, _ in wanted.values()}
    raw = dict(
        session.exec(select(Document.source, Document.raw_text).where(Document.source.in_(names))).all()  # type: ignore[union-attr,arg-type]
    )
    cited: dict[int, tuple[str, set]] = {}
    for record_id, (name, ranges) in wanted.items():
        if name in raw:
            lines = raw[name].split("\n")
            text = " ".join(" ".join(lines[max(a - 1, 0) : b]) for a, b in ranges)
            cited[record_id] = (name, word_trigrams(text))
    return cited
