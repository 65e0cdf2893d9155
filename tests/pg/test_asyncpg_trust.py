"""asyncpg's routed methods trust asyncpg's own code and the guard's by code identity, not by
file name: code compiled under asyncpg's (or the guard's) file name, or a function whose code
was ``replace``-d to carry it, is judged like any user call. A real kernel on a real
PostgreSQL: each attack ends the cell refused with ``orders`` intact; asyncpg's own pool reset
and transactions still run."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import jupyter_guard.connections.dbapi_asyncpg as guard_module
from tests.kernelutil import Kernel
from tests.pg.asyncpg_attack import SRC, own_calls_run, refused
from tests.pg.conftest import Db, saved_before_load

pytestmark = pytest.mark.kernel

SAVED = ("import asyncpg, types\nsaved_connect = asyncpg.connect\n"
         "body_copy = types.FunctionType(asyncpg.Connection.execute.__code__, "
         "asyncpg.Connection.execute.__globals__)\n"
         "fetch_copy = types.FunctionType(asyncpg.Connection.fetch.__code__, "
         "asyncpg.Connection.fetch.__globals__)")
# a name built at run time, so the static analysis cannot see which attribute is read
G = "''.join(reversed('__slabolg__'))"
KEPT = (f"getattr(getattr(asyncpg.Connection.execute, {G})['__jupyter_guard_route__'], {G})"
        "['_ROUTED']['asyncpg.connection.Connection.{}'].body")
GUARD_FILE = guard_module.__file__


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with saved_before_load(work_root, "pg-asyncpg-trust", SAVED) as kernel:
        yield kernel


ATTACKS = [
    pytest.param(f"g = {{}}\nexec(compile({SRC!r}, asyncpg.connection.__file__, 'exec'), g)\n"
                 "await g['f'](raw)", id="compiled-as-asyncpg"),
    pytest.param(f"g = {{}}\nexec(compile({SRC!r}, asyncpg.pool.__file__, 'exec'), g)\n"
                 "await g['f'](raw)", id="compiled-as-asyncpg-pool"),
    pytest.param(f"g = {{}}\nexec(compile({SRC!r}, {GUARD_FILE!r}, 'exec'), g)\n"
                 "await g['f'](raw)", id="compiled-as-the-guard"),
    pytest.param(f"exec(compile({SRC!r}, asyncpg.connection.__file__, 'exec'), "
                 "vars(asyncpg.connection))\nawait asyncpg.connection.f(raw)",
                 id="compiled-into-asyncpg-module"),
    pytest.param(f"{SRC}g = types.FunctionType(f.__code__.replace("
                 "co_filename=asyncpg.connection.__file__), globals())\nawait g(raw)",
                 id="code-replaced-filename"),
    pytest.param(f"{SRC}g = types.FunctionType(f.__code__.replace("
                 "co_filename=asyncpg.connection.__file__, co_name='reset', "
                 "co_qualname='Connection.reset'), vars(asyncpg.connection))\nawait g(raw)",
                 id="code-replaced-name-and-globals"),
    # asyncpg's own body reached without the route: its protocol refuses the SQL
    pytest.param("await body_copy(raw, 'DELETE FROM orders WHERE id <= 30000', timeout=None)",
                 id="code-copied-before-load"),
    pytest.param("await body_copy(raw, 'DELETE FROM orders WHERE id <= $1', 30000, "
                 "timeout=None)", id="code-copied-before-load-bound"),
    pytest.param("await fetch_copy(raw, 'DELETE FROM orders WHERE id <= 30000 RETURNING id', "
                 "timeout=None, record_class=None)", id="fetch-code-copied-before-load"),
    pytest.param(f"b = {KEPT.format('execute')}\n"
                 "await b(raw, 'DELETE FROM orders WHERE id <= 30000')", id="kept-body"),
    pytest.param(f"b = {KEPT.format('copy_from_query')}\n"
                 "await b(raw, 'DELETE FROM orders RETURNING id', output='/dev/null')",
                 id="kept-copy-body"),
    pytest.param("await raw._protocol.query('DELETE FROM orders', None)", id="protocol-direct"),
    pytest.param("import asyncpg.cursor as ac\nasync with raw.transaction():\n"
                 "    f = ac.CursorFactory(raw, 'DELETE FROM orders WHERE id <= 30000 RETURNING id',"
                 " None, [], None, None, None)\n    print(len([r async for r in f]))",
                 id="raw-cursor-factory"),
]


@pytest.mark.parametrize("cell", ATTACKS)
def test_code_named_like_asyncpg_is_not_trusted(k: Kernel, db: Db, cell: str) -> None:
    refused(k, db, cell)


def test_asyncpg_own_calls_still_run(k: Kernel, db: Db) -> None:
    own_calls_run(k, db)
