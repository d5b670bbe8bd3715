"""Docs that cannot drift: every setting is in the README, and the README's commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from kb.settings import Settings

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_every_setting_is_documented():
    for name in Settings.model_fields:
        assert f"`KB_{name.upper()}`" in README, f"KB_{name.upper()} is not in the README"


def test_readme_commands_exist():
    makefile = (REPO / "Makefile").read_text()
    for target in ("run", "test"):
        assert f"make {target}" in README and re.search(rf"^{target}:", makefile, re.M)
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci
    from web.cli import main

    for command in ("ingest", "serve", "search", "reindex", "stats"):
        assert f"kb {command}" in README and command in main.commands
