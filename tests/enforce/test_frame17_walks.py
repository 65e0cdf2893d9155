"""A cell's own callback, run while the guard's frames are live, walks the frame stack to the
driver's raw connection in a guard frame's locals and drops a table on it unjudged. Each attack
is a spelling of one class: code of the user's that DuckDB, ``sqlite3``, the collector, logging,
a thread or a library runs inside a guarded call, getting a frame by any audited way
(``sys._getframe``, ``inspect``, ``traceback``, ``tb_frame``, ``sys._current_frames``). Each
test asserts the victim table is still there and no raw object was reached; each benign twin
asserts honest callbacks, logging, warnings, tracebacks and frame reads still work.

Still open (strict xfails): a frame handed over with no audit event, a signal handler's
``frame`` argument and the tracer ``threading.settrace`` installs in a thread, and a frame of
the user's own generator, taken while nothing of the guard's ran, whose ``f_back`` is the
guard's once the guard resumes it.
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

SETUP = '''\
import codecs, gc, inspect, io, logging, sys, threading, traceback, warnings, sqlite3, duckdb
R = lambda s: codecs.decode(s, 'rot13')
BOX, TRIED = [], []
def _raw(v):
    t = type(v)
    if t.__name__ in ('DuckDBPyConnection', 'Connection') and \\
            not t.__module__.startswith('jupyter_guard'):
        return v
    s = getattr(v, '__self__', None) if callable(v) else None
    return None if s is None or s is v else _raw(s)
def _look(values, depth=0):
    for v in list(values):
        r = _raw(v)
        if r is not None:
            return r
        if depth < 1:
            inner = list(v.values()) if isinstance(v, dict) else list(v) if isinstance(
                v, (list, tuple, set)) else []
            r = _look(inner, depth + 1)
            if r is not None:
                return r
def hunt(f):
    """The first raw connection in the locals or globals of ``f`` and the frames under it."""
    TRIED.append(1)
    while f is not None:
        r = _look(f.f_locals.values()) or _look(f.f_globals.values())
        if r is not None:
            BOX.append(r)
            return r
        f = f.f_back
def finish(n):
    raw = BOX[0] if BOX else None
    print('RAWFOUND' if raw is not None else 'NORAW', len(TRIED))
    if raw is not None:
        try:
            raw.execute(R('QEBC GNOYR ivpgvz') + str(n))
        except Exception:
            raw.execute(R('QEBC GNOYR g'))
            raw.commit()
    BOX.clear(); TRIED.clear()
'''


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    yield from _kernel(work_root)


@pytest.fixture(scope="module")
def k_handed(work_root: Path) -> Iterator[Kernel]:
    """A kernel of its own for the open attacks that hand a frame over unaudited: a signal
    handler firing every 0.3 ms inside the guard's own work can leave that kernel slow to answer
    on a loaded machine, which is not what the benign twins below test."""
    yield from _kernel(work_root)


def _kernel(work_root: Path) -> Iterator[Kernel]:
    d = new_workspace(work_root)
    make_warehouse(d / "wh.duckdb", rows=50)
    c = unwrap(duckdb.connect(str(d / "wh.duckdb")))
    for i in range(40):
        c.execute(f"CREATE TABLE victim{i} AS SELECT 1 AS x")
    c.close()
    s = sqlite3.connect(d / "w.sqlite")
    with s:
        s.execute("CREATE TABLE t(x)")
        s.execute("INSERT INTO t VALUES (1), (2)")
    s.close()
    with guarded_kernel(d, connect=True) as kernel:
        kernel.ok(SETUP + "sq = sqlite3.connect('w.sqlite')\n")
        yield kernel


def _victims(k: Kernel) -> int:
    r = k.ok("print('V', con.execute(\"SELECT count(*) FROM duckdb_tables() "
             "WHERE table_name LIKE 'victim%'\").fetchall()[0][0])")
    return int(r.stream.split("V ")[1].split()[0])


def _sqlite_intact(k: Kernel) -> bool:
    c = sqlite3.connect(k.workdir / "w.sqlite")
    try:
        return c.execute("SELECT count(*) FROM t").fetchall() == [(2,)]
    except sqlite3.Error:
        return False
    finally:
        c.close()


def _try(code: str) -> str:
    """``code`` with any error it raises caught (the refusal may surface as DuckDB's error)."""
    body = "\n".join("    " + line for line in code.strip("\n").splitlines())
    return f"try:\n{body}\nexcept BaseException as e:\n    print('ERR', type(e).__name__)\n"


UDF = "con.create_function('{name}', {fn}, ['INTEGER'], 'INTEGER')\n"
DUCK = [
    pytest.param("def spy(x):\n    hunt(inspect.currentframe().f_back)\n    return x\n"
                 + UDF.format(name="spy1", fn="spy") + _try("con.execute('SELECT spy1(1)')"),
                 id="udf-inspect-currentframe"),
    # code made at run time (no file: judged by who runs it, the UDF, a cell's code)
    pytest.param("def spy(x):\n    exec('hunt(sys._getframe(1))')\n    return x\n"
                 + UDF.format(name="spy1e", fn="spy") + _try("con.execute('SELECT spy1e(1)')"),
                 id="udf-exec-text"),
    pytest.param("spy = eval(compile('lambda x: (hunt(sys._getframe(1)), x)[1]', "
                 "'<sqlalchemy generated wrapper>', 'eval'))\n"
                 + UDF.format(name="spy1g", fn="spy") + _try("con.execute('SELECT spy1g(1)')"),
                 id="udf-generated-file-name"),
    pytest.param("def spy(x):\n    for fi in inspect.stack():\n        hunt(fi.frame)\n    return x\n"
                 + UDF.format(name="spy2", fn="spy") + _try("con.execute('SELECT spy2(1)')"),
                 id="udf-inspect-stack"),
    pytest.param("def spy(x):\n    for f, _ in traceback.walk_stack(None):\n        hunt(f)\n"
                 "    return x\n" + UDF.format(name="spy3", fn="spy")
                 + _try("con.execute('SELECT spy3(1)')"), id="udf-walk-stack"),
    pytest.param("def spy(x):\n    hunt(logging.currentframe())\n    return x\n"
                 + UDF.format(name="spy4", fn="spy") + _try("con.execute('SELECT spy4(1)')"),
                 id="udf-logging-currentframe"),
    pytest.param("def spy(x):\n    try:\n        1/0\n    except ZeroDivisionError as e:\n"
                 "        hunt(e.__traceback__.tb_frame)\n    return x\n"
                 + UDF.format(name="spy5", fn="spy") + _try("con.execute('SELECT spy5(1)')"),
                 id="udf-caught-traceback-frame"),
    pytest.param("import pyarrow.compute as pc\ndef spy(x):\n    hunt(sys._getframe(1))\n"
                 "    return pc.multiply(x, 2)\ncon.create_function('spy6', spy, ['INTEGER'], "
                 "'INTEGER', type='arrow')\n" + _try("con.execute('SELECT spy6(1)')"),
                 id="arrow-udf"),
    pytest.param("import pdb\ndef spy(x):\n    p = pdb.Pdb(stdin=io.StringIO('up\\n!hunt("
                 "sys._getframe())\\ncont\\n'), stdout=io.StringIO())\n    p.set_trace()\n"
                 "    return x\n" + UDF.format(name="spy7", fn="spy")
                 + _try("con.execute('SELECT spy7(1)')"), id="udf-pdb"),
    pytest.param("class P(tuple):\n    def __iter__(s):\n        hunt(sys._getframe(1))\n"
                 "        return tuple.__iter__(s)\n    def __getitem__(s, i):\n"
                 "        hunt(sys._getframe(1))\n        return tuple.__getitem__(s, i)\n"
                 + _try("con.execute('SELECT ?', P((1,))).fetchall()"),
                 id="parameter-tuple-iter"),
    pytest.param("import pyarrow as pa\nT = pa.table({'a': [1]})\nclass A:\n"
                 "    def __arrow_c_stream__(s, requested_schema=None):\n"
                 "        hunt(sys._getframe(1))\n        return T.__arrow_c_stream__("
                 "requested_schema)\nscanme = A()\n"
                 + _try("con.sql('SELECT * FROM scanme').fetchall()"),
                 id="replacement-scan-arrow-capsule"),
    pytest.param("class H(logging.Handler):\n    def emit(s, r):\n        hunt(sys._getframe(1))\n"
                 "lg = logging.getLogger('mine')\nlg.addHandler(H())\nlg.setLevel(logging.INFO)\n"
                 "def spy(x):\n    lg.info('in a udf')\n    return x\n"
                 + UDF.format(name="spy8", fn="spy") + _try("con.execute('SELECT spy8(1)')"),
                 id="logging-handler"),
    pytest.param("def show(*a, **kw):\n    hunt(sys._getframe(1))\nwarnings.showwarning = show\n"
                 "warnings.simplefilter('always')\ndef spy(x):\n    warnings.warn('w')\n"
                 "    return x\n" + UDF.format(name="spy9", fn="spy")
                 + _try("con.execute('SELECT spy9(1)')")
                 + "warnings.showwarning = warnings._showwarning_orig\n"
                 "warnings.resetwarnings()\n", id="showwarning"),
    pytest.param("class D:\n    def __del__(s):\n        try:\n            hunt(sys._getframe(1))\n"
                 "        except BaseException:\n            TRIED.append(0)\n        cycle()\n"
                 "def cycle():\n    d = D()\n    d.me = d\nold = gc.get_threshold()\n"
                 "gc.set_threshold(1, 1, 1)\ncycle()\n"
                 + _try("for i in range(30):\n    con.execute('SELECT 42').fetchall()\n"
                        "    if BOX:\n        break") + "D.__del__ = lambda s: None\n"
                 "gc.set_threshold(*old)\ngc.collect()\n", id="del-during-guarded-call"),
    pytest.param("stop = []\ndef spin():\n    while not stop and not BOX:\n        try:\n"
                 "            for fr in list(sys._current_frames().values()):\n"
                 "                hunt(fr)\n        except BaseException:\n"
                 "            TRIED.append(0)\nth = threading.Thread(target=spin)\nth.start()\n"
                 "import time\ndef slow(x):\n    time.sleep(0.002)\n    return x\n"
                 + UDF.format(name="slow1", fn="slow")
                 + _try("for i in range(40):\n    con.execute('SELECT slow1(1)').fetchall()\n"
                        "    if BOX:\n        break")
                 + "stop.append(1)\nth.join()\n", id="thread-current-frames"),
    pytest.param("def spy(x):\n    f = sys._getframe(1)\n    f.f_locals.clear()\n"
                 "    hunt(sys._getframe(1).f_globals and f)\n    return x\n"
                 + UDF.format(name="spy10", fn="spy") + _try("con.execute('SELECT spy10(1)')"),
                 id="udf-frame-globals-and-writes"),
    pytest.param("def spy(x):\n    gc.get_referrers(con)\n    return x\n"
                 + UDF.format(name="spy11", fn="spy") + _try("con.execute('SELECT spy11(1)')"),
                 id="udf-gc-referrers"),
]
_N = [0]


@pytest.mark.parametrize("attack", DUCK)
def test_a_duckdb_callback_reaches_no_raw_connection(k: Kernel, attack: str) -> None:
    _N[0] += 1
    before = _victims(k)
    r = k.run(attack + f"finish({_N[0]})")
    assert "NORAW" in r.stream and "RAWFOUND" not in r.stream, r.everything()
    assert _victims(k) == before


SQLITE = [
    pytest.param("def spy(x):\n    hunt(sys._getframe(1))\n    return x\n"
                 "sq.create_function('spy', 1, spy)\n"
                 + _try("sq.execute('SELECT spy(1)').fetchall()"), id="create-function"),
    pytest.param("def auth(*a):\n    hunt(sys._getframe(1))\n    return sqlite3.SQLITE_OK\n"
                 "sq.set_authorizer(auth)\n" + _try("sq.execute('SELECT x FROM t').fetchall()")
                 + "sq.set_authorizer(None)\n", id="authorizer"),
    pytest.param("def prog():\n    hunt(sys._getframe(1))\n    return 0\n"
                 "sq.set_progress_handler(prog, 1)\n"
                 + _try("sq.execute('SELECT x FROM t').fetchall()")
                 + "sq.set_progress_handler(None, 1)\n", id="progress-handler"),
    pytest.param("def tr(s):\n    hunt(sys._getframe(1))\nsq.set_trace_callback(tr)\n"
                 + _try("sq.execute('SELECT x FROM t').fetchall()")
                 + "sq.set_trace_callback(None)\n", id="trace-callback"),
    pytest.param("def rf(cur, row):\n    hunt(sys._getframe(1))\n    return row\n"
                 "cu = sq.cursor()\ncu.row_factory = rf\n"
                 + _try("cu.execute('SELECT x FROM t').fetchall()"), id="row-factory"),
]


@pytest.mark.parametrize("attack", SQLITE)
def test_a_sqlite_callback_reaches_no_raw_connection(k: Kernel, attack: str) -> None:
    _N[0] += 1
    r = k.run(attack + f"finish({_N[0]})")
    assert "NORAW" in r.stream and "RAWFOUND" not in r.stream, r.everything()
    assert _sqlite_intact(k)


OPEN = pytest.mark.xfail(strict=True, reason="a frame handed over with no audit event")
HANDED = [   # the signal handler last: on a loaded machine it can keep its kernel busy
    pytest.param("def tr(frame, event, arg):\n    if event == 'call':\n        hunt(frame)\n"
                 "threading.settrace(tr)\nth = threading.Thread(target=lambda: con.execute("
                 "'SELECT 42').fetchall())\nth.start()\nth.join()\nthreading.settrace(None)\n",
                 id="threading-settrace", marks=OPEN),
    pytest.param("def g():\n    yield (1,)\n    hunt(HELD[0].f_back)\n    yield (2,)\n"
                 "gen = g()\nHELD = [gen.gi_frame]\ncon.execute('CREATE OR REPLACE TABLE gt(x "
                 "INTEGER)')\n" + _try("con.executemany('INSERT INTO gt VALUES (?)', gen)"),
                 id="own-generator-resumed-by-the-guard", marks=OPEN),
    pytest.param("import signal\ndef h(signum, frame):\n    try:\n        BOX or hunt(frame)\n"
                 "    except BaseException:\n        TRIED.append(0)\n"
                 "old = signal.signal(signal.SIGALRM, h)\n"
                 "signal.setitimer(signal.ITIMER_REAL, 0.0003, 0.0003)\ntry:\n"
                 "    for i in range(200):\n        con.execute('SELECT 42').fetchall()\n"
                 "        if BOX:\n            break\nfinally:\n"
                 "    signal.setitimer(signal.ITIMER_REAL, 0)\n"
                 "    signal.signal(signal.SIGALRM, old)\n",
                 id="signal-handler-frame", marks=OPEN),
]


@pytest.mark.parametrize("attack", HANDED)
def test_a_frame_handed_over_unaudited_reaches_no_raw_connection(k_handed: Kernel,
                                                                 attack: str) -> None:
    _N[0] += 1
    before = _victims(k_handed)
    r = k_handed.run(attack + f"finish({_N[0]})")
    assert "NORAW" in r.stream and "RAWFOUND" not in r.stream, r.everything()
    assert _victims(k_handed) == before


# -- the benign twins: honest callbacks and frame reads work, with correct results -------------

def test_honest_udfs_log_warn_and_format_their_stack(k: Kernel) -> None:
    r = k.ok(
        "import pandas as pd\nfrom pandas.util._exceptions import find_stack_level\n"
        "recs = []\nclass Keep(logging.Handler):\n    def emit(s, rec):\n"
        "        recs.append((rec.funcName, rec.getMessage()))\n"
        "lg2 = logging.getLogger('honest')\nlg2.addHandler(Keep())\nlg2.setLevel(logging.INFO)\n"
        "stacks, levels = [], []\ndef dbl(x):\n    lg2.info('saw %s', x)\n"
        "    lg2.info('with stack', stack_info=True)\n"
        "    warnings.warn('careful', UserWarning)\n"
        "    stacks.append(''.join(traceback.format_stack()))\n"
        "    levels.append(find_stack_level())\n    try:\n        1/0\n"
        "    except ZeroDivisionError:\n        stacks.append(traceback.format_exc())\n"
        "    return x * 2\n"
        "con.create_function('dbl', dbl, ['INTEGER'], 'INTEGER')\n"
        "with warnings.catch_warnings(record=True) as ws:\n    warnings.simplefilter('always')\n"
        "    out = con.execute('SELECT dbl(21)').fetchall()\n"
        "print('OUT', out, recs[0], len(recs), ws[0].message, 'dbl' in stacks[0],\n"
        "      'ZeroDivisionError' in stacks[1], levels[0] > 0)")
    assert "OUT [(42,)] ('dbl', 'saw 21') 2 careful True True True" in r.stream, r.everything()


def test_honest_frame_reads_outside_guarded_calls_work(k: Kernel) -> None:
    r = k.ok(
        "mine = 7\ndef where():\n    return inspect.stack()[1].frame.f_locals.get('mine')\n"
        "got = []\nth = threading.Thread(target=lambda: got.append(len(inspect.stack())))\n"
        "th.start()\nth.join()\ndef gen():\n    yield sys._getframe().f_back is not None\n"
        "print('SEE', where(), sys._getframe().f_locals['mine'], got[0] > 0, next(gen()),\n"
        "      len(traceback.extract_stack()) > 0)")
    assert "SEE 7 7 True True True" in r.stream, r.everything()


def test_an_error_in_a_udf_shows_its_traceback_and_post_mortem_sees_no_raw(k: Kernel) -> None:
    r = k.run("def bad(x):\n    raise ValueError('bad value in my udf')\n"
              "con.create_function('bad', bad, ['INTEGER'], 'INTEGER')\n"
              "con.execute('SELECT bad(1)')")
    assert r.status == "error" and "bad value in my udf" in r.everything(), r.everything()
    r = k.ok("import pdb\ntry:\n    con.execute('SELECT * FROM nosuchtable')\n"
             "except Exception as e:\n    tb = e.__traceback__\nout = io.StringIO()\n"
             "p = pdb.Pdb(stdin=io.StringIO('where\\ndown\\np sorted(locals())\\ndown\\n"
             "p sorted(locals())\\nq\\n'), stdout=out)\np.reset()\np.interaction(None, tb)\n"
             "text = out.getvalue()\nprint('PM', 'nosuchtable' in text or 'execute' in text, "
             "'DuckDBPyConnection' in text)")
    assert "PM True False" in r.stream, r.everything()


def test_honest_sqlite_callbacks_work(k: Kernel) -> None:
    r = k.ok(
        "seen = []\nsq.create_function('twice', 1, lambda v: v * 2)\n"
        "sq.set_authorizer(lambda *a: sqlite3.SQLITE_OK)\n"
        "sq.set_progress_handler(lambda: seen.append('p') and 0, 1)\n"
        "sq.set_trace_callback(lambda s: seen.append(s))\n"
        "cu2 = sq.cursor()\ncu2.row_factory = sqlite3.Row\n"
        "rows = [tuple(r) for r in cu2.execute('SELECT twice(x) FROM t ORDER BY x')]\n"
        "sq.set_authorizer(None)\nsq.set_progress_handler(None, 1)\n"
        "sq.set_trace_callback(None)\n"
        "print('SQ', rows, any('twice' in str(s) for s in seen), 'p' in seen)")
    assert "SQ [(2,), (4,)] True True" in r.stream, r.everything()


def test_honest_duckdb_callbacks_work(k: Kernel) -> None:
    r = k.ok(
        "import pyarrow as pa, pyarrow.compute as pc\nT2 = pa.table({'a': [1, 2]})\nclass A2:\n"
        "    def __arrow_c_stream__(s, requested_schema=None):\n"
        "        return T2.__arrow_c_stream__(requested_schema)\nscan2 = A2()\n"
        "con.create_function('tri', lambda x: pc.multiply(x, 3), ['INTEGER'], 'INTEGER', "
        "type='arrow')\nclass P2(tuple):\n    def __iter__(s):\n"
        "        return tuple.__iter__(s)\n"
        "print('DK', con.sql('SELECT sum(a) FROM scan2').fetchall(),\n"
        "      con.execute('SELECT tri(2)').fetchall(), con.execute('SELECT ?', P2((5,)))"
        ".fetchall())")
    assert "DK [(3,)] [(6,)] [(5,)]" in r.stream, r.everything()
