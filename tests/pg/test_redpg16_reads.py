"""A sensitive column read through a function that puts the output's separators into its values
(``translate(email, '@.', '#,')`` prints ``user1#example,com``) is masked like the column itself,
through psycopg 3, psycopg2, pandas on SQLAlchemy and jupysql, in a real kernel on a real
PostgreSQL: no message of the kernel holds the values. Plain words of such a value (``example``)
are not remembered, so they still print elsewhere."""
from __future__ import annotations

import re

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db

pytestmark = pytest.mark.kernel

Q = "SELECT translate(email, '@.', '#,') AS e FROM customers ORDER BY id LIMIT 5"
ROUTES = {
    "psycopg": f"import psycopg\ncur = psycopg.connect(DSN).cursor()\ncur.execute({Q!r})\n"
               "print(cur.fetchall())",
    "psycopg2": f"import psycopg2\ncur = psycopg2.connect(DSN).cursor()\ncur.execute({Q!r})\n"
                "for row in cur:\n    print(row)",
    "pandas": f"import pandas as pd, sqlalchemy as sa\n"
              f"print(pd.read_sql({Q!r}, sa.create_engine(URL)).to_dict())",
    "jupysql": f"import sqlalchemy as sa\neng = sa.create_engine(URL)\n%load_ext sql\n%sql eng\n"
               f"r = %sql {Q}\nprint(r)",
}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_translated_sensitive_values_are_masked(kernel: Kernel, db: Db, route: str) -> None:
    r = kernel.run(f"DSN = {db.dsn!r}\nURL = {db.url!r}\n" + ROUTES[route], timeout=180)
    text = r.everything()
    assert r.status == "ok", text[-600:]
    # the five rows were printed, each value masked (whole, or its pieces cut at the comma)
    assert text.count("\u2588" * 4) >= 5, text[-600:]
    assert not re.search(r"user\d+", text), text[-600:]
    r = kernel.run("print('an example of words')")
    assert "an example of words" in r.stream
