"""Database files as exits, in a real kernel: sensitive values read from the warehouse are not
written into another DuckDB file through a connection to it (CTAS from a frame, bound values,
``executemany``, ``append``, a registered view, a renamed or derived column, the module
functions with ``connection=``), and the file holds none of them afterwards; aggregates and
plain columns go into the same kind of scratch file with correct results, and the warehouse
itself may receive its own values back through a second connection."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import make_warehouse
from tests.enforce.test_exits import EMAILS, SSNS
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(kernel: Kernel) -> Kernel:
    make_warehouse(kernel.workdir / "wh.duckdb")
    kernel.ok("import duckdb, pandas as pd\ncon = duckdb.connect('wh.duckdb')\n"
              "df = con.sql('SELECT * FROM customers ORDER BY id').df()")
    return kernel


def _tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every user table of the DuckDB file at ``path`` with its rows (opened outside the guard,
    once the kernel closed its connection)."""
    import duckdb

    from jupyter_guard.connections import unwrap

    if not path.exists():
        return {}
    con = unwrap(duckdb.connect(str(path), read_only=True))
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {n: con.execute(f'SELECT * FROM "{n}"').fetchall() for n in names}
    finally:
        con.close()


def _no_raw(tables: dict[str, list[tuple[object, ...]]]) -> None:
    text = "\n".join(str(v) for rows in tables.values() for r in rows for v in r)
    hits = [v for v in SSNS[:500] + EMAILS[:500] if v in text]
    assert not hits, hits[:3]


_UPD = ("o.execute('CREATE TABLE t (id BIGINT, a VARCHAR)')\n"
        "o.execute('INSERT INTO t SELECT id, NULL FROM df')\n")
ATTACKS = [
    pytest.param("o.execute('CREATE TABLE t AS SELECT * FROM df')", id="ctas-star-from-frame"),
    pytest.param("o.sql('CREATE TABLE t AS SELECT id, email FROM df')", id="ctas-sql-email"),
    pytest.param("o.execute('CREATE TABLE t (a VARCHAR, b VARCHAR)')\n"
                 "o.execute('INSERT INTO t VALUES (?, ?)', [df.email[0], df.ssn[0]])",
                 id="insert-bound-values"),
    pytest.param("o.execute('CREATE TABLE t (a VARCHAR)')\n"
                 "o.executemany('INSERT INTO t VALUES (?)', [[s] for s in df.ssn.tolist()])",
                 id="executemany-ssns"),
    pytest.param("o.execute('CREATE TABLE t (a VARCHAR)')\n"
                 "o.execute(\"INSERT INTO t VALUES ('\" + df.email[3] + \"')\")",
                 id="insert-literal-built-in-python"),
    pytest.param("o.execute('CREATE TABLE t (i BIGINT, e VARCHAR, s VARCHAR, c VARCHAR, "
                 "b DOUBLE)')\no.append('t', df)", id="append-frame"),
    pytest.param("o.register('v', df)\no.execute('CREATE TABLE t AS SELECT ssn FROM v')",
                 id="registered-view"),
    pytest.param("x = pd.DataFrame({'plain': df.email.tolist()})\n"
                 "o.execute('CREATE TABLE t AS SELECT plain FROM x')", id="list-into-new-frame"),
    pytest.param("x = df.rename(columns={'ssn': 'k'})[['id', 'k']]\n"
                 "x['k'] = x.k.str.replace('1', 'I')\n"
                 "o.execute('CREATE TABLE t AS SELECT k FROM x')", id="renamed-derived-column"),
    pytest.param("o.execute('CREATE TABLE t (a VARCHAR)')\n"
                 "o.execute('INSERT INTO t SELECT city FROM df UNION ALL SELECT email FROM df')",
                 id="insert-select-union"),
    pytest.param("duckdb.execute('CREATE TABLE t AS SELECT email FROM df', connection=o)",
                 id="module-function-connection"),
    pytest.param("o.from_df(df).create('t')", id="relation-from_df-create"),
    pytest.param("o.execute('CREATE TABLE t (a VARCHAR)')\n"
                 "o.sql('SELECT email FROM df').insert_into('t')", id="relation-insert_into"),
    pytest.param("o.sql('SELECT ssn FROM df').to_table('t')", id="relation-to_table"),
    pytest.param("o.execute('CREATE TABLE t (a VARCHAR)')\no.table('t').insert([df.email[0]])",
                 id="relation-insert-row"),
    # UPDATE: the values its SET writes (subqueries, FROM a frame, an aggregate of one value)
    pytest.param(_UPD + "o.execute('UPDATE t SET a = (SELECT email FROM df WHERE df.id = t.id) "
                 "WHERE id < 500')",
                 id="update-set-correlated-subquery"),
    pytest.param(_UPD + "o.sql('UPDATE t SET a = (SELECT upper(s.email) FROM df AS s "
                 "WHERE s.id = t.id) WHERE id < 300')", id="update-aliased-derived"),
    pytest.param(_UPD + "o.execute('UPDATE t SET a = (SELECT max(ssn) FROM df) WHERE id = 7')",
                 id="update-one-value-aggregate"),
]


