"""Holes a red team found at the end of stop 36: each test asserts the guard holds (the table is
still there, the probe is refused, no raw value printed). Those still open are strict xfails,
which fail once their hole is closed, so removing the mark is the check.

- A guard method holds the raw driver connection in a local of its frame: a cell reached it
  from a traceback (even of a harmless error), and a DROP on it was not judged. Closed: a
  traceback's guard frames are cleared when their frame is read (``sealed_events``), and a
  frame whose way back passes the guard's live frames is refused to user code (a DuckDB UDF, a
  parameter object walking ``sys._getframe``: ``hooks/frame_walks.py``), so those tests pass.
- Inference: guess values from a file, a DataFrame scan, generated rows or some ``VALUES``
  spellings were not seen as constants, and a generated join mapped every id to its SSN.
  Closed: a comparison is decided by where the other side's values come from
  (``analyze.sql_sides``), so those tests pass (more in ``test_infer17_lineage``).
- Two respellings of a fetched e-mail printed it raw. Closed: a known e-mail is looked for in
  one normal form of the printed text (``known_emails``), so those tests pass.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from jupyter_guard.connections import unwrap
from tests.conftest import make_warehouse, new_workspace
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

SETUP = ("import codecs, sys, sqlite3, duckdb\nR = lambda s: codecs.decode(s, 'rot13')\n"
         "def grab(e, kind='DuckDBPyConnection'):\n    tb = e.__traceback__\n"
         "    while tb is not None:\n        for v in list(tb.tb_frame.f_locals.values()):\n"
         "            if type(v).__name__ == kind: return v\n        tb = tb.tb_next\n")
OPEN = pytest.mark.xfail(strict=True, reason="open hole found by red team 16")


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = new_workspace(work_root)
    make_warehouse(d / "wh.duckdb", rows=300)
    c = unwrap(duckdb.connect(str(d / "wh.duckdb")))
    for i in range(20):
        c.execute(f"CREATE TABLE victim{i} AS SELECT 1 AS x")
    c.close()
    s = sqlite3.connect(d / "w2.sqlite")
    with s:
        s.execute("CREATE TABLE t(x)")
    s.close()
    (d / "g.csv").write_text("s\n100000012\n")   # the guesses, written before any read
    with guarded_kernel(d, connect=True) as kernel:
        kernel.ok(SETUP)
        yield kernel


def _victims(k: Kernel) -> int:
    r = k.ok("print('V', con.execute(\"SELECT count(*) FROM duckdb_tables() "
             "WHERE table_name LIKE 'victim%'\").fetchall()[0][0])")
    return int(r.stream.split("V ")[1].split()[0])


WALK = ("    while f is not None:\n        box.extend(v for v in list(f.f_locals.values()) "
        "if type(v).__name__ == 'DuckDBPyConnection')\n        f = f.f_back\n")
TB = ("    raw = None\n    for tb in TBS:\n        while tb is not None:\n"
      "            raw = next((v for v in list(tb.tb_frame.f_locals.values()) "
      "if type(v).__name__ == 'DuckDBPyConnection'), raw)\n            tb = tb.tb_next\n")
RAW = [
    pytest.param("try:\n    con.execute('SELECT * FROM nosuchtable')\nexcept Exception as e:\n"
                 "    raw = grab(e)\n", id="traceback-of-benign-error"),
    pytest.param("try:\n    con.execute(R('QEBC GNOYR ivpgvz0'))\nexcept BaseException as e:\n"
                 "    raw = grab(e)\n", id="traceback-of-refused-call"),
    pytest.param("import traceback\ntry:\n    con.execute('SELECT * FROM nosuchtable')\n"
                 "except Exception as e:\n    raw = next((v for f, _ in traceback.walk_tb("
                 "e.__traceback__) for v in list(f.f_locals.values()) "
                 "if type(v).__name__ == 'DuckDBPyConnection'), None)\n", id="walk-tb"),
    pytest.param("try:\n    con.cursor().execute('SELECT * FROM nosuchtable')\nexcept Exception:\n"
                 "    TBS = [sys.exc_info()[2]]\n" + TB, id="exc-info-of-cursor"),
    pytest.param("import inspect\ntry:\n    con.execute('SELECT 1').fetchmany('x')\n"
                 "except Exception:\n    TBS = []\n    raw = next((v for fi in inspect.trace() "
                 "for v in list(fi.frame.f_locals.values()) "
                 "if type(v).__name__ == 'DuckDBPyConnection'), None)\n",
                 id="inspect-trace-of-fetchmany"),
    pytest.param("box = []\ndef spy(x):\n    f = sys._getframe(1)\n" + WALK + "    return x\n"
                 "con.create_function('spy', spy, ['INTEGER'], 'INTEGER')\n"
                 "con.execute('SELECT spy(1)').fetchall()\nraw = box[0]\n", id="udf-frame-walk"),
    pytest.param("box = []\nclass P(list):\n    def __iter__(s):\n        f = sys._getframe(1)\n"
                 + WALK.replace("\n    ", "\n        ").replace("    while", "        while", 1)
                 + "        return list.__iter__(s)\n    def __getitem__(s, i):\n"
                 "        s.__iter__()\n        return list.__getitem__(s, i)\n"
                 "con.execute('SELECT ?', P([1])).fetchall()\nraw = box[0]\n",
                 id="parameter-frame-walk"),
]
_N = [0]


@pytest.mark.parametrize("get", RAW)
def test_the_raw_duckdb_connection_is_out_of_reach(k: Kernel, get: str) -> None:
    _N[0] += 1
    before = _victims(k)
    k.run(get + f"raw.execute(R('QEBC GNOYR ivpgvz{_N[0]}'))\nprint('DONE')")
    assert _victims(k) == before


def test_a_guarded_error_still_shows_its_traceback(k: Kernel) -> None:
    """The benign twin: a traceback read after its guard frames are cleared still formats, and
    the cell's own frame keeps its locals."""
    r = k.ok("import traceback\nmine = 42\ntry:\n    con.execute('SELECT * FROM nosuchtable')\n"
             "except Exception as e:\n    text = traceback.format_exc()\n"
             "    print('LINES', 'nosuchtable' in text, e.__traceback__.tb_frame.f_locals['mine'])")
    assert "LINES True 42" in r.stream, r.everything()


