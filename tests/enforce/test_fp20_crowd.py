"""A check that reads only an e-mail's domain tells nothing a listing of the column shows anyway
where the policy's masking keeps the domain (strategy ``partial``: ``█████@example.com``): row
listings, ``CREATE TABLE … AS`` and counts of chosen rows filtered by ``email LIKE
'%@example.com'``, ``ends_with(email, '@corp.com')`` or ``split_part(email, '@', 2) = …`` run,
in a real guarded kernel on a real DuckDB warehouse file, with the answer a raw DuckDB
connection gives on the same file. Under strategies that hide the domain (``redact``, a
``per_column`` ``hash`` for e-mails) the same queries are refused as ``inference``, with no
answer in any message and no table made; so are format checks of SSNs (``partial`` shows no
SSN's format) and a domain with no ``.`` (``partial`` masks such a value whole) under
``partial`` too.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.raw_answers import Answers, answered_kernel, ask, refused, same_answer
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

N = 300
DOMAIN = {
    "listing": "SELECT id, city FROM customers WHERE email LIKE '%@corp.com' ORDER BY id",
    "listing-ends-with": "SELECT id FROM customers WHERE ends_with(email, '@corp.com') "
                         "AND id < 100 ORDER BY id",
    "listing-split-part": "SELECT id, amount FROM customers "
                          "WHERE split_part(email, '@', 2) = 'corp.com' ORDER BY id LIMIT 5",
    "one-person": "SELECT count(*) FROM customers WHERE id = 20 AND email LIKE '%@corp.com'",
}
CTAS = "CREATE TABLE corp_ids AS SELECT id FROM customers WHERE ends_with(email, '@corp.com')"
KEEP_REFUSED = [   # under ``partial`` too: masking shows no SSN's format, no dot-less domain
    "SELECT id FROM customers WHERE regexp_matches(ssn, '^\\d{9}$') AND id < 20",
    "SELECT id FROM customers WHERE length(ssn) = 9 AND id < 20",
    "SELECT id FROM customers WHERE email LIKE '%@localhost'",
    # a local part's length or shape beside the domain (red team 21): more than the mask shows
    "SELECT id FROM customers WHERE email LIKE '______@%.%' AND id < 20",
    "SELECT id FROM customers WHERE email LIKE '%.%@%.%' AND id < 20",
]
HIDING = {
    "redact": "version: 1\nextends: default\nsensitive:\n  strategy: redact\n",
    "hash-for-emails": "version: 1\nextends: default\nsensitive:\n  per_column:\n"
                       "    email: hash\n",
}


expected, k = answered_kernel({**DOMAIN, "ctas": "SELECT count(*), sum(id) FROM customers "
                                          "WHERE ends_with(email, '@corp.com')"}, N,
                              ["UPDATE customers SET email = 'user' || id || '@corp.com' "
                               "WHERE id % 10 = 0"])


@pytest.mark.parametrize("name", list(DOMAIN))
def test_a_domain_check_runs_where_masking_shows_the_domain(
        k: Kernel, expected: tuple[Path, Answers], name: str) -> None:
    same_answer(k, expected, name, DOMAIN[name])


def test_a_table_made_from_a_domain_filter_runs(k: Kernel, expected: tuple[Path, Answers]) -> None:
    r = k.ok(f"con.execute({CTAS!r})\n" + ask("SELECT count(*), sum(id) FROM corp_ids"))
    assert f"ANSWER {expected[1]['ctas']!r}" in r.stream, r.everything()


def test_a_domain_listing_in_guarded_sql_runs(k: Kernel) -> None:
    r = k.ok("%%guarded_sql con\nSELECT id, city FROM customers WHERE email LIKE '%@corp.com' "
             "AND id < 25 ORDER BY id")
    assert "Lyon" in r.everything() and "Nice" in r.everything(), r.everything()


@pytest.mark.parametrize("q", KEEP_REFUSED)
def test_checks_masking_does_not_show_stay_refused(k: Kernel, q: str) -> None:
    refused(k.run(ask(q)))


@pytest.fixture(scope="module", params=list(HIDING))
def hidden(request: pytest.FixtureRequest, expected: tuple[Path, Answers]) -> Iterator[Kernel]:
    d = expected[0] / request.param
    d.mkdir()
    (d / "wh.duckdb").write_bytes((expected[0] / "wh.duckdb").read_bytes())
    with guarded_kernel(d, connect=True, policy=HIDING[request.param]) as kernel:
        yield kernel


@pytest.mark.parametrize("name", list(DOMAIN))
def test_a_domain_check_is_refused_where_masking_hides_the_domain(
        hidden: Kernel, name: str) -> None:
    refused(hidden.run(ask(DOMAIN[name])))


def test_a_table_from_a_domain_filter_is_refused_where_masking_hides_it(hidden: Kernel) -> None:
    refused(hidden.run(f"con.execute({CTAS!r})\nprint('ANSWER')"))
    r = hidden.ok("print('TABLES', con.sql(\"SELECT count(*) FROM duckdb_tables() "
                  "WHERE table_name = 'corp_ids'\").fetchall())")
    assert "TABLES [(0,)]" in r.stream, r.everything()