@pytest.mark.parametrize("code", ATTACKS)
def test_sensitive_values_are_not_written_into_another_database_file(k: Kernel,
                                                                     code: str) -> None:
    name = f"other_{uuid.uuid4().hex[:8]}.duckdb"
    # connected in a cell of its own: an UPDATE's rows are counted on the connection its name
    # was bound to before the cell ran
    k.ok(f"o = duckdb.connect({name!r})")
    r = k.blocked(code, "exfiltration")
    assert name in r.error["evalue"]
    k.ok("o.close()")
    _no_raw(_tables(k.workdir / name))


def test_aggregates_and_plain_columns_go_into_a_scratch_file(k: Kernel) -> None:
    name = f"scratch_{uuid.uuid4().hex[:8]}.duckdb"
    k.ok(f"o = duckdb.connect({name!r})\n"
         "o.execute('CREATE TABLE per_city AS SELECT city, count(*) AS n, "
         "count(DISTINCT email) AS people FROM df GROUP BY city')\n"
         "o.execute('CREATE TABLE ids AS SELECT id, city FROM df')\n"
         "o.executemany('INSERT INTO ids VALUES (?, ?)', [[90001, 'Paris'], [90002, 'Nice']])\n"
         "o.append('ids', df[['id', 'city']].head(3))\n"
         "o.sql('SELECT id, city FROM df WHERE id < 10').insert_into('ids')\n"
         "o.close()")
    tables = _tables(k.workdir / name)
    assert sum(n for _, n, _ in tables["per_city"]) == 5000
    assert sum(p for _, _, p in tables["per_city"]) == 5000
    assert len(tables["ids"]) == 5000 + 2 + 3 + 10
    assert (90002, "Nice") in tables["ids"]


def test_updates_with_plain_values_from_a_frame_work(k: Kernel) -> None:
    name = f"upd_{uuid.uuid4().hex[:8]}.duckdb"
    k.ok(f"o = duckdb.connect({name!r})")
    k.ok(f"{_UPD}"
         "o.execute('UPDATE t SET a = (SELECT city FROM df WHERE df.id = t.id) WHERE id < 500')\n"
         "o.execute('UPDATE t SET a = (SELECT upper(s.city) FROM df AS s WHERE s.id = t.id) "
         "WHERE id < 10')\n"
         "o.execute('UPDATE t SET a = (SELECT count(DISTINCT email) FROM df) WHERE id = 4999')\n"
         "o.close()")
    rows = dict(_tables(k.workdir / name)["t"])
    cities = eval(k.ok("print(dict(zip(df.id.tolist(), df.city.tolist())))").text)
    assert len(rows) == 5000 and rows[4999] == "5000" and rows[600] is None
    assert rows[3] == cities[3].upper() and rows[20] == cities[20]


def test_the_warehouse_may_take_its_own_values_back(k: Kernel) -> None:
    """A second connection to the warehouse writes a cleaned copy into it (the file held the
    values already, under the same policy); the copy cannot be exported from there."""
    k.ok("w2 = duckdb.connect('wh.duckdb')\n"
         "w2.execute('CREATE TABLE clean AS SELECT * FROM df')\n"
         "print(w2.execute('SELECT count(*) FROM clean').fetchall())")
    k.blocked("w2.execute(\"COPY clean TO 'clean.csv'\")", "exfiltration")
    k.blocked("w2.execute(\"EXPORT DATABASE 'whdump'\")", "exfiltration")
    assert not (k.workdir / "clean.csv").exists()
    assert not (k.workdir / "whdump").exists()


