"""SQLAlchemy: the one map from SQLAlchemy's dialect names to sqlglot's, and URLs it opens.

A kind declares its SQLAlchemy names (``ConnectionKind.sqlalchemy_names``); ``OTHER_NAMES``
renames the dialects no kind module describes, which are then handled generically
(``base.GenericKind``: SQLAlchemy's access, ``information_schema`` for the catalog).
"""
from __future__ import annotations

from typing import Any

from jupyter_guard.connections.base import kinds
from jupyter_guard.errors import GuardConfigError

OTHER_NAMES = {"mssql": "tsql"}   # SQLAlchemy name -> sqlglot name, for kinds without a module


def is_sqlalchemy(obj: Any) -> bool:
    return type(obj).__module__.startswith("sqlalchemy") and hasattr(obj, "dialect")


def dialect_of(name: str) -> str:
    """sqlglot's dialect for a SQLAlchemy dialect name.

    >>> dialect_of("postgresql"), dialect_of("mssql"), dialect_of("mysql")
    ('postgres', 'tsql', 'mysql')
    """
    for kind in kinds():
        if name in kind.sqlalchemy_names:
            return kind.dialect
    return OTHER_NAMES.get(name, name)


def guarded_driver(dialect: str, driver: str) -> bool:
    """Whether SQLAlchemy's ``dialect``+``driver`` reaches the database through a DB-API driver
    the guard wraps (so its statements are judged at run time in their own dialect)."""
    return any(dialect in k.sqlalchemy_names and driver in k.sqlalchemy_drivers for k in kinds())


def open_url(url: str) -> Any:
    """A ``Conn`` for any URL SQLAlchemy opens."""
    from jupyter_guard.mask.text import strip_url_passwords  # late: only when a URL is opened

    shown = strip_url_passwords(url)
    try:
        import sqlalchemy
    except ImportError:
        raise GuardConfigError(f"{shown} needs SQLAlchemy: pip install sqlalchemy") from None
    try:
        engine = sqlalchemy.create_engine(url)
    except Exception as e:  # noqa: BLE001 - any driver or URL error: one line naming the URL, nothing opened
        first = (str(e).splitlines() or [type(e).__name__])[0]
        raise GuardConfigError(f"cannot open {shown}: {strip_url_passwords(first)}") from None
    from jupyter_guard.connections.conn import from_object  # late: conn imports this module at load

    return from_object(engine, url)
