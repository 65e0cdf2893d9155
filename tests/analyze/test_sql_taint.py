"""SQL taint and inference as decision tables (pure: no database, no kernel)."""
from __future__ import annotations

import pytest
import sqlglot

from jupyter_guard.analyze.sql_infer import copy_database, predicate_intents
from jupyter_guard.analyze.sql_taint import Unknown, taint
from jupyter_guard.model import Intent
from jupyter_guard.policy.model import Policy, Role
from jupyter_guard.policy.rules import Context, inference

COLS = {"customers": ("id", "email", "ssn", "city", "amount"), "orders": ("order_id", "total")}
SENS = ("*email*", "*ssn*")


def outs(sql: str, **kw: object) -> list[frozenset[str]]:
    tree = sqlglot.parse_one(sql, read="duckdb")
    sens = Policy(sensitive_columns=SENS).is_sensitive_column
    return [o.origins for o in taint(tree, COLS.get, sens, **kw)]  # type: ignore[arg-type]


E, S = frozenset({"customers.email"}), frozenset({"customers.ssn"})
BOTH, NONE = E | S, frozenset()

TABLE = [
    ("SELECT replace(ssn, '-', '') AS x FROM customers", [S]),
    ("SELECT substr(email, 1, 3), split_part(email, '@', 1) FROM customers", [E, E]),
    ("SELECT CAST(ssn AS BLOB), ssn::BIGINT, to_base64(email::BLOB) FROM customers", [S, S, E]),
    ("SELECT city || email FROM customers", [E]),
    ("SELECT c FROM customers c", [BOTH]),
    ("SELECT to_json(c), struct_pack(k := ssn) FROM customers c", [BOTH, S]),
    ("SELECT COLUMNS('.*') FROM customers", [NONE, E, S, NONE, NONE]),
    ("SELECT * EXCLUDE (email) FROM customers", [NONE, S, NONE, NONE]),
    ("WITH x AS (SELECT ssn AS k FROM customers) SELECT upper(k) FROM x", [S]),
    ("SELECT k FROM (SELECT email AS k FROM customers) t", [E]),
    ("SELECT (SELECT c.ssn) FROM customers c", [S]),
    ("SELECT id FROM customers UNION ALL SELECT ssn FROM customers", [S]),
    ("SELECT count(*), count(DISTINCT email) FROM customers", [NONE, NONE]),
    ("SELECT min(email), string_agg(ssn) FROM customers", [E, S]),
    ("SELECT md5(email), hash(ssn) FROM customers", [E, S]),
    ("SELECT a.id FROM customers a JOIN customers b ON a.email = b.email", [NONE]),
    ("SELECT o.total FROM orders o", [NONE]),
]


@pytest.mark.parametrize(("sql", "expected"), TABLE, ids=[t[0][:40] for t in TABLE])
def test_output_taint(sql, expected):
    assert outs(sql) == expected


def test_sum_and_avg_are_grouped_not_direct():
    tree = sqlglot.parse_one("SELECT city, avg(CAST(ssn AS BIGINT)) FROM customers GROUP BY city")
    o = taint(tree, COLS.get, Policy(sensitive_columns=SENS).is_sensitive_column)
    assert o[1].origins == NONE and o[1].grouped == S


def test_a_values_length_type_and_nullness_are_not_its_content():
    assert outs("SELECT length(email), strlen(ssn), octet_length(ssn), bit_length(email), "
                "typeof(ssn), email IS NULL, ssn IS NOT NULL FROM customers") == [NONE] * 7
    # the pieces and the comparisons stay tainted
    assert outs("SELECT substr(ssn, 1, 1), ascii(ssn), email IS NOT DISTINCT FROM 'x', "
                "length(email) || ssn FROM customers") == [S, S, E, S]


def test_hashed_ids_allowed_by_policy():
    assert outs("SELECT md5(email), sha256(ssn), hash(email) FROM customers",
                hashed_ok=True) == [NONE, NONE, NONE]
    assert outs("SELECT md5(email) || ssn FROM customers", hashed_ok=True) == [S]


def test_unknown_source_is_not_guessed():
    with pytest.raises(Unknown):
        outs("SELECT * FROM read_csv('x.csv')")
    with pytest.raises(Unknown):
        outs("SELECT * FROM nowhere")


def test_views_and_remembered_tables_are_followed():
    tree = sqlglot.parse_one("SELECT k FROM v")
    sens = Policy(sensitive_columns=SENS).is_sensitive_column
    got = taint(tree, COLS.get, sens, lookup={"v": "SELECT ssn AS k FROM customers"}.get)
    assert got[0].origins == S


PREDICATES = [
    ("SELECT count(*) FROM customers WHERE ssn LIKE '123%'", ["customers.ssn"]),
    ("SELECT id FROM customers c WHERE c.email IN ('a', 'b')", ["customers.email"]),
    ("SELECT id FROM customers WHERE left(ssn, 3) = '123'", ["customers.ssn"]),
    ("SELECT id FROM customers WHERE regexp_matches(email, 'x')", ["customers.email"]),
    ("SELECT id FROM customers WHERE email = ?", ["customers.email"]),
    ("SELECT id FROM customers WHERE ssn IN (SELECT '123')", ["customers.ssn"]),
    ("SELECT a.id FROM customers a JOIN customers b ON a.email = b.email", []),
    ("SELECT id FROM customers WHERE email IN (SELECT email FROM customers)", []),
    ("SELECT id FROM customers WHERE email IS NULL", []),
    ("UPDATE customers SET email = 'x' WHERE id = 1", []),
    # the same comparison through functions that measure or locate instead of a predicate
    ("SELECT levenshtein(email, 'user10@example.com') FROM customers", ["customers.email"]),
    ("SELECT jaro_similarity(ssn, '100000010') FROM customers", ["customers.ssn"]),
    ("SELECT jaro_winkler_similarity(ssn, '1') FROM customers", ["customers.ssn"]),
    ("SELECT damerau_levenshtein(email, 'x'), hamming(ssn, '1') FROM customers",
     ["customers.email", "customers.ssn"]),
    ("SELECT instr(email, 'user1') FROM customers", ["customers.email"]),
    ("SELECT list_position([ssn], '1') FROM customers", ["customers.ssn"]),
    ("SELECT nullif(ssn, '100000010') FROM customers", ["customers.ssn"]),
    ("SELECT greatest(ssn, '5') FROM customers", ["customers.ssn"]),
    ("SELECT CASE ssn WHEN '100000010' THEN 1 ELSE 0 END FROM customers", ["customers.ssn"]),
    # through CTEs, derived tables and constant sources (VALUES, unnest, a SELECT of literals)
    ("SELECT count(*) FROM (SELECT ssn AS s FROM customers) t WHERE s = '1'", ["customers.ssn"]),
    ("WITH t AS (SELECT ssn AS x FROM customers) SELECT count(*) FROM t WHERE x LIKE '1%'",
     ["customers.ssn"]),
    ("WITH t AS (SELECT * FROM customers) SELECT count(*) FROM t WHERE t.email = 'a'",
     ["customers.email"]),
    ("WITH a AS (SELECT ssn AS x FROM customers c), b AS (SELECT x AS y FROM a) "
     "SELECT count(*) FROM b WHERE y = '1'", ["customers.ssn"]),
    ("SELECT count(*) FROM (SELECT ssn FROM customers UNION ALL SELECT ssn FROM customers) u "
     "WHERE ssn = '1'", ["customers.ssn"]),
    ("SELECT count(*) FROM customers c JOIN (SELECT '1' AS s) x ON c.ssn = x.s",
     ["customers.ssn"]),
    ("WITH k AS (SELECT '1' AS s) SELECT count(*) FROM customers c, k WHERE c.ssn = k.s",
     ["customers.ssn"]),
    ("SELECT count(*) FROM customers c JOIN (VALUES ('1')) v(s) ON c.ssn = v.s",
     ["customers.ssn"]),
    ("SELECT count(*) FROM customers c JOIN unnest(['1']) AS u(s) ON c.email = u.s",
     ["customers.email"]),
    # benign twins: joins with derived tables that read a table, plain columns through a CTE
    ("SELECT count(*) FROM customers c JOIN (SELECT email FROM customers) x ON c.email = x.email",
     []),
    ("WITH t AS (SELECT ssn AS x, city FROM customers) SELECT count(*) FROM t WHERE city = 'L'",
     []),
    # benign twins: the same functions between columns, and CASE on a condition of a plain one
    ("SELECT levenshtein(a.email, b.email) FROM customers a, customers b", []),
    ("SELECT greatest(a.ssn, b.ssn) FROM customers a, customers b", []),
    ("SELECT CASE WHEN city = 'Lyon' THEN email END FROM customers", []),
]


@pytest.mark.parametrize(("sql", "cols"), PREDICATES, ids=[p[0][:40] for p in PREDICATES])
def test_predicates(sql, cols):
    found = predicate_intents(sqlglot.parse_one(sql, read="duckdb"))   # guesses: no detail
    assert [i.target for i in found if ("email" in i.target or "ssn" in i.target)
            and not i.detail.startswith(("against", "rank", "crowd"))] == cols   # no guess:
    # asked of a crowd or of chosen rows (``sql_crowd``, ``tests/enforce/test_domain19_crowd.py``)


def test_predicates_deep_in_a_chain_of_thousands_of_or_terms():
    """One pass over the tree: each term used to ask for its SELECT by walking up the chain
    (quadratic: a WHERE of 20,000 ``OR`` terms took minutes in a kernel). The sensitive term in
    the middle, and one inside a subquery of the chain, are still told apart."""
    terms = [f"id = {i}" for i in range(20_000)]
    terms[10_000] = "ssn LIKE '123%'"
    terms[15_000] = "id IN (SELECT o.customer_id FROM orders o WHERE o.card = '4111')"
    found = predicate_intents(sqlglot.parse_one(
        "SELECT count(*) FROM customers WHERE " + " OR ".join(terms), read="duckdb"))
    targets = [i.target for i in found]
    assert "ssn" in targets and "o.card" not in targets and "orders.card" in targets, targets


@pytest.mark.parametrize(("policy", "user", "decision"), [
    (Policy(sensitive_columns=SENS), "ann", "block"),
    (Policy(sensitive_columns=SENS, inference="warn"), "ann", "warn"),
    (Policy(sensitive_columns=SENS, inference="allow"), "ann", None),
    (Policy(sensitive_columns=SENS, roles=(Role("gov", ("gina",), may_unmask=True),)), "gina",
     None),
], ids=["default-block", "warn", "allow", "may-unmask"])
def test_inference_rule(policy, user, decision):
    v = inference(Intent("sql.predicate", "column", "customers.ssn", source="ssn = '1'"), policy,
                  Context(user=user))
    assert (v.decision if v else None) == decision
    if v:
        assert v.rule_id == "inference" and "customers.ssn" in v.reason


def test_plain_column_predicate_is_no_inference():
    assert inference(Intent("sql.predicate", "column", "customers.city"),
                     Policy(sensitive_columns=SENS), Context()) is None


def test_copy_from_database_is_an_export():
    i = copy_database(Intent("sql.set", source="COPY FROM DATABASE wh TO tgt"))
    assert (i.action, i.target_kind, i.target) == ("sql.export", "database", "tgt")
