"""PostgreSQL: through SQLAlchemy, psycopg (3) or psycopg2. Its own statement forms are read by
``analyze.sql_postgres``; statements that can change rows or schema pass the effect check
(``pg_effect``: measured inside a transaction the guard controls); ``%%guarded_sql`` runs the
user's text verbatim in one transaction (``pg_magic``)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, final

from jupyter_guard.connections.base import ConnectionKind


@final   # sealed: a subclass would register over it (the registry keys on the dialect)
class PostgreSQL(ConnectionKind):
    dialect = "postgres"
    sqlalchemy_names = ("postgresql",)
    sqlalchemy_drivers = ("psycopg", "psycopg2")
    drivers = ("psycopg", "psycopg2", "asyncpg", "pg8000")
    measures_effect = True
    runs_cells = True
    paramstyle = "pyformat"   # %%guarded_sql runs the cell on psycopg / psycopg2

    def analyse(self, text: str, params: Any = None) -> Any:
        from jupyter_guard.analyze.sql_infer import with_predicates
        from jupyter_guard.analyze.sql_postgres import analyze_postgres, split
        from jupyter_guard.connections.pg_judge import server_config, unread_reads

        a = analyze_postgres(text, params)   # plus comparisons of columns with constants
        unread = unread_reads(text) + server_config(text)
        if unread:
            a = type(a)(a.intents + unread, a.errors, a.vars_written, a.vars_read)
        try:
            pieces = split(text)
        except Exception:  # noqa: BLE001 - a text the splitter cannot read is refused by the analysis already
            return a
        return with_predicates(a, text, self.dialect, pieces)

    def split(self, text: str) -> list[str]:
        from jupyter_guard.analyze.sql_postgres import split

        return split(text)   # verbatim slices: the text that runs is the text judged

    def needs_effect(self, text: str) -> bool:
        from jupyter_guard.connections.pg_effect import needs_transaction_free, transaction_control
        from jupyter_guard.connections.pg_judge import pure_read

        return not pure_read(text) and not needs_transaction_free(text) and \
            not transaction_control(text)

    def pure_read(self, text: str) -> bool:
        from jupyter_guard.connections.pg_judge import pure_read

        return pure_read(text)

    def read_shape(self, text: str) -> tuple[Any, ...] | None:
        from jupyter_guard.connections.pg_judge import shape

        return shape(text)

    def for_effect(self, analysis: Any, conn: Any, policy: Any) -> Any:
        from jupyter_guard.connections.pg_judge import for_effect, runtime_sql_on_server

        return runtime_sql_on_server(for_effect(analysis, policy.max_affected_rows), conn)

    def run_effect(self, raw: Any, call: Callable[[], Any], **kw: Any) -> Any:
        from jupyter_guard.connections import pg_effect

        return pg_effect.run(raw, call, **kw)

    def effect_check(self, raw: Any, **kw: Any) -> Any:
        from jupyter_guard.connections import pg_effect

        return pg_effect.Check(raw, **kw)

    async def run_effect_async(self, raw: Any, acall: Callable[[], Any], **kw: Any) -> Any:
        from jupyter_guard.connections import pg_effect

        return await pg_effect.arun(raw, acall, **kw)

    def run_cell(self, guard: Any, conn: Any, text: str, **kw: Any) -> Any:
        from jupyter_guard.connections import pg_magic

        return pg_magic.run_sql(guard, conn, text, **kw)

    def install(self, shell: Any, guard: Any) -> None:
        # imported now, not mid-cell: self-protection seals the guard's modules after loading
        from jupyter_guard.connections import (  # noqa: F401
            dbapi_async,
            dbapi_asyncpg,
            dbapi_asyncpg_pool,
            dbapi_asyncpg_stray,
            dbapi_pg2,
            dbapi_pg8000,
            dbapi_psycopg,
            pg_cell,
            pg_effect,
            pg_judge,
            pg_libpq,
            pg_magic,
        )
