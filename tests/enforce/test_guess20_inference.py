"""Red team 20's honest-looking checks that single out values (issue 15, inference), in a real
guarded kernel on a real DuckDB warehouse file whose SSNs are random ``ddd-dd-dddd``:

- a cast to a bounded type of a piece with a constant glued on
  (``try_cast('2' || ssn[1] || '00000000' AS INTEGER) IS NULL``: TRUE iff the digit is above 1,
  every SSN in one listing), and ``IS NULL`` of anything but the column itself asked of one row;
- an ``@`` read as an e-mail's domain on anything: ``('@' || ssn) = '@…'``, ``lpad``,
  ``concat_ws``, ``split_part(ssn, '@', -1)``, a local part (``split_part(email, '@', -2)``,
  ``reverse(email)``), through ``con.sql`` and the relational API;
- digits inside a regular-expression class read as a count (``'^[{8}][{9}][{7}]-…$'``).

Each is refused as ``inference`` and no answer, nor the SSN asked about, is in any message the
kernel sent. The honest twins (a data-quality count over the whole table, ``IS NOT NULL``, a
format, a domain) run with the answer a raw DuckDB connection gives on the same file.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.enforce.raw_answers import Answers, answered_kernel, ask, refused, same_answer
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

N = 300
_RNG = random.Random(20)
SSNS = [f"{_RNG.randrange(1, 900):03d}-{_RNG.randrange(1, 100):02d}-{_RNG.randrange(1, 10000):04d}"
        for _ in range(N)]
S = SSNS[12]   # customer 12's SSN
E = "user12@example.com"
ATTACKS = [
    "SELECT id, try_cast('2' || ssn[1] || '00000000' AS INTEGER) IS NULL FROM customers",
    "SELECT id, try_cast('2' || ssn[1] || '00000000' AS INTEGER) FROM customers",
    "SELECT count(*) FROM customers WHERE id = 12 AND try_cast(left(ssn, 3) AS UTINYINT) IS NULL",
    "SELECT id, try_cast(left(ssn, 3) AS UTINYINT) IS NULL FROM customers WHERE id < 20",
    "SELECT count_if(try_cast(rpad(ssn[1], 10, '0') AS INTEGER) IS NULL) FROM customers "
    "WHERE id = 12",
    f"SELECT count(*) FROM customers WHERE ('@' || ssn) = '@{S}'",
    f"SELECT count(*) FROM customers WHERE ('@' || ssn) > '@{S[:2]}'",
    f"SELECT count(*) FROM customers WHERE concat_ws('@', '', ssn) = '@{S}'",
    f"SELECT count(*) FROM customers WHERE lpad(ssn, 12, '@') = '@{S}'",
    f"SELECT count(*) FROM customers WHERE split_part(ssn, '@', -1) = '{S}'",
    f"SELECT count(*) FROM customers WHERE split_part(email, '@', -2) = '{E.split('@')[0]}'",
    f"SELECT count(*) FROM customers WHERE reverse(email) LIKE '%@{E.split('@')[0][::-1]}'",
    f"SELECT c.id, count(*) FROM customers c, range(5) r WHERE ('@' || c.ssn) LIKE '@{S[:3]}%' "
    "GROUP BY c.id",
    "SELECT count(*) FROM customers WHERE regexp_matches(ssn, '^"
    + "".join(f"[{{{ch}}}]" if ch.isdigit() else ch for ch in S) + "$')",
    f"SELECT count(*) FROM customers WHERE regexp_matches(ssn, '^[{S[0]}][{S[1]}]')",
]
HONEST = {
    "bad-ssns": "SELECT count_if(try_cast(replace(ssn, '-', '') AS BIGINT) IS NULL) "
                "FROM customers",
    "present": "SELECT id FROM customers WHERE ssn IS NOT NULL ORDER BY id LIMIT 8",
    "format": "SELECT count(*) FROM customers WHERE regexp_matches(ssn, '^[0-9]{3}-[0-9]{2}-[0-9]{4}$')",
    "domain": "SELECT count(*) FROM customers WHERE email LIKE '%@example.com'",
    "domain-part": "SELECT count(*) FROM customers WHERE split_part(email, '@', 2) = 'corp.com'",
}


expected, k = answered_kernel(HONEST, N, [
    ("UPDATE customers SET ssn = ? WHERE id = ?", [(s, n) for n, s in enumerate(SSNS)]),
    "UPDATE customers SET ssn = NULL WHERE id % 7 = 3",
    "UPDATE customers SET ssn = 'n/a' WHERE id % 11 = 5",
    "UPDATE customers SET email = 'user' || id || '@corp.com' WHERE id % 4 = 1"])


@pytest.mark.parametrize("q", ATTACKS)
def test_a_check_that_singles_out_a_value_is_refused(k: Kernel, q: str) -> None:
    refused(k.run(ask(q)), SSNS[:40])


@pytest.mark.parametrize("q", [f"('@' || ssn) LIKE '@{S[:3]}%'",
                               f"split_part(ssn, '@', -1) = '{S}'"])
def test_the_relational_api_is_refused_too(k: Kernel, q: str) -> None:
    refused(k.run(f"print('ANSWER', con.table('customers').filter({q!r})"
                  ".aggregate('count(*)').fetchall())"), SSNS[:40])


@pytest.mark.parametrize("name", list(HONEST))
def test_an_honest_twin_runs_with_raw_duckdbs_answer(
        k: Kernel, expected: tuple[Path, Answers], name: str) -> None:
    same_answer(k, expected, name, HONEST[name])
