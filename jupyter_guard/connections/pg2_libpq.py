"""psycopg2's calls into libpq: SQL that no judged statement sent is refused, whatever Python
object reached psycopg2's C code.

psycopg2's cursor methods are C functions. The guard replaces them in the C type's dictionary
(``dbapi_pg2``), but a method descriptor saved before ``%load_ext``
(``f = psycopg2.extensions.cursor.execute``) still calls psycopg2's C body, which sends the
text to the server with libpq's ``PQexec`` (``PQsendQuery`` in asynchronous and green mode).
Those are the only two libpq functions psycopg2 sends SQL text with. Its extension module calls
them through its global offset table: the guard points those two slots at its own functions
(``ctypes`` callbacks), which pass the call on to libpq only for:
- a statement the guard judged for this connection (``dbapi.judged_on``, keyed on the libpq
  connection's address), and the guard's own queries (``Busy``);
- psycopg2's bookkeeping, which changes no data: transaction control, a named cursor's
  ``FETCH``/``MOVE``/``CLOSE``, ``DISCARD ALL`` (``reset()``), and the session settings
  ``set_session``/``set_client_encoding`` send (``SET client_encoding TO 'UTF8'``).
Anything else is replaced by a statement that raises the guard's refusal on the server
(``self-protection``), so the cell ends in error and nothing ran; the refusal is audited.

Linux ELF builds only (the slots are found in the extension module's relocations, read here:
an ELF reader library took ~100 ms to import and parse, this one well under 1 ms). Elsewhere
``install`` returns False and the C-dictionary checks remain the only ones.
"""
from __future__ import annotations

import ctypes
import os
import re
import struct
import sys
from typing import Any

from jupyter_guard.connections.dbapi import is_judged_ptr
from jupyter_guard.connections.pg_libpq import bookkeeping
from jupyter_guard.hooks import own_code, sealed_events
from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import Busy, busy

SENDS = ("PQexec", "PQsendQuery")
_SESSION = re.compile(   # psycopg2's own session settings: one statement, one known setting
    rb"\s*(SET\s+(DATESTYLE|client_encoding|default_transaction_(isolation|read_only|"
    rb"deferrable))\s+TO\s+('[\w -]*'|DEFAULT)|DISCARD\s+ALL)\s*;?\s*", re.IGNORECASE)
_EXEC = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p)
_SEND = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p)
_KEEP: list[Any] = []   # the callbacks and libpq's functions, alive as long as the process
_DONE: list[bool] = []   # installed in this process
# the code of the guard's functions that call psycopg2's original C methods (``dbapi_pg2``):
# a judged or guard-owned send passes only when one of them called the C method, so user code
# running inside a judged statement (a parameter's adapter) cannot send under its mark
# (held in sealed closures, added to by the guard's code only: a module-level set was filled
# from a cell with no audit event)


def _callers() -> tuple[Any, Any]:
    """``(trust_callers, trusted)``: trust the code of ``fns`` and of the functions nested in
    them (their lambdas); whether ``code`` is one of them."""
    callers: set[Any] = set()

    def trust_callers(*fns: Any) -> None:
        if not own_code.own(sys._getframe(1).f_code):
            sealed_events.refuse("adds to psycopg2's trusted callers")
        todo = [fn.__code__ for fn in fns]
        while todo:
            code = todo.pop()
            callers.add(code)
            todo.extend(c for c in code.co_consts if isinstance(c, type(code)))

    def trusted(code: Any) -> bool:
        return code in callers
    return sealed(trust_callers), sealed(trusted)


trust_callers, _TRUSTED = _callers()


