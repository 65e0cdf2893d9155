"""Differencing (issue 15): two crowd answers on one sensitive column whose row sets differ by
fewer than ``min_group_size`` rows answer for those rows (``count(*) WHERE email LIKE …`` then
the same ``AND id <> 12``). Per session, the guard remembers the rows each allowed answer on a
column depended on (``guard.crowd_memory``) and refuses a new answer whose rows differ from a
remembered set by one to ``min_group_size - 1``; a statement measured over a crowd is measured
again every time it runs (no cached allow survives rows deleted since). In a real guarded kernel
on a real DuckDB file: the second query of each pair is refused as ``inference`` with no answer in
any message; honest twins are answered with raw DuckDB's numbers. The kernel masks with
``redact``: under ``partial`` a domain check is no question at all (a listing shows the domain).
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from jupyter_guard.connections import unwrap
from tests.conftest import make_warehouse, new_workspace
from tests.enforce.raw_answers import Answers, ask, raw_answers, refused
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

N = 300
HIDES_DOMAINS = "version: 1\nextends: default\nsensitive:\n  strategy: redact\n"
DOMAIN = "email LIKE '%@example.com'"
PAIRS = {   # (first, answered; second, refused): they differ by person 12 (or 50)
    "minus-one": (f"SELECT count(*) FROM customers WHERE {DOMAIN}",
                  f"SELECT count(*) FROM customers WHERE id <> 12 AND {DOMAIN}"),
    "or-one": (f"SELECT count(*) FROM customers WHERE {DOMAIN}",
               f"SELECT count(*) FROM customers WHERE id = 12 OR {DOMAIN}"),
    "other-spelling": ("SELECT count(*) FROM customers WHERE ends_with(email, '@example.com')",
                       "SELECT count(*) FROM customers WHERE id <> 12 AND "
                       "split_part(email, '@', 2) = 'example.com'"),
    "ranges": (f"SELECT count(*) FROM customers WHERE id BETWEEN 1 AND 50 AND {DOMAIN}",
               f"SELECT count(*) FROM customers WHERE id BETWEEN 1 AND 49 AND {DOMAIN}"),
    "ranges-backwards": (f"SELECT count(*) FROM customers WHERE id BETWEEN 1 AND 49 AND "
                         f"{DOMAIN}",
                         f"SELECT count(*) FROM customers WHERE id BETWEEN 1 AND 50 AND "
                         f"{DOMAIN}"),
    "a-copy-made-elsewhere": (f"SELECT count(*) FROM customers WHERE {DOMAIN}",
                              f"SELECT count(*) FROM copied WHERE {DOMAIN}"),
    "buckets": (f"SELECT city, count(*) FROM customers WHERE {DOMAIN} GROUP BY city",
                f"SELECT city, count(*) FROM customers WHERE id <> 12 AND {DOMAIN} "
                "GROUP BY city"),
    "buckets-against-the-whole": (f"SELECT city, count(*) FROM customers WHERE {DOMAIN} "
                                  "GROUP BY 1",
                                  f"SELECT count(*) FROM customers WHERE id <> 12 AND {DOMAIN}"),
}
HONEST = {
    "domain": f"SELECT count(*) FROM customers WHERE {DOMAIN}",
    "paris": f"SELECT count(*) FROM customers WHERE city = 'Paris' AND {DOMAIN}",
    "lyon": f"SELECT count(*) FROM customers WHERE city = 'Lyon' AND {DOMAIN}",
    "large-filter": f"SELECT count(*) FROM customers WHERE id >= 100 AND {DOMAIN}",
    "by-city": f"SELECT city, count(*) FROM customers WHERE {DOMAIN} GROUP BY 1 ORDER BY 1",
}
TWINS = {   # run in this order in one session: each answered
    "the-same-count-twice": ["domain", "domain"],
    "two-cities": ["paris", "lyon"],
    "a-large-filter-then-the-whole-table": ["large-filter", "domain"],
    "by-city-then-by-city": ["by-city", "by-city", "domain"],
}


def workspace(work_root: Path) -> Path:
    """A workspace whose ``wh.duckdb`` also holds ``copied``: customers but person 12, copied by
    a connection no guard watches (another process, before the kernel opened the file)."""
    d = new_workspace(work_root)
    make_warehouse(d / "wh.duckdb", rows=N)
    raw = unwrap(duckdb.connect(str(d / "wh.duckdb")))
    try:
        raw.execute("CREATE TABLE copied AS SELECT * FROM customers WHERE id <> 12")
    finally:
        raw.close()
    return d


@pytest.fixture(scope="module")
def expected(work_root: Path) -> tuple[Path, Answers]:
    return raw_answers(work_root, HONEST, N)


@pytest.mark.parametrize("name", list(PAIRS))
def test_the_second_of_a_differencing_pair_is_refused(work_root: Path, name: str) -> None:
    first, second = PAIRS[name]
    with guarded_kernel(workspace(work_root), connect=True, policy=HIDES_DOMAINS) as k:
        r = k.run(ask(first))
        assert r.status == "ok", r.everything()
        refused(k.run(ask(second)))
        r = k.run(f"%%guarded_sql con\n{second}")
        assert r.status == "error" and "[inference]" in r.everything(), r.everything()


@pytest.mark.parametrize("name", list(TWINS))
def test_honest_twins_are_answered_with_raw_duckdbs_numbers(
        work_root: Path, expected: tuple[Path, Answers], name: str) -> None:
    with guarded_kernel(workspace(work_root), connect=True, policy=HIDES_DOMAINS) as k:
        for q in TWINS[name]:
            r = k.run(ask(HONEST[q]))
            assert r.status == "ok" and f"ANSWER {expected[1][q]!r}" in r.stream, r.everything()


@pytest.fixture
def k(work_root: Path) -> Iterator[Kernel]:
    with guarded_kernel(workspace(work_root), connect=True, policy=HIDES_DOMAINS) as kernel:
        yield kernel


def test_an_allow_is_measured_again_after_rows_are_deleted(k: Kernel) -> None:
    q = f"SELECT count(*) FROM customers WHERE {DOMAIN}"
    assert k.run(ask(q)).status == "ok"
    assert k.run(ask(q)).status == "ok"   # once more: kept by the decision cache if it could be
    k.ok("con.execute('DELETE FROM customers WHERE id > 0')")
    assert k.ok("print(con.sql('SELECT count(*) FROM customers').fetchall())").stream.strip() \
        == "[(1,)]"
    refused(k.run(ask(q)))


def test_deleting_one_row_then_asking_again_is_refused(k: Kernel) -> None:
    q = f"SELECT count(*) FROM customers WHERE {DOMAIN}"
    assert k.run(ask(q)).status == "ok"
    k.ok("con.execute('DELETE FROM customers WHERE id = 12')")
    refused(k.run(ask(q)))


def test_updating_one_row_then_asking_again_is_refused(k: Kernel) -> None:
    q = f"SELECT count(*) FROM customers WHERE {DOMAIN}"
    assert k.run(ask(q)).status == "ok"
    k.ok("con.execute(\"UPDATE customers SET email = 'x@other.org' WHERE id = 12\")")
    refused(k.run(ask(q)))


def test_a_relation_fetched_after_a_row_is_deleted_is_refused(k: Kernel) -> None:
    q = f"SELECT count(*) FROM customers WHERE {DOMAIN}"
    assert k.ok(f"r = con.sql({q!r})\nprint('N', r.fetchall())").stream.strip() == "N [(300,)]"
    k.ok("con.execute('DELETE FROM customers WHERE id = 12')")
    refused(k.run("print('ANSWER', r.fetchall())"))
    refused(k.run("print('ANSWER', r.df())"))
