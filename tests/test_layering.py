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


# The model and index libraries live behind search/ (search/minilm.py, search/vectors.py); web/ only calls search.
HEAVY_LIBRARIES = {"sentence_transformers", "faiss", "onnxruntime", "torch", "transformers"}
# What a stand-in for a Starlette request would have to offer to pass for one.
REQUEST_ATTRIBUTES = {"query_params", "path_params", "cookies", "url_for", "form", "scope"}


def encoder_calls(tree: ast.AST) -> list[int]:
    """Lines calling an encoder: .encode_query(...), encode_cached(...), or .encode(...) with anything but
    string constants (str.encode("utf-8") is text, not vectors)."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        text_encode = name == "encode" and all(
            isinstance(arg, ast.Constant) and isinstance(arg.value, str) for arg in node.args
        )
        if name in {"encode_query", "encode_cached", "encode"} and not text_encode:
            lines.append(node.lineno)
    return lines


def test_web_never_loads_a_model_or_encodes():
    """Encoding (and its cache) is search's: web/ passes an embedder along but never runs it."""
    offences = []
    for path in web_modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offences += [
                f"{path.relative_to(REPO)} imports {n}" for n in names if n.split(".")[0] in HEAVY_LIBRARIES
            ]
        offences += [f"{path.relative_to(REPO)}:{line} encodes" for line in encoder_calls(tree)]
    assert not offences, offences


def class_attributes(node: ast.ClassDef) -> set[str]:
    """Names a class defines in its body or sets on self in its methods."""
    names = set()
    for item in node.body:
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(item.name)
        elif isinstance(item, ast.Assign):
            names |= {target.id for target in item.targets if isinstance(target, ast.Name)}
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            names.add(item.target.id)
    for item in ast.walk(node):
        if (
            isinstance(item, ast.Attribute)
            and isinstance(item.ctx, ast.Store)
            and isinstance(item.value, ast.Name)
            and item.value.id == "self"
        ):
            names.add(item.attr)
    return names


def test_web_builds_no_fake_request():
    """Whatever needs a query string's filters takes the pairs (search.listing.filters_from_pairs), never an
    object dressed up as a request."""
    offences = []
    for path in web_modules():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ClassDef):
                imitated = class_attributes(node) & REQUEST_ATTRIBUTES
                bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                if imitated or bases & {"Request", "HTTPConnection"}:
                    offences.append(f"{path.relative_to(REPO)}: class {node.name} imitates a request")
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in {
                "QueryParams",
                "ImmutableMultiDict",
            }:
                offences.append(f"{path.relative_to(REPO)}:{node.lineno} builds query parameters by hand")
    assert not offences, offences
