"""The catalog query the PostgreSQL effect check (``pg_effect``) takes before and after a
statement (``SNAPSHOT``, read by ``pg_measure``): what acts on a table's rows outside the
statements the guard judges (``HOOKS``, one md5 per table, and the tables it is a partition or
child of), the definitions of functions (``FUNCTIONS``), who may do what in the cluster
(``AUTHORITY``, five md5s), and whether writes can reach another server (``REMOTE``). Plain SQL
text."""
from __future__ import annotations

from jupyter_guard.guard.owned import PG_WHERE

# What acts on a table's rows later, outside any statement the guard judges, or decides who may
# reach them: its triggers, rules (a view's definition is its ``_RETURN`` rule), row-security
# policies, constraints, grants and owner. One md5 per table; a change on a table the session
# did not create is refused (``measured``), as a trigger created now would fire on others' writes.
HOOKS = """md5(concat_ws('|',
  (SELECT string_agg(t.tgname || ':' || t.tgenabled::text || ':' || t.tgfoid::text, ','
     ORDER BY t.tgname) FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal),
  (SELECT string_agg(r.rulename || ':' || r.ev_enabled::text || ':' || md5(r.ev_action::text), ','
     ORDER BY r.rulename) FROM pg_rewrite r WHERE r.ev_class = c.oid),
  (SELECT string_agg(p.polname || ':' || md5(coalesce(p.polqual::text, '') ||
     coalesce(p.polwithcheck::text, '')), ',' ORDER BY p.polname)
     FROM pg_policy p WHERE p.polrelid = c.oid),
  (SELECT string_agg(k.conname || ':' || k.contype::text || ':' || k.convalidated::text, ','
     ORDER BY k.conname) FROM pg_constraint k WHERE k.conrelid = c.oid),
  c.relrowsecurity::text, c.relforcerowsecurity::text, c.relacl::text, c.relowner::text)) || ':' ||
  coalesce((SELECT string_agg(i.inhparent::text, ',' ORDER BY i.inhparent) FROM pg_inherits i
     WHERE i.inhrelid = c.oid), '')"""   # then the tables it is a partition or child of

# Who may do what in the whole cluster, and what a session starts with: roles and their powers
# (and when they expire), role memberships, per-role and per-database settings (``ALTER ROLE ...
# SET session_replication_role``), and functions that switch the replication role or the role
# while they run (``CREATE FUNCTION ... SET session_replication_role = replica``), event
# triggers, publications and foreign servers, default privileges of tables made later. Five md5s.
AUTHORITY = """concat_ws(':',
  md5(coalesce((SELECT string_agg(rolname || ':' || rolsuper::text || rolinherit::text ||
     rolcreaterole::text || rolcreatedb::text || rolcanlogin::text || rolreplication::text ||
     rolbypassrls::text || rolconnlimit::text || coalesce(rolvaliduntil::text, ''), ','
     ORDER BY rolname) FROM pg_roles), '') ||
     coalesce((SELECT string_agg(roleid::text || '>' || member::text, ','
     ORDER BY roleid, member) FROM pg_auth_members), '')),
  md5(coalesce((SELECT string_agg(setdatabase::text || '/' || setrole::text || ':' ||
     setconfig::text, ',' ORDER BY setdatabase, setrole) FROM pg_db_role_setting), '')),
  md5(coalesce((SELECT string_agg(oid::text || ':' || proconfig::text, ',' ORDER BY oid)
     FROM pg_proc WHERE oid >= 16384 AND proconfig IS NOT NULL   -- made after initdb
     AND (position('role' in proconfig::text) > 0
     OR position('session_authorization' in proconfig::text) > 0)), '')),
  md5(coalesce((SELECT string_agg(evtname || ':' || evtenabled::text, ',' ORDER BY evtname)
     FROM pg_event_trigger), '') ||
     coalesce((SELECT string_agg(p.pubname || ':' || (SELECT count(*) FROM pg_publication_rel r
     WHERE r.prpubid = p.oid)::text || p.puballtables::text, ',' ORDER BY p.pubname)
     FROM pg_publication p), '') ||
     coalesce((SELECT string_agg(srvname, ',' ORDER BY srvname) FROM pg_foreign_server), '')),
  md5(coalesce((SELECT string_agg(defaclrole::text || '/' || defaclnamespace::text || '/' ||
     defaclobjtype::text || ':' || defaclacl::text, ',' ORDER BY defaclrole, defaclnamespace,
     defaclobjtype) FROM pg_default_acl), '')))"""

