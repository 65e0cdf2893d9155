"""Pieces of sensitive values cut in pandas (``df.ssn.str[0]``, ``map(lambda s: s[4])``) are
refused by the ``inference`` rule when they leave pandas as plain Python objects, whatever method
cut them; nothing of them reaches any message. Benign twins: lengths, long pieces, pieces of a
column that is not sensitive, and a sensitive column whose whole values are short."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, Reply, guarded_kernel

pytestmark = pytest.mark.kernel

N = 40
SSNS = [f"{100000000 + n:09d}" for n in range(N)]
EMAILS = [f"user{n}@example.com" for n in range(N)]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "python_pieces"
    d.mkdir()
    with guarded_kernel(d, warehouse=N, connect=True) as kernel:
        kernel.ok("import pandas as pd\n"
                  "df = con.sql('SELECT id, email, ssn, city FROM customers ORDER BY id').df()\n"
                  "d = con.sql('SELECT id, ssn AS k FROM customers ORDER BY id').df()")
        yield kernel


def _sent(r: Reply) -> str:
    return json.dumps([m["content"] for m in r.messages if m["msg_type"] != "execute_input"]
                      + [r.reply])


PIECES = [
    pytest.param("print(df.ssn.str[0].tolist())", id="str-index-tolist"),
    pytest.param("print(list(df.email.str[:3]))", id="str-slice-iter"),
    pytest.param("print(df.ssn.str.get(7).to_list())", id="str-get"),
    pytest.param("print(df.ssn.str.slice(4, 6).to_dict())", id="str-slice-to-dict"),
    pytest.param("print(df.ssn.map(lambda s: s[4]).tolist())", id="map-lambda"),
    pytest.param("print(df.ssn.apply(lambda s: s[-2:]).values)", id="apply-values"),
    pytest.param("print(''.join(df.ssn.str[8]))", id="joined"),
    pytest.param("print(df.ssn.str[1].to_numpy())", id="to-numpy"),
    pytest.param("print(df.rename(columns={'ssn': 'x'}).x.str[2].tolist())", id="renamed"),
    pytest.param("print(pd.DataFrame({'p': df.ssn.str[3]}).to_dict())", id="frame-to-dict"),
    pytest.param("print(d.k.str[5].tolist())", id="sql-lineage"),
    pytest.param("print(dict(df.email.str[0].items()))", id="items"),
    pytest.param("print(df.ssn.str[6].str.cat(sep=','))", id="str-cat"),
]


@pytest.mark.parametrize("code", PIECES)
def test_pieces_cut_in_pandas_are_refused(k: Kernel, code: str) -> None:
    r = k.blocked(code, "inference")
    assert r.stream == ""
    assert "'1', '0', '0'" not in _sent(r) and "'u', 's'" not in _sent(r)


def test_lengths_long_pieces_and_plain_columns_are_shown(k: Kernel) -> None:
    r = k.ok("print(df.ssn.str.len().tolist())")
    assert r.stream.strip() == str([9] * N)
    r = k.ok("print(df.city.str[0].tolist())")
    assert r.stream.strip() == str([("P", "L", "N")[n % 3] for n in range(N)])
    r = k.ok("x = df.ssn.str[:6].tolist(); print(len(x), len(x[0]))")   # long: known values
    assert r.stream.strip() == f"{N} 6"
    r = k.ok("print(df.email.str.len().sum())")
    assert r.stream.strip() == str(sum(map(len, EMAILS)))


def test_a_sensitive_column_whose_values_are_short_is_listed(k: Kernel) -> None:
    k.ok("con.execute(\"CREATE TABLE cards AS SELECT range AS id, "
         "lpad(CAST(range % 12 + 1 AS VARCHAR), 2, '0') AS card_month FROM range(24)\")")
    r = k.ok("c = con.sql('SELECT id, card_month FROM cards ORDER BY id').df()\n"
             "print(len(c.card_month.tolist()))")
    assert r.stream.strip() == "24"
