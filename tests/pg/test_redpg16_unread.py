"""What PostgreSQL reads or sends that no lineage sees is refused: SQL run from a text argument
(``query_to_xml('SELECT ssn ...')``, ``table_to_xml``), the planner's copies of column values
(``pg_stats.histogram_bounds`` holds a sample of every column, SSNs included), and
``pg_notify`` of a value read from a table (every listening session receives it). Through
psycopg 3, psycopg2 and SQLAlchemy in a real kernel on a real PostgreSQL: the cell ends in error
naming the rule and no SSN is in any message. Catalog questions about statistics and a
notification of a literal run."""
from __future__ import annotations

import re

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db

pytestmark = pytest.mark.kernel

SETUP = {
    "pg3": "import psycopg\ncon = psycopg.connect(DSN)\n"
           "def q(s):\n    c = con.cursor(); c.execute(s); con.commit()\n"
           "    return c.fetchall() if c.description else None",
    "pg2": "import psycopg2\ncon = psycopg2.connect(DSN)\n"
           "def q(s):\n    c = con.cursor(); c.execute(s); con.commit()\n"
           "    return c.fetchall() if c.description else None",
    "sa": "import sqlalchemy as sa\ncon = sa.create_engine(URL).connect()\n"
          "def q(s):\n    r = con.exec_driver_sql(s); con.commit()\n"
          "    return r.fetchall() if r.returns_rows else None",
}
ATTACKS = [
    ("pg3", "SELECT query_to_xml('SELECT ssn AS x FROM customers LIMIT 3', true, false, '')"),
    ("pg2", "SELECT table_to_xml('customers', true, false, '')"),
    ("sa", "SELECT query_to_xml_and_xmlschema('SELECT ssn FROM customers', true, false, '')"),
    ("pg3", "SELECT histogram_bounds::text FROM pg_stats WHERE attname = 'ssn'"),
    ("pg2", "SELECT * FROM pg_stats WHERE tablename = 'customers'"),
    ("sa", "SELECT s FROM pg_catalog.pg_stats s WHERE attname = 'ssn'"),
    ("pg3", "DO $$ BEGIN RAISE NOTICE '%', (SELECT most_common_vals::text FROM pg_stats "
            "WHERE attname = 'city'); END $$"),
    ("pg3", "SELECT pg_notify('ch', (SELECT string_agg(ssn, ',') FROM customers WHERE id < 5))"),
    ("pg2", "DO $$ BEGIN PERFORM pg_notify('ch', (SELECT ssn FROM customers WHERE id = 3)); "
            "END $$"),
]
SSN = re.compile(r"\b1000\d{5}\b")


def test_reads_no_lineage_sees_are_refused(kernel: Kernel, db: Db) -> None:
    for setup, sql in ATTACKS:
        r = kernel.run(f"DSN = {db.dsn!r}\nURL = {db.url!r}\n" + SETUP[setup])
        assert r.status == "ok", r.everything()[-600:]
        r = kernel.run(f"print(q({sql!r}))", timeout=180)
        text = r.everything()
        assert r.status == "error", f"ran: {sql}\n{text[-400:]}"
        # a DO block's notices are an export of what its body reads (``exfiltration``)
        assert "[sql-outside]" in text or "[exfiltration]" in text, f"{sql}\n{text[-600:]}"
        assert not SSN.search(text), sql
        kernel.run("con.close()")


def test_statistics_questions_and_literal_notifications_run(kernel: Kernel, db: Db) -> None:
    assert kernel.run(f"DSN = {db.dsn!r}\n" + SETUP["pg3"]).status == "ok"
    r = kernel.run("print('stats', len(q(\"SELECT attname, n_distinct, null_frac FROM pg_stats "
                   "WHERE tablename = 'customers'\")))\nq(\"SELECT pg_notify('jobs', 'done')\")\n"
                   "print('notified')", timeout=180)
    assert r.status == "ok", r.everything()[-600:]
    assert "stats 5" in r.stream and "notified" in r.stream, r.stream
