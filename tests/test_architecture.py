"""The folders keep their promises: the core knows no platform and no wiring, and nothing imports in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "adapters", "storage", "web")
MAX_LINES = 320


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Every project module `path` imports, at any level (TYPE_CHECKING and function bodies included)."""
    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


MODULES = _modules()
GRAPH = {name: _imports(path, name, set(MODULES)) for name, path in MODULES.items()}


def _is_core(name: str) -> bool:
    return name.startswith("bot") and not name.startswith("bot.cli") and name != "bot.__main__"


def test_the_core_imports_no_adapter_no_storage_and_no_wiring() -> None:
    # The core sees storage only through the bot.store protocol; the wiring opens the implementation.
    bad = {name: sorted(i for i in deps if i.startswith(("adapters", "storage", "bot.cli", "bot.__main__")))
           for name, deps in GRAPH.items() if _is_core(name)}
    assert {k: v for k, v in bad.items() if v} == {}


def test_adapters_and_storage_do_not_import_the_wiring() -> None:
    bad = {name: sorted(i for i in deps if i.startswith(("bot.cli", "bot.__main__")))
           for name, deps in GRAPH.items() if name.startswith(("adapters", "storage"))}
    assert {k: v for k, v in bad.items() if v} == {}
    platform_in_storage = {name: sorted(i for i in deps if i.startswith("adapters"))
                           for name, deps in GRAPH.items() if name.startswith("storage")}
    assert {k: v for k, v in platform_in_storage.items() if v} == {}


def test_the_web_page_talks_to_the_core_only() -> None:
    # The page is another adapter: it sees the store through bot.store and changes things through the core.
    bad = {name: sorted(i for i in deps if i.startswith(("adapters", "storage", "bot.cli", "bot.__main__")))
           for name, deps in GRAPH.items() if name.startswith("web")}
    assert {k: v for k, v in bad.items() if v} == {}


def test_no_import_loops() -> None:
    # Tarjan's strongly connected components: any component of two or more modules is a loop.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    loops: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in GRAPH[node]:
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    # Package __init__ files that re-export their own modules are not loops of substance.
    loops = [c for c in loops if not all(c[0] == m or m.startswith(c[0] + ".") for m in c)]
    assert loops == []


def test_every_module_stays_short() -> None:
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}