def test_the_raw_sqlite_connection_is_out_of_reach(k: Kernel) -> None:
    k.run("sq = sqlite3.connect('w2.sqlite')\ntry:\n    sq.execute('SELECT * FROM nosuch')\n"
          "except Exception as e:\n    s = grab(e, 'Connection')\n"
          "s.execute(R('QEBC GNOYR g'))\ns.commit()\nprint('DONE')")
    c = sqlite3.connect(k.workdir / "w2.sqlite")
    try:
        assert c.execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]
    finally:
        c.close()


INFER = [
    pytest.param("con.execute('CREATE TABLE ga(s VARCHAR)')\ncon.execute(\"INSERT INTO ga "
                 "SELECT * FROM (VALUES ('100000012'))\")\n", "ssn IN (SELECT s FROM ga)",
                 id="insert-select-star-values"),
    pytest.param("con.execute(\"CREATE TABLE gb AS SELECT * FROM (VALUES ('100000012')) t(s)\")\n",
                 "ssn IN (SELECT s FROM gb)", id="ctas-star-values"),
    pytest.param("", "ssn IN (SELECT s FROM read_csv('g.csv', all_varchar=true))",
                 id="read-csv"),
    pytest.param("import pandas as pd\nguessdf = pd.DataFrame({'s': ['100000012']})\n",
                 "ssn IN (SELECT s FROM guessdf)", id="replacement-scan-dataframe"),
    pytest.param("", "ssn IN (SELECT CAST(100000012 + range AS VARCHAR) FROM range(1))",
                 id="generated-range"),
    pytest.param("", "array_has_any([ssn], ['100000012'])", id="array-has-any"),
]


@pytest.mark.parametrize(("pre", "where"), INFER)
def test_the_guess_is_refused_as_inference(k: Kernel, pre: str, where: str) -> None:
    query = "SELECT count(*) FROM customers WHERE " + where
    r = k.run(pre + f"print('ANSWER', con.sql({query!r}).fetchall())")
    assert "ANSWER" not in r.stream and "inference" in r.everything(), r.everything()


def test_a_generated_join_does_not_map_ids_to_ssns(k: Kernel) -> None:
    r = k.run("print('ANSWER', con.sql(\"WITH g AS (SELECT lpad(CAST(100000000 + range AS "
              "VARCHAR), 9, '0') AS s FROM range(1000)) SELECT c.id, CAST(g.s AS BIGINT) - "
              "100000000 FROM customers c JOIN g ON c.ssn = g.s ORDER BY c.id LIMIT 3\")"
              ".fetchall())")
    assert "ANSWER [(0, 0), (1, 1), (2, 2)]" not in r.stream, r.everything()


@pytest.mark.parametrize("spell", [
    pytest.param("e.upper().replace('@', ' AT ')", id="upper-and-at-word"),
    pytest.param("'@'.join(reversed(e.split('@')))", id="domain-first"),
])
def test_a_fetched_email_respelt_is_not_printed_raw(k: Kernel, spell: str) -> None:
    r = k.run("es = [r[0] for r in con.execute('SELECT email FROM customers ORDER BY id')"
              f".fetchall()]\nprint('ANSWER', [{spell} for e in es[:2]])")
    assert not ("USER0" in r.stream.upper() and "USER1" in r.stream.upper()), r.everything()
