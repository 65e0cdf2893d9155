"""Hub mode: the ledger in PostgreSQL (psycopg 3), written by a role that may only INSERT.

``setup(admin_dsn, writer)`` (run once by the database owner) creates the schema ``guard_audit``
and grants the writing role ``USAGE`` and ``SELECT, INSERT`` on its tables, nothing else: it can
neither ``UPDATE``, ``DELETE`` nor ``TRUNCATE`` an event or a checkpoint, nor alter or drop the
tables (it owns none). Several authority processes may write at once: each batch takes a
transaction-scoped advisory lock, so the global sequence is assigned by the database, in order,
without gaps (a failed transaction leaves none either).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .ledger import SCHEMA, Ledger

LOCK_ID = 0x4A47_4155   # the advisory lock of the ledger's writers ("JGAU")


def setup(admin_dsn: str, writer: str) -> None:
    """Create the schema and tables (idempotent) and give ``writer`` INSERT-only rights."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_dsn, autocommit=True) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS guard_audit")
        for statement in SCHEMA:
            con.execute(statement.format(p="guard_audit.", i=""))
        role = sql.Identifier(writer)
        con.execute(sql.SQL("GRANT USAGE ON SCHEMA guard_audit TO {}").format(role))
        con.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA guard_audit FROM {}").format(role))
        con.execute(sql.SQL("GRANT SELECT, INSERT ON guard_audit.events, guard_audit.checkpoints "
                            "TO {}").format(role))


class PgLedger(Ledger):
    prefix = "guard_audit."
    mark = "%s"

    def __init__(self, dsn: str, key: bytes, signer: Any) -> None:
        super().__init__(key, signer)
        self.dsn = dsn

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.dsn, autocommit=True)

    @contextmanager
    def _locked(self) -> Iterator[Any]:
        import psycopg

        con = self._writer()
        try:
            with con.transaction(), con.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_ID])
                yield cur
        except psycopg.OperationalError:
            self._drop_writer()   # the server went away: the next batch reconnects
            raise

    def _insert(self, cur: Any, rows: list[tuple[Any, ...]]) -> None:
        from .ledger import COLUMNS

        with cur.copy(f"COPY guard_audit.events ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
