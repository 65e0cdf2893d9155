"""User code the guard calls back while it works (a DuckDB function, a pandas ``apply``, a
column's ``__str__``, a path's ``__fspath__``, a value's ``__repr__`` while a frame is masked)
is judged as user code, whatever it does to the guard's ``busy`` token: in a real kernel over a
real DuckDB warehouse, the protected file it deletes is still there afterwards, and the cells
after it are still guarded. Each of these deleted the file before. Honest callbacks still give
their results."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.test_busy_token import FIND, ROWS, _intact, _settle, busy_kernel
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

# raise the token (to the nearest live frame of the guard's, else True), then delete
HIT = FIND + ("def hit(*a):\n    f = sys._getframe(1)\n"
              "    while f is not None and R('whclgre_thneq') not in str(f.f_globals.get("
              "'__name__')):\n        f = f.f_back\n"
              "    setattr(guard_globals()[R('_gy')], R('ohfl'), True if f is None else f)\n"
              "    getattr(os, R('erzbir'))('data/probe.duckdb')\n    return 1\n"
              "class E:\n    def __init__(self, v): self.v = v\n"
              "    def __fspath__(self): hit(); return self.v\n"
              "    def __str__(self): hit(); return self.v\n"
              "    def __repr__(self): hit(); return self.v\n"
              "    def __hash__(self): return 1\n"
              "    def __eq__(self, o): return self is o\n"
              "import pandas as pd\n")
# the column's __str__ deletes without touching the token: the guard renders it while busy
PLAIN = ("class C:\n    def __str__(self):\n"
         "        getattr(os, R('erzbir'))('data/probe.duckdb')\n        return 'c'\n"
         "    def __hash__(self): return 1\n    def __eq__(self, o): return self is o\n")
# ... with no Python frame of the user's at all: a builtin bound as the method
BUILTIN = ("import functools\nclass B:\n    __str__ = staticmethod(functools.partial("
           "getattr(os, R('erzbir')), 'data/probe.duckdb'))\n"
           "    def __hash__(self): return 1\n    def __eq__(self, o): return self is o\n")

CALLBACKS = [
    pytest.param("con.create_function('ev', lambda x: hit() + x, ['BIGINT'], 'BIGINT')\n"
                 "print(con.execute('SELECT ev(id) FROM customers').fetchall())", id="duckdb-udf"),
    pytest.param("pd.DataFrame({'a': [1, 2]}).apply(lambda r: hit(), axis=1)",
                 id="pandas-apply"),
    pytest.param("pd.DataFrame({'a': [1]}).to_csv(E('out.csv'))", id="fspath"),
    pytest.param("pd.DataFrame({E('c'): [1]}).to_csv('out2.csv')", id="column-str"),
    pytest.param("print(pd.DataFrame({'ssn': [E('123-45-6789')]}))", id="repr-masked"),
    pytest.param(PLAIN + "pd.DataFrame({C(): [1]}).to_csv('out3.csv')", id="column-str-plain"),
    pytest.param(BUILTIN + "pd.DataFrame({B(): [1]}).to_csv('out4.csv')", id="column-str-builtin"),
]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with busy_kernel(work_root, HIT) as kernel:
        yield kernel


@pytest.mark.parametrize("cell", CALLBACKS)
def test_a_callback_is_judged_as_user_code(k: Kernel, cell: str) -> None:
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    try:
        k.run(cell)
        assert probe.exists(), "the callback deleted the protected file"
        r = k.run("getattr(os, R('erzbir'))('data/probe.duckdb')")   # and the next cell
        assert not r.ok and "Blocked by jupyter_guard" in r.everything(), r.everything()
    finally:
        _settle(k)
    _intact(k, probe)


def test_honest_callbacks_still_run(k: Kernel) -> None:
    """The twins: a DuckDB function, a pandas apply, a path object, a printed object column."""
    r = k.ok("import pathlib\n"
             "con.create_function('plus1', lambda x: x + 1, ['BIGINT'], 'BIGINT')\n"
             "print('udf', con.execute('SELECT sum(plus1(id)) FROM customers').fetchall()[0][0])\n"
             "df = pd.DataFrame({'a': [1, 2, 3]})\n"
             "print('apply', int(df.apply(lambda r: r['a'] * 2, axis=1).sum()))\n"
             "df.to_csv(pathlib.Path('honest.csv'))\n"
             "print('csv', open('honest.csv').read().splitlines()[-1])\n"
             "class V:\n    def __repr__(self): return 'v-ok'\n"
             "print(pd.DataFrame({'o': [V()]}))")
    total = sum(range(ROWS)) + ROWS
    assert f"udf {total}" in r.stream and "apply 12" in r.stream, r.everything()
    assert "csv 2,3" in r.stream and "v-ok" in r.stream, r.everything()
