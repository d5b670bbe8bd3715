"""Crash safety: `kb ingest` of the seeds SIGKILLed again and again at random points leaves a sound database
with only whole documents each time, and a final complete ingest then answers exactly as an uninterrupted one.

The kill points are drawn from the timeline of an uninterrupted ingest (measured first): one in each of
KILLS equal slices of its duration, so they fall in the start-up, in every part of the per-file work and in
the index build at the end. Each killed run resumes the data dir the previous one left, so a kill point
is reached by waiting for this run's start-up and then the reference's time from the progress already
made. A run that ends before its kill point has stored everything; the runs after it are killed at a random
point of the shorter work left (start-up, checking the files unchanged, loading the index). Set KB_CRASH_SEED
to replay a run; the seed is printed.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from kb.settings import Settings
from kb.store.models import Document, IngestRun, Intervention, Passage
from tests.conftest import REPO, TEST_POSTGRES_URL, make_settings
from web.flows import build_search_service, open_engine

KILLS = 5
MAX_RUNS = 9  # a run may finish before its kill point; the test needs KILLS runs actually killed
QUERIES = ("social prescribing schemes", "PACS vanguards", "care homes", "reducing emergency admissions")


def ingest_process(settings: Settings, seeds: Path) -> subprocess.Popen:
    environment = os.environ | {
        "KB_DATA_DIR": str(settings.data_dir),
        "KB_EMBEDDER": "hashing",
        "KB_LOAD_DEFAULT_CORPUS": "false",
    }
    if settings.database_url:
        environment["KB_DATABASE_URL"] = settings.database_url
    return subprocess.Popen(
        [sys.executable, "-m", "web.cli", "ingest", "--quiet", str(seeds)],
        env=environment,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def progress(engine) -> int | None:  # noqa: ANN001
    """Documents stored, or None before the ingest run has begun (the process is still starting)."""
    with Session(engine) as session:
        if not session.exec(select(func.count()).select_from(IngestRun)).one():
            return None
        return int(session.exec(select(func.count()).select_from(Document)).one())


def reference_timeline(settings: Settings, seeds: Path) -> tuple[dict[int, float], float]:
    """Run an uninterrupted ingest, noting when each count of documents was first stored (0: when the run
    began storing) and when it ended."""
    engine = open_engine(settings)
    started = time.monotonic()
    process = ingest_process(settings, seeds)
    reached: dict[int, float] = {}
    while process.poll() is None:
        try:
            if (stored := progress(engine)) is not None:
                reached.setdefault(stored, time.monotonic() - started)
        except Exception:  # noqa: BLE001  (a read racing the first migration; the next poll sees it)
            pass
        time.sleep(0.05)
    ended = time.monotonic() - started
    output = process.stdout.read() if process.stdout else ""
    assert process.returncode == 0, output
    engine.dispose()
    return reached, ended


def check_sound(settings: Settings) -> int:
    """Assert the database is sound and holds only whole documents; returns how many it holds."""
    if not TEST_POSTGRES_URL:  # PostgreSQL has no whole-database check; the queries below hold on both
        if not (settings.data_dir / "kb.sqlite3").exists():
            return 0  # killed before it made its data dir: nothing stored, nothing to be unsound
        with sqlite3.connect(settings.data_dir / "kb.sqlite3") as connection:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    engine = open_engine(settings)
    with Session(engine) as session:
        documents = list(session.exec(select(Document)))
        stored = dict(
            session.exec(select(Passage.document_id, func.count()).group_by(Passage.document_id)).all()
        )
        for document in documents:
            assert document.passage_count > 0 and stored.get(document.id) == document.passage_count, (
                f"{document.source} is half-ingested: {stored.get(document.id)} of {document.passage_count}"
            )
        assert set(stored) <= {d.id for d in documents}
        assert set(session.exec(select(Intervention.document_id))) <= {d.id for d in documents}
    engine.dispose()
    return len(documents)


def answers(settings: Settings) -> dict[str, list[tuple[str, int, int, float]]]:
    """Each query's hits as (document identity, char start, char end, score), comparable across instances."""
    engine = open_engine(settings)
    service = build_search_service(settings, engine)
    with Session(engine) as session:
        paths = dict(session.exec(select(Document.id, Document.path)).all())
    found = {
        query: [
            (paths[h.document.id], h.char_start, h.char_end, h.score) for h in service.search(query).results
        ]
        for query in QUERIES
    }
    engine.dispose()
    return found


def test_sigkilled_ingests_leave_whole_documents_and_a_reingest_answers_the_same(seeds, tmp_path: Path):
    seed = int(os.environ.get("KB_CRASH_SEED", random.SystemRandom().randrange(1 << 32)))
    print(f"crash-safety seed: {seed} (replay with KB_CRASH_SEED={seed})")
    rng = random.Random(seed)
    files = sorted(p for p in seeds.iterdir() if p.is_file())

    reference = make_settings(tmp_path / "reference")
    reached, duration = reference_timeline(reference, seeds)
    assert reached.get(len(files)) is not None, reached
    startup = reached[min(reached)]  # when the run began storing: imports and start-up are done
    expected = answers(reference)
    assert sum(bool(hits) for hits in expected.values()) >= 3, expected

    crashed = make_settings(tmp_path / "crashed")
    kills: list[tuple[float, int]] = []  # (delay, documents stored after the kill)
    finished_in: float | None = None  # how long a run took that ended before its kill point
    for run in range(MAX_RUNS):
        if len(kills) == KILLS:
            break
        slot = min(len(kills), KILLS - 1)
        target = rng.uniform(slot * duration / KILLS, (slot + 1) * duration / KILLS)
        done = check_sound(crashed) if run else 0
        resumed_at = max(t for n, t in reached.items() if n <= done)  # where the reference had got as far
        delay = startup + (target - resumed_at) if target > resumed_at else rng.uniform(0.1, startup)
        if finished_in is not None:  # every document is in: a run is start-up and loading the index
            delay = rng.uniform(0.1, 0.9) * finished_in
        started = time.monotonic()
        process = ingest_process(crashed, seeds)
        deadline = time.monotonic() + delay
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(30)
            kills.append((round(delay, 2), check_sound(crashed)))
        else:
            process.wait(30)
            finished_in = time.monotonic() - started
            assert check_sound(crashed) == len(files)
    print(
        f"reference ingest {duration:.1f} s, documents stored at {reached}; kills (delay, documents): {kills}"
    )
    assert len(kills) == KILLS, f"only {len(kills)} runs were still going at their kill point: {kills}"

    final = ingest_process(crashed, seeds)
    output, _ = final.communicate(timeout=300)
    assert final.returncode == 0, output
    assert f"{len(files)} files:" in output and "0 failed" in output, output
    assert check_sound(crashed) == len(files)
    assert answers(crashed) == expected
