"""Values moved into names (issue 15; pivot 20): a DuckDB ``PIVOT`` whose ``ON`` reads a
sensitive column names its result's columns with that column's values (``ON ssn``: whole SSNs;
``ON left(ssn, 5)``: prefixes no known value matches). Each is refused as ``exfiltration`` in a
real guarded kernel on a real DuckDB warehouse file, through ``con.sql``, ``con.execute``, the
relational API (``rel.query``), ``%%guarded_sql`` and ``PIVOT_WIDER``, and no SSN, prefix or
e-mail reaches any message the kernel sent. The benign twins (a PIVOT on ``city``) give raw
DuckDB's answers. pandas labels made of whole values (``pivot``, ``pivot_table``, ``crosstab``,
``set_index().T``, ``rename``, ``value_counts``), and labels made of prefixes (``columns=
df.ssn.str[:5]``, a lineage-marked ``set_index('p').T``), are masked when shown or printed and refused at
the file writers, no file written; a frame with ordinary labels writes unchanged.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.enforce.raw_answers import Answers, answered_kernel, same_answer
from tests.kernelutil import Kernel, Reply

pytestmark = pytest.mark.kernel

N = 300
# a whole SSN or a 5-to-8 character prefix of one (masked forms start with the mask character)
RAW = re.compile(r"(?<![\d█])10000\d{0,4}(?!\d)|user\d+@")

ATTACKS = {
    "on-ssn": "PIVOT customers ON ssn USING count(*)",
    "on-prefix": "PIVOT customers ON left(ssn, 5) USING count(*)",
    "on-email": "PIVOT customers ON email USING count(*)",
    "on-renamed": "PIVOT (SELECT ssn AS s FROM customers) ON s USING count(*)",
    "on-cte": "WITH w AS (SELECT email AS e, city FROM customers) PIVOT w ON e USING count(*)",
    "on-two-keys": "PIVOT customers ON city, substr(ssn, 1, 6) USING count(*)",
    "on-position": "PIVOT customers ON #3 USING count(*)",
    "wider": "PIVOT_WIDER customers ON left(ssn, 5) USING count(*)",
    "in-a-select": "SELECT * FROM (PIVOT customers ON ssn USING count(*))",
}
HONEST = {
    "on-city": "PIVOT (SELECT city FROM customers) ON city USING count(*)",
    "on-city-grouped": "SELECT * FROM (PIVOT (SELECT city, id < 100 AS low, amount FROM "
                       "customers) ON city USING sum(amount) GROUP BY low) ORDER BY 1",
}


expected, k = answered_kernel(HONEST, N, first="import pandas as pd\ndf = con.sql('SELECT * "
                                                  "FROM customers ORDER BY id LIMIT 20').df()")


def clean(r: Reply) -> str:
    seen = r.everything() + "\n" + repr(r.reply)
    assert not RAW.search(seen), seen
    return seen


def refused(r: Reply) -> None:
    seen = clean(r)
    assert r.status == "error" and "[exfiltration]" in seen, seen
    assert "names of its result" in seen, seen


@pytest.mark.parametrize("name", list(ATTACKS))
def test_a_pivot_on_a_sensitive_column_is_refused(k: Kernel, name: str) -> None:
    refused(k.run(f"print(con.sql({ATTACKS[name]!r}).columns)"))


@pytest.mark.parametrize("code", [
    pytest.param("print(con.execute('PIVOT customers ON ssn USING count(*)').df().columns)",
                 id="execute-df"),
    pytest.param("print(con.table('customers').query('x', 'PIVOT x ON left(ssn, 5) USING "
                 "count(*)').columns)", id="relation-query"),
    pytest.param("c20 = con.sql('SELECT * FROM customers').df()\nprint(duckdb.sql('PIVOT c20 "
                 "ON ssn USING count(*)').columns)", id="module-sql-of-a-frame"),
    pytest.param("%%guarded_sql con\nPIVOT customers ON left(ssn, 5) USING count(*)",
                 id="guarded-sql"),
    pytest.param("%%guarded_sql con\nPIVOT_WIDER customers ON email USING count(*)",
                 id="guarded-sql-wider"),
])
def test_every_route_refuses_it(k: Kernel, code: str) -> None:
    refused(k.run(code))


@pytest.mark.parametrize("name", list(HONEST))
def test_a_pivot_on_an_ordinary_column_gives_raw_duckdbs_answer(
        k: Kernel, expected: tuple[Path, Answers], name: str) -> None:
    same_answer(k, expected, name, HONEST[name])


def test_a_pivot_on_city_shows_its_column_names(k: Kernel) -> None:
    r = k.ok("print(con.sql('PIVOT (SELECT city FROM customers) ON city USING count(*)')"
             ".columns)")
    assert "['Lyon', 'Nice', 'Paris']" in r.stream, r.everything()


FRAMES = {
    "pivot": "df.pivot(index='id', columns='ssn', values='amount')",
    "pivot-table": "df.pivot_table(columns='email', values='amount')",
    "crosstab": "pd.crosstab(df.id, df.ssn)",
    "transposed": "df.set_index('ssn').T",
    "renamed": "df.rename(columns=dict(zip(df.columns, df.ssn)))",
    "grouped": "df.groupby('ssn').size().to_frame().T",
    "counted": "df.ssn.value_counts()",
    # pieces too short to be known values: masked because their level is named ``ssn``/``p``
    "prefix": "df.pivot_table(index='city', columns=df.ssn.str[:5], values='amount', "
              "aggfunc='count')",
    "prefix-counted": "df.ssn.str[:6].value_counts()",
    "prefix-lineage": "df.assign(p=df.ssn.str[:6]).set_index('p')[['amount']].T",
}


@pytest.mark.parametrize("name", list(FRAMES))
@pytest.mark.parametrize("how", ["display", "print"])
def test_labels_made_of_values_are_masked_when_shown(k: Kernel, name: str, how: str) -> None:
    f = FRAMES[name]
    r = k.ok(f if how == "display" else f"print({f})")
    assert "█" in clean(r), r.everything()


@pytest.mark.parametrize("name", list(FRAMES))
@pytest.mark.parametrize("ext", ["csv", "json"])
def test_labels_made_of_values_are_refused_at_the_writers(
        k: Kernel, expected: tuple[Path, Answers], name: str, ext: str) -> None:
    out = expected[0] / f"labels-{name}.{ext}"
    r = k.run(f"({FRAMES[name]}).to_{ext}({str(out)!r})")
    clean(r)
    assert r.status == "error" and "[exfiltration]" in r.everything(), r.everything()
    assert not out.exists() or not RAW.search(out.read_text(errors="replace"))


def test_ordinary_labels_write_and_show_unchanged(
        k: Kernel, expected: tuple[Path, Answers]) -> None:
    out = expected[0] / "by-month.csv"
    k.ok("m = pd.DataFrame({'city': ['Paris', 'Lyon', 'Paris', 'Nice'], "
         "'month': ['jan', 'feb', 'feb', 'jan'], 'amount': [1.0, 2.0, 3.0, 4.0]})\n"
         "p = m.pivot_table(index='city', columns='month', values='amount')")
    r = k.ok("print(p)")
    assert "feb" in r.stream and "jan" in r.stream and "Paris" in r.stream, r.everything()
    assert "█" not in r.everything()
    shown = k.ok("p").everything()
    assert "<th>feb</th>" in shown and "<th>Paris</th>" in shown and "█" not in shown
    k.ok(f"p.to_csv({str(out)!r})")
    assert out.read_text() == "city,feb,jan\nLyon,2.0,\nNice,,4.0\nParis,3.0,1.0\n"
