"""The house's layers, read from the source: no import cycle inside keras_ae, nothing in the library importing
the recipes or the CLI (the CLI may import both), no recipe importing the CLI.

Imports are parsed with `ast`, function-local ones included (they hide cycles from Python, not from the
design); imports under `if TYPE_CHECKING:` are left out, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "keras_ae"
RECIPES = ROOT / "recipes"


def module_name(path: Path, root: Path, package: str) -> str:
    parts = [package, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path, package: str) -> dict[str, Path]:
    return {module_name(path, root, package): path for path in sorted(root.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(path: Path, module: str) -> set[str]:
    """Every dotted name `path` imports, anywhere in it: `a.b` for `import a.b`, `a.b.c` for `from a.b import c`
    (`graph` resolves it to the module a.b.c, or to a.b when c is a name in it). Relative imports are made
    absolute. A parent package that Python runs on the way to a submodule is not counted: every package's
    `__init__` imports its submodules, and that is no cycle."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and _is_type_checking(node.test)
        for statement in node.body
        for child in ast.walk(statement)
    }
    names = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names.update(base if alias.name == "*" else f"{base}.{alias.name}" for alias in node.names)
    return names


def graph(root: Path, package: str) -> dict[str, set[str]]:
    """module -> the modules of the same package it imports (a name resolves to the longest known module)."""
    known = modules(root, package)
    edges = {}
    for module, path in known.items():
        targets = set()
        for name in imported_names(path, module):
            parts = name.split(".")
            for end in range(len(parts), 0, -1):
                candidate = ".".join(parts[:end])
                if candidate in known:
                    if candidate != module:
                        targets.add(candidate)
                    break
        edges[module] = targets
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first == last), or None."""
    state = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_checker_sees_function_local_imports_and_cycles(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg import b\n")
    (package / "b.py").write_text("from . import c\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\ndef g():\n    import pkg.a\n"
    )
    edges = graph(package, "pkg")
    assert edges["pkg.a"] == {"pkg.b"} and edges["pkg.b"] == {"pkg.c"} and edges["pkg.c"] == {"pkg.a"}
    assert find_cycle(edges) == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n")
    assert find_cycle(graph(package, "pkg")) is None


def test_no_import_cycle_inside_keras_ae():
    edges = graph(LIBRARY, "keras_ae")
    assert len(edges) > 50  # the whole library was read
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_library_imports_neither_recipes_nor_the_cli():
    offenders = []
    for module, path in modules(LIBRARY, "keras_ae").items():
        if module == "keras_ae.cli" or module.startswith("keras_ae.cli."):
            continue  # the CLI wraps the library and the recipes
        for name in imported_names(path, module):
            top = name.split(".")
            if top[0] == "recipes" or top[:2] in (["keras_ae", "recipes"], ["keras_ae", "cli"]):
                offenders.append(f"{module} imports {name}")
    assert not offenders, offenders


def test_recipes_do_not_import_the_cli():
    offenders = [
        f"{module} imports {name}"
        for module, path in modules(RECIPES, "keras_ae.recipes").items()
        for name in imported_names(path, module)
        if name.split(".")[:2] == ["keras_ae", "cli"]
    ]
    assert not offenders, offenders
