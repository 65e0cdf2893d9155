"""Whether a PostgreSQL database's views changed since the guard cached what they read
(``pg_lineage``): a view redefined by another session (``psql`` in a child, another process,
``CREATE OR REPLACE VIEW v AS SELECT id, ssn AS x …``) must not keep the plain taint cached for it.

Each check reads a fingerprint of the rewrite rules (``pg_rewrite``: a view's definition is its
rule; a replaced one is a new row version) on a connection of the guard's own, opened once per
database with the user's connection's parameters (psycopg and psycopg2's ``info``, asyncpg's
``_addr`` and ``_params``), autocommit, bounded in time
(``connect_timeout``, ``statement_timeout``): never on the user's connection, so never inside a
transaction the user controls. A fingerprint that cannot be read counts as a change (fail
closed: the caches are dropped and the taint read again; asyncpg's, filled before the
statement ran and not readable again while deciding, are kept), and a database whose own connection
failed is not dialled again for ``RETRY`` seconds (each check in between counts as a change).

``pg_lineage.stamp`` gives ``guard.decisions`` the fingerprint a kept comparison with a
constant is keyed on (drivers without an own connection read it on theirs, as their catalog is
read).
"""
from __future__ import annotations

import logging
import time
from typing import Any

from jupyter_guard.hooks.state import Busy

log = logging.getLogger("jupyter_guard")
FINGERPRINT = ("SELECT md5(coalesce(string_agg(ev_class::text || ':' || xmin::text, ',' "
               "ORDER BY oid), '')) FROM pg_catalog.pg_rewrite")
TIMEOUT_S = 2   # to connect, and for the fingerprint's query
RETRY = 30.0
_OWN: dict[Any, Any] = {}      # database key -> the guard's own connection
_SEEN: dict[Any, str] = {}     # database key -> the fingerprint last read
_DOWN: dict[Any, float] = {}   # database key -> when its own connection last failed


def changed(key: Any, raw: Any, unknown: bool = True) -> bool:
    """Whether the views of ``raw``'s database (``key``: ``pg_lineage``'s) may have changed
    since the last check: True when they did, ``unknown`` when it cannot be told (the first
    check only takes the fingerprint)."""
    got = _fingerprint(key, raw)
    old = _SEEN.get(key)
    if got is None:
        _SEEN.pop(key, None)
        return unknown
    _SEEN[key] = got
    return old is not None and old != got


def _fingerprint(key: Any, raw: Any) -> str | None:
    if time.monotonic() - _DOWN.get(key, -RETRY) < RETRY:
        return None
    with Busy():
        try:
            own = _OWN.get(key) or _open(raw)
            _OWN[key] = own
            row = own.execute(FINGERPRINT).fetchone()
            return str(row[0])
        except Exception as e:  # noqa: BLE001 - no own connection, a timeout: unknown, so changed
            log.debug("jupyter_guard: PostgreSQL views not checked: %s", e)
            _DOWN[key] = time.monotonic()
            bad = _OWN.pop(key, None)
            if bad is not None:
                try:
                    bad.close()
                except Exception:  # noqa: BLE001 - closing a broken connection of the guard's
                    pass
            return None


def _open(raw: Any) -> Any:
    """The guard's own psycopg connection to ``raw``'s database: host, port, database, user and
    password as the user's connection has them (psycopg and psycopg2's ``info``; asyncpg's
    ``_addr`` and ``_params``, the parameters its ``connect`` resolved)."""
    import psycopg

    from jupyter_guard.connections import unwrap

    parts = params(raw)
    if parts is None:
        raise LookupError("a connection without libpq's parameters")
    parts.update({"connect_timeout": TIMEOUT_S, "application_name": "jupyter_guard",
                  "options": f"-c statement_timeout={TIMEOUT_S * 1000}"})
    return unwrap(psycopg.connect(autocommit=True, **{k: v for k, v in parts.items()
                                                      if v is not None}))


def params(raw: Any) -> dict[str, Any] | None:
    """libpq's connection parameters of a psycopg, psycopg2 or asyncpg connection, or None."""
    info = getattr(raw, "info", None)
    if info is not None and hasattr(info, "dbname"):
        return {"host": info.host, "port": info.port, "dbname": info.dbname, "user": info.user,
                "password": getattr(info, "password", None) or None}
    addr, got = getattr(raw, "_addr", None), getattr(raw, "_params", None)
    if got is None or addr is None or not hasattr(got, "database"):
        return None
    if isinstance(addr, str):   # a Unix socket: ``/dir/.s.PGSQL.5432``
        host, _, name = addr.rpartition("/")
        port: Any = name.rpartition(".")[2]
    else:
        host, port = addr[0], addr[1]
    password = got.password if isinstance(got.password, str) else None   # not a callable's
    return {"host": host, "port": port, "dbname": got.database, "user": got.user,
            "password": password}


def own(key: Any) -> Any:
    """The guard's own connection to the database ``key`` (``pg_lineage``'s), if open."""
    return _OWN.get(key)


def close() -> None:
    """Close the guard's own connections (the kernel's end; a test's)."""
    for con in list(_OWN.values()):
        try:
            con.close()
        except Exception:  # noqa: BLE001 - already closed
            pass
    _OWN.clear()
    _SEEN.clear()
    _DOWN.clear()
