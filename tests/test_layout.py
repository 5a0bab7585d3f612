"""The layout of helpers/: no import cycle, even through imports inside functions, and TFF's or TensorFlow's
internal modules imported in one place each (CONTRIBUTING.md, "Repository layout")."""

from __future__ import annotations

import ast
from pathlib import Path

HELPERS = Path(__file__).resolve().parents[1] / "helpers"
# Where a private module of TFF or TensorFlow may be imported, and why there: TFF 0.87 has no public API for these.
INTERNALS = {
    "contexts": "contexts on workers we started (TFF's executors, compiler and value transforms)",
    "seeds": "TensorFlow's rule for the graph seed an eager op gets",
}


def imports(path: Path) -> list[str]:
    """Every module `path` imports, at the top or inside a function."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            if node.module == "helpers":
                names += [f"helpers.{alias.name}" for alias in node.names]
    return names


def helper_graph() -> dict[str, set[str]]:
    return {
        path.stem: {name.split(".")[1] for name in imports(path) if name.startswith("helpers.")} - {path.stem}
        for path in HELPERS.glob("*.py")
    }


def modules_in_cycles(graph: dict[str, set[str]]) -> list[str]:
    """The modules from which an import chain leads back to themselves."""

    def reachable(start: str) -> set[str]:
        seen, todo = set(), list(graph[start])
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo += graph.get(module, [])
        return seen

    return sorted(module for module in graph if module in reachable(module))


def test_helpers_have_no_import_cycle() -> None:
    graph = helper_graph()
    assert modules_in_cycles(graph) == []
    assert {"runtime", "contexts"} <= graph["workers"], "LocalWorkers stands on the private worker and the contexts"
    # The check finds a cycle made through an import inside a function, as runtime <-> workers once was.
    assert modules_in_cycles({**graph, "contexts": graph["contexts"] | {"workers"}}) == [
        "contexts",
        "runtime",
        "workers",
    ]


def test_private_tff_and_tensorflow_modules_are_imported_in_one_place_each() -> None:
    users = {
        path.stem
        for path in HELPERS.glob("*.py")
        if any(name.startswith(("tensorflow_federated.python", "tensorflow.python")) for name in imports(path))
    }
    assert users == set(INTERNALS), users
