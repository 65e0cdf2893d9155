"""The audit's views: the governance questions as plain SQL.

- ``cells``: one row per executed cell, whichever layers saw it. The server gate's row, the
  kernel's row and the run-time refusals raised while the cell ran are one cell: the kernel's
  events carry the gate's event id (``server_event_id``) and the cell's execution count. The
  cell's decision, rule and status are its most severe event's.
- ``blocked_by_user_day``: per user and UTC day, cells blocked, allowed, and all (one row per
  cell: see ``CELL_HEAD``).
- ``lineage_names``: every lineage row with its short name (``table.column`` for a column,
  ``table`` for a table, the name itself otherwise) as ``name`` and the stored, qualified name as
  ``qualified_name``.
- ``sensitive_access``: every lineage row of a sensitive column, with who, when, which cell.
- ``cell_lineage``: every event with what it read and wrote.
- ``derivations``: per event, each variable, table or file written and what it was computed
  from (every read of the same event): ``target``, ``target_kind``, ``source``, ``source_kind``;
  a recursive query over it answers "which tables does ``summary`` come from?".
"""
from __future__ import annotations

SHORT_NAME = """CASE
    WHEN object_kind = 'column' AND name NOT LIKE '+% columns'
        THEN array_to_string(string_split(name, '.')[-2:], '.')
    WHEN object_kind = 'table' THEN string_split(name, '.')[-1]
    ELSE name END"""

CELL_KEY = """coalesce(nullif(server_event_id, ''),
    CASE WHEN kind = 'server' THEN event_id END,
    CASE WHEN execution_count IS NOT NULL THEN session_id || '#' || execution_count END,
    event_id)"""
# The one event that stands for its cell: the server gate's row, else the kernel's own row of
# the cell (a run-time refusal inside a cell also marks that row blocked). Counting these rows
# counts cells without grouping (~10x cheaper than ``cells`` on a million events).
CELL_HEAD = """(kind = 'server' OR (coalesce(server_event_id, '') = ''
    AND (kind <> 'runtime' OR execution_count IS NULL)))"""
SEVERITY = "list_position(['allow', 'mask', 'warn', 'approval', 'block'], decision)"
# The code a cell shows: the kernel's row (redacted by the kernel); the server's row when the
# server refused the cell (the kernel then ran only the refusal the gate put in its place).
CODE_RANK = """CASE WHEN kind = 'server' THEN
    (CASE WHEN decision IN ('block', 'approval') THEN 0 ELSE 2 END)
    WHEN kind = 'runtime' THEN 3 ELSE 1 END"""
STATUS_RANK = "list_position(['ok', 'running', 'error', 'interrupted', 'blocked'], status)"

VIEWS = (
    f"""CREATE OR REPLACE VIEW cells AS
    SELECT cell_key, min(ts) AS ts,
           arg_min(user_name, layer) AS user_name,
           arg_max(actor, CASE WHEN actor LIKE 'agent:%' THEN 1 ELSE 0 END) AS actor,
           arg_max(session_id, layer) AS session_id,
           max(notebook) AS notebook, max(cell_id) AS cell_id,
           max(execution_count) AS execution_count,
           arg_min(code, {CODE_RANK}) AS code,
           arg_max(decision, weight) AS decision, arg_max(rule_id, weight) AS rule_id,
           arg_max(reason, weight) AS reason, arg_max(status, {STATUS_RANK}) AS status,
           max(finished_at) AS finished_at, list_sort(list(DISTINCT kind)) AS layers,
           bool_or(layer = 0) AS server_seen, bool_or(layer = 1) AS kernel_seen,
           count(*) AS events, arg_min(event_id, ts) AS first_event_id,
           list(event_id) AS event_ids
    FROM (SELECT *, {CELL_KEY} AS cell_key, CASE WHEN kind = 'server' THEN 0 ELSE 1 END AS layer,
                 {SEVERITY} * 10 + {STATUS_RANK} AS weight FROM events)
    GROUP BY cell_key""",
    f"""CREATE OR REPLACE VIEW blocked_by_user_day AS
    SELECT user_name, CAST(ts AS DATE) AS day,
           count(*) FILTER (WHERE status = 'blocked') AS blocked,
           count(*) FILTER (WHERE status <> 'blocked') AS allowed,
           count(*) AS events
    FROM events WHERE {CELL_HEAD} GROUP BY user_name, CAST(ts AS DATE)""",
    f"""CREATE OR REPLACE VIEW lineage_names AS
    SELECT event_id, direction, object_kind, {SHORT_NAME} AS name, name AS qualified_name,
           is_sensitive FROM lineage""",
    """CREATE OR REPLACE VIEW sensitive_access AS
    SELECT e.ts, e.user_name, e.actor, e.session_id, e.notebook, e.cell_id, e.execution_count,
           e.decision, e.rule_id, e.status, l.direction, l.object_kind, l.name, l.qualified_name,
           e.event_id
    FROM lineage_names l JOIN events e USING (event_id) WHERE l.is_sensitive""",
    """CREATE OR REPLACE VIEW cell_lineage AS
    SELECT e.session_id, e.notebook, e.cell_id, e.execution_count, e.ts, e.user_name, e.kind,
           e.decision, e.status, l.direction, l.object_kind, l.name, l.qualified_name,
           l.is_sensitive, e.event_id
    FROM events e JOIN lineage_names l USING (event_id)""",
    """CREATE OR REPLACE VIEW derivations AS
    SELECT w.event_id, e.session_id, e.ts, e.execution_count, w.name AS target,
           w.object_kind AS target_kind, r.name AS source, r.object_kind AS source_kind,
           r.qualified_name AS source_qualified, r.is_sensitive AS source_sensitive
    FROM lineage_names w JOIN lineage_names r USING (event_id) JOIN events e USING (event_id)
    WHERE w.direction = 'write' AND r.direction = 'read'
      AND w.object_kind IN ('variable', 'table', 'file', 'url')""",
)
