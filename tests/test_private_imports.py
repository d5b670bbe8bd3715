"""No module of ours uses another module's private names: a helper two modules share gets a public name in its
right home. This test walks kb/, ingest/, search/ and web/ with `ast` and keeps it so."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("kb", "ingest", "search", "web")


def module_name(path: Path) -> str:
    """`ingest/clean/contacts.py` -> `ingest.clean.contacts`; a package's `__init__.py` -> the package."""
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def our_modules() -> set[str]:
    return {module_name(path) for package in PACKAGES for path in (REPO / package).rglob("*.py")}


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The module a `from ... import` names, relative imports resolved against `module`."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def dotted(node: ast.expr) -> list[str] | None:
    """`a.b.c` -> ["a", "b", "c"]; None for anything that is not a plain chain of names."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(names)]


def private_uses(source: str, *, module: str, modules: set[str], is_package: bool = False) -> list[str]:
    """Each use in `source` (the text of `module`) of a private name that another of `modules` defines:
    `from X import _name` and `X._name`, where X is one of ours and not `module` itself."""
    tree = ast.parse(source)
    offences: list[tuple[int, str]] = []
    bound: dict[str, str] = {}  # a local name -> the module of ours it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in {m.split(".")[0] for m in modules}:
                    continue
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    bound[root] = root
        elif isinstance(node, ast.ImportFrom):
            source_module = absolute(node, module, is_package)
            if source_module not in modules:
                continue
            for alias in node.names:
                if is_private(alias.name) and source_module != module:
                    offences.append(
                        (node.lineno, f"{module}:{node.lineno} imports {source_module}.{alias.name}")
                    )
                elif f"{source_module}.{alias.name}" in modules:
                    bound[alias.asname or alias.name] = f"{source_module}.{alias.name}"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not is_private(node.attr):
            continue
        chain = dotted(node.value)
        if not chain or chain[0] not in bound:
            continue
        owner = ".".join([bound[chain[0]], *chain[1:]])
        if owner in modules and owner != module:
            offences.append((node.lineno, f"{module}:{node.lineno} uses {owner}.{node.attr}"))
    return [offence for _, offence in sorted(offences)]


def test_no_module_uses_another_modules_private_names():
    modules = our_modules()
    offences = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            offences += private_uses(
                path.read_text(),
                module=module_name(path),
                modules=modules,
                is_package=path.name == "__init__.py",
            )
    assert not offences, "\n".join(offences)


MODULES = {
    "ingest",
    "ingest.clean",
    "ingest.clean.common",
    "ingest.clean.furniture",
    "ingest.pipeline",
    "kb",
    "kb.store",
    "kb.store.repo",
}


def test_the_check_flags_a_private_import_and_a_private_attribute():
    source = (
        "from ingest.clean.common import _Para, is_table_row\n"
        "from .common import _helper\n"
        "import kb.store.repo\n"
        "from ingest import pipeline as p\n"
        "import ingest.clean.common as common\n"
        "kb.store.repo._session_for(1)\n"
        "p._stage\n"
        "common._private_re.search('x')\n"
    )
    found = private_uses(source, module="ingest.clean.furniture", modules=MODULES)
    assert found == [
        "ingest.clean.furniture:1 imports ingest.clean.common._Para",
        "ingest.clean.furniture:2 imports ingest.clean.common._helper",
        "ingest.clean.furniture:6 uses kb.store.repo._session_for",
        "ingest.clean.furniture:7 uses ingest.pipeline._stage",
        "ingest.clean.furniture:8 uses ingest.clean.common._private_re",
    ]


def test_the_check_allows_public_names_own_names_dunders_and_other_libraries():
    source = (
        "from ingest.clean.common import is_table_row, __doc__\n"
        "from re import _pattern_type\n"
        "import os\n"
        "os._exit\n"
        "from ingest.clean import furniture\n"
        "furniture.is_furniture('x')\n"
        "self._cache = {}\n"
        "from ingest.clean.furniture import _own_helper\n"
    )
    assert private_uses(source, module="ingest.clean.furniture", modules=MODULES) == []


def test_a_package_init_may_not_reexport_a_private_name():
    source = "from .common import _Lines\nfrom .common import Lines\n"
    found = private_uses(source, module="ingest.clean", modules=MODULES, is_package=True)
    assert found == ["ingest.clean:1 imports ingest.clean.common._Lines"]


# ---------------------------------------------------------------- the ingest sub-packages' public APIs

INGEST_PACKAGES = sorted(p.parent.name for p in (REPO / "ingest").glob("*/__init__.py"))


def test_each_ingest_package_declares_its_public_api():
    import importlib

    assert INGEST_PACKAGES == ["clean", "interventions", "outcomes", "parse", "structure"]
    for name in INGEST_PACKAGES:
        package = importlib.import_module(f"ingest.{name}")
        assert package.__all__, name
        assert all(not is_private(n) and hasattr(package, n) for n in package.__all__), name


def test_code_outside_an_ingest_package_imports_only_its_api():
    """`from ingest.clean import clean_text`, never `from ingest.clean.rules import …`, outside ingest/clean/."""
    offences = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            module = module_name(path)
            for node in ast.walk(ast.parse(path.read_text())):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and not node.level
                    else [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else []
                )
                for name in names:
                    parts = name.split(".")
                    inside = module.split(".")[:2] == parts[:2]
                    if len(parts) > 2 and parts[0] == "ingest" and parts[1] in INGEST_PACKAGES and not inside:
                        offences.append(f"{module}:{node.lineno} imports {name}")
    assert not offences, "\n".join(offences)
