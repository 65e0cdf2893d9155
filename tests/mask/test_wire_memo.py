"""The wire net remembers how it masked short strings (``replies._Memo``): the protocol's own keys
and the session's constants are scanned once, not in every message. A string it showed as it was
is masked in every later message once it became a known value (read out of a sensitive column),
and under new settings. Real kernel; every message up to idle and the reply are read."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.kernelutil import Reply, guarded_kernel

pytestmark = pytest.mark.kernel

SSN = "100000007"   # customer 7's SSN: nine bare digits, which no detector takes for one


def _sent(r: Reply) -> str:
    return json.dumps([[m["header"], m["content"], m["metadata"]] for m in r.messages
                       if m["msg_type"] != "execute_input"] + [r.reply], default=str)


def test_a_string_shown_before_is_masked_once_it_is_a_known_value(work_root: Path) -> None:
    d = work_root / "wire_memo"
    d.mkdir()
    with guarded_kernel(d, warehouse=50, connect=True) as k:
        for _ in range(2):   # the benign twin: not a known value yet, shown as it is
            before = k.run(f"raise ValueError('{SSN}')")
            assert before.status == "error" and before.reply["evalue"] == SSN
        read = k.ok("rows = con.execute('SELECT ssn FROM customers WHERE id = 7').fetchall()\n"
                    "print(rows)")
        assert SSN not in _sent(read), _sent(read)[:400]
        after = k.run(f"raise ValueError('{SSN}')")
        assert after.status == "error"
        assert SSN not in _sent(after), _sent(after)[:600]
        assert after.reply["evalue"] and after.reply["ename"] == "ValueError"
