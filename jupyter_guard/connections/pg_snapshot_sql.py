"""The catalog expressions the PostgreSQL effect check (``pg_effect``) takes in its snapshot:
what acts on a table's rows outside the statements the guard judges (``HOOKS``, one md5 per
table), and who may do what in the cluster (``AUTHORITY``, four md5s). Plain SQL text."""
from __future__ import annotations

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
  c.relrowsecurity::text, c.relforcerowsecurity::text, c.relacl::text, c.relowner::text))"""

# Who may do what in the whole cluster, and what a session starts with: roles and their powers,
# role memberships, per-role and per-database settings (``ALTER ROLE ... SET
# session_replication_role``), and functions that switch the replication role or the role while
# they run (``CREATE FUNCTION ... SET session_replication_role = replica``), event triggers,
# publications and foreign servers. Four md5s.
AUTHORITY = """concat_ws(':',
  md5(coalesce((SELECT string_agg(rolname || ':' || rolsuper::text || rolinherit::text ||
     rolcreaterole::text || rolcreatedb::text || rolcanlogin::text || rolreplication::text ||
     rolbypassrls::text, ',' ORDER BY rolname) FROM pg_roles), '') ||
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
     coalesce((SELECT string_agg(srvname, ',' ORDER BY srvname) FROM pg_foreign_server), '')))"""
