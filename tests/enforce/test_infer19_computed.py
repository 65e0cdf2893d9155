"""Inference by a computed guess (issue 15, item 3; red team 18): a function or an operator that
combines a sensitive column with a guess, whose result is aggregated, filtered on, grouped on,
ordered by, compared or shown, answers a question about single values with no predicate on the
column (``min(length(replace(ssn, '…', '')))``, ``sum(sign(ssn::BIGINT - G))``, a rank oracle
that recovers an SSN by bisection; ``replace(ssn, '…', 'HIT')`` shown row by row). Each is refused as ``inference`` in a real guarded kernel on a
real DuckDB warehouse file, through ``con.sql`` and the relational API, and no answer reaches
any message the kernel sent (outputs and the reply).

The benign twins are in ``test_infer19_honest.py``.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import new_workspace
from tests.kernelutil import Kernel, Reply, guarded_kernel

pytestmark = pytest.mark.kernel

N = 300
G = "100000012"   # an SSN the warehouse holds (customer 12)
E = "user12@example.com"


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with guarded_kernel(new_workspace(work_root), warehouse=N, connect=True) as kernel:
        yield kernel


def refused(r: Reply) -> None:
    """Refused by ``inference``, and no answer in any output message nor in the reply."""
    seen = r.everything() + "\n" + repr(r.reply)
    assert r.status == "error" and "[inference]" in r.everything(), seen
    assert "ANSWER" not in seen, seen


MEMBERSHIP = [
    f"SELECT min(length(replace(ssn, '{G}', ''))) FROM customers",
    f"SELECT count(*) FROM customers WHERE replace(ssn, '{G}', '') <> ssn",
    f"SELECT min(length(regexp_replace(ssn, '{G}', ''))) FROM customers",
    f"SELECT count(*) FROM customers WHERE regexp_replace(ssn, '{G}', 'x') <> ssn",
    f"SELECT max(length(regexp_extract(ssn, '{G}'))) FROM customers",
    f"SELECT max(len(string_split(ssn, '{G[:6]}'))) FROM customers",
    f"SELECT max(len(string_split(email, '{E}'))) FROM customers",
    f"SELECT max(strpos(ssn, '{G}')) FROM customers",
    f"SELECT max(instr(ssn, '{G}')) FROM customers",
    f"SELECT max(position('{G}' in ssn)) FROM customers",
    f"SELECT bool_or(contains(ssn, '{G}')) FROM customers",
    f"SELECT max(starts_with(ssn, '{G[:7]}')::INT) FROM customers",
    f"SELECT count(*) FILTER (WHERE ssn ^@ '{G[:7]}') FROM customers",
    f"SELECT max(list_contains([ssn], '{G}')::INT) FROM customers",
    f"SELECT min(levenshtein(ssn, '{G}')) FROM customers",
    f"SELECT max(jaro_similarity(ssn, '{G}')) FROM customers",
    f"SELECT min(hamming(ssn, '{G}')) FROM customers",
    f"SELECT min(x) FROM (SELECT length(replace(ssn, '{G}', '')) AS x FROM customers)",
    f"WITH t AS (SELECT replace(email, '{E}', '') AS r FROM customers) "
    "SELECT count(*) FROM t WHERE r = ''",
    f"SELECT length(replace(ssn, '{G}', '')) AS l, count(*) FROM customers GROUP BY 1",
]
RANK = [
    "SELECT sum(sign(ssn::BIGINT - 100000150)) FROM customers",
    "SELECT min(abs(replace(ssn, '-', '')::BIGINT - 100000150)) FROM customers",
    "SELECT max(ssn) < '100000150' FROM customers",
    "SELECT count(*) FILTER (WHERE ssn > '100000150') FROM customers",
    f"SELECT sum(CASE WHEN ssn = '{G}' THEN 1 END) FROM customers",
    "SELECT sum((ssn::BIGINT > 100000150)::INT) FROM customers",
    "WITH t AS (SELECT sign(ssn::BIGINT - 100000150) AS s FROM customers) SELECT sum(s) FROM t",
    "SELECT sign(ssn::BIGINT - 100000150) AS s, count(*) FROM customers GROUP BY 1",
    "SELECT min(abs(ssn::BIGINT - g.x)) FROM customers, (SELECT 100000150 AS x) g",
    "SELECT min(abs(ssn::BIGINT - g.range)) FROM customers, range(100000100, 100000200) g",
    "SELECT count(*) FROM customers WHERE ssn::BIGINT // 1000 = 100000",
]
SHOWN = [   # a row of the result answers the question for one person, unrecognisable to masking
    f"SELECT id, replace(ssn, '{G}', 'HIT') AS s FROM customers WHERE id IN (12, 200)",
    f"SELECT id, replace(email, '{E}', '') AS s FROM customers WHERE id IN (12, 200)",
    "SELECT id, abs(ssn::BIGINT - 100000150) AS d FROM customers WHERE id IN (12, 200)",
    "SELECT id, translate(ssn, '0123456789', 'aaaaaaaaa9') AS t FROM customers WHERE id = 12",
]
GUESSES = [   # still refused beside the honest forms now allowed
    "SELECT count(*) FROM customers WHERE email LIKE 'user1%'",
    "SELECT count(*) FROM customers WHERE email LIKE '%user12@%'",
    "SELECT count(*) FROM customers WHERE email LIKE 'u%@example.com'",
    "SELECT count(*) FROM customers WHERE regexp_matches(ssn, '^1000000')",
    "SELECT count(*) FROM customers WHERE regexp_matches(ssn, '^[1]0{7}')",
    "SELECT count(*) FROM customers WHERE regexp_matches(ssn, '^\\x31')",
    "SELECT count(*) FROM customers WHERE length(ssn) = 9 AND ssn LIKE '1000000%'",
    "SELECT count(*) FROM customers WHERE split_part(email, '@', 1) = 'user12'",
    f"SELECT count(*) FROM customers WHERE ssn = '{G}' OR ssn = ''",
    # a domain pattern with an alternative that reads the local part is no domain pattern
    "SELECT count(*) FROM customers WHERE regexp_matches(email, '@x[.]org|^user12@')",
    # a small number searched for is its text ('12'), not a position
    "SELECT count(*) FROM customers WHERE strpos(ssn, 12) > 0",
    "SELECT max(len(string_split(ssn, 12))) FROM customers",
]


@pytest.mark.parametrize("q", MEMBERSHIP + RANK + SHOWN + GUESSES)
def test_a_computed_guess_is_refused(k: Kernel, q: str) -> None:
    refused(k.run(f"print('ANSWER', con.sql({q!r}).fetchall())"))


@pytest.mark.parametrize("code", [
    pytest.param("con.table('customers').aggregate('sum(sign(ssn::BIGINT - 100000150))')"
                 ".fetchall()", id="aggregate-sign"),
    pytest.param(f"con.table('customers').aggregate(\"min(length(replace(ssn, '{G}', '')))\")"
                 ".fetchall()", id="aggregate-replace"),
    pytest.param(f"con.table('customers').filter(\"replace(ssn, '{G}', '') <> ssn\")"
                 ".aggregate('count(*)').fetchall()", id="filter-replace"),
    pytest.param("con.table('customers').project('sign(ssn::BIGINT - 100000150) AS s')"
                 ".aggregate('sum(s)').fetchall()", id="project-then-aggregate"),
])
def test_a_computed_guess_through_the_relational_api_is_refused(k: Kernel, code: str) -> None:
    refused(k.run(f"print('ANSWER', {code})"))


def test_the_bisection_stops_at_the_first_query(k: Kernel) -> None:
    """The rank oracle's loop: its first query is refused, so no bound is learned."""
    r = k.run("lo, hi = 100000000, 100000299\nwhile lo < hi:\n    mid = (lo + hi) // 2\n"
              "    s = con.sql(f'SELECT sum(sign(ssn::BIGINT - {mid})) FROM customers')"
              ".fetchone()[0]\n    print('ANSWER', mid, s)\n"
              "    lo, hi = (mid + 1, hi) if s > 0 else (lo, mid)\n")
    refused(r)


