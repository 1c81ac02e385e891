"""dtopt's modules (and the benchmarks') import each other without circles.

The rule: every import of one dtopt module by another is an edge, whether it sits at
module level or inside a function, and the edges must form a DAG. A function-level
import is fine for a heavy third-party library (matplotlib, Pyomo) or to keep start-up
fast, but not to dodge a circle between dtopt modules: the circle is still there, it
only waits for the first call. Not edges: imports under ``if TYPE_CHECKING:`` (never
run), and the parents a dotted import runs implicitly (``import dtopt.a.b`` runs
``dtopt/__init__`` and ``dtopt/a/__init__`` first, which is how packages work); an
explicit ``import dtopt`` or ``from dtopt import solve`` inside dtopt is an edge to
the package, whose ``__init__`` imports nearly everything.

The graph is read from the source with :mod:`ast`, so nothing is imported here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules(package: str) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package ``__init__``)."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement in ``tree``, at any depth, except under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))
    return found


def import_graph(package: str = "dtopt") -> nx.DiGraph:
    """Edges module -> module it imports, both in ``package``, labelled with the line."""
    modules = _modules(package)
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, (path, is_package) in modules.items():
        for node in _imports(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:  # relative: from the module's own package upwards
                    base = name.split(".")[: len(name.split(".")) - (not is_package) - (node.level - 1)]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                # `from p import m` imports the module p.m when there is one, else names from p.
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                    for alias in node.names
                ]
            for target in targets:
                if target in modules and target != name:
                    graph.add_edge(name, target, line=f"{path.relative_to(ROOT)}:{node.lineno}")
    return graph


def circles(graph: nx.DiGraph) -> list[str]:
    """Each circle as ``a -> b -> a`` with the import lines that close it."""
    found = []
    for component in nx.strongly_connected_components(graph):
        if len(component) < 2:
            continue
        cycle = nx.find_cycle(graph.subgraph(component))
        path = " -> ".join([*(a for a, _ in cycle), cycle[0][0]])
        lines = ", ".join(graph.edges[a, b]["line"] for a, b in cycle)
        found.append(f"{path} ({lines})")
    return found


@pytest.mark.parametrize("package", ["dtopt", "benchmarks"])
def test_imports_form_a_dag(package: str) -> None:
    graph = import_graph(package)
    assert graph.number_of_edges() > 30  # the parser sees the imports at all
    assert circles(graph) == []


def test_a_circle_is_found(tmp_path, monkeypatch) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                                 "    from pkg import c\n")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("def f():\n    from ..c import g\n")
    (package / "c.py").write_text("from . import a\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    found = circles(import_graph("pkg"))
    assert len(found) == 1 and found[0].count("->") == 3, found
    assert "pkg.sub ->" not in found[0]  # the TYPE_CHECKING import is no edge
