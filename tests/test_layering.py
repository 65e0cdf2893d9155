"""The rooms of the package import downwards only: the decision service (``guard``) and the pure
packages (``analyze``, ``policy``, ``mask``, ``model``) never import the kernel wiring
(``kernel``) or the server (``server``), not even late or for type checking. What the decision
service needs from the kernel comes in as a port (``guard/ports.py``)."""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "jupyter_guard"
LOWER = ("guard", "analyze", "policy", "mask", "model.py")
UPPER = ("jupyter_guard.kernel", "jupyter_guard.server")


def _package(path: Path) -> str:
    return ".".join(path.relative_to(PKG.parent).with_suffix("").parts[:-1])


def _imports(path: Path, package: str) -> list[tuple[int, str]]:
    """Every module ``path`` (a module of ``package``) imports, anywhere in it, by its absolute
    name."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            mod = node.module or ""
            name = (f"{base}.{mod}" if mod else base) if node.level else mod
            out += [(node.lineno, name)] + [(node.lineno, f"{name}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__" and \
                node.args and isinstance(node.args[0], ast.Constant):
            out.append((node.lineno, str(node.args[0].value)))
    return out


def _violations(files: list[Path], package: str = "") -> list[str]:
    return [f"{p.name}:{line} imports {name}" for p in files
            for line, name in _imports(p, package or _package(p)) if name.startswith(UPPER)]


def test_the_decision_service_and_the_pure_packages_never_import_kernel_or_server():
    files = [f for room in LOWER for f in ((PKG / room).rglob("*.py") if (PKG / room).is_dir()
                                           else [PKG / room])]
    assert len(files) > 40
    assert _violations(files) == []


def test_the_check_sees_every_spelling(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from ..kernel import approval_link\n"
                     "def f():\n    import jupyter_guard.server.gate\n"
                     "    from jupyter_guard.kernel.cellhook import KernelGuard\n"
                     "    return __import__('jupyter_guard.kernel.refusals')\n")
    found = _violations([probe], "jupyter_guard.guard")
    assert len([v for v in found if ":1 " in v]) >= 1
    assert any("server.gate" in v for v in found)
    assert any("kernel.cellhook" in v for v in found)
    assert any("kernel.refusals" in v for v in found)



MAX_LINES = 400   # the house style's flag: a module this long is split by responsibility


def _too_long(root: Path, limit: int = MAX_LINES) -> list[str]:
    """The modules under ``root`` longer than ``limit`` lines, with their length."""
    return [f"{p.relative_to(root)}: {n} lines" for p in sorted(root.rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > limit]


def test_no_module_of_the_package_is_over_400_lines():
    assert len(list(PKG.rglob("*.py"))) > 200
    assert _too_long(PKG) == [], "split these by responsibility (STYLE.md: 400 is a flag)"


def test_the_length_check_finds_a_long_module(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tmp_path / "short.py").write_text("x = 1\n" * MAX_LINES)
    assert _too_long(tmp_path) == [f"sub/long.py: {MAX_LINES + 1} lines"]
