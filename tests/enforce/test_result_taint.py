"""Results fetched from DuckDB in Python (``execute().df()``, ``fetchdf``, ``fetchall``, relation
``arrow()``, ``duckdb.sql``/``duckdb.execute``) keep the taint of their columns like
``%%guarded_sql`` results: derived sensitive columns are masked when shown and refused by the
writers (renamed copies too), and values printed from plain Python objects built from sensitive
columns are masked by value. Benign twins give correct results. Every message is scanned."""
from __future__ import annotations

import json
import re

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


# Pieces of a sensitive value too short to be recognised when printed: one SSN digit per query
# would rebuild every SSN. Refused whatever the fetch; the piece is never shown.
PIECES = [
    pytest.param("con.sql(\"SELECT id, substr(ssn, 3, 1) AS d FROM customers\").fetchall()",
                 id="substr-fetchall"),
    pytest.param("con.cursor().execute(\"SELECT ssn[4] FROM customers WHERE id = 1001\").fetchone()",
                 id="index-fetchone"),
    pytest.param("con.sql(\"SELECT left(ssn, 2) AS p FROM customers\").df()", id="left-df"),
    pytest.param("con.sql(\"SELECT ascii(substr(ssn, 5, 1)) AS a FROM customers\").fetchnumpy()",
                 id="ascii-numpy"),
    pytest.param("con.sql(\"SELECT CAST(ssn AS BIGINT) % 100 AS m FROM customers\").fetchall()",
                 id="cast-modulo"),
    pytest.param("con.cursor().execute(\"SELECT substr(email, 1, 3) AS p FROM customers\")"
                 ".fetchmany(5)",
                 id="email-prefix"),
]


@pytest.mark.parametrize("code", PIECES)
def test_pieces_too_short_to_mask_are_refused(k, code):
    r = k.blocked(f"x = {code}\nprint(x)", "inference")
    assert "too short to mask" in r.everything()
    k.ok("print('x' in dir())")   # the cell stopped before anything was bound or printed
    text = json.dumps([m["content"] for m in r.messages])
    assert "stdout" not in [m["content"].get("name") for m in r.messages]
    assert "Blocked" in text


def test_lengths_nullness_and_long_pieces_of_sensitive_columns_work(k):
    r = k.ok("print(con.sql(\"SELECT length(email) AS n, email IS NULL AS z, typeof(ssn) AS t "
             "FROM customers WHERE id = 1002\").fetchall())")
    assert "(20, False, 'VARCHAR')" in r.text, r.text   # user1002@example.com
    r = k.ok("print(con.sql(\"SELECT substr(ssn, 1, 6) AS p FROM customers WHERE id = 1002\")"
             ".fetchall())")
    assert "100001" not in r.text and "████" in r.text, r.text
    r = k.ok("print(con.sql(\"SELECT count(*) AS n FROM customers GROUP BY length(email) "
             "ORDER BY n DESC LIMIT 1\").fetchall())")
    assert re.search(r"\[\(\d+,\)\]", r.text), r.text


def test_guarded_sql_pieces_too_short_to_mask_are_refused(k):
    r = k.blocked("%%guarded_sql con\nSELECT id, substr(ssn, 6, 1) AS d FROM customers "
                  "WHERE id BETWEEN 1000 AND 1003", "inference")
    assert "too short to mask" in r.everything()
    r = k.ok("print(type(_).__name__, getattr(_, 'columns', None) is not None and 'd' in _.columns)")
    assert "True" not in r.text, r.text
    r = k.ok("%%guarded_sql con\nSELECT length(email) AS n, count(*) AS c FROM customers "
             "GROUP BY 1 ORDER BY 1")
    assert "17" in r.everything() or "18" in r.everything(), r.everything()


def test_a_short_value_of_a_column_that_holds_short_values_is_fetched(k):
    """Not a piece: a sensitive column whose own values are short (a card's expiry month)."""
    k.ok("con.execute(\"CREATE TABLE IF NOT EXISTS staff AS SELECT range AS id, "
         "CAST(range % 12 + 1 AS VARCHAR) AS card_month, 'x' || range || '@corp.example' "
         "AS email FROM range(50)\")")
    r = k.ok("rows = con.sql('SELECT id, card_month, trim(card_month) AS p FROM staff "
             "ORDER BY id LIMIT 3').fetchall()\n"
             "print('SAME', rows == [(0, '1', '1'), (1, '2', '2'), (2, '3', '3')])")
    # (compared in the kernel: a print of these short digits after this module's earlier
    # output was masked whole once in a full run; see the threat model, red team 19)
    assert "SAME True" in r.text, r.text
    k.blocked("print(con.sql('SELECT substr(email, 1, 2) AS p FROM staff').fetchall())",
              "inference")