# Every function and procedure made after initdb outside the system schemas, in one row: its oid
# and the ``xmin`` of its catalog row (``CREATE OR REPLACE`` and ``ALTER FUNCTION`` write a new
# row and keep the oid, so a trigger that calls it would run the new body on others' writes), "s"
# when its body calls ``set_config`` with a value that is not a literal (a call of it may leave
# table values in a custom setting, which no catalog lists, for ``current_setting`` to read back),
# and its schema and name. Fields end with chr(30), functions with chr(31).
FUNCTIONS = """UNION ALL SELECT -8, '', '', 0, 0, 0, 0, 0, 'fns', coalesce((SELECT string_agg(
  p.oid::text || chr(30) || p.xmin::text || chr(30) || CASE WHEN strpos(lower(p.prosrc),
  'set_config') > 0 AND (SELECT count(*) FROM regexp_matches(p.prosrc, 'set_config\\s*\\(', 'gi')) >
    (SELECT count(*) FROM regexp_matches(p.prosrc,
     'set_config\\s*\\(\\s*''[^'']*''\\s*,\\s*''[^'']*''\\s*,', 'gi'))
  THEN 's' ELSE '' END || chr(30) || n.nspname::text || chr(30) || p.proname::text, chr(31))
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.oid >= 16384 AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_temp\\_%%' AND n.nspname NOT LIKE 'pg\\_toast%%'), '')"""

# Who owns and may create in each schema, and in the database (``ALTER SCHEMA … OWNER TO``: a
# schema's owner may drop every table in it; ``GRANT CREATE ON SCHEMA``), one row like FUNCTIONS.
SCHEMAS = """UNION ALL SELECT -9, '', '', 0, 0, 0, 0, 0, 'schemas', coalesce((SELECT string_agg(
  s.oid::text || chr(30) || s.xmin::text || chr(30) || chr(30) || chr(30) || s.nspname::text,
  chr(31)) FROM pg_namespace s WHERE s.nspname NOT LIKE 'pg\\_%%'
  AND s.nspname <> 'information_schema'), '') || chr(31) || (SELECT d.oid::text || chr(30) ||
  d.xmin::text || chr(30) || chr(30) || chr(30) || 'database ' || d.datname::text
  FROM pg_database d WHERE d.datname = current_database())"""

# Foreign servers (postgres_fdw, ...) and dblink: what a function or DO block writes through them
# changes rows on another server, which no statistic of this one counts.
REMOTE = """UNION ALL SELECT -7, '', '', 0, 0, 0, 0, 0, 'remote',
  coalesce((SELECT string_agg(srvname::text, ',' ORDER BY srvname) FROM pg_foreign_server), '') ||
  CASE WHEN EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'dblink') THEN ',dblink' ELSE ''
  END"""

# Per table (and view, foreign table, sequence): its oid, place, file, columns, rows updated (for
# a sequence: the last value it gave, which must not go back; one not called since a RESTART
# gives its ``last_value`` next, read with ``query_to_xml``) and deleted in this transaction,
# disabled triggers, kind and hooks; then the session's settings and the cluster's authority
# (-1), large objects (-4), application_name (-6), the database's place (-2), schemas (-3),
# functions (-8), schemas' owners and grants (-9), remote servers (-7).
SNAPSHOT = """SELECT c.oid::bigint, n.nspname::text, c.relname::text, c.relfilenode::bigint,
  (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
     AND NOT a.attisdropped),
  CASE WHEN c.relkind <> 'S' THEN coalesce(s.n_tup_upd, 0) WHEN has_sequence_privilege(c.oid,
    'SELECT') AND NOT pg_is_other_temp_schema(c.relnamespace)
    THEN coalesce(pg_sequence_last_value(c.oid), (SELECT x[1]::text::bigint - 1 FROM (SELECT
      xpath('/row/*/text()', query_to_xml('SELECT last_value FROM ' || c.oid::regclass::text,
      false, true, '')) AS x) q)) ELSE 0 END,
  coalesce(s.n_tup_del, 0),
  (SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgenabled = 'D'),
  c.relkind::text, """ + HOOKS + """
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_xact_user_tables s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND (n.nspname NOT LIKE 'pg\\_%%' OR n.nspname LIKE 'pg\\_temp\\_%%')
UNION ALL SELECT -4, 'pg_catalog', 'pg_largeobject', 0, 0,
  coalesce((SELECT n_tup_upd FROM pg_stat_xact_sys_tables
            WHERE relid = 'pg_catalog.pg_largeobject'::regclass), 0),
  coalesce((SELECT n_tup_del FROM pg_stat_xact_sys_tables
            WHERE relid = 'pg_catalog.pg_largeobject_metadata'::regclass), 0), 0, 'l', ''
UNION ALL SELECT -1, current_setting('session_replication_role'), current_user::text,
  0, 0, 0, 0, 0, session_user::text, """ + AUTHORITY + """
UNION ALL SELECT -6, '', '', 0, 0, 0, 0, 0, 'appname', current_setting('application_name')
UNION ALL SELECT -2, """ + PG_WHERE + """, '', 0, 0, 0, 0, 0, '', ''
UNION ALL SELECT -3, nspname::text, '', 0, 0, 0, 0, 0, '', '' FROM pg_namespace
WHERE nspname NOT LIKE 'pg\\_%%' AND nspname <> 'information_schema'
""" + FUNCTIONS + "\n" + SCHEMAS + "\n" + REMOTE
