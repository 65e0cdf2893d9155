"""``set_config`` of a value read from a sensitive column is refused as an exfiltration (other
sessions see ``application_name`` in ``pg_stat_activity``; ``current_setting`` reads any setting
back unmasked), through psycopg 3 and psycopg2 in a real guarded kernel on a real PostgreSQL,
however the value is spelled; ``set_config`` of a literal, or of a column that is not sensitive,
runs and sets what was asked."""
from __future__ import annotations

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db
from tests.pg.test_pgfp16_honest import CONNECT, _connect

pytestmark = pytest.mark.kernel

SSN = "(SELECT string_agg(ssn, ',') FROM customers WHERE id <= 3)"
ATTACKS = {
    "subquery": f"SELECT set_config('application_name', {SSN}, false)",
    "column": "SELECT set_config('application_name', ssn, false) FROM customers WHERE id = 2",
    "alias": "SELECT set_config('application_name', x.v, false) "
             "FROM (SELECT ssn AS v FROM customers WHERE id = 2) x",
    "cte": "WITH s AS (SELECT ssn AS q FROM customers WHERE id <= 3) "
           "SELECT set_config('application_name', (SELECT string_agg(q, ',') FROM s), false)",
    "do-variable": "DO $$ DECLARE v text; BEGIN SELECT string_agg(ssn, ',') INTO v FROM customers "
                   "WHERE id <= 3; PERFORM set_config('application_name', v, false); END $$",
}


def _leaked(db: Db) -> list[str]:
    names = [n for (n,) in db.query("SELECT application_name FROM pg_stat_activity")]
    ssns = [s for (s,) in db.query("SELECT ssn FROM customers WHERE id <= 3")]
    return [n for n in names if any(s in n for s in ssns)]


@pytest.mark.parametrize("driver", sorted(CONNECT))
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_set_config_of_a_sensitive_column_is_refused(kernel: Kernel, db: Db, driver: str,
                                                     attack: str) -> None:
    _connect(kernel, db, driver)
    r = kernel.run(f"con.autocommit = True\ncur.execute({ATTACKS[attack]!r})", timeout=120)
    assert r.status == "error", r.everything()[-600:]
    assert "exfiltration" in r.everything(), r.everything()[-600:]
    assert _leaked(db) == []
    r = kernel.run("cur.execute('SHOW application_name')\nprint('app =', cur.fetchone()[0])",
                   timeout=120)
    assert r.status == "ok", r.everything()[-600:]
    assert not any(c.isdigit() for c in r.stream.split("app =", 1)[1]), r.stream


@pytest.mark.parametrize("driver", sorted(CONNECT))
def test_set_config_of_literals_and_plain_columns_runs(kernel: Kernel, db: Db,
                                                       driver: str) -> None:
    _connect(kernel, db, driver)
    r = kernel.run("con.autocommit = True\n"
                   "cur.execute(\"SELECT set_config('application_name', 'report', false)\")\n"
                   "cur.execute('SHOW application_name')\nprint('app =', cur.fetchone()[0])\n"
                   "cur.execute(\"SELECT set_config('jg.city', city, false) FROM customers "
                   "WHERE id = 7\")\n"
                   "cur.execute(\"SELECT current_setting('jg.city') = (SELECT city FROM "
                   "customers WHERE id = 7)\")\nprint('same =', cur.fetchone()[0])\n"
                   "cur.execute(\"DO $$ BEGIN PERFORM set_config('application_name', 'nightly', "
                   "false); END $$\")\n"
                   "cur.execute('SHOW application_name')\nprint('app =', cur.fetchone()[0])",
                   timeout=120)
    assert r.status == "ok", r.everything()[-800:]
    assert "app = report" in r.stream and "same = True" in r.stream
    assert "app = nightly" in r.stream
    db.intact()


DYNAMIC = ("DO $$ DECLARE v text; BEGIN SELECT string_agg(ssn, ',') INTO v FROM customers WHERE "
           "id <= 3; EXECUTE format('SET application_name = %L', v); END $$")


def test_application_name_set_at_run_time_is_measured(kernel: Kernel, db: Db) -> None:
    """plpgsql EXECUTE of text built at run time is left to the effect check for a role that
    cannot write server files: the measured application_name is refused unless the statement
    spells it, and is rolled back."""
    r = kernel.run(f"import psycopg\ncon = psycopg.connect({db.analyst!r}, autocommit=True)\n"
                   f"cur = con.cursor()\ncur.execute({DYNAMIC!r})", timeout=120)
    assert r.status == "error", r.everything()[-600:]
    assert "exfiltration" in r.everything(), r.everything()[-600:]
    assert _leaked(db) == []
    r = kernel.run("cur.execute(\"SET application_name = 'weekly'\")\n"
                   "cur.execute(\"DO $$ BEGIN EXECUTE 'SET application_name = ''nightly'''; "
                   "END $$\")\n"
                   "cur.execute('SHOW application_name')\nprint('app =', cur.fetchone()[0])",
                   timeout=120)
    assert r.status == "ok", r.everything()[-800:]
    assert "app = nightly" in r.stream