def slots(path: str, names: tuple[str, ...] = SENDS) -> dict[str, int]:
    """The offsets (from the load address) of the global offset table slots through which the
    ELF shared object ``path`` calls ``names``; empty when it is no 64-bit little-endian ELF."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:6] != b"\x7fELF\x02\x01":
        return {}
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    found: dict[str, int] = {}
    for _, typ, _, _, off, size, link, _, _, ent in secs:
        if typ != 4 or not ent:   # SHT_RELA: the relocations (lazy .rela.plt and .rela.dyn)
            continue
        sym_off, str_off = secs[link][4], secs[secs[link][6]][4]
        for r in range(off, off + size, ent):
            r_offset, r_info = struct.unpack_from("<QQ", data, r)
            st_name, = struct.unpack_from("<I", data, sym_off + (r_info >> 32) * 24)
            end = data.index(b"\0", str_off + st_name)
            name = data[str_off + st_name:end].decode("ascii", "replace")
            if name in names and r_info >> 32:
                found[name] = r_offset
    return found


def _base(path: str) -> int:
    """The load address of ``path`` (its mapping at file offset 0; 0: not mapped)."""
    with open("/proc/self/maps") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 6 and int(parts[2], 16) == 0 and os.path.realpath(parts[5]) == path:
                return int(parts[0].split("-")[0], 16)
    return 0


def _writable(addr: int) -> bool:
    """Make the page of ``addr`` writable (a full-RELRO table is read-only after loading)."""
    libc = ctypes.CDLL(None, use_errno=True)
    page = addr & ~(os.sysconf("SC_PAGE_SIZE") - 1)
    return bool(libc.mprotect(ctypes.c_void_p(page), os.sysconf("SC_PAGE_SIZE"), 3) == 0)


def _refusal(query: bytes) -> bytes | None:
    """None when ``query`` may go to the server; else the statement that refuses it there."""
    from jupyter_guard.hooks import state

    rt = state.current()
    text = query.decode("utf-8", "replace")
    why = ("SQL sent by psycopg2 below the guard's judgement (a cursor method saved before "
           "%load_ext?): call cur.execute() on the cursor itself")
    if rt is None:
        return None   # no kernel guard in this process: nothing to enforce
    try:
        rt.tamper(why, f"psycopg2 libpq {text[:150]}")
    except Exception as e:  # noqa: BLE001 - the refusal (recorded), or a guard failure: either way the statement is refused, the server raising the message
        msg = str(e).replace("'", "''")
        return f"DO $jg$BEGIN RAISE EXCEPTION '%', '{msg}'; END$jg$".encode()
    return None   # the policy let it through (audit mode)


def passes(conn: int | None, query: bytes | None, caller: Any, _trusted: Any = _TRUSTED) -> bool:
    """A libpq send psycopg2 may make: bookkeeping, or called by the guard's own functions
    (``caller``: the code that called psycopg2's C method) for a statement judged for this
    connection or for the guard's own query."""
    if conn is None or query is None:
        return True   # libpq refuses these itself
    if _trusted(caller) and (busy() or is_judged_ptr(conn)):
        return True
    return bookkeeping(query) or _SESSION.fullmatch(query) is not None


def _hooks(pq_exec: Any, pq_send: Any) -> dict[str, Any]:
    def exec_(conn: int | None, query: bytes | None) -> int | None:
        if not passes(conn, query, sys._getframe(1).f_code):
            with Busy():
                query = _refusal(query or b"") or query
        return pq_exec(conn, query)   # type: ignore[no-any-return]  # libpq's PGresult*

    def send(conn: int | None, query: bytes | None) -> int:
        if not passes(conn, query, sys._getframe(1).f_code):
            with Busy():
                query = _refusal(query or b"") or query
        return pq_send(conn, query)   # type: ignore[no-any-return]  # libpq's 1 or 0

    return {"PQexec": _EXEC(exec_), "PQsendQuery": _SEND(send)}


def install(module: Any) -> bool:
    """Point psycopg2's libpq slots for sending SQL at the guard (once per process). False:
    not possible here (not a Linux ELF build), nothing changed."""
    if _DONE or not sys.platform.startswith("linux"):
        return bool(_DONE)
    path = os.path.realpath(module.__file__)
    with Busy():   # the guard's own use of ctypes
        found = slots(path)
        base = _base(path)
        if set(found) != set(SENDS) or not base:
            return False
        lib = ctypes.CDLL(path)   # already loaded: symbols resolve through its libpq
        addr = [ctypes.cast(getattr(lib, n), ctypes.c_void_p).value or 0 for n in SENDS]
        if not all(addr):
            return False
        pq_exec, pq_send = _EXEC(addr[0]), _SEND(addr[1])
        hooks = _hooks(pq_exec, pq_send)
        _KEEP.extend([lib, pq_exec, pq_send, hooks])
        for name, off in found.items():
            if not _writable(base + off):
                return False
            ctypes.c_void_p.from_address(base + off).value = ctypes.cast(
                hooks[name], ctypes.c_void_p).value
        _DONE.append(True)
    return True
