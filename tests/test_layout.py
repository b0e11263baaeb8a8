"""The import structure: no module imports one that imports it back, and no layer imports one above it.

Every ``import`` of the project's own modules counts, wherever it stands (inside a function, under
``TYPE_CHECKING``): a circle through a lazy import is still two modules that cannot be read apart.
"""

import ast
from collections.abc import Iterator

import pytest

from shared_data import REPO

PACKAGES = ("nb201_env", "agents", "benchmarks")

KNOWN_CIRCLES: set[frozenset[str]] = set()
"""Circles that another change is breaking; a new one fails."""

HARNESS_LAYERS = {
    # records
    "results": 0,
    "registry": 0,
    "validity": 0,
    "stats": 0,
    # one run
    "simulation": 1,
    "supernet_runs": 1,
    "tasks": 1,
    "sweep": 2,
    # reports
    "summary": 3,
    "plots": 3,
    "mo_report": 3,
    "report": 3,
    # command lines
    "run": 4,
    "cluster": 4,
}


def _modules() -> dict[str, ast.Module]:
    out = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = ast.parse(path.read_text(), str(path))
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """Return the project module ``name`` names (the longest prefix that is one), or None."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


def _imports(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            found = _resolve(name)
            if found is not None:
                yield found


GRAPH = {name: {m for m in _imports(tree) if m != name} for name, tree in MODULES.items()}


def circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Return the strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def test_the_circle_finder_finds_circles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert circles(graph) == [{"a", "b", "c"}]
    assert "nb201_env.search_runs" in GRAPH["nb201_env.envs.base"]  # imports are seen
    assert "benchmarks.harness.simulation" in GRAPH["benchmarks.harness.tasks"]


def test_no_module_imports_one_that_imports_it_back():
    new = [sorted(c) for c in circles(GRAPH) if frozenset(c) not in KNOWN_CIRCLES]
    assert new == []


LAYERS_BELOW = [
    ("nb201_env", "agents"),
    ("nb201_env", "benchmarks"),
    ("agents", "benchmarks"),
    ("benchmarks.harness", "benchmarks.perf"),
    ("benchmarks.harness", "benchmarks.probes"),
    ("benchmarks.harness", "benchmarks.builds"),
    ("benchmarks.common", "benchmarks."),
    ("benchmarks.harness.mo_report", "nb201_env.envs"),  # it scores records with the store, not an env
]
"""(lower, higher): no module under the first prefix imports one under the second."""


@pytest.mark.parametrize(("lower", "higher"), LAYERS_BELOW)
def test_no_layer_imports_one_above_it(lower, higher):
    wrong = [(a, b) for a, uses in GRAPH.items() if a.startswith(lower) for b in uses if b.startswith(higher)]
    assert wrong == []


def test_the_harness_runs_one_way_records_run_sweep_reports_command_lines():
    harness = {n.rsplit(".", 1)[1] for n in MODULES if n.startswith("benchmarks.harness.")}
    assert harness == set(HARNESS_LAYERS), "give each harness module a layer"
    upward = [
        (a, b)
        for a, uses in GRAPH.items()
        if a.startswith("benchmarks.harness.")
        for b in uses
        if b.startswith("benchmarks.harness.")
        and HARNESS_LAYERS[a.rsplit(".", 1)[1]] < HARNESS_LAYERS[b.rsplit(".", 1)[1]]
    ]
    assert upward == []
