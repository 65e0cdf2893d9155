"""Self-protection covers the guard's modules by name, not by a hand-kept list: a module added to
or moved anywhere under ``jupyter_guard`` is protected without anyone remembering to list it."""
from __future__ import annotations

import importlib
import pkgutil

import pytest

import jupyter_guard
from jupyter_guard.hooks.integrity import protected


def _all_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(jupyter_guard.__path__, "jupyter_guard."))


def test_every_module_of_the_package_is_protected():
    names = _all_modules()
    # the packages of the redesign are all there (a walk that found nothing would prove nothing)
    for pkg in ("guard", "kernel", "hooks", "server", "analyze", "policy", "mask", "record"):
        assert any(n.startswith(f"jupyter_guard.{pkg}.") for n in names), pkg
    assert [n for n in names if not protected(n)] == []
    assert protected("jupyter_guard")
    assert not protected("jupyter_guardian") and not protected("pandas")


def test_every_module_imports():
    """A move that left an import pointing at an old path fails here, not in a user's kernel."""
    for name in _all_modules():
        if name.endswith(".sitecustomize"):
            continue   # a child's start-up file: importing it starts a child guard
        importlib.import_module(name)


# Every function of every guard module loaded in the kernel is swapped for a clone (the same code,
# another object: nothing breaks while it is swapped). Spelt indirectly, so the cell runs and the
# swap really happens; the next cell's re-arm must put every original back. The swap waits for
# the imports the audit's thread may have in progress: a module swapped while its import is still
# running is recorded as its import leaves it (the case the late-import test below covers).
TAMPER = """
import sys, time, types
def _importing():   # a guard module the audit's thread is importing right now
    return [n for n, m in list(sys.modules.items()) if n.startswith('jupyter_' + 'guard')
            and getattr(getattr(m, '__spec__', None), '_initializing', False)]
end = time.monotonic() + 60
while _importing() and time.monotonic() < end:
    time.sleep(0.01)
orig, dicts = {}, {}
for n, m in list(sys.modules.items()):
    if n.split('.')[0] != 'jupyter_' + 'guard':
        continue
    dicts[n] = vars(m)
    for k, f in list(vars(m).items()):
        if isinstance(f, types.FunctionType) and f.__module__ == n:
            orig[n, k] = f
            vars(m)[k] = types.FunctionType(f.__code__, f.__globals__, f.__name__,
                                            f.__defaults__, f.__closure__)
print('SWAPPED', len(orig), len({n for n, _ in orig}))
"""
CHECK = """
left = sorted(f'{n}.{k}' for (n, k), f in orig.items() if dicts[n][k] is not f)
print('LEFT', left[:20])
print('PACKAGES', sorted({n.split('.')[1] for n, _ in orig if n.count('.') >= 2}))
"""


@pytest.mark.kernel
def test_a_swapped_function_in_any_guard_module_is_put_back(kernel):
    r = kernel.ok(TAMPER)
    line = next(ln for ln in r.everything().splitlines() if ln.startswith("SWAPPED"))
    _, functions, modules = line.split()
    assert int(functions) > 500 and int(modules) > 50, line
    kernel.run("1")   # re-armed (and the tamper recorded) before this cell is judged
    r = kernel.ok(CHECK)
    assert "LEFT []" in r.everything(), r.everything()
    packages = next(ln for ln in r.everything().splitlines() if ln.startswith("PACKAGES"))
    for pkg in ("guard", "kernel", "hooks", "policy", "analyze", "record", "mask"):
        assert f"'{pkg}'" in packages, packages
    r = kernel.ok("g = get_ipython()._jupyter_guard_kernel.guard\n"
                  "print([e['reason'] for e in g.recent if e['rule_id'] == 'self-protection'][-3:])")
    assert "re-armed" in r.everything(), r.everything()


# A guard module that is first imported after load (the audit's background thread imports some on
# first use) is protected as its import left it: a cell that changes it before the next re-arm
# first sees it does not get its change adopted as the original.
LATE_TAMPER = """
import importlib, pkgutil, sys, types
pkg = importlib.import_module('jupyter_' + 'guard')
late = [m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.')
        if m.name not in sys.modules and not m.ispkg
        and not m.name.endswith(('sitecustomize', '__main__'))]
swapped, late_dicts = {}, {}
for name in late[:8]:
    try:
        mod = importlib.import_module(name)
    except Exception:
        continue
    late_dicts[name] = vars(mod)
    for k, f in list(vars(mod).items()):
        if isinstance(f, types.FunctionType) and f.__module__ == name:
            swapped[name, k] = f
            vars(mod)[k] = types.FunctionType(f.__code__, f.__globals__, f.__name__,
                                              f.__defaults__, f.__closure__)
print('LATE', len(swapped), len({n for n, _ in swapped}))
"""
LATE_CHECK = """
left = sorted(f'{n}.{k}' for (n, k), f in swapped.items() if late_dicts[n][k] is not f)
print('LEFT', left[:20])
"""


@pytest.mark.kernel
def test_a_guard_module_imported_after_load_is_protected_as_its_import_left_it(kernel):
    r = kernel.ok(LATE_TAMPER)
    line = next(ln for ln in r.everything().splitlines() if ln.startswith("LATE"))
    _, functions, modules = line.split()
    assert int(functions) > 10 and int(modules) >= 2, line
    kernel.run("1")
    r = kernel.ok(LATE_CHECK)
    assert "LEFT []" in r.everything(), r.everything()


@pytest.mark.kernel
def test_the_audits_own_thread_imports_no_guard_module_after_load(tmp_path):
    """Every guard module the audit's background thread uses is imported at load: a cell never
    runs while the thread is half-way through importing one (a function swapped in that window
    would be taken for the original)."""
    import time

    import duckdb

    from tests.kernelutil import guarded_kernel

    with guarded_kernel(tmp_path) as k:
        k.ok("import sys\nAT_LOAD = {n for n in sys.modules if n.startswith('jupyter_' + 'guard')}")
        for i in range(3):
            k.ok(f"x = {i}")
        audit, end, seen = tmp_path / "audit.duckdb", time.monotonic() + 120, 0
        while seen < 3 and time.monotonic() < end:   # the kernel's own ingest has run
            try:
                con = duckdb.connect(str(audit), read_only=True)
                seen = con.execute("SELECT count(*) FROM events").fetchone()[0]
                con.close()
            except duckdb.Error:
                pass
            time.sleep(0.2)
        assert seen >= 3, seen
        r = k.ok("print('LATE', sorted({n for n in sys.modules "
                 "if n.startswith('jupyter_' + 'guard')} - AT_LOAD))")
        assert "LATE []" in r.everything(), r.everything()
