"""No import cycle between the modules of ``jupyter_guard``.

The graph holds every import (read from the source, nothing is imported), at module level and
inside functions. An import inside a function may close a loop only when a comment on its line,
or on the line just above, says why it is late (a heavy library, a module that must load after
the guard is sealed, ...); such an import is left out of the graph. ``if TYPE_CHECKING:`` imports
and ``if __name__ == "__main__":`` never run on import and are left out too.
"""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "jupyter_guard"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        if "labextension" in path.parts:
            continue
        name = ".".join(path.relative_to(PKG.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _target(name: str, modules: dict[str, Path]) -> str:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name


def _absolute(name: str, path: Path, level: int, module: str) -> str:
    """``from ..x import y`` in ``name`` as an absolute module name."""
    if not level:
        return module
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{module}" if module else package


def _explained(lines: list[str], lineno: int) -> bool:
    here = lines[lineno - 1]
    above = lines[lineno - 2].strip() if lineno >= 2 else ""
    return "#" in here or above.startswith("#")


def _edges(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    text = path.read_text()
    lines = text.splitlines()
    out: set[str] = set()

    def visit(body: list[ast.stmt], top: bool) -> None:
        for node in body:
            if isinstance(node, ast.If) and ("TYPE_CHECKING" in ast.unparse(node.test)
                                             or "__main__" in ast.unparse(node.test)):
                continue   # never runs on import
            if isinstance(node, (ast.Import, ast.ImportFrom)) and (top or not _explained(
                    lines, node.lineno)):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                else:
                    base = _absolute(name, path, node.level, node.module or "")
                    names = [f"{base}.{a.name}" for a in node.names]
                out.update(t for t in (_target(n, modules) for n in names) if t and t != name)
            inner = top and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            for field in ("body", "orelse", "handlers", "finalbody"):
                sub = getattr(node, field, None)
                if isinstance(sub, list):
                    visit(sub, inner)

    visit(ast.parse(text).body, True)
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _edges(name, path, modules) for name, path in modules.items()}


def test_no_import_cycle():
    assert _cycles(_graph()) == []


def test_the_walk_sees_imports_and_cycles():
    """The walk is not blind: it finds the package's real imports, and a cycle when there is one."""
    graph = _graph()
    assert "jupyter_guard.model" in graph["jupyter_guard.policy.decide"]
    assert "jupyter_guard.hooks.state" in graph["jupyter_guard.hooks.runtime"]
    assert "jupyter_guard.record.chain" in graph["jupyter_guard.record.rows"]   # ``from .chain``
    graph["jupyter_guard.model"] = graph["jupyter_guard.model"] | {"jupyter_guard.policy.decide"}
    assert any({"jupyter_guard.model", "jupyter_guard.policy.decide"} <= set(c)
               for c in _cycles(graph))
