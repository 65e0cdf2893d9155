"""Database kinds as a registry (``base.ConnectionKind``, one module per kind), and the guard's
view of a connection (``conn.Conn``). ``install`` is the kernel part "database kinds"."""
from __future__ import annotations

from jupyter_guard.connections import base
from jupyter_guard.connections.base import ConnectionKind, for_dialect, install, kinds
from jupyter_guard.connections.conn import (
                                            Conn,
                                            duckdb_classify,
                                            from_object,
                                            from_url,
                                            is_duckdb,
                                            is_sqlalchemy,
                                            memory,
                                            unwrap,
)

__all__ = ["Conn", "ConnectionKind", "base", "duckdb_classify", "for_dialect", "from_object",
           "from_url", "install", "is_duckdb", "is_sqlalchemy", "kinds", "memory", "unwrap"]
