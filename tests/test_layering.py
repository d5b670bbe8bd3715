"""Imports flow one way: web -> ingest, search -> kb. This test keeps it so."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ALLOWED = {
    "kb": {"kb"},
    "ingest": {"kb", "ingest"},
    "search": {"kb", "search"},
    "web": {"kb", "ingest", "search", "web"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(ALLOWED)


def test_imports_follow_the_layering():
    offences = []
    for package, allowed in ALLOWED.items():
        for path in (REPO / package).rglob("*.py"):
            for name in imported_packages(path) - allowed:
                offences.append(f"{path.relative_to(REPO)} imports {name}")
    assert not offences, offences


def web_modules() -> list[Path]:
    return sorted((REPO / "web").rglob("*.py"))


def test_one_render_for_every_page():
    """Pages are rendered by web/render.py's render(); a second definition is a second way to do it."""
    definitions = [
        str(path.relative_to(REPO))
        for path in web_modules()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "render"
    ]
    assert definitions == ["web/render.py"], definitions
