"""The audit record kept by the authority, out of its subjects' reach.

Kernels send their final events to the authority (the jupyter server's extension, or a hub
service); the authority gives each one global sequence number, chains it with a keyed MAC whose
key only the authority holds, stores it (SQLite in its own folder, or PostgreSQL with an
INSERT-only role) and signs checkpoints with its Ed25519 key. A mover keeps a read-only DuckDB
copy with the local store's ``events`` schema and views for governance. ``verify`` checks the
keyed chain against the signed checkpoints.
"""
