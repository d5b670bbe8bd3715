"""Shared fixtures: a temporary data dir per test, the hashing embedder by default, the real model where marked."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kb.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"


def make_settings(tmp_path: Path, **overrides) -> Settings:
    values = {"data_dir": tmp_path / "data", "embedder": "hashing", "load_default_corpus": False} | overrides
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def seeds() -> Path:
    if not SEEDS.is_dir():
        pytest.skip("the seed documents (../shared/seeds) are not beside this checkout")
    return SEEDS


@pytest.fixture
def client(settings: Settings):
    from web.app import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path
