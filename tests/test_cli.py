"""The kb command, run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.settings import get_settings
from tests.conftest import write
from tests.test_pipeline import REPORT
from web.cli import main


@pytest.fixture
def runner(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KB_EMBEDDER", "hashing")
    monkeypatch.setenv("KB_LOAD_DEFAULT_CORPUS", "false")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_ingest_search_stats_reindex(runner, tmp_path: Path):
    folder = tmp_path / "docs"
    write(folder / "kent.txt", REPORT)
    write(folder / "empty.txt", "")
    result = runner.invoke(main, ["ingest", "--quiet", str(folder)])
    assert result.exit_code == 1, result.output  # one file failed, so the command says so
    assert "2 files: 1 indexed, 0 unchanged, 1 failed" in result.output
    assert "empty.txt" in result.output and "empty" in result.output
    again = runner.invoke(main, ["ingest", "--quiet", str(folder / "kent.txt")])
    assert again.exit_code == 0 and "1 unchanged" in again.output
    found = runner.invoke(main, ["search", "discharge team"])
    assert found.exit_code == 0 and "kent.txt" in found.output
    stats = runner.invoke(main, ["stats"])
    assert "documents: 1" in stats.output
    rebuilt = runner.invoke(main, ["reindex"])
    assert rebuilt.exit_code == 0 and "0 newly encoded" in rebuilt.output


def test_empty_query_is_a_usage_error(runner):
    result = runner.invoke(main, ["search", "   "])
    assert result.exit_code == 2 and "empty" in result.output
