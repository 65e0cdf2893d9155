"""pyodbc, when it is installed: guarded at ``connect()``, judged statically in sqlglot's
generic dialect (the database behind an ODBC data source is not known)."""
from __future__ import annotations

from typing import final

from jupyter_guard.connections.base import ConnectionKind, register


@final   # sealed: a subclass would register over it (the registry keys on the dialect)
class ODBC(ConnectionKind):
    drivers = ("pyodbc",)


register(ODBC)   # the generic dialect "": what an ODBC connection's SQL is read as
