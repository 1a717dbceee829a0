"""Imports follow the layers, read from the source with `ast` (not by convention):

    corpus → indexer → assistant → eval → top (the `fagui` command and the web app)

A module may import modules of its own layer and of the layers below it, never of a layer
above — at module level or inside a function alike (a function-level import only delays
the dependency, it does not remove it). The top layer is `assistant.cli`, `assistant.app`
and the modules split off the app (`assistant.app_*`, or an `assistant.app` package): they
live in the `assistant` package for the entry point's sake but sit above `eval`, because
`fagui eval` / `fagui train` / `fagui bench` and the app's evaluation tab run it.
`scripts/` and `tests/` are outside the layers (they may use everything).

Also: no import cycles between modules (a cycle is what function-level imports used to
hide); an import inside a function is a heavy or optional library or a project module
with a comment saying why (standard-library modules go at the top; the command line,
whose subcommands each import what they need, is the documented exception); and
only `corpus/config.py` touches `os.environ` (see that module).
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("corpus", "indexer", "assistant", "eval")
TOP = len(LAYERS)  # above every package
TOP_NAME = "top (assistant.cli / assistant.app*)"
#: Known cycles still to be broken; each entry must still exist (a fixed one is removed here).
KNOWN_CYCLES = {
    # indexer/store.py opens a Milvus index through indexer.milvus_backend, which builds on
    # store's shared build steps (bm25_stage, collection_entry, …): issue 13 moves those.
    frozenset({"indexer.store", "indexer.milvus_backend"}),
}
#: The one module that reads or sets environment variables.
CONFIG_MODULE = "corpus.config"
#: Modules whose functions import project modules without a comment each, and why.
DEFERRED_BY_DESIGN = {
    "assistant.cli": "each subcommand imports what it needs: `fagui --help` or `fagui ingest` load neither the "
                     "index, Gradio nor the evaluation stack (importing every layer costs about a second)",
}


def layer_of(module: str) -> int | None:
    """The layer of a dotted module name; None for anything outside the four packages."""
    parts = module.split(".")
    if parts[0] == "assistant" and len(parts) > 1 and (parts[1] == "cli" or parts[1] == "app"
                                                        or parts[1].startswith("app_")):
        return TOP
    return LAYERS.index(parts[0]) if parts[0] in LAYERS else None


def layer_name(layer: int) -> str:
    return TOP_NAME if layer == TOP else LAYERS[layer]


@dataclass(frozen=True)
class ImportEdge:
    """`module` imports `target` at `line` (inside a function when `nested`)."""

    module: str
    target: str
    line: int
    nested: bool


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(REPO).with_suffix("").parts)
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


def imports_of(source: str, module: str, is_package: bool = False) -> list[ImportEdge]:
    """Every import in `source` (module level and nested), as dotted targets. For
    `from X import Y` the target is `X.Y` (so `from assistant import app` names the app);
    relative imports are resolved against `module`."""
    edges: list[ImportEdge] = []
    package = module.split(".") if is_package else module.split(".")[:-1]

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                edges.extend(ImportEdge(module, alias.name, child.lineno, nested) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package[: len(package) - (child.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                edges.extend(ImportEdge(module, f"{base}.{alias.name}" if alias.name != "*" else base,
                                        child.lineno, nested) for alias in child.names)
            visit(child, inner)

    visit(ast.parse(source), False)
    return edges


def layer_violations(source: str, module: str) -> list[str]:
    """Imports in `source` (of `module`) that reach a higher layer, as readable lines."""
    own = layer_of(module)
    found = []
    for edge in imports_of(source, module):
        target = layer_of(edge.target)
        if own is not None and target is not None and target > own:
            where = "inside a function" if edge.nested else "at module level"
            found.append(f"{module}:{edge.line} ({layer_name(own)}) imports {edge.target} "
                         f"({layer_name(target)}) {where}")
    return found


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in LAYERS for p in sorted((REPO / package).rglob("*.py"))}


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module → project modules it imports (`from pkg import name` counts as `pkg.name`
    when that is a module, else as `pkg`)."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for edge in imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py"):
            target = edge.target
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
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
                    found.append(frozenset(component))
    return found


def unexplained_deferred_imports(source: str, module: str) -> list[str]:
    """Imports inside functions that do not say why: a standard-library module (cheap:
    import it at the top), or a project module or third-party library with no comment —
    on the line itself or on a comment line right above its block of imports. A deferred
    import is for a heavy or optional library (or a documented cycle), never a habit."""
    if module in DEFERRED_BY_DESIGN:
        return []
    lines = source.split("\n")
    found = []
    for edge in imports_of(source, module):
        top = edge.target.split(".")[0]
        if not edge.nested or top == "__future__":
            continue
        if top in sys.stdlib_module_names:
            found.append(f"{module}:{edge.line} imports {edge.target} (standard library) inside a function")
            continue
        row = edge.line - 1
        explained = "#" in lines[row]
        while not explained and row > 0 and lines[row - 1].strip().startswith(("from ", "import ", "#")):
            row -= 1
            explained = "#" in lines[row]  # a comment line, or an import of the block with its reason
        if not explained:
            found.append(f"{module}:{edge.line} imports {edge.target} inside a function without saying why")
    return found


def environ_uses(source: str) -> list[int]:
    """Lines that touch the process environment: `os.environ`, `os.getenv`, `os.putenv`,
    or those names imported from `os`."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os" \
                and node.attr in {"environ", "getenv", "putenv", "unsetenv", "environb"}:
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" \
                and any(a.name in {"environ", "getenv", "putenv", "environb"} for a in node.names):
            lines.append(node.lineno)
    return lines


# ------------------------------------------------------------------ the checks themselves


