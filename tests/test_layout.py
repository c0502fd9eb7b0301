"""The package's shape: stages import one way, and each engine's library is
imported in that engine's package alone."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "search"
ENGINE_LIBRARIES = {"whoosh": "search.engines.whoosh", "xapian": "search.engines.xapian"}


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports (``from a import b`` is ``a.b`` when that is a module)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (
                f"{node.module}.{alias.name}"
                for alias in node.names
                if f"{node.module}.{alias.name}" in MODULES
            )


def project_imports(name: str) -> set[str]:
    return {
        imported
        for imported in imports(MODULES[name])
        if imported in MODULES and not (name + ".").startswith(imported + ".")  # its own package
    }


def stage(name: str) -> str:
    """The top-level module or folder a module belongs to: ``search.http``, ``search.model``."""
    return ".".join(name.split(".")[:2])


def test_the_modules_import_each_other_without_a_cycle() -> None:
    graph = {name: project_imports(name) for name in MODULES}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for imported in graph[name]:
            visit(imported, (*path, name))
        done.add(name)

    for name in graph:
        visit(name, ())


def test_stages_import_each_other_one_way() -> None:
    edges = {
        (stage(name), stage(imported))
        for name in MODULES
        for imported in project_imports(name)
        if stage(name) != stage(imported)
    }
    both_ways = sorted((a, b) for a, b in edges if (b, a) in edges and a < b)
    assert both_ways == []


def test_an_engine_library_is_imported_in_its_engine_package_alone() -> None:
    for name, path in MODULES.items():
        for imported in imports(path):
            library = imported.split(".")[0]
            if library in ENGINE_LIBRARIES:
                assert name.startswith(ENGINE_LIBRARIES[library]), f"{name} imports {imported}"
