"""psycopg2's large objects (``con.lobject(...)``): the client-side file routes are refused, an
unlink, a write and a truncation are measured like their SQL twins, and bytes holding sensitive
values written into an object are refused as an exit.

psycopg2 reaches large objects through libpq's own functions (``lo_import``, ``lo_export``,
``lo_unlink``, ...), which call the server's functions by the fast-path protocol, not with SQL
text: no ``execute`` and no ``PQexec`` sees them. Two of them read or write a file on the
client with C's own ``open``, out of sight of the guard's file exits:
``con.lobject(0, 'w', 0, '/path')`` (imports a file) and ``lo.export('/path')`` (writes the
object's bytes, a copied e-mail say, to a file). Both are refused (``self-protection``: read the
object with ``lo.read()`` and write the file from Python, where the file exit judges it).
``lo.unlink()`` runs inside the effect check as ``SELECT lo_unlink(<oid>)``: the objects it
removes count against ``max_affected_rows`` (``pg_effect`` measures large objects).
``lo.write(data)`` and ``lo.truncate(n)`` run inside it too (pages overwritten count as updated
rows); a truncation also counts the pages it cuts off as deleted rows, read before it runs with
the object's own ``seek``. Bytes ``lo.write`` gets are scanned as a file write's are (known
values read from sensitive columns, then the detectors): an object carries no taint, so what is
written into it could be read back raw in another session (``exfiltration``).

The methods are replaced in the C types' dictionaries (``hooks.c_types``); below them, psycopg2's
global offset table slots for ``lo_import``, ``lo_export`` and ``lo_unlink`` (as in
``pg2_libpq``) pass a call only under the guard's own mark (``Busy``: the effect check, or a
policy in audit mode) or, for ``lo_unlink``, a statement judged for that connection, so a method
saved before ``%load_ext`` or ``psycopg2.extensions.lobject(con, 0, 'w', 0, path)`` are refused
too (psycopg2 then raises its own ``OperationalError``; the refusal is audited).
"""
from __future__ import annotations

import ctypes
import gc
import os
import sys
import weakref
from collections.abc import Callable
from contextlib import nullcontext
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jupyter_guard.connections import pg2_libpq
from jupyter_guard.connections.dbapi import is_judged_ptr
from jupyter_guard.hooks.sealed_events import sealed, weak_table
from jupyter_guard.hooks.state import Busy, busy

if TYPE_CHECKING:
    from jupyter_guard.guard.service import Guard

WHY_FILE = ("psycopg2 large object {what} a client file through libpq, out of sight of the "
            "guard's file exits: use lo.read() and write the file from Python")
WHY_UNLINK = ("psycopg2 large object unlink the guard cannot measure (an object not opened "
              "with con.lobject(), or a method saved before %load_ext): open it with "
              "con.lobject(oid) and call its unlink()")
_IMPORT = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_void_p, ctypes.c_char_p)
_EXPORT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_char_p)
_UNLINK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint)
_KEEP: list[Any] = []
_DONE: list[bool] = []


def refuse_file(what: str, path: Any, why: str = WHY_FILE) -> None:
    """Raise the guard's refusal of a large object's client file (audited); returns only when
    no kernel guard runs here or the policy only audits."""
    from jupyter_guard.hooks import state

    rt = state.current()
    if rt is not None:
        with Busy():
            rt.tamper(why.format(what=what), f"psycopg2 lobject {what} {path!s:.150}")


def _held() -> tuple[Any, Any]:
    """Each large object's connection (opened with ``con.lobject``), in a weak table only sealed
    closures reach: an attribute a cell set (``lo._jg_con = other``) was the connection its
    writes were judged on. Given once, by the guard's code; ``None``: not known."""
    get, put = weak_table("a large object's connection", callers=2)

    def con_of(lo: Any) -> Any:
        try:
            return get(lo)
        except TypeError:   # not weakly referenceable: not one the guard opened
            return None

    def give(lo: Any, con: Any) -> None:
        try:
            weakref.ref(lo)
        except TypeError:   # a factory's class with no weak references: its writes are refused
            return
        put(lo, con)
    return sealed(con_of), sealed(give)


_CON_OF, _GIVE_CON = _held()


def _checker(con: Any, guard: Guard, check_of: Any) -> Any:
    from jupyter_guard.connections.dbapi import Checker

    check = check_of(con)   # dbapi_pg2's sealed table: not an attribute a cell could set
    return check if check is not None else Checker(guard, con, "psycopg2")


def patch(ext: Any, guard: Guard, check_of: Any) -> None:
    """Replace ``lobject.export``/``unlink`` and ``connection.lobject`` (once)."""
    from jupyter_guard.hooks import c_types

    o_export = c_types.original(ext.lobject, "export")
    o_unlink = c_types.original(ext.lobject, "unlink")
    o_lobject = c_types.original(ext.connection, "lobject")
    o_write = c_types.original(ext.lobject, "write")
    o_truncate = c_types.original(ext.lobject, "truncate")
    con_of, give = _CON_OF, _GIVE_CON   # held in the sealed methods' closures
    if getattr(o_export, "__module__", None) == __name__:
        return

    def export(self: Any, filename: Any) -> Any:
        if busy():
            return o_export(self, filename)
        refuse_file("export() writes", filename)
        with Busy():   # the policy only audits: libpq's slot lets the guard's own call pass
            return o_export(self, filename)

    def unlink(self: Any) -> Any:
        if busy():
            return o_unlink(self)
        con = con_of(self)   # given by ``connection.lobject`` below
        if con is None:
            refuse_file("unlink", self.oid, WHY_UNLINK)
            with Busy():
                return o_unlink(self)
        return _checker(con, guard, check_of)(f"SELECT lo_unlink({int(self.oid)})", None,
                                    lambda: o_unlink(self))

    def write(self: Any, data: Any) -> Any:
        if busy():
            return o_write(self, data)
        con = con_of(self)
        if con is None:   # not opened with con.lobject(): its connection is not known
            refuse_file("write", self.oid, WHY_UNLINK.replace("unlink", "write"))
            with Busy():
                return o_write(self, data)
        leaves(guard, data, int(self.oid))
        return _checker(con, guard, check_of)(
            f"SELECT lowrite(lo_open({int(self.oid)}, 131072), NULL)", None,
            lambda: o_write(self, data))

    def truncate(self: Any, length: int = 0) -> Any:
        if busy():
            return o_truncate(self, length)
        con = con_of(self)
        if con is None:
            refuse_file("truncate", self.oid, WHY_UNLINK.replace("unlink", "truncate"))
            with Busy():
                return o_truncate(self, length)
        with Busy():
            removed = _pages_removed(self, int(length))
        check = _checker(con, guard, check_of)
        text = f"SELECT lo_truncate(lo_open({int(self.oid)}, 131072), {int(length)})"
        cut_pages(guard, check, text, removed)
        return check(text, None, lambda: o_truncate(self, length))

    def lobject(self: Any, oid: int = 0, mode: str = "", new_oid: int = 0,
                new_file: Any = None, lobject_factory: Any = None) -> Any:
        args = (oid, mode or "", new_oid, new_file, _factory(lobject_factory or ext.lobject))
        if new_file is not None and not busy():
            refuse_file("import reads", new_file)
        with Busy() if new_file is not None else nullcontext():   # Busy: audit mode only
            lo = o_lobject(self, *args)
        give(lo, self)   # its unlink, writes and truncation are judged on this connection
        return lo

    for cls, fn, orig in ((ext.lobject, export, o_export), (ext.lobject, unlink, o_unlink),
                          (ext.lobject, write, o_write), (ext.lobject, truncate, o_truncate),
                          (ext.connection, lobject, o_lobject)):
        c_types.patch(cls, fn.__name__, sealed(fn, orig))   # no closure cell a cell can swap
    install_slots(sys.modules["psycopg2._psycopg"])


PAGE = 2048   # PostgreSQL's LOBLKSIZE: bytes of a large object per row of pg_largeobject


def leaves(guard: Guard, data: Any, oid: int) -> None:
    """Refuse (``exfiltration``) bytes holding sensitive values written into a large object: it
    carries no taint, and ``lo_get``/``lo.read()`` in another session give them back raw (the
    SQL writers, ``lo_put``/``lo_from_bytea``/``lowrite`` of sensitive columns, are refused by
    the analysis the same way)."""
    from jupyter_guard.hooks import exits, state
    from jupyter_guard.hooks.db_exits import _settings

    with Busy():
        kind = exits.scan(data, _settings(), decode=True)
    if kind:
        exits.refuse(guard, state.current(), kind, f"large object {oid}", "lo.write", data=data)


