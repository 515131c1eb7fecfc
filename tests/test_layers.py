"""The tree's rules, checked on the source: layers import downwards only, no module imports
itself back through others, and `app/` holds only `main.py` and packages.

Read with `ast`, so a lazy import inside a function counts the same as one at the top (it is
still a dependency); only imports under `if TYPE_CHECKING:` are left out (they never run).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

# What each layer may not import (prefixes of module names). `web/` and `routes/` may import
# anything below them; nothing below imports them.
_ABOVE_SERVICES = ("app.dispatch", "app.web", "app.routes", "app.cli", "fastapi", "starlette")
FORBIDDEN = {
    "app.core": ("app.models", "app.services", "app.library", *_ABOVE_SERVICES),
    "app.models": ("app.services", "app.library", *_ABOVE_SERVICES),
    "app.library": ("app.services", *_ABOVE_SERVICES),
    "app.services": _ABOVE_SERVICES,
    "app.dispatch": ("app.web", "app.routes", "app.cli", "fastapi", "starlette"),
    "app.web": ("app.routes", "app.cli"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, modules: set[str]) -> set[str]:
    """Every module this source imports, packages resolved to the module actually named."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in modules else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    sources = {_module_name(path): path for path in APP.rglob("*.py")}
    modules = set(sources)
    return {name: _imports(ast.parse(path.read_text()), modules) for name, path in sources.items()}


GRAPH = _graph()


# `__main__` modules run a program when imported.
@pytest.mark.parametrize("module", sorted(name for name in GRAPH if not name.endswith(".__main__")))
def test_every_module_imports(module: str) -> None:
    importlib.import_module(module)


def test_layers_import_downwards_only() -> None:
    broken = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for layer, forbidden in FORBIDDEN.items()
        if module == layer or module.startswith(layer + ".")
        for target in targets
        if any(target == prefix or target.startswith(prefix + ".") for prefix in forbidden)
    )
    assert broken == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in graph:
                continue
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def _without_parents(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    # A package's __init__ that imports its own submodules (routes.ROUTERS) is not a cycle with
    # them: importing `app.routes.client.today` runs `app.routes/__init__` first by design.
    return {
        module: {target for target in targets if not module.startswith(target + ".")}
        for module, targets in graph.items()
    }


def test_no_import_cycles() -> None:
    assert _cycles(_without_parents(GRAPH)) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_app_top_level_holds_only_main_and_packages() -> None:
    loose = sorted(path.name for path in APP.glob("*.py") if path.name not in ("__init__.py", "main.py"))
    assert loose == []
