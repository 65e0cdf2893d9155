"""``os.splice`` out of a pipe: what a child printed (or the kernel wrote) into a pipe, moved into
a file, another pipe or a socket without passing through Python. The guard takes the bytes from
the pipe, judges them as a write to the destination, and writes them itself; sensitive ones are
refused and never reach the destination, plain ones arrive byte for byte."""
from __future__ import annotations

import pytest

from tests.conftest import make_warehouse
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

# a child printing values it made itself (e-mails: detectors; SSNs: values the kernel read)
CHILD = {
    "email": "print('\\n'.join(f'user{i}@example.com' for i in range(60)))",
    "ssn": "print('\\n'.join(str(10 ** 8 + i) for i in range(60)))",
    "plain": "print('\\n'.join(f'PRD-{i:06d},{i * 1.25}' for i in range(5000)))",
}
SPLICE = (
    "import subprocess, os, sys\n"
    "p = subprocess.Popen([sys.executable, '-c', CODE], stdout=subprocess.PIPE)\n"
    "fd = os.open(OUT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)\n"
    "try:\n"
    "    while os.splice(p.stdout.fileno(), fd, 1 << 16{offset}):\n"
    "        pass\n"
    "finally:\n"
    "    os.close(fd)\n"
    "    p.wait()"
)


@pytest.fixture(scope="module")
def k(kernel: Kernel) -> Kernel:
    make_warehouse(kernel.workdir / "wh.duckdb")
    kernel.ok("import duckdb\ncon = duckdb.connect('wh.duckdb')\n"
              "df = con.sql('SELECT * FROM customers ORDER BY id').df()")
    return kernel


def _raw(data: bytes) -> bool:
    return any(f"user{i}@example.com".encode() in data or str(100000000 + i).encode() in data
               for i in range(60))


@pytest.mark.parametrize("what", ["email", "ssn"])
def test_a_childs_output_spliced_into_a_file_is_refused(k: Kernel, what: str) -> None:
    out = k.workdir / f"spliced_{what}.txt"
    r = k.run(f"CODE = {CHILD[what]!r}\nOUT = {str(out)!r}\n" + SPLICE.format(offset=""))
    assert r.status == "error" and "exfiltration" in r.everything(), r.everything()
    assert "os.splice" in r.everything(), r.everything()
    assert not _raw(out.read_bytes())
    assert not _raw(r.everything().encode())


def test_a_childs_output_spliced_into_a_pipe_is_refused(k: Kernel) -> None:
    code = ("import subprocess, os, sys\n"
            f"p = subprocess.Popen([sys.executable, '-c', {CHILD['email']!r}], "
            "stdout=subprocess.PIPE)\n"
            "r, w = os.pipe()\nos.set_blocking(r, False)\n"
            "try:\n    os.splice(p.stdout.fileno(), w, 1 << 16)\n"
            "finally:\n    os.close(w)\n    p.wait()")
    k.blocked(code, "exfiltration")
    got = k.ok("try:\n    print(len(os.read(r, 1 << 16)))\nexcept BlockingIOError:\n"
               "    print(0)\nos.close(r)").stream
    assert got.strip() == "0"


def test_a_childs_plain_output_is_spliced_whole(k: Kernel) -> None:
    out = k.workdir / "spliced_plain.txt"
    k.ok(f"CODE = {CHILD['plain']!r}\nOUT = {str(out)!r}\n" + SPLICE.format(offset=""))
    want = "".join(f"PRD-{i:06d},{i * 1.25}\n" for i in range(5000))
    assert out.read_text() == want


def test_a_splice_at_an_offset_and_from_the_kernels_own_pipe(k: Kernel) -> None:
    out = k.workdir / "spliced_offset.txt"
    k.ok(f"fd = os.open({str(out)!r}, os.O_RDWR | os.O_CREAT | os.O_TRUNC)\n"
         "os.write(fd, b'0123456789')\n"
         "r, w = os.pipe()\nos.write(w, b'abc')\nos.close(w)\n"
         "n = os.splice(r, fd, 100, None, 2)\nos.close(r)\nos.close(fd)\nprint(n)")
    assert out.read_bytes() == b"01abc56789"
