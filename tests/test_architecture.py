"""The shape of the code, checked on its import graph (grimp and import-linter read the source, import nothing).

- No import circles: a module never imports itself through others, so every module can be read,
  loaded and tested on top of what it imports. Imports inside functions count too, and so does
  what Python runs first: importing ``a.b.c`` from outside ``a.b`` runs ``a/__init__.py`` and
  ``a/b/__init__.py`` (which may import more) before ``c``.
- The contracts in ``[tool.importlinter]`` of pyproject.toml hold (services never reach Flask or
  the web layer, not even through another module); ``lint-imports`` runs the same check by hand.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("roundtable", "roundtable_plugins")


def with_package_initialization(graph: grimp.ImportGraph) -> grimp.ImportGraph:
    """Add, for each import of ``a.b.c`` by a module outside ``a.b``, the imports of the packages Python
    initializes first (``a``, ``a.b``): a package ``__init__`` that re-exports its modules can close a circle."""
    graph = copy.deepcopy(graph)
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            parts = imported.split(".")
            for depth in range(1, len(parts)):
                package = ".".join(parts[:depth])
                if package in graph.modules and not f"{importer}.".startswith(f"{package}.") and package != importer:
                    graph.add_import(importer=importer, imported=package, line_number=0,
                                     line_contents=f"(runs {package}/__init__.py first)")
    return graph


def import_circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every group of modules that import one another, directly or through others (the strongly connected
    components of more than one module, by Tarjan's algorithm), each sorted by name."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = lowest[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                lowest[module] = min(lowest[module], lowest[imported])
            elif imported in on_stack:
                lowest[module] = min(lowest[module], index[imported])
        if lowest[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return sorted(circles)


def describe_circle(graph: grimp.ImportGraph, group: list[str]) -> str:
    """One way round a circle, each step with the line that imports: ``a (l.3) -> b (l.40) -> a``."""
    start = group[0]
    members = set(group)
    first = sorted(graph.find_modules_directly_imported_by(start) & members)[0]
    chain = [start, *graph.find_shortest_chain(importer=first, imported=start)]
    steps = []
    for importer, imported in zip(chain, chain[1:]):
        lines = sorted(d["line_number"] for d in graph.get_import_details(importer=importer, imported=imported))
        steps.append(f"{importer} (l.{', '.join(map(str, lines))})".replace("(l.0)", "(its package __init__)"))
    return " -> ".join([*steps, start]) + f"   [{len(group)} modules in this circle]"


def test_circle_finder_finds_a_circle_through_three_modules_and_none_in_a_chain():
    graph = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d"), ("p.e", "p.a")]:
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="import")
    assert import_circles(graph) == [["p.a", "p.b", "p.c"]]
    graph.remove_import(importer="p.c", imported="p.a")
    assert import_circles(graph) == []


def test_importing_a_module_first_runs_its_packages_which_can_close_a_circle():
    graph = grimp.ImportGraph()
    # p/__init__.py re-exports p.b; p.b imports q; q imports p.a (so p/__init__.py runs first).
    for importer, imported in [("p", "p.b"), ("p.b", "q"), ("q", "p.a")]:
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="import")
    assert import_circles(graph) == []
    assert import_circles(with_package_initialization(graph)) == [["p", "p.b", "q"]]


def test_no_module_of_roundtable_or_its_plugins_imports_itself_through_others():
    graph = with_package_initialization(grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None))
    circles = [describe_circle(graph, group) for group in import_circles(graph)]
    assert circles == [], "import circles:\n" + "\n".join(circles)


def test_import_contracts_hold():
    # In a child process: import-linter reconfigures logging, which would hide other tests' log records.
    run = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
         "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr
