"""Red team 22b (findings 1, 2, 5): server-side code laundering sensitive values past the SQL
taint, in a real guarded kernel (psycopg 3, default policy) on the real server.

The fresh database's first 300 customers get random SSNs ``ddd-dd-dddd`` and random e-mails (the
warehouse's ``100000000+id`` SSNs could be guessed), so a recovery count means something:

- a function made outside the guard (a DBA's) that reads ``ssn``/``email``: its results, wrapped
  or not, through a view, and through ``COPY ... TO STDOUT``, show none of the 300;
- a DO block or ``CREATE FUNCTION`` reading a sensitive column and raising, writing or returning
  it is refused (``exfiltration``), and nothing ran;
- a scalar subquery spelling ``email`` character by character is refused;
- honest twins run with correct results: a SQL function totalling orders, a DO block creating a
  table, a trigger on an unrelated table, ``SELECT upper(city)``.
"""
from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kernelutil import Reply
from tests.pg.conftest import pg_kernel
from tests.pg.pgserver import PgServer

pytestmark = pytest.mark.kernel

CONNECT = ("import psycopg\npg = psycopg.connect({dsn!r}, autocommit=True)\n"
           "def q(sql):\n    cur = pg.execute(sql)\n"
           "    return [tuple(r) for r in cur.fetchall()] if cur.description else None")
DBA = """
CREATE FUNCTION f3(i int) RETURNS text LANGUAGE sql AS $$
  SELECT replace(ssn, '-', '~') FROM customers WHERE id = i $$;
CREATE FUNCTION n(i int) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE s text; BEGIN
  SELECT ssn INTO s FROM customers WHERE id = i; RETURN replace(s, '-', '')::bigint * 3; END $$;
CREATE FUNCTION e(i int) RETURNS int[] LANGUAGE sql AS $$
  SELECT array_agg(ascii(c) ORDER BY o) FROM customers,
         regexp_split_to_table(email, '') WITH ORDINALITY AS x(c, o) WHERE id = i $$;
CREATE FUNCTION customer_contact(i int) RETURNS text LANGUAGE sql AS $$
  SELECT email FROM customers WHERE id = i $$;
CREATE FUNCTION whole(i int) RETURNS text LANGUAGE sql AS $$
  SELECT c::text FROM customers c WHERE c.id = i $$;
CREATE VIEW v6 AS SELECT id, f3(id) AS note FROM customers;
CREATE FUNCTION tot(i int) RETURNS numeric LANGUAGE sql AS $$
  SELECT coalesce(sum(amount), 0) FROM orders WHERE customer_id = i $$;
"""


def _people() -> list[tuple[int, str, str]]:
    rnd = random.Random(22)
    seen: set[str] = set()
    out = []
    for i in range(1, 301):
        while True:
            s = f"{rnd.randint(100, 899)}-{rnd.randint(10, 99)}-{rnd.randint(1000, 9999)}"
            if s not in seen:
                seen.add(s)
                break
        e = (f"{rnd.choice(['ana', 'bob', 'kim', 'eve', 'jon'])}."
             f"{rnd.choice(['smith', 'lee', 'wu', 'khan'])}{rnd.randint(10, 99)}{i}@"
             f"{rnd.choice(['gmail.com', 'proton.me', 'corp.example'])}")
        out.append((i, s, e))
    return out


PEOPLE = _people()
SETUP = "UPDATE customers c SET ssn = v.s, email = v.e FROM (VALUES " + ", ".join(
    f"({i}, '{s}', '{e}')" for i, s, e in PEOPLE) + ") AS v(i, s, e) WHERE c.id = v.i;" + DBA


def sent(r: Reply) -> str:
    """Every message of the cell but its echoed input, and the reply."""
    return json.dumps([m["content"] for m in r.messages if m["msg_type"] != "execute_input"]
                      + [r.reply], default=str, ensure_ascii=False)


def recovered(text: str) -> dict[str, int]:
    """How many of the 300 SSNs/e-mails ``text`` holds in any of the spellings tried here."""
    ssn = sum(1 for _, s, _ in PEOPLE if s in text or s.replace("-", "~") in text or
              str(int(s.replace("-", "")) * 3) in text or s.replace("-", "") in text)
    mail = sum(1 for _, _, e in PEOPLE if e in text or e.replace("@", " at ") in text or
               str([ord(c) for c in e]) in text or e.split("@")[0] in text)
    return {"ssn": ssn, "email": mail}


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Any]:
    with pg_kernel(pg, work_root / "pgfunc22", CONNECT, SETUP) as kernel:
        yield kernel


@pytest.mark.parametrize("sql", [
    "SELECT id, f3(id) FROM customers WHERE id <= 300",
    "SELECT id, n(id) FROM customers WHERE id <= 300",
    "SELECT id, e(id) FROM customers WHERE id <= 300",
    "SELECT id, replace(customer_contact(id), '@', ' at ') FROM customers WHERE id <= 300",
    "SELECT id, whole(id) FROM customers WHERE id <= 300",
    "SELECT * FROM v6 WHERE id <= 300",
    "SELECT x.id, x.v FROM (SELECT id, n(id) AS v FROM customers) x WHERE x.id <= 300",
])
def test_a_function_reading_sensitive_columns_is_masked(k: Any, sql: str) -> None:
    r = k.run(f"rows = q({sql!r})\nprint(rows)")
    text = sent(r)
    assert recovered(text) == {"ssn": 0, "email": 0}, text[:600]
    if r.status == "ok":
        assert "█" in text, text[:600]


def test_laundered_values_do_not_leave_through_files_or_copy(k: Any, tmp_path: Path) -> None:
    out = tmp_path / "o1.txt"
    r = k.run(f"rows = q('SELECT id, n(id) FROM customers WHERE id <= 300')\n"
              f"open({str(out)!r}, 'w').write(repr(rows))")
    written = out.read_text() if out.exists() else ""
    assert recovered(written + sent(r)) == {"ssn": 0, "email": 0}, (r.status, written[:300])
    dump = tmp_path / "o2.txt"
    r = k.run("with pg.cursor().copy('COPY (SELECT id, f3(id) FROM customers WHERE id <= 300) "
              f"TO STDOUT') as cp, open({str(dump)!r}, 'wb') as f:\n"
              "    for block in cp:\n        f.write(bytes(block))")
    written = dump.read_text() if dump.exists() else ""
    text = sent(r)
    assert r.status == "error" and "exfiltration" in text, text[-600:]
    assert recovered(written + text) == {"ssn": 0, "email": 0}


NOTICES = "pg.add_notice_handler(lambda d: print('NOTICE', d.message_primary, d.message_detail))\n"


@pytest.mark.parametrize("sql", [
    "DO $$DECLARE r record; BEGIN FOR r IN SELECT id, ssn, email FROM customers WHERE id <= 300 "
    "LOOP RAISE NOTICE '% % %', r.id, replace(r.ssn, '-', '~'), "
    "replace(r.email, '@', ' at '); END LOOP; END$$",
    "DO $$DECLARE r record; BEGIN FOR r IN SELECT id, ssn FROM customers WHERE id <= 300 "
    "LOOP RAISE NOTICE '% %', r.id, replace(r.ssn, '-', '')::bigint * 3; END LOOP; END$$",
    "DO $$BEGIN RAISE EXCEPTION 'x' USING DETAIL = (SELECT string_agg(id || ':' || "
    "(replace(ssn, '-', '')::bigint * 3), ',') FROM customers WHERE id <= 300); END$$",
    "DO $$BEGIN CREATE TABLE u4 (id int, note text); INSERT INTO u4 SELECT id, "
    "replace(ssn, '-', '~') FROM customers WHERE id <= 300; END$$",
    "CREATE FUNCTION g3(i int) RETURNS text LANGUAGE sql AS $$ SELECT replace(ssn, '-', '~') "
    "FROM customers WHERE id = i $$",
    "CREATE FUNCTION cp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.note := (SELECT "
    "replace(ssn, '-', '~') FROM customers WHERE id = NEW.id); RETURN NEW; END $$",
    "CREATE PROCEDURE pr() LANGUAGE plpgsql AS $$ DECLARE r record; BEGIN FOR r IN SELECT * "
    "FROM customers LOOP RAISE NOTICE '%', r; END LOOP; END $$",
])
def test_server_code_reading_sensitive_columns_is_refused(k: Any, sql: str) -> None:
    r = k.run(NOTICES + f"q({sql!r})")
    text = sent(r)
    assert r.status == "error" and "exfiltration" in text, text[-800:]
    assert recovered(text) == {"ssn": 0, "email": 0}
    made = k.pg.query("SELECT count(*) FROM pg_proc WHERE proname IN ('g3', 'cp', 'pr')",
                      db=k.db)[0][0]
    assert made == 0 and k.pg.query("SELECT to_regclass('u4') IS NULL", db=k.db)[0][0]


