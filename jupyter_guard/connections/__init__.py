"""Database kinds as a registry (``base.ConnectionKind``), and the guard's view of a connection."""
from __future__ import annotations

from jupyter_guard.connections.conn import (Conn, duckdb_classify, from_object, from_url,
                                            is_duckdb, is_sqlalchemy, memory, unwrap)

__all__ = ["Conn", "duckdb_classify", "from_object", "from_url", "is_duckdb", "is_sqlalchemy",
           "memory", "unwrap"]