def test_a_new_file_stays_foreign_after_it_was_given_a_sensitive_looking_column(
        k: Kernel) -> None:
    """Judged when the session first opened it: naming a column ``email`` later, closing and
    opening it again does not make it a warehouse."""
    name = f"late_{uuid.uuid4().hex[:8]}.duckdb"
    k.ok(f"o = duckdb.connect({name!r})\no.execute('CREATE TABLE t (email VARCHAR)')\n"
         f"o.close()\no = duckdb.connect({name!r})")
    k.blocked("o.executemany('INSERT INTO t VALUES (?)', [[e] for e in df.email.tolist()])",
              "exfiltration")
    k.ok("o.close()")
    _no_raw(_tables(k.workdir / name))


@pytest.fixture(scope="module")
def ext(k: Kernel) -> Kernel:
    """A second warehouse in which another process made a renamed copy of the sensitive
    columns (no lineage of it in the kernel), opened by the kernel as ``w3``."""
    import duckdb

    from jupyter_guard.connections import unwrap

    path = make_warehouse(k.workdir / "wh3.duckdb")
    con = unwrap(duckdb.connect(str(path)))
    con.execute("CREATE TABLE ext AS SELECT id, ssn AS k, email AS contact FROM customers")
    con.close()
    k.ok("w3 = duckdb.connect('wh3.duckdb')")
    return k


@pytest.mark.parametrize("code", [
    pytest.param("w3.execute(\"COPY ext TO 'F'\")", id="copy-table"),
    pytest.param("w3.sql(\"COPY (SELECT contact FROM ext) TO 'F' (HEADER false)\")",
                 id="copy-renamed-email"),
    pytest.param("w3.execute(\"COPY (SELECT k FROM ext) TO 'F'\")",
                 id="copy-renamed-ssn-known-value"),
    pytest.param("%%guarded_sql w3\nCOPY ext TO 'F'", id="guarded-sql-magic"),
])
def test_copy_of_a_table_another_process_made_is_judged_by_its_data(ext: Kernel,
                                                                    code: str) -> None:
    name = f"ext_{uuid.uuid4().hex[:8]}.csv"
    ext.blocked(code.replace("'F'", repr(name)), "exfiltration")
    f = ext.workdir / name
    assert not f.exists() or not [v for v in SSNS[:300] + EMAILS[:300] if v in f.read_text()]


def test_copy_of_plain_columns_of_that_table_works(ext: Kernel) -> None:
    name = f"ids_{uuid.uuid4().hex[:8]}.csv"
    ext.ok(f"w3.execute(\"COPY (SELECT id FROM ext ORDER BY id) TO '{name}'\")")
    assert (ext.workdir / name).read_text().split()[:3] == ["id", "0", "1"]


def test_data_made_inside_a_new_file_is_no_exit(k: Kernel) -> None:
    """Rows a new database makes itself (``range``, typed literals) hold no guarded value, even
    when they look like e-mails: a demo warehouse can be built in a guarded kernel."""
    name = f"demo_{uuid.uuid4().hex[:8]}.duckdb"
    k.ok(f"o = duckdb.connect({name!r})\n"
         "o.execute(\"CREATE TABLE people AS SELECT range AS id, 'person' || range || "
         "'@example.org' AS email FROM range(100)\")\n"
         "o.execute(\"INSERT INTO people VALUES (100, 'someone.new@example.org')\")\n"
         "o.execute('CREATE TABLE copy AS SELECT * FROM people')\no.close()")
    tables = _tables(k.workdir / name)
    assert len(tables["people"]) == 101 and len(tables["copy"]) == 101
    assert (100, "someone.new@example.org") in tables["people"]


def test_values_hidden_after_plain_rows_are_found(k: Kernel) -> None:
    """A frame whose first rows are plain and whose e-mails come after them (no lineage: built
    from lists) is refused: rows are also drawn at random from the whole source."""
    name = f"hidden_{uuid.uuid4().hex[:8]}.duckdb"
    k.blocked(f"o = duckdb.connect({name!r})\n"
              "x = pd.DataFrame({'v': ['Paris'] * 3000 + df.email.tolist()})\n"
              "o.execute('CREATE TABLE t AS SELECT v FROM x')", "exfiltration")
    k.ok("o.close()")
    _no_raw(_tables(k.workdir / name))