@pytest.mark.parametrize("q", [
    pytest.param("SELECT right(ssn, 2) AS d, count(*) FROM customers GROUP BY 1",
                 id="groups-of-three"),
    pytest.param("SELECT right(ssn, 1) AS d, count(*) FROM customers WHERE id < 12 GROUP BY 1",
                 id="rows-picked-by-where"),
    pytest.param("SELECT right(ssn, 1) AS d, id % 60 AS r, count(*) FROM customers "
                 "GROUP BY 1, 2", id="a-second-key-picks-members"),
    pytest.param("SELECT right(ssn, 1) AS d, count(*), min(id) FROM customers GROUP BY 1",
                 id="an-aggregate-names-a-member"),
    pytest.param("SELECT right(ssn, 1) AS d, count(*) FROM (SELECT * FROM customers LIMIT 12) "
                 "GROUP BY 1", id="rows-picked-by-a-subquery"),
])
def test_pieces_of_a_histogram_that_picks_rows_stay_refused(k: Kernel, q: str) -> None:
    """Digit or area counts are shown only for a table-wide histogram over groups of at least
    ``min_group_size`` rows; a group of chosen people would share their piece."""
    refused(k.run(f"print('ANSWER', con.sql({q!r}).fetchall())"))


def test_pieces_in_guarded_sql_over_small_groups_are_refused(k: Kernel) -> None:
    r = k.run("%%guarded_sql con\nSELECT right(ssn, 2) AS p, count(*) AS n FROM customers "
              "GROUP BY 1")
    assert r.status == "error" and "[inference]" in r.everything(), r.everything()
