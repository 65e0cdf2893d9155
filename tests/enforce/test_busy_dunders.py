"""A user object whose method is a builtin or a library function (no Python frame of the user's
at all: ``staticmethod(functools.partial(os.remove, p))`` as ``__str__``, ``__fspath__``,
``__hash__``, ``__iter__``) that the guard calls while it works is judged as user code: in a real
kernel over a real DuckDB warehouse, the protected file it deletes is still there afterwards.
The guard's innermost frame tells them apart (``own_code.entered``): a call by name is the
guard's, an operator or a builtin that runs an object's own methods is the object's. Honest
objects with the same methods still work."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.test_busy_token import ROWS, _intact, _settle, busy_kernel
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

# each method deletes the protected file through a builtin bound as the method (rot13 names:
# only the run-time layer sees what runs)
GADGETS = ("import functools, operator, shutil\n"
           "RM = functools.partial(getattr(os, R('erzbir')), 'data/probe.duckdb')\n"
           "class S(str):\n    __str__ = staticmethod(RM)\n    __repr__ = staticmethod(RM)\n"
           "    __format__ = staticmethod(RM)\n"
           "class P:\n    __fspath__ = staticmethod(RM)\n"
           "class H:\n    __hash__ = staticmethod(RM)\n    __eq__ = staticmethod(RM)\n"
           "    __str__ = staticmethod(RM)\n    __repr__ = staticmethod(RM)\n"
           "class L(list):\n    def __iter__(self):\n"
           "        return map(getattr(os, R('erzbir')), ['data/probe.duckdb'])\n"
           "    __len__ = staticmethod(RM)\n"
           "import pandas as pd\n")

ATTACKS = [
    pytest.param("pd.DataFrame({'a': [1]}).to_csv(P())", id="fspath-to_csv"),
    pytest.param("print(pd.DataFrame({'ssn': [H()]}))", id="repr-printed-frame"),
    pytest.param("H()", id="repr-displayed"),
    pytest.param("con.execute(S('SELECT 1')).fetchall()", id="sql-str-subclass"),
    pytest.param("con.execute('SELECT ?', [H()]).fetchall()", id="sql-parameter"),
    pytest.param("pd.DataFrame({H(): [1]}).to_csv('out_h.csv')", id="column-hash"),
    pytest.param("print(S('ssn 123-45-6789'))", id="printed-str-subclass"),
    pytest.param("open('out_l.txt', 'w').writelines(L(['a']))", id="writelines-iter"),
    pytest.param("import numpy as np\nnp.array([H()], dtype=object).tofile('out_n.txt', sep=',')",
                 id="numpy-tofile-sep"),
    pytest.param("import numpy as np\nnp.array([H()], dtype=object).tofile('out_n.bin')",
                 id="numpy-tofile-objects"),
    pytest.param("pd.DataFrame({'note': [H()]}).to_csv('out_v.csv')", id="to_csv-value"),
    pytest.param("pd.DataFrame({'note': [H()]}).to_json('out_v.json')", id="to_json-value"),
    pytest.param("con.execute('CREATE TABLE IF NOT EXISTS t_h (note VARCHAR)')\n"
                 "hf = pd.DataFrame({'note': [H()]})\n"
                 "con.execute('INSERT INTO t_h SELECT CAST(note AS VARCHAR) FROM hf')",
                 id="duckdb-insert-frame"),
    pytest.param("con.execute(\"COPY (SELECT 1 AS a) TO 'out_c.csv'\")\n"
                 "hf = pd.DataFrame({'note': [H()]})\n"
                 "con.execute(\"COPY (SELECT * FROM hf) TO 'out_c2.csv'\")", id="duckdb-copy-frame"),
]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with busy_kernel(work_root, GADGETS) as kernel:
        yield kernel


@pytest.mark.parametrize("cell", ATTACKS)
def test_a_builtin_method_is_judged_as_user_code(k: Kernel, cell: str) -> None:
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    try:
        r = k.run(cell)
        assert probe.exists(), f"the object's method deleted the protected file: {r.everything()}"
    finally:
        _settle(k)
    _intact(k, probe)


def test_a_frame_of_such_objects_made_earlier_is_not_read_by_its_names(k: Kernel) -> None:
    """A frame made in an earlier cell is judged by its column names only when they tell what
    it exports: a column of objects (whose text DuckDB gets by running their methods, here
    under the guard's own sample of the rows) is "columns the guard could not tell"."""
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    k.ok("hf_early = pd.DataFrame({'note': [H()]})")
    try:
        k.blocked("con.execute(\"COPY (SELECT * FROM hf_early) TO 'out_e.csv'\")",
                  "exfiltration")
        assert probe.exists()
    finally:
        _settle(k)
    _intact(k, probe)


def test_honest_methods_still_run(k: Kernel) -> None:
    """The twins: str subclasses, path objects, hashable keys and iterables of the user's own,
    through the same guard paths."""
    r = k.ok("import pathlib\n"
             "class Q(str):\n    pass\n"
             "class PP:\n    def __fspath__(self): return 'honest.csv'\n"
             "class K:\n    def __init__(self, v): self.v = v\n"
             "    def __hash__(self): return hash(self.v)\n"
             "    def __eq__(self, o): return isinstance(o, K) and o.v == self.v\n"
             "    def __str__(self): return f'k{self.v}'\n    __repr__ = __str__\n"
             "pd.DataFrame({'a': [1, 2]}).to_csv(PP())\n"
             "print(pd.read_csv('honest.csv')['a'].sum())\n"
             "print(con.execute(Q('SELECT count(*) FROM customers')).fetchall()[0][0])\n"
             "print(con.execute('SELECT ?::VARCHAR', [str(K(3))]).fetchall()[0][0])\n"
             "print(pd.DataFrame({K(1): [5]}).to_string())\n"
             "open('honest.txt', 'w').writelines(iter(['a\\n', 'b\\n']))\n"
             "print(open('honest.txt').read().split())\n"
             "print(f'{K(7)}', pd.DataFrame({'x': [1, 2]}).apply(lambda r: r.x * 2, axis=1).sum())")
    out = r.stream
    assert "3\n" in out and f"{ROWS}\n" in out and "k3" in out and "k1" in out, r.everything()
    assert "['a', 'b']" in out and "k7 6" in out, r.everything()
