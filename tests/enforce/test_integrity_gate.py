"""Self-protection compares a guard module's globals only when the module's dict changed (its
version tag moved, ``hooks/snapshots.py``). The gate must be exactly as strict as comparing every
global every time: every way of writing to a module's dict moves the tag, and in a kernel whose
gate is primed (cells ran clean since load) each such write is put back by the next re-arm."""
from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import pytest

from jupyter_guard.hooks import snapshots
from jupyter_guard.hooks.snapshots import Versions


def test_the_gate_is_on_for_this_interpreter() -> None:
    """The tests below prove something only where the tag is used (CPython 3.11 here)."""
    assert snapshots.supported()
    assert Versions.make([{}]) is not None


def _module() -> types.ModuleType:
    m = types.ModuleType("gate_probe")
    exec("def f():\n    global x\n    x = object()\n\nx = 1\ny = 2\nz = 3\n", vars(m))
    return m


def _store_global(m: types.ModuleType) -> None:
    for _ in range(100):   # warm: the interpreter specialises a hot STORE_GLOBAL
        m.f()


def _specialised_setattr(m: types.ModuleType) -> None:
    for i in range(100):
        m.x = i + 1000


def _rename_last(m: types.ModuleType) -> None:
    d = vars(m)
    d["z2"] = d.pop("z")   # the values in order and the size are unchanged: only the key moved


WRITES: list[Any] = [
    pytest.param(lambda m: setattr(m, "x", object()), id="setattr"),
    pytest.param(_specialised_setattr, id="setattr-hot-loop"),
    pytest.param(lambda m: vars(m).__setitem__("x", object()), id="dict-item"),
    pytest.param(lambda m: m.f.__globals__.update(x=object()), id="func-globals-update"),
    pytest.param(_store_global, id="store-global"),
    pytest.param(lambda m: exec("x = 5", vars(m)), id="exec-in-module"),
    pytest.param(lambda m: delattr(m, "y"), id="delattr"),
    pytest.param(lambda m: vars(m).pop("y"), id="dict-pop"),
    pytest.param(lambda m: vars(m).setdefault("new", 1), id="setdefault-new-key"),
    pytest.param(lambda m: vars(m).popitem(), id="popitem"),
    pytest.param(_rename_last, id="rename-last-global"),
    pytest.param(lambda m: vars(m).clear(), id="clear"),
]


@pytest.mark.parametrize("write", WRITES)
def test_every_write_to_a_module_dict_moves_its_version(
        write: Callable[[types.ModuleType], Any]) -> None:
    m, other = _module(), _module()
    tags = Versions.make([vars(m), vars(other)])
    assert tags is not None
    before = tags.read()
    write(m)
    after = tags.read()
    assert after[0] != before[0]
    assert after[1] == before[1]   # only the dict written to


def test_reading_a_module_never_moves_its_version() -> None:
    m = _module()
    tags = Versions.make([vars(m)])
    assert tags is not None
    before = tags.read()
    for _ in range(100):
        _ = m.x, m.y, vars(m).get("z"), "x" in vars(m), list(vars(m).items())
        m.f.__globals__.get("x")
    m.y = m.y   # the same object stored again: the dict is unchanged
    assert tags.read() == before


# In a guarded kernel, after cells that ran clean (every module's version recorded as clean), a
# guard function is replaced by each spelling (written indirectly, so the cell runs and the write
# really happens); the next re-arm must put the original back.
TARGET = "m = __import__('jupyter_' + 'guard.policy.rules', fromlist=['x'])\nd = vars(m)\n"
NAME = "K = 'destructive_' + 'files'\n"
LAST = "K = [k for k in d if not k.startswith('__')][-1]\n"
KERNEL_WRITES = [
    pytest.param(NAME, "class Same:\n    def __eq__(self, o): return True\n"
                 "    __hash__ = object.__hash__\n    def __call__(self, *a, **k): return None\n"
                 "d[K] = Same()", id="equal-to-everything"),
    pytest.param(NAME, "sa = getattr(__builtins__, 'set' + 'attr')\n"
                 "for i in range(100):\n    sa(m, K, lambda *a: None)", id="setattr-hot-loop"),
    pytest.param(NAME, "orig.__globals__[K] = lambda *a: None", id="function-globals"),
    pytest.param(NAME, "import types\n"
                 "code = compile('def w():\\n    global ' + K + '\\n    ' + K + ' = None\\n', "
                 "'w', 'exec')\nw = types.FunctionType(code.co_consts[0], d)\n"
                 "for i in range(100):\n    w()", id="store-global"),
    pytest.param(LAST, "d[K + '_'] = d.pop(K)", id="rename-last-global"),
    pytest.param(NAME, "d.pop(K)", id="delete"),
]


@pytest.mark.kernel
@pytest.mark.parametrize(("name", "write"), KERNEL_WRITES)
def test_a_write_after_clean_cells_is_put_back(kernel: Any, name: str, write: str) -> None:
    kernel.ok(TARGET + name + "orig = d[K]")
    for _ in range(3):
        kernel.ok("1")   # re-armed clean: the gate has every module's version as clean
    kernel.ok(write + "\nprint('WRITTEN', d.get(K) is not orig)")   # it ran, and it wrote
    kernel.run("1")      # re-armed before this cell is judged
    r = kernel.ok("print('RESTORED', d.get(K) is orig)")
    assert "RESTORED True" in r.everything(), r.everything()
    r = kernel.ok("g = get_ipython()._jupyter_guard_kernel.guard\n"
                  "print([e['reason'] for e in g.recent if e['rule_id'] == 'self-protection'][-1])")
    assert "jupyter_guard.policy.rules." in r.everything(), r.everything()
