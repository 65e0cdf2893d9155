"""Red team 21's values shown as dates and durations, and quoted by a write's error (issue 15), in
a real guarded kernel on a real DuckDB warehouse file whose SSNs are random ``ddd-dd-dddd``:

- ``replace(ssn, '-', '')::INTERVAL`` is ``timedelta(days=3844, seconds=84869)`` (days * 86400 +
  seconds: the digits), ``to_seconds``/``to_timestamp``/``epoch_ms`` of them the same as a
  duration or an instant: each is refused as ``exfiltration``, through a subquery and a CTE too,
  and no SSN (nor its digits) is in any message the kernel sent;
Honest twins: a date column cast to ``TIMESTAMP``, ``to_timestamp`` of a plain number and a
plain text read as an ``INTERVAL`` run with the rows a raw DuckDB connection fetches. A write's
error quoting a value: ``test_cast21_write_errors``.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.enforce.raw_answers import Answers, answered_kernel, ask, refused, same_answer
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

N = 300
_RNG = random.Random(21)
SSNS = [f"{_RNG.randrange(1, 900):03d}-{_RNG.randrange(1, 100):02d}-{_RNG.randrange(1, 10000):04d}"
        for _ in range(N)]
SHOWN = [n for n in range(40) if n % 7 != 3 and n % 11 != 5]   # ids whose SSN is set
# a raw SSN, its digits, and its first five digits (partial masking keeps the last four)
SECRETS = [v for n in SHOWN for v in (SSNS[n], SSNS[n].replace("-", ""),
                                      SSNS[n].replace("-", "")[:5])]
ATTACKS = [
    "SELECT id, replace(ssn, '-', '')::INTERVAL FROM customers",
    "SELECT id, CAST(replace(ssn, '-', '') AS INTERVAL) FROM customers WHERE id = 12",
    "SELECT id, to_seconds(replace(ssn, '-', '')::BIGINT) FROM customers WHERE id = 12",
    "SELECT id, to_timestamp(replace(ssn, '-', '')::BIGINT) FROM customers",
    "SELECT id, epoch_ms(replace(ssn, '-', '')::BIGINT) AS t FROM customers",
    "SELECT id, make_timestamp(try_cast(replace(ssn, '-', '') AS BIGINT)) FROM customers",
    "SELECT id, strptime(ssn, '%Y') FROM customers WHERE id = 12",
    "SELECT * FROM (SELECT id, replace(ssn, '-', '')::INTERVAL AS t FROM customers)",
    "SELECT id, to_timestamp(s) FROM (SELECT id, try_cast(replace(ssn, '-', '') AS BIGINT) AS s "
    "FROM customers)",
    "WITH d AS (SELECT id, replace(ssn, '-', '') AS s FROM customers) "
    "SELECT id, s::INTERVAL FROM d",
]
HONEST = {
    "born": "SELECT id, born::TIMESTAMP FROM customers ORDER BY id LIMIT 6",
    "amount": "SELECT id, to_timestamp(amount::BIGINT) FROM customers ORDER BY id LIMIT 6",
    "interval": "SELECT id, (id * 60)::VARCHAR::INTERVAL FROM customers ORDER BY id LIMIT 4",
    "shift": "SELECT id, born + INTERVAL 1 DAY, DATE '2020-01-01' + id::INT FROM customers "
             "ORDER BY id LIMIT 4",
}


expected, k = answered_kernel(HONEST, N, [
    ("UPDATE customers SET ssn = ? WHERE id = ?", [(s, n) for n, s in enumerate(SSNS)]),
    "UPDATE customers SET ssn = NULL WHERE id % 7 = 3",
    "UPDATE customers SET ssn = 'n/a' WHERE id % 11 = 5",
    "ALTER TABLE customers ADD COLUMN born DATE",
    "UPDATE customers SET born = DATE '1970-01-01' + CAST((id * 97) % 20000 AS INTEGER)"])


# a date moved by the content (``to_timestamp(0) + n * INTERVAL 1 SECOND``): already refused as
# ``inference`` (a shown computation with a constant), also a ``sql_temporal`` export
SHIFTS = ["SELECT id, current_date - try_cast(left(replace(ssn, '-', ''), 4) AS INT) "
          "FROM customers",
          "SELECT id, to_timestamp(0) + try_cast(replace(ssn, '-', '') AS BIGINT) "
          "* INTERVAL 1 SECOND FROM customers"]


@pytest.mark.parametrize("q", SHIFTS)
def test_a_date_moved_by_the_content_is_refused(k: Kernel, q: str) -> None:
    r = k.run(ask(q))
    assert "[exfiltration]" in r.everything() or "[inference]" in r.everything(), r.everything()
    refused(r, SECRETS, rule="exfiltration" if "[exfiltration]" in r.everything() else "inference")


@pytest.mark.parametrize("q", ATTACKS)
def test_a_sensitive_value_made_a_date_or_a_duration_is_refused(k: Kernel, q: str) -> None:
    refused(k.run(ask(q)), SECRETS, rule="exfiltration")


def test_through_a_view_and_a_table_made_here(k: Kernel) -> None:
    k.ok("con.sql(\"CREATE VIEW v21 AS SELECT id, replace(ssn, '-', '') AS s FROM customers\")\n"
         "con.sql(\"CREATE TABLE t21 AS SELECT id, replace(ssn, '-', '') AS s FROM customers\")")
    refused(k.run(ask("SELECT id, s::INTERVAL FROM v21")), SECRETS, rule="exfiltration")
    refused(k.run(ask("SELECT id, to_seconds(x.s::BIGINT) FROM t21 AS x")), SECRETS,
            rule="exfiltration")


def test_the_relational_api_is_refused_too(k: Kernel) -> None:
    refused(k.run("print('ANSWER', con.table('customers').select("
                  "\"id, to_seconds(try_cast(replace(ssn, '-', '') AS BIGINT))\").fetchall())"), SECRETS,
            rule="exfiltration")


@pytest.mark.parametrize("name", list(HONEST))
def test_an_honest_date_runs_with_raw_duckdbs_answer(
        k: Kernel, expected: tuple[Path, Answers], name: str) -> None:
    same_answer(k, expected, name, HONEST[name])
