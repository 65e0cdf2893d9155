"""pyodbc, when it is installed: guarded at ``connect()``, judged statically in sqlglot's
generic dialect (the database behind an ODBC data source is not known).

What the generic reading cannot see, PostgreSQL's own ways to switch off the database's
protections or reach the server's files (``SET session_replication_role``, ``SET ROLE``,
``ALTER ... DISABLE TRIGGER``, ``lo_export``/``pg_read_file``/``dblink``, ...), is looked for
too (``analyze.sql_postgres``): an ODBC data source is often PostgreSQL (psqlODBC), and these
forms mean the same, or nothing, elsewhere."""
from __future__ import annotations

from typing import Any, final

from jupyter_guard.connections.base import ConnectionKind, register


@final   # sealed: a subclass would register over it (the registry keys on the dialect)
class ODBC(ConnectionKind):
    drivers = ("pyodbc",)

    def analyse(self, text: str, params: Any = None) -> Any:
        from jupyter_guard.analyze.sql_postgres import analyze_postgres
        from jupyter_guard.model import Analysis

        generic = super().analyse(text, params)
        try:
            own = tuple(i for i in analyze_postgres(text).intents
                        if i.action == "guard.tamper" or (i.action == "sql.export" and i.remote))
        except Exception:  # noqa: BLE001 - the generic analysis above still decides the statement
            own = ()
        return generic + Analysis(own) if own else generic


register(ODBC)   # the generic dialect "": what an ODBC connection's SQL is read as