@pytest.mark.parametrize("sql", [
    "SELECT id, (SELECT array_agg(ascii(c) ORDER BY o) FROM regexp_split_to_table(email, '') "
    "WITH ORDINALITY AS x(c, o)) FROM customers WHERE id <= 300",
    "SELECT id, (SELECT array_agg(ascii(c) ORDER BY o) FROM regexp_split_to_table(ssn, '') "
    "WITH ORDINALITY AS x(c, o)) FROM customers WHERE id <= 300",
    "SELECT id, (SELECT array_agg(unicode(c)) FROM unnest(string_to_array(email, NULL)) c) "
    "FROM customers WHERE id <= 300",
    "SELECT id, a FROM customers, LATERAL (SELECT array_agg(ascii(substr(email, g, 1))) AS a "
    "FROM generate_series(1, length(email)) g) s WHERE id <= 300",
])
def test_a_subquery_spelling_a_column_is_refused(k: Any, sql: str) -> None:
    r = k.run(f"print(q({sql!r}))")
    text = sent(r)
    assert r.status == "error" and "inference" in text, text[-600:]
    assert recovered(text) == {"ssn": 0, "email": 0}


def test_honest_twins_run_with_correct_results(k: Any) -> None:
    want = dict(k.pg.query("SELECT c.id, coalesce(sum(o.amount), 0) FROM customers c LEFT JOIN "
                           "orders o ON o.customer_id = c.id WHERE c.id <= 20 GROUP BY c.id",
                           db=k.db))
    r = k.run("print(dict(q('SELECT id, tot(id) FROM customers WHERE id <= 20')))")
    assert r.status == "ok", r.text
    assert r.stream.strip() == str({int(i): want[i] for i in sorted(want)}).strip() or \
        all(f"{i}: Decimal('{want[i]}')" in r.stream for i in want), r.stream[:400]
    r = k.run("q(\"CREATE FUNCTION tot2(i int) RETURNS numeric LANGUAGE sql AS $$ SELECT "
              "coalesce(sum(amount), 0) FROM orders WHERE customer_id = i $$\")\n"
              "print(q('SELECT tot2(1)'))")
    assert r.status == "ok" and str(want[1]) in r.stream, r.text
    r = k.run("q('DO $$BEGIN CREATE TABLE t9 AS SELECT id, amount FROM orders WHERE id <= 5; "
              "RAISE NOTICE $n$made$n$; END$$')\nprint(q('SELECT count(*) FROM t9'))")
    assert r.status == "ok" and "[(5,)]" in r.stream, r.text
    r = k.run("q('CREATE TABLE log9 (id int, at text)')\n"
              "q('CREATE TABLE w9 (id int)')\n"
              "q(\"CREATE FUNCTION lg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO "
              "log9 VALUES (NEW.id, 'in'); RETURN NEW; END $$\")\n"
              "q('CREATE TRIGGER tg9 AFTER INSERT ON w9 FOR EACH ROW EXECUTE FUNCTION lg()')\n"
              "q('INSERT INTO w9 VALUES (1), (2)')\nprint(q('SELECT * FROM log9 ORDER BY id'))")
    assert r.status == "ok" and "[(1, 'in'), (2, 'in')]" in r.stream, r.text
    cities = [c.upper() for (c,) in k.pg.query("SELECT city FROM customers WHERE id <= 5 "
                                                 "ORDER BY id", db=k.db)]
    r = k.run("print([c for (c,) in q('SELECT upper(city) FROM customers WHERE id <= 5 "
              "ORDER BY id')])")
    assert r.status == "ok" and str(cities) in r.stream, r.text


def test_a_dba_function_raising_what_it_reads_is_refused(k: Any) -> None:
    k.pg.query("CREATE OR REPLACE FUNCTION noisy(i int) RETURNS int LANGUAGE plpgsql AS $$ "
               "DECLARE s text; BEGIN SELECT replace(ssn, '-', '~') INTO s FROM customers "
               "WHERE id = i; RAISE NOTICE '%', s; RETURN 1; END $$", db=k.db)
    r = k.run(NOTICES + "print(q('SELECT id, noisy(id) FROM customers WHERE id <= 300'))")
    text = sent(r)
    assert r.status == "error" and "exfiltration" in text, text[-600:]
    assert recovered(text) == {"ssn": 0, "email": 0}


def test_server_code_is_allowed_to_a_role_that_may_unmask() -> None:
    from jupyter_guard.analyze.sql_postgres import analyze_postgres
    from jupyter_guard.policy.context import Context
    from jupyter_guard.policy.model import Policy, Role
    from jupyter_guard.policy.rules import exfiltration

    policy = Policy(sensitive_columns=("*ssn*",), roles=(Role("dpo", users=("ada",),
                                                               may_unmask=True),))
    sql = ("DO $$BEGIN RAISE NOTICE '%', (SELECT replace(ssn, '-', '~') FROM customers "
           "LIMIT 1); END$$")
    body = [i for i in analyze_postgres(sql).intents if i.action == "sql.export"]
    assert len(body) == 1
    assert exfiltration(body[0], policy, Context(user="mallory")) is not None
    assert exfiltration(body[0], policy, Context(user="ada")) is None
