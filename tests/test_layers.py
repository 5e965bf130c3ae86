"""The package's layers import only downwards, and no module imports itself back through others.

data and keys → mechanisms → attack algorithms → the grid point → tasks (train, attack, the
examiners) → tracking and reporting → entry points. Imports inside functions count too.
"""

import ast
import fnmatch
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "disguisednets"

# Lowest first; a module belongs to the first layer with a matching pattern.
LAYERS = [
    ("entry points", ["experiment", "audit", "benchmark", "cli", "cli.*", "reporting.__main__"]),
    ("data and keys", ["", "registry", "plugins", "data", "datasources", "folderdata", "imagefiles", "imagefiles.*", "keys", "models", "augment", "progress", "training"]),
    ("mechanisms", ["mechanisms", "mechanisms.*"]),
    ("attack algorithms", ["attacks", "attacks._units", "attacks.codebook", "attacks.covariance", "attacks.frequency",
                           "attacks.jigsaw", "attacks.regression", "attacks.metrics", "attacks.cleanup",
                           "attacks.calibration", "attacks.registry", "attacks.row_leak", "attacks.etc_statistics", "attacks.higher_order",
                           "attacks.learned_inverse", "attacks.theft", "attacks.inversion",
                           "attacks.disguise_estimate", "attacks.known_pair", "attacks.instahide", "attacks.view",
                           "attacks.nibble_statistics", "attacks.peers", "attacks.permutation_estimate",
                           "attacks.frequency_rank", "attacks.dp_denoise", "attacks.instahide_carlini", "attacks.value_frequency"]),
    ("grid point", ["gridpoint"]),
    ("tasks", ["tasks", "tasks.*", "attacks.examiner"]),
    ("tracking and reporting", ["tracking", "runinfo", "reporting", "reporting.*"]),
]
ORDER = ["data and keys", "mechanisms", "attack algorithms", "grid point", "tasks", "tracking and reporting",
         "entry points"]


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _resolve(name: str, modules) -> str | None:
    """'disguisednets.a.b.c' → the longest known module it names ('a.b' if c is a name in it)."""
    name = name.removeprefix("disguisednets").lstrip(".")
    while name not in modules:
        if not name:
            return None
        name = name.rpartition(".")[0]
    return name


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "disguisednets":
                targets |= {_resolve(f"{node.module}.{a.name}", modules) for a in node.names}
            elif isinstance(node, ast.Import):
                targets |= {_resolve(a.name, modules) for a in node.names if a.name.split(".")[0] == "disguisednets"}
        # a package's __init__ importing its submodules, and a module importing its own package, are not edges
        graph[name] = {t for t in targets if t is not None and t != name
                       and not (t.startswith(name + ".") and modules[name].name == "__init__.py")
                       and not (name.startswith(t + ".") and t)}
    return graph


def layer_of(module: str) -> str:
    for layer, patterns in LAYERS:
        if any(fnmatch.fnmatchcase(module, p) for p in patterns):
            return layer
    raise AssertionError(f"disguisednets.{module} is in no layer: add it to LAYERS in {__file__}")


def test_every_module_imports_only_its_own_layer_or_lower():
    upward = [f"{a} ({layer_of(a)}) imports {b} ({layer_of(b)})"
              for a, targets in import_graph().items() for b in sorted(targets)
              if ORDER.index(layer_of(b)) > ORDER.index(layer_of(a))]
    assert not upward, "\n".join(upward)


def test_no_import_circles():
    graph = import_graph()
    state: dict[str, int] = {}
    circles = []

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(" → ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, "\n".join(circles)


def test_the_checks_see_an_upward_import_and_a_circle(monkeypatch):
    """The two checks above fail on a graph with an upward edge and a circle (so they can fail)."""
    import sys

    fake = {"keys": {"mechanisms"}, "mechanisms": {"keys"}, "": set()}
    monkeypatch.setattr(sys.modules[__name__], "import_graph", lambda: fake)
    try:
        test_every_module_imports_only_its_own_layer_or_lower()
    except AssertionError as exc:
        assert "keys (data and keys) imports mechanisms (mechanisms)" in str(exc)
    else:
        raise AssertionError("the layer check missed keys → mechanisms")
    try:
        test_no_import_circles()
    except AssertionError as exc:
        assert "keys → mechanisms → keys" in str(exc)
    else:
        raise AssertionError("the circle check missed keys ↔ mechanisms")
