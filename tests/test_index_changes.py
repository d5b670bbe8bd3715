"""Indexes that change without a rebuild: a change names its passages, every process applies just those, and the
answers equal those of indexes built afresh; a full build runs in the background while the old one answers."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete
from sqlmodel import Session, select

from ingest.pipeline import ingest_file
from kb import curation
from kb.store import repo
from kb.store.models import Document, Passage
from search import service as service_module
from search.lexical import LexicalIndex, LexicalManifest, tokenize
from search.service import SearchService
from tests.conftest import write
from tests.test_catalogue import ISLINGTON, KENT
from tests.test_pipeline import REPORT
from web.flows import build_search_service, ingest_and_index, open_engine

QUERIES = [
    "integrated discharge team",
    "care navigators long-term conditions",
    "multidisciplinary teleconferences emergency admissions",
    "frail older people go home the same day",
    "virtual ward for frailty",
    "Leeds care record",
    "delayed transfers of care",
]
LEEDS = """Leeds care record

The Leeds Care Record lets GPs and hospital staff see one shared record for each patient, so a frail older person is not asked the same questions twice.

A virtual ward for frailty looks after people at home with daily visits from the community team.
"""


def answers(service: SearchService) -> dict[str, list[tuple[int, float]]]:
    return {q: [(h.passage_id, h.score) for h in service.search(q, limit=20).results] for q in QUERIES}


def passage_ids(engine, source: str) -> set[int]:
    with Session(engine) as session:
        statement = select(Passage.id).join(Document).where(Document.source == source)
        return set(session.exec(statement).all())


@pytest.fixture
def live(settings, tmp_path: Path):
    """A service whose indexes were built over two reports, then kept: later changes are applied to it."""
    engine = open_engine(settings)
    service = build_search_service(settings, engine)
    ingest_and_index(
        [
            write(tmp_path / "docs" / "kent.txt", REPORT),
            write(tmp_path / "docs" / "islington.txt", ISLINGTON),
        ],
        settings=settings,
        engine=engine,
        service=service,
    )
    assert service.snapshot is not None and service.snapshot.changed == 0
    return engine, service


def test_changes_are_applied_in_place_and_answer_as_a_full_rebuild(settings, tmp_path: Path, live):
    engine, service = live
    main_vectors, main_postings = service.vectors.index, service.lexical.main
    # another process adds a report, replaces one (new passages, old ones gone), and publishes a draft
    ingest_file(write(tmp_path / "docs" / "leeds.txt", LEEDS), engine=engine)
    ingest_file(write(tmp_path / "docs" / "kent.txt", KENT), engine=engine)
    draft = ingest_file(write(tmp_path / "docs" / "kent-draft.txt", REPORT), engine=engine, status="draft")
    with Session(engine) as session:
        curation.publish_document(
            session=session, document_id=draft.document_id, user_id=None, interventions=False
        )
        session.commit()
    incremental = answers(service)

    assert service.vectors.index is main_vectors and service.lexical.main is main_postings  # no rebuild
    assert service.snapshot.changed > 0
    assert any(hits and hits[0][0] in passage_ids(engine, "leeds.txt") for hits in incremental.values())
    fresh = build_search_service(settings, engine)
    assert fresh.refresh().vectors == "built"
    assert answers(fresh) == incremental  # same passages, same order, same scores

    service.compact()
    assert service.snapshot.changed == 0 and service.vectors.index is not main_vectors
    assert answers(service) == incremental


def test_removed_passages_never_reappear(settings, tmp_path: Path, live):
    engine, service = live
    old = passage_ids(engine, "kent.txt")
    before = {h.passage_id for q in QUERIES for h in service.search(q, limit=50).results}
    assert before & old
    ingest_file(
        write(tmp_path / "docs" / "kent.txt", KENT), engine=engine
    )  # replaced: every old passage gone
    with Session(engine) as session:  # and a document's passages deleted outright, naming them
        gone = passage_ids(engine, "islington.txt")
        session.exec(delete(Passage).where(Passage.id.in_(gone)))
        repo.bump_generation(session=session, passage_ids=gone)
        session.commit()
    for attempt in ("applied", "compacted", "rebuilt"):
        found = {h.passage_id for q in QUERIES for h in service.search(q, limit=50).results}
        found |= {h.passage_id for h in service.search("Islington", limit=50).results}
        assert found and not found & (old | gone), attempt
        assert service.source_of.get(next(iter(gone))) == ""
        if attempt == "applied":
            service.compact()
        elif attempt == "compacted":
            assert service.rebuild_in_background() and service.wait_for_background(60)


def test_a_change_that_names_no_passages_is_still_found(settings, tmp_path: Path, live):
    """A writer that only bumps the generation (as an older code path might) makes every process compare."""
    engine, service = live
    draft = ingest_file(write(tmp_path / "docs" / "leeds.txt", LEEDS), engine=engine, status="draft")
    assert all(h.source != "leeds.txt" for h in service.search("Leeds care record").results)
    with Session(engine) as session:
        document = session.get(Document, draft.document_id)
        document.status = "published"
        session.add(document)
        repo.bump_generation(session=session)  # says nothing of which passages
        session.commit()
    assert service.search("Leeds care record").results[0].source == "leeds.txt"


def test_the_change_log_is_written_with_the_change(settings, live):
    engine, _ = live
    with Session(engine) as session:
        start = repo.current_generation(session=session)
        repo.bump_generation(session=session, passage_ids=[7, 8])
        session.rollback()  # a change that never happened leaves no trace
        assert repo.passage_changes_since(session=session, generation=start) == (start, frozenset(), False)
        repo.bump_generation(session=session, passage_ids=[7, 8])
        repo.bump_generation(session=session, passage_ids=[])  # nothing searchable changed
        session.commit()
        assert repo.passage_changes_since(session=session, generation=start) == (start + 2, {7, 8}, False)
        repo.bump_generation(session=session)
        session.commit()
        assert repo.passage_changes_since(session=session, generation=start).unknown
        assert not repo.passage_changes_since(session=session, generation=start + 3).unknown


class SlowToBuild(SearchService):
    """A search service whose full builds wait until the test lets them finish (deliberately slowed)."""

    def __init__(self, **parts):  # noqa: ANN003
        super().__init__(**parts)
        self.building, self.go_on = threading.Event(), threading.Event()

    def _built(self, session):  # noqa: ANN001, ANN202
        if self.snapshot is not None:  # the first load is not slowed: there is nothing to answer from yet
            self.building.set()
            assert self.go_on.wait(60)
        return super()._built(session)


def test_a_search_during_a_slow_rebuild_answers_at_once_from_the_old_index(settings, tmp_path: Path, live):
    engine, built = live
    service = SlowToBuild(
        engine=engine, embedder=built.embedder, vocabulary=built.vocabulary, index_dir=built.index_dir
    )
    service.refresh()
    before, old = answers(service), service.snapshot
    assert service.rebuild_in_background()
    assert service.building.wait(10)
    started = time.perf_counter()
    assert answers(service) == before
    assert time.perf_counter() - started < 5  # the rebuild is held for up to 60 s
    # a change while the rebuild runs is still applied in place at once
    ingest_file(write(tmp_path / "docs" / "leeds.txt", LEEDS), engine=engine)
    assert service.search("Leeds care record").results[0].source == "leeds.txt"
    assert not service.rebuild_in_background()  # one at a time
    service.go_on.set()
    assert service.wait_for_background(60)
    assert (
        service.snapshot is not old and service.snapshot.changed == 0
    )  # swapped in, the change replayed on it
    assert service.search("Leeds care record").results[0].source == "leeds.txt"


def test_a_large_change_is_built_in_the_background_while_the_old_index_answers(
    settings, tmp_path: Path, live, monkeypatch
):
    engine, built = live
    service = SlowToBuild(
        engine=engine, embedder=built.embedder, vocabulary=built.vocabulary, index_dir=built.index_dir
    )
    service.refresh()
    monkeypatch.setattr(service_module, "DELTA_AT_LEAST", 0)
    monkeypatch.setattr(service_module, "DELTA_SHARE", 0.0)
    ingest_file(write(tmp_path / "docs" / "leeds.txt", LEEDS), engine=engine)  # too large to apply in place
    # the old snapshot answers, the build is behind it
    assert all(h.source != "leeds.txt" for h in service.search("Leeds care record").results)
    assert service.building.wait(10)
    service.go_on.set()
    assert service.wait_for_background(60)
    assert service.search("Leeds care record").results[0].source == "leeds.txt"
    assert service.snapshot.changed == 0


def lexical_corpus(count: int = 300) -> tuple[list[str], np.ndarray]:
    import random

    rng = random.Random(0)
    words = (
        "care home discharge team hospital frailty integrated nurse community falls a&e virtual ward".split()
    )
    return [" ".join(rng.choices(words, k=rng.randint(1, 30))) for _ in range(count)], np.arange(1, count + 1)


def test_bm25_scores_equal_bm25s_the_reference():
    """Scored at query time from postings, BM25 gives exactly what bm25s precomputes (Lucene variant, k1 1.2, b 0.75)."""
    import bm25s

    documents, ids = lexical_corpus()
    ours = LexicalIndex.build(documents, ids, LexicalManifest(count=len(ids), corpus_hash="h"))
    reference = bm25s.BM25(k1=1.2, b=0.75)
    reference.index([tokenize(d) or ["∅"] for d in documents], show_progress=False)
    weighted = [("discharge team", 1.0), ("virtual ward", 0.6), ("care", 0.3)]
    expected = np.zeros(len(ids), dtype=np.float32)
    for phrase, weight in weighted:
        expected += np.float32(weight) * reference.get_scores(tokenize(phrase)).astype(np.float32)
    assert np.allclose(ours.scores(weighted), expected, rtol=1e-6, atol=1e-6)


def test_lexical_changes_score_as_an_index_built_afresh():
    documents, ids = lexical_corpus()
    manifest = LexicalManifest(count=len(ids), corpus_hash="h")
    built = LexicalIndex.build(documents, ids, manifest)
    changed = built.with_changes(removed=[5, 7], added={1000: "falls falls nurse", 6: "virtual ward virtual"})
    live = sorted(
        [(i, d) for i, d in zip(ids.tolist(), documents, strict=True) if i not in (5, 6, 7)]
        + [(6, "virtual ward virtual"), (1000, "falls falls nurse")]
    )
    afresh = LexicalIndex.build([d for _, d in live], np.array([i for i, _ in live]), manifest)
    weighted = [("discharge team", 1.0), ("virtual ward", 0.6), ("falls", 0.3)]

    def by_id(index: LexicalIndex) -> dict[int, float]:
        return {
            k: v for k, v in zip(index.ids.tolist(), index.scores(weighted).tolist(), strict=True) if v > 0
        }

    assert by_id(changed) == by_id(afresh)  # exactly: the same statistics, the same operations
    assert by_id(changed.compacted(manifest)) == by_id(afresh)
    assert 5 not in by_id(changed) and built.scores(weighted)[4] > 0  # the old index is untouched
    assert changed.matching_phrases(weighted, [6, 1000]) == afresh.matching_phrases(weighted, [6, 1000])


def test_an_old_change_log_is_pruned_and_a_reader_that_far_behind_compares(settings, live, monkeypatch):
    engine, _ = live
    monkeypatch.setattr(repo, "CHANGES_KEPT", 2)
    with Session(engine) as session:
        start = repo.current_generation(session=session)
        for _ in range(4):
            repo.bump_generation(session=session, passage_ids=[1])
            session.commit()
        assert repo.passage_changes_since(session=session, generation=start).unknown
        assert repo.passage_changes_since(session=session, generation=start + 3) == (start + 4, {1}, False)
