"""Why PostgreSQL keeps its own ``pg_values.remember`` beside the shared ``exits.remember``:
sensitive values cut by the exits' separators into pieces of 5 digits (``12345,67890``) or
holding an identifier between words (``ref 100000003 lyon``) stay masked when printed whole,
split, or cut, through a psycopg cursor and ``%%guarded_sql``, in a real kernel on a real
PostgreSQL. With the shared one alone, each of these printed raw (even ``print(v)`` of
``12345,67890``). The plain words of such values still print elsewhere."""
from __future__ import annotations

import re

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db

pytestmark = pytest.mark.kernel

VALUES = {1: "12345,67890", 2: "AB12;34567", 3: "ref 100000003 lyon", 4: "zz 424242-7 yy"}
PIECES = ["12345", "67890", "34567", "100000003", "424242-7"]
SELECT = "SELECT id, ssn FROM customers WHERE id <= 4 ORDER BY id"
ROUTES = {
    "psycopg": f"import psycopg\ncur = psycopg.connect(DSN).cursor()\ncur.execute({SELECT!r})\n"
               "rows = cur.fetchall()",
    "magic": f"import sqlalchemy\nengine = sqlalchemy.create_engine(URL)\n"
             f"get_ipython().run_cell_magic('guarded_sql', 'engine -o df', {SELECT!r})\n"
             "rows = list(df.itertuples(index=False, name=None))",
}
PRINTS = "for _, v in rows:\n    print(v, v.split(','), v.replace(';', ' ').split(), v.split()[1:2])"


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_pieces_of_sensitive_values_stay_masked(kernel: Kernel, db: Db, route: str) -> None:
    for i, v in VALUES.items():
        db.query(f"UPDATE customers SET ssn = '{v}' WHERE id = {i}")
    r = kernel.run(f"DSN = {db.dsn!r}\nURL = {db.url!r}\n" + ROUTES[route], timeout=180)
    assert r.status == "ok", r.everything()[-600:]
    r = kernel.run(PRINTS, timeout=120)
    text = r.everything()
    assert r.status == "ok" and "\u2588" in text, text[-600:]   # printed, masked
    leaked = [p for p in PIECES if re.search(rf"(?<!\d){re.escape(p)}(?!\d)", text)]
    assert leaked == [], text[-800:]
    r = kernel.run("print('ref', 'lyon', 'AB12', 'zz yy')")   # the words alone are no secret
    assert "ref lyon AB12 zz yy" in r.stream, r.everything()[-600:]
