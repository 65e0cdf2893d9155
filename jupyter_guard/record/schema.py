"""The audit store's tables, versioned by ``meta`` and migrated forward; the views are in
``views.py`` and re-created by every migration.

All timestamps are UTC (``TIMESTAMP`` without zone).
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:   # annotations only: a guarded child without DuckDB still records refusals
    import duckdb

from .views import VIEWS

KINDS: Final = ("python", "sql", "shell", "magic", "runtime", "server")
STATUSES: Final = ("running", "ok", "error", "blocked", "interrupted")
DECISIONS: Final = ("allow", "mask", "warn", "block", "approval")
DIRECTIONS: Final = ("read", "write")
OBJECT_KINDS: Final = ("table", "column", "file", "variable", "url")
FINAL_STATUSES: Final = frozenset(STATUSES) - {"running"}

EVENTS_DDL = """
CREATE TABLE events (
    event_id VARCHAR NOT NULL,        -- uuid4 hex, also the OpenLineage runId
    ts TIMESTAMP NOT NULL,            -- UTC, when the cell was intercepted (before it ran)
    user_name VARCHAR NOT NULL,
    actor VARCHAR NOT NULL,           -- human | agent:<name>
    groups VARCHAR[],
    session_id VARCHAR NOT NULL,
    seq BIGINT,                       -- position in the session's hash chain; NULL while running
    notebook VARCHAR,
    cell_id VARCHAR,
    execution_count INTEGER,
    kind VARCHAR NOT NULL,            -- python | sql | shell | magic | runtime | server
    code VARCHAR,                     -- sensitive literals masked
    code_sha256 VARCHAR,              -- of the code as written (approvals match on it)
    decision VARCHAR NOT NULL,        -- allow | mask | warn | block | approval
    rule_id VARCHAR,
    reason VARCHAR,
    policy_revision VARCHAR,
    decision_id VARCHAR,
    status VARCHAR NOT NULL,          -- running | ok | error | blocked | interrupted
    duration_ms DOUBLE,
    rows_affected BIGINT,
    finished_at TIMESTAMP,
    host VARCHAR,
    prev_hash VARCHAR,
    hash VARCHAR
)"""

LINEAGE_DDL = """
CREATE TABLE lineage (
    event_id VARCHAR NOT NULL,
    direction VARCHAR NOT NULL,       -- read | write
    object_kind VARCHAR NOT NULL,     -- table | column | file | variable | url
    name VARCHAR NOT NULL,            -- schema.table, table.column, path, url, variable name
    is_sensitive BOOLEAN NOT NULL DEFAULT false
)"""

APPROVALS_DDL = """
CREATE TABLE approvals (
    request_id VARCHAR NOT NULL,
    event_id VARCHAR,
    requested_by VARCHAR NOT NULL,
    requested_at TIMESTAMP,
    code_sha256 VARCHAR,
    code VARCHAR,
    reason VARCHAR,
    status VARCHAR NOT NULL,          -- pending | approved | denied | used | expired
    decided_by VARCHAR,
    decided_at TIMESTAMP,
    expires_at TIMESTAMP
)"""

# Bookkeeping: how far each journal is ingested, and where each chain continues after compaction.
SESSIONS_DDL = """
CREATE TABLE sessions (
    session_id VARCHAR NOT NULL,
    journal VARCHAR NOT NULL,         -- file name inside <audit>.journal/
    pid INTEGER, host VARCHAR, pid_start VARCHAR, started TIMESTAMP,
    byte_offset BIGINT NOT NULL DEFAULT 0,
    last_seq BIGINT NOT NULL DEFAULT 0,
    last_hash VARCHAR NOT NULL DEFAULT '',
    closed BOOLEAN NOT NULL DEFAULT false,
    bad_lines INTEGER NOT NULL DEFAULT 0
)"""

ANCHORS_DDL = """
CREATE TABLE chain_anchors (
    session_id VARCHAR NOT NULL,
    seq BIGINT NOT NULL,              -- last seq moved to the archive
    hash VARCHAR NOT NULL,            -- its hash: the chain in the store continues from here
    archive VARCHAR NOT NULL,         -- the Parquet file stem holding events/lineage up to seq
    archived_at TIMESTAMP NOT NULL
)"""

# version -> statements that bring the previous version to it. Append, never edit.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (EVENTS_DDL, LINEAGE_DDL, APPROVALS_DDL, SESSIONS_DDL, ANCHORS_DDL),
    # what replay needs (intents and decision context) and the server gate's event of a cell
    2: ("ALTER TABLE events ADD COLUMN facts JSON",
        "ALTER TABLE events ADD COLUMN server_event_id VARCHAR"),
    # sealed segments: recent events stay in the file, the rest in immutable Parquet files that
    # the views ``events`` and ``lineage`` add (see segments.py)
    3: ("ALTER TABLE events RENAME TO events_live", "ALTER TABLE lineage RENAME TO lineage_live",
        """CREATE TABLE segments (name VARCHAR NOT NULL, events BIGINT NOT NULL,
            first_ts TIMESTAMP, last_ts TIMESTAMP, sealed_at DOUBLE NOT NULL)""",
        "CREATE TABLE retired (name VARCHAR NOT NULL, retired_at DOUBLE NOT NULL)",
        "CREATE VIEW events AS SELECT * FROM events_live",
        "CREATE VIEW lineage AS SELECT * FROM lineage_live"),
    # the report's counts of each sealed segment's cells (a cell is sealed whole, see segments.py)
    4: ("""CREATE TABLE report_rollup (segment VARCHAR NOT NULL, day VARCHAR, user_name VARCHAR,
            rule_id VARCHAR, blocked BIGINT, allowed BIGINT, would_block BIGINT,
            events BIGINT)""",),
    # deltas: the usual ingest's Parquet files, read by glob from the generation named here
    # (see delta.py); the views ``events_delta``/``lineage_delta`` are made by each fold
    5: ("CREATE TABLE delta_gen (gen VARCHAR NOT NULL)",
        "CREATE VIEW events_delta AS SELECT * FROM events_live WHERE false",
        "CREATE VIEW lineage_delta AS SELECT * FROM lineage_live WHERE false"),
}
SCHEMA_VERSION: Final = max(MIGRATIONS)
TABLES: Final = ("events_live", "lineage_live", "approvals", "sessions", "chain_anchors",
                  "segments", "retired", "report_rollup", "delta_gen")


def utcnow() -> dt.datetime:
    """Naive UTC now, the store's time convention."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The version of an open store; 0 for an empty database."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'meta' AND schema_name = 'main' "
        "AND database_name = current_database()"
    ).fetchall()
    if not found[0][0]:
        return 0
    (version,), = con.execute("SELECT max(schema_version) FROM meta").fetchall()
    return int(version or 0)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> int:
    """Create or migrate the store on a read-write connection; returns the version now in place."""
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        from .errors import AuditError

        raise AuditError(f"audit store has schema {current}, newer than this jupyter_guard "
                         f"({SCHEMA_VERSION}): upgrade jupyter_guard")
    if current == SCHEMA_VERSION:
        return current
    con.execute("BEGIN")
    if current == 0:
        con.execute("CREATE TABLE meta (schema_version INTEGER NOT NULL, migrated_at TIMESTAMP)")
    for version in range(current + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[version]:
            con.execute(statement)
        con.execute("INSERT INTO meta VALUES (?, ?)", [version, utcnow()])
    for view in VIEWS:
        con.execute(view)
    con.execute("COMMIT")
    return SCHEMA_VERSION