def _pages_removed(lo: Any, length: int) -> int:
    """Rows of ``pg_largeobject`` a truncation to ``length`` bytes deletes (read with the
    object's own seek, restored after)."""
    at = lo.tell()
    try:
        size = lo.seek(0, 2)
    finally:
        lo.seek(at, 0)
    return max(0, -(-int(size) // PAGE) - -(-length // PAGE))


def cut_pages(guard: Guard, check: Any, text: str, pages: int) -> None:
    """Refuse a truncation that deletes more pages of one large object than
    ``max_affected_rows`` (the effect check counts pages overwritten, not pages cut off)."""
    from jupyter_guard.connections.pg_effect import judge
    from jupyter_guard.guard.judge import refuse_verdict
    from jupyter_guard.model import Intent

    if pages <= 0:
        return
    intent = Intent("sql.delete", "table", "pg_catalog.pg_largeobject", where="filtered",
                    estimated_rows=pages, source=text, detail="measured (pages cut off)")
    with Busy():
        v = judge((intent,), guard.policy, guard.context(check.conn, files=False))
        err = None if v is None else refuse_verdict(guard, v, kind="runtime", code=text,
                                                    intents=(intent,))
    if err is not None:
        raise err


@lru_cache(maxsize=16)
def _factory(cls: type) -> type:
    """A subclass of the requested ``lobject`` class whose objects can hold their connection
    (psycopg2's own has no ``__dict__`` and cannot be weakly referenced)."""
    if "_jg_con" in getattr(cls, "__annotations__", {}):
        return cls
    return type(f"Guarded{cls.__name__}", (cls,), {"__module__": cls.__module__,
                                                    "__doc__": cls.__doc__,
                                                    "__annotations__": {"_jg_con": "Any"},
                                                    "_jg_con": property(_CON_OF)})


def install_slots(module: Any) -> bool:
    """Point psycopg2's ``lo_import``/``lo_export``/``lo_unlink`` slots at the guard (once per
    process; Linux ELF only). False: not possible here, the C-dictionary checks remain."""
    if _DONE or not sys.platform.startswith("linux"):
        return bool(_DONE)
    names = ("lo_import", "lo_export", "lo_unlink")
    path = os.path.realpath(module.__file__)
    with Busy():   # the guard's own use of ctypes
        found = pg2_libpq.slots(path, names)
        base = pg2_libpq._base(path)
        if set(found) != set(names) or not base:
            return False
        lib = ctypes.CDLL(path)
        addr = {n: ctypes.cast(getattr(lib, n), ctypes.c_void_p).value or 0 for n in names}
        if not all(addr.values()):
            return False
        imp, exp_, unl = (_IMPORT(addr["lo_import"]), _EXPORT(addr["lo_export"]),
                          _UNLINK(addr["lo_unlink"]))

        def lo_import(conn: int | None, filename: bytes | None) -> int:
            return int(imp(conn, filename)) if busy() or _refused("import reads", filename) \
                else 0   # InvalidOid: psycopg2 raises

        def lo_export(conn: int | None, oid: int, filename: bytes | None) -> int:
            return int(exp_(conn, oid, filename)) if busy() or _refused(
                "export() writes", filename) else -1

        def lo_unlink(conn: int | None, oid: int) -> int:
            if busy() or (conn is not None and is_judged_ptr(conn)):
                return int(unl(conn, oid))
            return int(unl(conn, oid)) if _refused("unlink", oid, WHY_UNLINK) else -1

        hooks = {"lo_import": _IMPORT(_no_gc(lo_import)), "lo_export": _EXPORT(_no_gc(lo_export)),
                 "lo_unlink": _UNLINK(_no_gc(lo_unlink))}
        _KEEP.extend([lib, imp, exp_, unl, hooks])
        for name, off in found.items():
            if not pg2_libpq._writable(base + off):
                return False
            ctypes.c_void_p.from_address(base + off).value = ctypes.cast(
                hooks[name], ctypes.c_void_p).value
        _DONE.append(True)
    return True


def _no_gc(fn: Callable[..., int]) -> Callable[..., int]:
    """``fn`` with the garbage collector off while it runs: psycopg2 calls libpq's function
    holding the connection's mutex, and a collection inside would free a psycopg2 object (an
    open large object left in a cycle) whose deallocation waits on that mutex: a deadlock. What
    becomes garbage meanwhile is collected after."""
    def run(*args: Any) -> int:
        was = gc.isenabled()
        gc.disable()
        try:
            return fn(*args)
        finally:
            if was:
                gc.enable()
    return run


def _refused(what: str, target: Any, why: str = WHY_FILE) -> bool:
    """False: refused (audited); True: no kernel guard here, or the policy only audits."""
    try:
        refuse_file(what, target, why)
    except Exception:  # noqa: BLE001 - the refusal, or a guard failure: either way libpq's call is not made
        return False
    return True
