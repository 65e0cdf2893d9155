"""Code of the user's that DuckDB runs from a thread of its own, with no Python frame under it.

DuckDB calls a user object's method (a value of a frame it scans, a value a SQL function returns)
and SQL functions from its worker threads. When that method is a builtin (``functools.partial(
os.remove, p)`` bound as ``__str__``), the audit event has no Python frame at all: the run-time
hook's ``sys._getframe(1)`` raised ``ValueError: call stack is not deep enough`` (the action
failed, with that traceback instead of a refusal). Such an event is now judged as user code: the
protected file is intact and the error names the rule. Honest functions and frames still run on
those threads with correct results."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.test_busy_token import _intact, _settle, busy_kernel
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

N = 300_000   # rows enough that DuckDB's worker threads take part
SETUP = ("import functools, pandas as pd\ncon.execute('SET threads=4')\n"
         "RM = functools.partial(getattr(os, R('erzbir')), 'data/probe.duckdb')\n"
         "class H:\n    __str__ = staticmethod(RM)\n")

ATTACKS = [
    pytest.param(f"big = pd.DataFrame({{'a': range({N}), 'note': [H()] * {N}}})\n"
                 "con.execute('SELECT count(CAST(note AS VARCHAR)) FROM big').fetchall()",
                 id="scanned-object-str"),
    pytest.param("con.create_function('mk', lambda i: H(), ['BIGINT'], 'VARCHAR', "
                 "side_effects=True)\n"
                 f"con.execute('SELECT count(mk(i)) FROM range({N}) t(i)').fetchall()",
                 id="udf-returns-object"),
    pytest.param("con.create_function('rml', lambda i: RM(), ['BIGINT'], 'VARCHAR', "
                 "side_effects=True)\n"
                 f"con.execute('SELECT count(rml(i)) FROM range({N}) t(i)').fetchall()",
                 id="udf-removes"),
]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with busy_kernel(work_root, SETUP) as kernel:
        yield kernel


HONEST = ("con.create_function('up', lambda s: s.upper() + '!', ['VARCHAR'], 'VARCHAR')\n"
          f"print(con.execute(\"SELECT count(DISTINCT up('ab' || (i % 3)::VARCHAR)), "
          f"min(up('x')) FROM range({N}) t(i)\").fetchall())\n"
          "class Tag:\n    def __init__(self, v): self.v = v\n"
          "    def __str__(self): return f'tag{self.v % 5}'\n"
          f"tags = pd.DataFrame({{'t': [Tag(i) for i in range({N})]}})\n"
          "print(con.execute('SELECT count(DISTINCT CAST(t AS VARCHAR)) FROM tags').fetchall())")


def test_honest_functions_and_objects_run_on_duckdb_threads(k: Kernel) -> None:
    """First in the module: once the session has read the warehouse (``_intact``), each call of
    a SQL function is scanned for its known values (about 0.3 ms: minutes for these rows)."""
    r = k.ok(HONEST)
    assert "[(3, 'X!')]" in r.stream and "[(5,)]" in r.stream, r.everything()


@pytest.mark.parametrize("cell", ATTACKS)
def test_a_native_caller_is_judged_as_user_code(k: Kernel, cell: str) -> None:
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    try:
        r = k.run(cell)
        text = r.everything()
        assert probe.exists(), f"the protected file was deleted: {text}"
        assert r.status == "error", text
        assert "[destructive-files]" in text, text
        assert "call stack is not deep enough" not in text, text
    finally:
        _settle(k)
    _intact(k, probe)
