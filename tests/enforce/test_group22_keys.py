"""Groupings whose key reads a sensitive column (red team 22, ``analyze.sql_group_keys``): a
labelled histogram (``SELECT substr(ssn, p, 1) AS d, count(*), sum(id) … GROUP BY d``) beside a
hidden-key grouping that lists each group's members (``SELECT sum(id), list(id) … GROUP BY
substr(ssn, p, 1)``) gave every SSN in 18 queries. In a real guarded kernel on a real DuckDB file
of 300 random people, under the default policy and ``strategy: redact``: each attack is refused
as ``inference`` with no answer and no SSN in any message, the recovery loop recovers nothing,
differencing by group is refused by the session's memory, and honest twins are answered with raw
DuckDB's rows.
"""
from __future__ import annotations

import ast
import random
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from jupyter_guard.connections import unwrap
from tests.conftest import new_workspace
from tests.enforce.raw_answers import Answers, ask, refused
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

N = 300
REDACT = "version: 1\nextends: default\nsensitive:\n  strategy: redact\n"
DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "acme.org", "proton.me", "example.com")
NAMES = ("ana", "bo", "carl", "dina", "eve", "fred", "gia", "hal", "ivy", "jon", "kim", "lu")
POSITIONS = (1, 2, 3, 5, 6, 8, 9, 10, 11)

ATTACKS = {
    "hidden-key-list": "SELECT sum(id), list(id) FROM customers GROUP BY substr(ssn, 3, 1)",
    "labelled-sum-of-ids": "SELECT substr(ssn, 3, 1) AS d, count(*), sum(id) FROM customers "
                           "GROUP BY d",
    "array-agg": "SELECT count(*), array_agg(id) FROM customers GROUP BY substr(ssn, 5, 1)",
    "string-agg": "SELECT count(*), string_agg(CAST(id AS VARCHAR), ',') FROM customers "
                  "GROUP BY substr(ssn, 5, 1)",
    "min-max-small-groups": "SELECT min(id), max(id) FROM customers GROUP BY substr(ssn, 1, 3)",
    "arg-min": "SELECT count(*), arg_min(id, amount) FROM customers GROUP BY substr(ssn, 2, 1)",
    "any-value-of-email": "SELECT count(*), any_value(email) FROM customers "
                          "GROUP BY substr(ssn, 2, 1)",
    "histogram-of-ids": "SELECT count(*), histogram(id) FROM customers GROUP BY substr(ssn, 2, 1)",
    "email-char-list": "SELECT list(id) FROM customers GROUP BY substr(email, 5, 1)",
    "count-if-one-person": "SELECT count(*), count_if(id = 12) FROM customers "
                           "GROUP BY substr(ssn, 2, 1)",
    "filter-one-person": "SELECT count(*), count(*) FILTER (WHERE id = 12) FROM customers "
                         "GROUP BY substr(ssn, 2, 1)",
    "having-picks-a-group": "SELECT count(*) FROM customers GROUP BY substr(ssn, 2, 1) "
                            "HAVING bool_or(id = 12)",
    "small-groups-counted": "SELECT substr(ssn, 1, 3) AS a, count(*) FROM customers GROUP BY a",
    "the-whole-value-listed": "SELECT count(*), list(id) FROM customers GROUP BY ssn",
    "a-renamed-piece": "SELECT count(*) FROM (SELECT substr(ssn, 1, 3) AS ssn FROM customers) "
                       "AS s GROUP BY ssn",
    "rollup": "SELECT count(*), list(id) FROM customers GROUP BY ROLLUP (substr(ssn, 2, 1))",
    "grouping-sets": "SELECT count(*), list(id) FROM customers "
                     "GROUP BY GROUPING SETS ((substr(ssn, 2, 1)), ())",
    "in-a-cte": "WITH g AS (SELECT substr(ssn, 2, 1) AS d, list(id) AS l FROM customers "
                "GROUP BY d) SELECT l FROM g",
    "key-from-a-subquery": "SELECT sum(id), list(id) FROM (SELECT id, substr(ssn, 2, 1) AS d "
                           "FROM customers) AS s GROUP BY d",
    "window-partition": "SELECT id, count(*) OVER (PARTITION BY substr(ssn, 2, 1)) "
                        "FROM customers",
    "distinct-on": "SELECT DISTINCT ON (substr(ssn, 2, 1)) id FROM customers",
}
HONEST = {
    "by-city": "SELECT city, count(*), sum(amount) FROM customers GROUP BY city ORDER BY city",
    # ``substr(email, strpos(email, '@') + 1)`` is refused on main already: strpos(email, '@')
    # is read as a comparison with a constant (not a grouping matter)
    "domains": "SELECT split_part(email, '@', 2) AS domain, count(*) FROM customers "
               "GROUP BY domain HAVING count(*) >= 5 ORDER BY domain",
    "distinct-ssns": "SELECT count(DISTINCT ssn) FROM customers",
    "join-on-email-by-city": "SELECT c.city, count(*) FROM customers c JOIN customers d "
                             "ON c.email = d.email GROUP BY c.city ORDER BY c.city",
    "by-id": "SELECT id, sum(amount), count(*) FROM customers GROUP BY id ORDER BY id LIMIT 5",
    # equal whole values (a duplicate count): what a join on the column tells, no piece
    "duplicate-ssns": "SELECT count(*) FROM customers GROUP BY ssn HAVING count(*) > 1",
    "first-digit-counts": "SELECT substr(ssn, 1, 1) AS d, count(*) FROM customers GROUP BY d "
                          "ORDER BY d",
}


