"""The store on either engine: SQLite by default, PostgreSQL when the suite is pointed at one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from kb.store import repo
from tests.conftest import TEST_POSTGRES_URL, write
from tests.test_pipeline import REPORT
from web.flows import ingest_and_index, open_engine


def test_the_suite_runs_on_the_engine_it_was_given(settings):
    engine = open_engine(settings)
    expected = "postgresql" if TEST_POSTGRES_URL else "sqlite"
    assert engine.dialect.name == expected


def test_default_database_is_sqlite_in_the_data_dir(tmp_path: Path):
    from kb.settings import Settings

    settings = Settings(data_dir=tmp_path / "data")
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'data' / 'kb.sqlite3').resolve()}"


@pytest.mark.skipif(not TEST_POSTGRES_URL, reason="set KB_TEST_POSTGRES_URL to run against PostgreSQL")
def test_ingest_and_search_on_postgresql(settings, tmp_path: Path):
    engine = open_engine(settings)
    from web.flows import build_search_service

    service = build_search_service(settings, engine)
    summary = ingest_and_index(
        [write(tmp_path / "kent.txt", REPORT)], settings=settings, engine=engine, service=service
    )
    assert summary.indexed == 1
    with Session(engine) as session:
        assert repo.count_passages(session=session) >= 1
    assert service.search("discharge team").results[0].source == "kent.txt"
