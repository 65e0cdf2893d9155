"""asyncpg's routed methods trust the guard's own code by identity (``own_code``), through no
table of ``driver_methods`` that user code can fill in place. Before, ``_GUARD_CODE`` was a set
the routes consulted, filled lazily from any frame whose globals were a guard module's: a cell
that added its own function's code to it (or ran a function in a guard module's globals) sent a
30,000-row DELETE through asyncpg unjudged. A real kernel on a real PostgreSQL: each spelling is
refused and ``orders`` is intact; asyncpg's own calls still run."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.asyncpg_attack import SRC, own_calls_run, refused
from tests.pg.conftest import Db, saved_before_load

pytestmark = pytest.mark.kernel

SAVED = "import asyncpg, types\nsaved_connect = asyncpg.connect"
# the guard's modules found by walking sys.modules (rot13: no textbook spelling)
FIND = ("import codecs, sys\nR = lambda s: codecs.decode(s, 'rot13')\n"
        "DM = sys.modules[R('whclgre_thneq.pbaarpgvbaf.qevire_zrgubqf')]\n"
        "OC = sys.modules[R('whclgre_thneq.ubbxf.bja_pbqr')]\n")
ADD = ("for name in (R('_THNEQ_PBQR'), R('GRZCYNGRF'), R('OBQVRF')):\n"
       "    box = getattr(DM, name, None)\n"
       "    if box is not None:\n"
       "        getattr(box, 'add', getattr(box, R('_pbqrf'), set()).add)(f.__code__)\n"
       # own_code's ids: a plain set once, now frozen in ``SEALED`` (no ``add``: tried anyway)
       "getattr(getattr(OC, R('PBQRF'), None) or getattr(OC, R('FRNYRQ'))[R('pbqrf')], 'add', "
       "set().add)(id(f.__code__))\ngetattr(OC, R('_XRRC')).append(f.__code__)\n")

ATTACKS = [
    pytest.param(FIND + SRC + ADD + "await f(raw)", id="code-added-to-trust-tables"),
    pytest.param(FIND + f"exec({SRC!r}, vars(DM))\n" + "try:\n    await vars(DM)['f'](raw)\n"
                 "finally:\n    del vars(DM)['f']", id="function-in-guard-module-globals"),
    pytest.param(FIND + SRC + "R2 = getattr(DM, R('_EBHGRQ'))\n"
                 "key = R('nflapct.pbaarpgvba.Pbaarpgvba.rkrphgr')\nold = R2[key]\n"
                 "R2[key] = type(old)(old.name, old.body, lambda r, s, a, k: r.body(s, *a, **k), "
                 "old.trusted)\ntry:\n    await f(raw)\nfinally:\n    R2[key] = old",
                 id="runner-replaced"),
]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with saved_before_load(work_root, "pg-self21b-guard-code", SAVED) as kernel:
        yield kernel


@pytest.mark.parametrize("cell", ATTACKS)
def test_user_code_added_to_the_trust_is_judged(k: Kernel, db: Db, cell: str) -> None:
    refused(k, db, cell)


def test_asyncpg_own_calls_still_run(k: Kernel, db: Db) -> None:
    own_calls_run(k, db)