def _people(seed: int = 22) -> list[tuple[int, str, str, str, float]]:
    r = random.Random(seed)
    seen: set[str] = set()
    rows = []
    for i in range(N):
        while True:
            s = f"{r.randint(1, 899):03d}-{r.randint(1, 99):02d}-{r.randint(1, 9999):04d}"
            if s not in seen:
                seen.add(s)
                break
        e = f"{r.choice(NAMES)}.{r.choice(NAMES)}{r.randint(1, 999)}@{r.choice(DOMAINS)}"
        rows.append((i, e, s, ("Paris", "Lyon", "Nice")[i % 3], round(i * 1.5, 2)))
    return rows


PEOPLE = _people()
SSNS = [p[2] for p in PEOPLE]


def workspace(work_root: Path) -> tuple[Path, Answers]:
    """A workspace whose ``wh.duckdb`` holds 300 random people, and raw DuckDB's answers to
    the honest twins."""
    d = new_workspace(work_root)
    raw = unwrap(duckdb.connect(str(d / "wh.duckdb")))
    try:
        raw.execute("CREATE TABLE customers (id BIGINT, email VARCHAR, ssn VARCHAR, "
                    "city VARCHAR, amount DOUBLE)")
        raw.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?)", PEOPLE)
        return d, {name: raw.execute(q).fetchall() for name, q in HONEST.items()}
    finally:
        raw.close()


@pytest.fixture(scope="module")
def expected(work_root: Path) -> tuple[Path, Answers]:
    return workspace(work_root)


@pytest.fixture(scope="module")
def k(expected: tuple[Path, Answers]) -> Iterator[Kernel]:
    with guarded_kernel(expected[0], connect=True) as kernel:
        yield kernel


@pytest.mark.parametrize("name", list(ATTACKS))
def test_a_grouping_on_a_sensitive_key_that_names_people_is_refused(k: Kernel, name: str
                                                                     ) -> None:
    refused(k.run(ask(ATTACKS[name])), SSNS)
    r = k.run(f"%%guarded_sql con\n{ATTACKS[name]}")
    assert r.status == "error" and "[inference]" in r.everything(), r.everything()
    assert not any(s in r.everything() for s in SSNS)


def test_the_refusal_names_the_grouping_and_the_fix(k: Kernel) -> None:
    r = k.run(ask(ATTACKS["hidden-key-list"]))
    text = r.everything()
    assert "grouped by SUBSTRING(ssn, 3, 1)" in text and "count(*)" in text, text


@pytest.mark.parametrize("name", list(HONEST))
def test_honest_twins_get_raw_duckdbs_answers(k: Kernel, expected: tuple[Path, Answers],
                                              name: str) -> None:
    r = k.run(ask(HONEST[name]))
    assert r.status == "ok" and f"ANSWER {expected[1][name]!r}" in r.stream, r.everything()


def _recovered(k: Kernel) -> int:
    """The red team's loop: per position, a labelled histogram and a hidden-key listing, joined
    by their sums of identifiers; the SSNs rebuilt from what was answered."""
    got: dict[int, list[str]] = {i: ["-"] * 11 for i in range(N)}
    for p in POSITIONS:
        answers = []
        for q in (f"SELECT substr(ssn, {p}, 1) AS d, count(*), sum(id) FROM customers GROUP BY d",
                  f"SELECT sum(id), list(id) FROM customers GROUP BY substr(ssn, {p}, 1)",
                  f"SELECT substr(ssn, {p}, 1) AS d, count(*) FROM customers GROUP BY d",
                  f"SELECT count(*), list(id) FROM customers GROUP BY substr(ssn, {p}, 1)"):
            r = k.run(f"print(repr(con.sql({q!r}).fetchall()))")
            assert not any(s in r.everything() for s in SSNS)
            answers.append(ast.literal_eval(r.stream.strip()) if r.status == "ok" else None)
        for label, listed in ((answers[0], answers[1]), (answers[2], answers[3])):
            if label is None or listed is None:
                continue
            by = {int(s): d for d, _n, s in label} if len(label[0]) == 3 else \
                {int(n): d for d, n in label}
            for s, ids in listed:
                for i in ids:
                    got[i][p - 1] = by.get(int(s), "?")
    return sum("".join(got[i]) == SSNS[i] for i in range(N))


@pytest.mark.parametrize("policy", [None, REDACT], ids=["default", "redact"])
def test_the_red_team_loop_recovers_no_ssn(work_root: Path, policy: str | None) -> None:
    d, _ = workspace(work_root)
    with guarded_kernel(d, connect=True, policy=policy) as kernel:
        assert _recovered(kernel) == 0


def test_differencing_by_group_is_refused(work_root: Path) -> None:
    d, _ = workspace(work_root)
    with guarded_kernel(d, connect=True, policy=REDACT) as kernel:
        whole = "SELECT count(*), sum(amount) FROM customers GROUP BY substr(ssn, 9, 1)"
        r = kernel.run(ask(whole))
        assert r.status == "ok", r.everything()
        refused(kernel.run(ask("SELECT count(*), sum(amount) FROM customers WHERE id <> 12 "
                               "GROUP BY substr(ssn, 9, 1)")), SSNS)
        refused(kernel.run(ask("SELECT substr(ssn, 9, 1) AS d, count(*) FROM customers "
                               "WHERE id <> 40 GROUP BY d")), SSNS)
        assert kernel.run(ask(whole)).status == "ok"   # the same groups again: nothing new