def test_layer_of_places_the_cli_and_the_app_on_top():
    assert [layer_of(m) for m in ("corpus.config", "indexer.store", "assistant.pipeline", "eval.runner")] == [0, 1, 2, 3]
    assert layer_of("assistant.cli") == layer_of("assistant.app") == layer_of("assistant.app_routes") == TOP
    assert layer_of("assistant.app.layout") == TOP  # should the app become a package
    assert layer_of("assistant.apply_rules") == 2  # only `app` and `app_*`, not every name starting "app"
    assert layer_of("numpy") is None and layer_of("scripts.setup") is None


def test_a_violation_is_reported_at_module_level_and_inside_a_function():
    source = "import numpy\nfrom indexer.store import load_index\n\ndef f():\n    from eval.runner import run_eval\n"
    found = layer_violations(source, "corpus.catalog")
    assert len(found) == 2
    assert found[0].startswith("corpus.catalog:2 (corpus) imports indexer.store.load_index (indexer) at module level")
    assert found[1].startswith("corpus.catalog:5 (corpus) imports eval.runner.run_eval (eval) inside a function")
    nested_class_method = "class A:\n    def m(self):\n        import assistant.app\n"
    assert layer_violations(nested_class_method, "eval.bench") == [
        "eval.bench:3 (eval) imports assistant.app (top (assistant.cli / assistant.app*)) inside a function"]
    assert layer_violations("from assistant import app_layout\n", "assistant.pipeline")  # app modules are top
    assert layer_violations("from . import runner\n", "indexer.train") == []  # relative: indexer.runner
    assert layer_violations("from ..eval import runner\n", "indexer.train")  # resolves to eval.runner
    assert layer_violations("from ..eval import runner\n", "indexer.sub.train") == []  # indexer.eval.runner


def test_allowed_directions_are_not_reported():
    assert layer_violations("from corpus.records import Document\nimport indexer\n", "assistant.pipeline") == []
    assert layer_violations("from eval import run_eval\nfrom assistant.app_auth import parse_auth\n", "assistant.cli") == []
    assert layer_violations("from assistant.pipeline import Pipeline\n", "eval.runner") == []


def test_every_module_imports_only_its_layer_and_below():
    found = []
    for name, path in project_modules().items():
        found += layer_violations(path.read_text(encoding="utf-8"), name)
    assert found == [], "imports against the layer order:\n" + "\n".join(found)


def test_cycle_detection_finds_a_two_module_loop_hidden_in_a_function():
    graph = {"indexer.a": {"indexer.b"}, "indexer.b": {"indexer.a"}, "indexer.c": {"indexer.a"}}
    assert cycles(graph) == [frozenset({"indexer.a", "indexer.b"})]
    sources = {"indexer.embedder": "from indexer.onnx_query import cached_export\n",
               "indexer.onnx_query": "def f():\n    from indexer.embedder import normalize_rows\n"}
    graph = {name: {e.target.rpartition(".")[0] for e in imports_of(src, name)} for name, src in sources.items()}
    assert cycles(graph) == [frozenset(sources)]


def test_no_import_cycles_between_modules():
    found = set(cycles(import_graph(project_modules())))
    assert found - KNOWN_CYCLES == set(), f"import cycles: {sorted(map(sorted, found - KNOWN_CYCLES))}"
    assert KNOWN_CYCLES - found == set(), f"fixed, remove from KNOWN_CYCLES: {sorted(map(sorted, KNOWN_CYCLES - found))}"


def test_a_deferred_project_import_needs_its_reason():
    bare = "def f():\n    from indexer.store import load_index\n    return load_index\n"
    assert unexplained_deferred_imports(bare, "assistant.pipeline") == [
        "assistant.pipeline:2 imports indexer.store.load_index inside a function without saying why"]
    same_line = "def f():\n    from indexer.store import load_index  # heavy: loads FAISS\n"
    block = "def f():\n    # the evaluation stack only for this tab\n    from eval import run_eval\n    from eval.report import x\n"
    heavy = "def f():\n    import torch  # seconds to import: only when a model is loaded\n"
    assert unexplained_deferred_imports(same_line, "assistant.pipeline") == []
    assert unexplained_deferred_imports(block, "assistant.app_handlers") == []
    assert unexplained_deferred_imports(heavy, "indexer.embedder") == []
    assert unexplained_deferred_imports("def f():\n    import torch\n", "indexer.embedder") == [
        "indexer.embedder:2 imports torch inside a function without saying why"]
    assert unexplained_deferred_imports("def f():\n    import json\n", "eval.report") == [
        "eval.report:2 imports json (standard library) inside a function"]
    assert unexplained_deferred_imports(bare, "assistant.cli") == []  # by design, see DEFERRED_BY_DESIGN


def test_imports_inside_functions_say_why():
    found = []
    for name, path in project_modules().items():
        found += unexplained_deferred_imports(path.read_text(encoding="utf-8"), name)
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("source, lines", [
    ("import os\nx = os.environ.get('FAGUI_HOME')\n", [2]),
    ("import os\nos.environ['HF_HUB_OFFLINE'] = '1'\n", [2]),
    ("from os import getenv\n", [1]),
    ("import os\nx = os.getcwd()\n", []),
])
def test_environ_uses_are_found(source, lines):
    assert environ_uses(source) == lines


def test_only_the_config_module_touches_the_environment():
    found = []
    files = [p for package in (*LAYERS, "scripts") for p in sorted((REPO / package).rglob("*.py"))]
    for path in files:
        if module_name(path) != CONFIG_MODULE:
            found += [f"{path.relative_to(REPO)}:{line}" for line in environ_uses(path.read_text(encoding="utf-8"))]
    assert found == [], "read or set environment variables through corpus.config: " + ", ".join(found)
