"""Results fetched from DuckDB in Python (``execute().df()``, ``fetchdf``, ``fetchall``, relation
``arrow()``, ``duckdb.sql``/``duckdb.execute``) keep the taint of their columns like
``%%guarded_sql`` results: derived sensitive columns are masked when shown and refused by the
writers (renamed copies too), and values printed from plain Python objects built from sensitive
columns are masked by value. Benign twins give correct results. Every message is scanned."""
from __future__ import annotations

import json

import pytest

from tests.conftest import make_warehouse

pytestmark = pytest.mark.kernel

ROWS = range(1000, 1004)
EMAILS = [f"user{n}@example.com" for n in ROWS]
SSNS = [f"{100000000 + n:09d}" for n in ROWS]
RAW = EMAILS + SSNS + [e[::-1] for e in EMAILS]
Q = ("SELECT id, replace(ssn, '-', '') AS k, reverse(email) AS r, city FROM customers "
     "WHERE id BETWEEN 1000 AND 1003 ORDER BY id")


@pytest.fixture(scope="module")
def k(kernel):
    make_warehouse(kernel.workdir / "wh.duckdb")
    kernel.ok(f"import duckdb, json, numpy as np, pandas as pd\ncon = duckdb.connect('wh.duckdb')\n"
              f"Q = {Q!r}")
    return kernel


def _clean(r) -> None:
    text = json.dumps([m["content"] for m in r.messages]) + json.dumps(r.reply)
    for raw in RAW:
        assert raw not in text, raw


FETCHED = [
    pytest.param("d = con.execute(Q).df()", id="execute-df"),
    pytest.param("d = con.execute(Q).fetchdf()", id="execute-fetchdf"),
    pytest.param("d = con.execute(Q).fetch_df()", id="execute-fetch-df"),
    pytest.param("d = con.cursor().execute(Q).df()", id="cursor-execute-df"),
    pytest.param("d = duckdb.execute(Q, connection=con).df()", id="module-execute-df"),
    pytest.param("d = duckdb.sql(Q, connection=con).df()", id="module-sql-df"),
    pytest.param("d = con.sql(Q).fetchdf()", id="relation-fetchdf"),
    pytest.param("d = con.execute(Q).df().rename(columns={'k': 'z', 'r': 'w'}).copy()",
                 id="renamed-copy"),
    pytest.param("d = con.execute(Q).df()[['k', 'r']]", id="selected"),
    pytest.param("d = pd.DataFrame({'z': con.execute(Q).df()['k']})", id="rebuilt"),
]


@pytest.mark.parametrize("code", FETCHED)
def test_fetched_frames_are_masked_and_refused_by_writers(k, code, request):
    f = f"fetched_{request.node.callspec.id}.csv"
    r = k.ok(f"{code}\nd")
    _clean(r)
    r = k.blocked(f"d.to_csv({f!r})", "exfiltration")
    _clean(r)
    assert not (k.workdir / f).exists()


OTHER_FETCHES = [
    pytest.param("rows = con.execute(Q).fetchall()\nopen(F, 'w').write(repr(rows))",
                 id="fetchall-open"),
    pytest.param("row = con.execute(Q).fetchone()\nopen(F, 'w').write(str(row))", id="fetchone"),
    pytest.param("rows = con.execute(Q).fetchmany(3)\njson.dump(rows, open(F, 'w'))",
                 id="fetchmany-json"),
    pytest.param("a = con.execute(Q).fetchnumpy()\nnp.save(F, a['k'].astype(str))",
                 id="fetchnumpy-np-save"),
    pytest.param("import pyarrow.parquet as pq\npq.write_table(con.sql(Q).to_arrow_table(), F)",
                 id="arrow-write-table"),
    pytest.param("import pyarrow.csv as pc\npc.write_csv(con.sql(Q).fetch_arrow_table(), F)",
                 id="arrow-write-csv"),
    pytest.param("rows = duckdb.sql(Q, connection=con).fetchall()\n"
                 "open(F, 'w').write(','.join(r[1] for r in rows))", id="module-sql-fetchall"),
]


@pytest.mark.parametrize("code", OTHER_FETCHES)
def test_other_fetches_are_known_at_the_exits(k, code, request):
    f = f"other_{request.node.callspec.id}.out"
    r = k.blocked(f"F = {f!r}\n{code}", "exfiltration")
    _clean(r)
    for p in k.workdir.glob(f + "*"):
        text = p.read_bytes().decode("latin-1").replace("\x00", "")
        assert not any(v in text for v in RAW), p


PRINTS = [
    pytest.param("x = con.execute('SELECT ssn FROM customers ORDER BY id').fetchall()\n"
                 "print(x[1000][0])", id="fetchall-item"),
    pytest.param("x = con.sql('SELECT id, ssn FROM customers ORDER BY id').df().ssn.tolist()\n"
                 "print(x[1000], x[1001])", id="tolist-item"),
    pytest.param("df = con.sql('SELECT * FROM customers ORDER BY id').df()\n"
                 "print(df.ssn.iloc[1002])", id="iloc-scalar"),
    pytest.param("df = con.sql('SELECT * FROM customers ORDER BY id').df()\n"
                 "for s in df.ssn[1000:1004]:\n    print('v=' + s)", id="loop-concat"),
    pytest.param("rows = con.execute(Q).fetchall()\nprint([r[1] for r in rows])",
                 id="derived-list"),
    pytest.param("rows = con.execute(Q).fetchall()\nprint(rows[0][2])", id="derived-reverse"),
    pytest.param("rows = con.execute(Q).fetchall()\nrows[0][1]", id="displayed-value"),
]


@pytest.mark.parametrize("code", PRINTS)
def test_printed_values_from_sensitive_columns_are_masked(k, code):
    _clean(k.ok(code))


def test_benign_fetches_work(k):
    r = k.ok("p = con.execute('SELECT city, count(*) AS n FROM customers GROUP BY city "
             "ORDER BY city').df()\np.to_csv('benign_counts.csv', index=False)\n"
             "rows = con.execute('SELECT id, amount FROM customers ORDER BY id').fetchall()\n"
             "print(rows[1000], con.execute(Q).df().city.tolist())\n"
             "print(con.execute('SELECT id FROM customers ORDER BY id').df().id.tolist()[1003])")
    assert "(1000, Decimal('1500.0'))" in r.everything() and "['Lyon', 'Nice', 'Paris', 'Lyon']" in r.everything()
    assert "\n1003" in r.everything()
    assert (k.workdir / "benign_counts.csv").read_text().splitlines() == [
        "city,n", "Lyon,1667", "Nice,1666", "Paris,1667"]
    k.ok("import pyarrow.parquet as pq\n"
         "pq.write_table(con.sql('SELECT id, city FROM customers').to_arrow_table(), "
         "'benign.parquet')\n"
         "assert pq.read_table('benign.parquet').num_rows == 5000")
