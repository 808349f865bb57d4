"""Layers one way: no import circle between igentai_tui's modules, and the packages stacked
common/ < providers/ < engine/ < store/ < tui/, with the top-level front-end modules above all but
tui/.

The graph is read from the source with `ast`: every import at any depth (inside functions and
under `if TYPE_CHECKING:` too: a lazy import that closes a circle is still a circle), relative
imports resolved, `from pkg import name` counting as an import of `pkg.name` when that is a
module. docs/architecture.md ("Layers") states the same rules.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parent.parent / "igentai_tui"

# Lowest first: a package may import its own layer and those below it, never one above.
LAYERS = ("common", "providers", "engine", "store", "tui")
# Top-level modules that drive the engine (the command line, the front ends and what only they
# share): no package below tui/ imports them.
FRONT = (
    "cli",
    "commands",
    "exits",
    "export",
    "headless",
    "history",
    "request",
    "runner",
    "stats",
)

Graph = dict[str, dict[str, str]]  # module -> {imported module: "file:line" of the import}


def modules(source: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package at `source`."""
    found = {}
    for path in sorted(source.rglob("*.py")):
        parts = [source.name, *path.relative_to(source).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported(name: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """(module of the package, line) for each import in `path`, at any depth."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import a.b.c` of a module or a name
                target = target.rpartition(".")[0]
            if target:
                yield target, node.lineno


def import_graph(source: Path) -> Graph:
    known = modules(source)
    graph: Graph = {name: {} for name in known}
    for name, path in known.items():
        where = path.relative_to(source.parent)
        for target, line in _imported(name, path, known):
            if target != name:
                graph[name].setdefault(target, f"{where}:{line}")
    return graph


def find_cycle(graph: dict[str, dict[str, str]]) -> list[str] | None:
    """One circle of `graph` as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def describe(cycle: list[str], graph: dict[str, dict[str, str]]) -> str:
    return "\n".join(f"  {a} -> {b}  ({graph[a][b]})" for a, b in itertools.pairwise(cycle))


def unit(module: str) -> str:
    """The package (common, engine, ...) or top-level module a module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def package_graph(graph: Graph) -> Graph:
    """Layer -> layer it reaches: directly, or through top-level modules (engine -> store ->
    engine stays inside engine; engine -> x -> tui would be engine -> tui)."""
    reached: Graph = {layer: {} for layer in LAYERS}
    for start, targets in graph.items():
        if unit(start) not in LAYERS:
            continue
        seen: set[str] = set()
        todo = [(t, where) for t, where in targets.items()]
        while todo:
            module, where = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            if unit(module) in LAYERS:
                if unit(module) != unit(start):
                    reached[unit(start)].setdefault(unit(module), f"{where} via {module}")
                continue
            todo.extend((t, where) for t in graph[module])
    return reached


def layer_violations(graph: Graph) -> list[str]:
    """Imports from a lower layer to a higher one, or to a front-end module, any import of
    common/ outside itself, and any import of a top-level module by engine/."""
    bad = []
    for module, targets in sorted(graph.items()):
        if (low := unit(module)) not in LAYERS:
            continue
        for target, where in sorted(targets.items()):
            high = unit(target)
            if high in LAYERS and LAYERS.index(high) > LAYERS.index(low):
                bad.append(f"{module} -> {target}: {low}/ is below {high}/ ({where})")
            elif high in FRONT and low != "tui":
                bad.append(f"{module} -> {target}: a front-end module ({where})")
            elif low == "common" and high != "common":
                bad.append(f"{module} -> {target}: common/ imports nothing else ({where})")
            elif low == "engine" and high not in LAYERS:
                bad.append(f"{module} -> {target}: engine/ imports no top-level module ({where})")
    for low, reached in sorted(package_graph(graph).items()):
        for high, where in sorted(reached.items()):
            if LAYERS.index(high) > LAYERS.index(low):
                bad.append(f"{low}/ reaches {high}/ through top-level modules ({where})")
    return bad


# -- the package -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph() -> Graph:
    return import_graph(SOURCE)


def test_the_graph_sees_every_module_and_kind_of_import(graph: Graph) -> None:
    assert len(graph) > 50
    # a lazy import inside a function
    assert "igentai_tui.tui.app" in graph["igentai_tui.cli"]
    # a relative import, and `from package import module`
    assert "igentai_tui.providers.sim.params" in graph["igentai_tui.providers.sim.provider"]
    assert "igentai_tui.commands" in graph["igentai_tui.cli"]


def test_no_module_imports_itself_back(graph: Graph) -> None:
    cycle = find_cycle(graph)
    assert cycle is None, "import circle:\n" + describe(cycle, graph)


def test_packages_are_layered_one_way(graph: Graph) -> None:
    packages = package_graph(graph)
    cycle = find_cycle(packages)
    assert cycle is None, "packages import each other:\n" + describe(cycle, packages)
    assert layer_violations(graph) == []


def test_the_runner_is_below_both_front_ends(graph: Graph) -> None:
    """One run's life is in runner.py: the front ends import it, it imports neither."""
    assert "igentai_tui.runner" in graph["igentai_tui.headless"]
    assert "igentai_tui.runner" in graph["igentai_tui.tui.app"]
    above = [m for m in graph["igentai_tui.runner"] if unit(m) in ("tui", "headless", "cli")]
    assert above == []
    # The front ends see a run through the Runner's events and controls, not engine objects.
    engine_objects = ("orchestrator", "producer", "state", "ingest", "assign", "stopping")
    for front, targets in graph.items():
        if unit(front) in ("tui", "headless"):
            reached = {t.rsplit(".", 1)[-1] for t in targets if unit(t) == "engine"}
            assert not reached & set(engine_objects), front


def test_only_tui_imports_textual() -> None:
    for name, path in modules(SOURCE).items():
        if unit(name) in ("common", "providers", "engine"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
            names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
            assert "textual" not in {n.split(".")[0] for n in names}, name


# -- the checks themselves, on a made-up package -----------------------------------------------


def _package(where: Path, files: dict[str, str]) -> Path:
    root = where / "igentai_tui"
    for rel, text in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_lazy_relative_circle_is_found(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "engine/__init__.py": "",
        "engine/a.py": "from igentai_tui.engine import b\n",
        "engine/b.py": "def f():\n    from . import a\n",
    })  # fmt: skip
    graph = import_graph(root)
    assert find_cycle(graph) == ["igentai_tui.engine.a", "igentai_tui.engine.b",
                                 "igentai_tui.engine.a"]  # fmt: skip
    assert "engine/b.py:2" in describe(find_cycle(graph) or [], graph)


def test_an_upward_import_and_a_package_circle_are_found(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "common/__init__.py": "",
        "common/clock.py": "",
        "engine/__init__.py": "",
        "engine/run.py": "from ..providers.base import P\nfrom igentai_tui.common import clock\n",
        "providers/__init__.py": "",
        "providers/base.py": "from typing import TYPE_CHECKING\n"
                             "if TYPE_CHECKING:\n    from igentai_tui.helper import x\n",
        "helper.py": "import igentai_tui.engine.run\n",
    })  # fmt: skip
    graph = import_graph(root)
    assert find_cycle(graph) is not None  # providers.base -> helper -> engine.run -> ...
    packages = package_graph(graph)
    assert find_cycle(packages) == ["engine", "providers", "engine"]
    assert layer_violations(graph) == [
        "providers/ reaches engine/ through top-level modules "
        "(igentai_tui/providers/base.py:3 via igentai_tui.engine.run)"
    ]
    files = {"common/clock.py": "from igentai_tui import request\n", "request.py": ""}
    assert layer_violations(import_graph(_package(tmp_path / "other", files))) == [
        "igentai_tui.common.clock -> igentai_tui.request: a front-end module "
        "(igentai_tui/common/clock.py:1)"
    ]


def test_the_architecture_doc_names_every_module() -> None:
    """docs/architecture.md's module list names every module of the package (those of sim/ and
    tui/ by their folder's line, as the doc groups them): a new module comes with its line."""
    doc = (SOURCE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = doc.split("```")[1]
    grouped = (("providers", "sim"), ("tui",))
    missing = [
        str(path.relative_to(SOURCE))
        for path in sorted(SOURCE.rglob("*.py"))
        if path.name != "__init__.py"
        and not any(path.relative_to(SOURCE).parts[: len(g)] == g for g in grouped)
        and path.name not in block
    ]
    assert not missing, f"not in docs/architecture.md's module list: {missing}"


def test_no_module_is_over_450_lines() -> None:
    """A module one can read in a sitting: split by responsibility before it passes 450 lines
    (the sim's shipped data is JSON, not a module)."""
    long = {
        str(path.relative_to(SOURCE)): n
        for path in sorted(SOURCE.rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 450
    }
    assert not long, f"modules over 450 lines: {long}"
