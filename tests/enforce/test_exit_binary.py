"""Sensitive values inside binary data written to a file, in a real kernel: a pickle made with
``pickle.dumps`` and written by hand, ``shelve`` (its values are pickles), and length-prefixed
binary records, where each value is glued to the control byte or opcode after it. None of them
reaches the disk; the same forms holding plain data are written and read back intact."""
from __future__ import annotations

import json
import pickle

import pytest

from tests.conftest import make_warehouse
from tests.enforce.test_exits import _no_raw

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(kernel):
    make_warehouse(kernel.workdir / "wh.duckdb", rows=500)
    kernel.ok("import duckdb, pickle, shelve, struct\n"
              "con = duckdb.connect('wh.duckdb')\n"
              "df = con.sql('SELECT * FROM customers').df()")
    return kernel


BINARY = [
    pytest.param("open(F, 'wb').write(pickle.dumps(list(df.ssn), 3))", id="pickle-p3-ssn"),
    pytest.param("open(F, 'wb').write(pickle.dumps(list(df.email), 3))", id="pickle-p3-email"),
    pytest.param("open(F, 'wb').write(pickle.dumps(list(df.ssn)))", id="pickle-default"),
    pytest.param("open(F, 'wb').write(pickle.dumps(list(df.email), 0))", id="pickle-p0"),
    pytest.param("open(F, 'wb').write(pickle.dumps({'rows': df.to_dict('records')}, 2))",
                 id="pickle-p2-records"),
    pytest.param("with shelve.open(F) as s:\n    s['x'] = list(df.ssn)", id="shelve"),
    pytest.param("open(F, 'wb').write(b''.join(struct.pack('B', len(s)) + s.encode() + b'\\x94'"
                 " for s in df.email))", id="length-prefixed-records"),
    pytest.param("open(F, 'wb').write(b''.join(b'\\x81' + s.encode() for s in df.ssn))",
                 id="high-control-byte-separated"),
]


@pytest.mark.parametrize("code", BINARY)
def test_sensitive_values_in_binary_data_never_reach_the_disk(k, code, request):
    f = f"bin_{request.node.callspec.id}"
    r = k.blocked(f"F = {f!r}\n{code}", "exfiltration")
    _no_raw(json.dumps([m["content"] for m in r.messages]))
    written = list(k.workdir.glob(f + "*"))
    for p in written:
        _no_raw(p.read_bytes())


PLAIN = [
    pytest.param("open(F, 'wb').write(pickle.dumps(list(df.city), 3))",
                 lambda back: back[:3] == ["Paris", "Lyon", "Nice"] and len(back) == 500,
                 id="pickle-p3-city"),
    pytest.param("open(F, 'wb').write(pickle.dumps(df.groupby('city').amount.sum().to_dict()))",
                 lambda back: sorted(back) == ["Lyon", "Nice", "Paris"], id="pickle-aggregate"),
    pytest.param("open(F, 'wb').write(pickle.dumps([str(i) for i in df.id], 0))",
                 lambda back: back[-1] == "499" and len(back) == 500, id="pickle-p0-ids"),
]


@pytest.mark.parametrize(("code", "check"), PLAIN)
def test_plain_binary_data_is_written_and_reads_back(k, code, check, request):
    f = f"plain_{request.node.callspec.id}"
    k.ok(f"F = {f!r}\n{code}")
    back = pickle.loads((k.workdir / f).read_bytes())
    assert check(back), repr(back)[:200]


def test_a_shelf_of_plain_values_works(k):
    r = k.ok("with shelve.open('plain_shelf') as s:\n    s['cities'] = sorted(set(df.city))\n"
             "with shelve.open('plain_shelf') as s:\n    print(s['cities'])")
    assert "['Lyon', 'Nice', 'Paris']" in r.text, r.text
