"""A user object's method run by a library the guard calls by name while it reads a frame.

``pandas.api.types.infer_dtype`` (which the guard ran to tell whether a frame holds Python
objects) asks ``isinstance(value, Decimal)``, and CPython's ``isinstance`` reads the value's
``__class__`` attribute: a property whose getter is ``os.remove`` (a builtin: no Python frame of
the user's) removed the path the object's ``__fspath__`` names, under the guard's token. The
guard now reads a frame's values by their exact types only, running none of their code."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.test_busy_token import _intact, _settle, busy_kernel
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

# ``__class__`` is a property whose getter is os.remove; the path is the object's __fspath__,
# armed only once the frame is made (pandas asks isinstance while building it, as user code)
CLASSY = ("import pandas as pd\nARM = [False]\n"
          "class C:\n"
          "    def __fspath__(self):\n"
          "        if not ARM[0]:\n            raise AttributeError('not armed')\n"
          "        return 'data/probe.duckdb'\n"
          "    __class__ = property(getattr(os, R('erzbir')))\n")


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with busy_kernel(work_root, CLASSY) as kernel:
        yield kernel


CELLS = [
    pytest.param("con.execute(\"COPY (SELECT * FROM cf) TO 'out_cf.csv'\")", id="copy-star"),
    pytest.param("con.execute(\"COPY (SELECT note FROM cf) TO 'out_cf2.csv'\")", id="copy-column"),
    pytest.param("con.execute(\"CREATE TABLE t_cf AS SELECT note FROM cf\")", id="create-as"),
]


@pytest.mark.parametrize("cell", CELLS)
def test_a_class_property_is_not_read_under_the_token(k: Kernel, cell: str) -> None:
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    k.ok("ARM[0] = False\ncf = pd.DataFrame({'a': [1, 2], 'note': [C(), C()]})\nARM[0] = True")
    try:
        r = k.run(cell)
        assert probe.exists(), f"the object's __class__ removed the protected file: {r.everything()}"
        assert r.status == "error", r.everything()
    finally:
        k.run("ARM[0] = False")
        _settle(k)
    _intact(k, probe)
