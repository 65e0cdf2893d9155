"""A refusal raised on a DuckDB worker thread reaches the user as the guard's one line.

DuckDB catches an exception of a SQL function, or of the method of a user object it scans or
casts, and raises its own error: its message held the refusal after DuckDB's words, or after the
worker's whole Python traceback (``Error: Traceback (most recent call last): ...``), and IPython
showed it with a traceback through the guard's and DuckDB's frames (even the guard's module
docstring). Now the cell shows the refusal itself: every message of the cell is searched, no
``Traceback`` anywhere, the refusal line and its structured refusal present, the protected file
intact; the ``execute_reply`` names the same error as iopub (``GuardBlocked``, the refusal's
line), not DuckDB's. The twin: an honest SQL function gives correct results, and a SQL function's own error
is still shown as DuckDB's (nothing is passed off as a refusal)."""
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
         "class H:\n    __str__ = staticmethod(RM)\n"
         "class P:\n    def __str__(self):\n        RM()\n        return 'p'\n"
         "def rm(i):\n    RM()\n    return 'x'\n")

ATTACKS = [
    pytest.param(f"big = pd.DataFrame({{'a': range({N}), 'note': [H()] * {N}}})\n"
                 "con.execute('SELECT count(CAST(note AS VARCHAR)) FROM big').fetchall()",
                 id="scanned-object-builtin-str"),
    pytest.param(f"big = pd.DataFrame({{'a': range({N}), 'note': [P()] * {N}}})\n"
                 "con.sql('SELECT count(CAST(note AS VARCHAR)) FROM big').fetchall()",
                 id="scanned-object-python-str"),
    pytest.param("con.create_function('rmp', rm, ['BIGINT'], 'VARCHAR', side_effects=True)\n"
                 f"con.execute('SELECT count(rmp(i)) FROM range({N}) t(i)').fetchall()",
                 id="udf-python"),
    pytest.param("con.create_function('rml', lambda i: RM(), ['BIGINT'], 'VARCHAR', "
                 "side_effects=True)\n"
                 f"con.sql('SELECT count(rml(i)) FROM range({N}) t(i)').fetchall()",
                 id="udf-builtin"),
]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with busy_kernel(work_root, SETUP) as kernel:
        yield kernel


def test_honest_function_runs_and_its_own_error_is_duckdbs(k: Kernel) -> None:
    r = k.ok("con.create_function('up', lambda s: s.upper() + '!', ['VARCHAR'], 'VARCHAR')\n"
             f"print(con.execute(\"SELECT count(DISTINCT up('ab' || (i % 3)::VARCHAR)) "
             f"FROM range({N}) t(i)\").fetchall())")
    assert "[(3,)]" in r.stream, r.everything()
    r = k.run("def bad(i):\n    raise ValueError('no such thing')\n"
              "con.create_function('bad', bad, ['BIGINT'], 'VARCHAR')\n"
              "con.execute('SELECT bad(1)').fetchall()")
    text = r.everything()
    assert r.status == "error" and "no such thing" in text, text
    assert "Blocked by jupyter_guard" not in text and "GuardBlocked" not in text, text
    assert r.reply["ename"] != "GuardBlocked" and "no such thing" in r.reply["evalue"], r.reply


@pytest.mark.parametrize("cell", ATTACKS)
def test_a_refusal_on_a_duckdb_thread_is_one_line(k: Kernel, cell: str) -> None:
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    try:
        r = k.run(cell)
        text = r.everything()
        assert probe.exists(), f"the protected file was deleted: {text}"
        assert r.status == "error", text
        assert "Blocked by jupyter_guard [destructive-files]" in text, text
        assert "Traceback" not in text and "Exception" not in text, text
        errors = [m["content"] for m in r.messages if m["msg_type"] == "error"]
        assert len(errors) == 1 and errors[0]["ename"] == "GuardBlocked", errors
        assert errors[0]["jupyter_guard"]["rule_id"] == "destructive-files", errors
        assert len(errors[0]["traceback"]) <= 3, errors   # the line, and where it points
        reply = r.reply   # the shell channel names the same error as iopub, with the refusal
        assert reply["ename"] == "GuardBlocked", reply
        assert reply["evalue"] == errors[0]["evalue"], (reply, errors)
        assert reply["jupyter_guard"]["rule_id"] == "destructive-files", reply
        assert "Exception" not in str(reply) and "Traceback" not in str(reply), reply
    finally:
        _settle(k)
    _intact(k, probe)
