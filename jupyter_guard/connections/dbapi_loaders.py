"""Value loaders a user registers run on every raw value before the guard sees a row.

psycopg 3 turns each value the server sends into a Python object with a loader class chosen by
the column's type; asyncpg does the same with a type codec's ``decoder``. A loader of the user's
(``con.adapters.register_loader('text', L)``, on ``psycopg.adapters`` for every connection,
``await con.set_type_codec('text', decoder=f)``) is handed every value of every column,
sensitive ones included, before the fetch returns the rows the guard judges and remembers: it
can keep them, and what it returns instead is all the guard learns. So registering one is
refused; psycopg's and asyncpg's own code registering theirs (``TypeInfo.register``,
``set_json_loads``, ``register_enum``) runs, as does registering a class or function the driver
defines, and a decoder from the standard converters (``json.loads``, ``str``, ``Decimal``).
Both methods are routed (``driver_methods``), so references taken before ``%load_ext``
are judged too.
"""
from __future__ import annotations

import sys
from typing import Any

from jupyter_guard.connections import driver_methods
from jupyter_guard.errors import GuardBlocked


def drivers_own(obj: Any, packages: tuple[str, ...]) -> bool:
    """``obj`` is a class or function the driver's modules define: an attribute of the loaded
    module it names (a class made elsewhere that claims a driver module is not its attribute).

    >>> import json
    >>> drivers_own(json.loads, ("json",)), drivers_own(lambda v: v, ("json",))
    (True, False)
    """
    module = str(getattr(obj, "__module__", "") or "")
    if not any(module == p or module.startswith(p + ".") for p in packages):
        return False
    mod = sys.modules.get(module)
    return mod is not None and getattr(mod, str(getattr(obj, "__name__", "")), None) is obj


# packages whose functions a decoder may be (asyncpg's documented ``decoder=json.loads``): they
# keep nothing of what they convert
DECODERS = ("asyncpg", "json", "orjson", "ujson", "simplejson", "decimal", "uuid", "datetime",
            "ipaddress", "builtins")


def _refused(what: str) -> GuardBlocked:
    return GuardBlocked("self-protection", f"{what} would see every value the database sends "
                        "(sensitive ones too) before the guard does; convert the values after "
                        "fetching them instead", approval_hint=False)


def _loader(r: driver_methods.Routed, obj: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
    loader = args[1] if len(args) > 1 else kw.get("loader")
    if not drivers_own(loader, ("psycopg", "psycopg_c", "psycopg_binary")):
        raise _refused(f"the loader {getattr(loader, '__qualname__', loader)!s}")
    return r.body(obj, *args, **kw)


def _codec(r: driver_methods.Routed, obj: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
    decoder = args[1] if len(args) > 1 else kw.get("decoder")
    if decoder is not None and not drivers_own(decoder, DECODERS):
        raise _refused(f"the decoder {getattr(decoder, '__qualname__', decoder)!s}")
    return r.body(obj, *args, **kw)


def patch_psycopg(module: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """Route ``AdaptersMap.register_loader`` (every map: global, connection, cursor)."""
    from psycopg import _adapters_map

    own = driver_methods.trusted_code(module)
    driver_methods.reroute(_adapters_map.AdaptersMap, ("register_loader",), _loader, own,
                           patched)


def patch_asyncpg(module: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """Route ``Connection.set_type_codec`` (a pool's connections are ``Connection`` too)."""
    from asyncpg import connection

    own = driver_methods.trusted_code(module)
    driver_methods.reroute(connection.Connection, ("set_type_codec",), _codec, own, patched)
