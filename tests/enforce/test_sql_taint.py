"""SQL taint in a real kernel: derived values of sensitive columns are masked when shown and refused
when exported, whole-row and renamed exports are refused, and predicates that ask about single
sensitive values are refused (``inference``); aggregates, joins on e-mail and non-sensitive
exports still work. Every message the kernel sends (iopub and the shell reply) is scanned."""
from __future__ import annotations

import json

import pytest

from tests.conftest import make_warehouse
from tests.kernelutil import guarded_kernel

pytestmark = pytest.mark.kernel

ROWS = range(1000, 1004)          # rows whose raw and derived values must never appear
EMAILS = [f"user{n}@example.com" for n in ROWS]
SSNS = [f"{100000000 + n:09d}" for n in ROWS]
RAW = EMAILS + SSNS + [e[::-1] for e in EMAILS] + [e.split("@")[0] for e in EMAILS]
WHERE = "WHERE id BETWEEN 1000 AND 1003"


@pytest.fixture(scope="module")
def k(kernel):
    make_warehouse(kernel.workdir / "wh.duckdb")
    kernel.ok("import duckdb\ncon = duckdb.connect('wh.duckdb')")
    return kernel


def _everything(r) -> str:
    return json.dumps([m["content"] for m in r.messages]) + json.dumps(r.reply)


def _clean(r) -> None:
    text = _everything(r)
    for raw in RAW:
        assert raw not in text, raw


DERIVED = [
    pytest.param("replace(ssn, '-', '') AS x", id="replace"),
    pytest.param("substr(ssn, 1, 9) AS x", id="substr"),
    pytest.param("reverse(email) AS x", id="reverse"),
    pytest.param("split_part(email, '@', 1) AS x", id="split-part"),
    pytest.param("translate(ssn, '0', '0') AS x", id="translate"),
    pytest.param("CAST(ssn AS BIGINT) AS x", id="cast-number"),
    pytest.param("CAST(email AS BLOB) AS x", id="blob"),
    pytest.param("'<' || email || '>' AS x", id="concat"),
    pytest.param("upper(e) AS x FROM (SELECT email AS e, id FROM customers) s",
                 id="subquery-rename"),
]


@pytest.mark.parametrize("expr", DERIVED)
def test_derived_values_display_masked(k, expr):
    src = "" if " FROM " in expr else " FROM customers"
    r = k.ok(f"%%guarded_sql con\nSELECT id, {expr}{src} {WHERE} ORDER BY id")
    assert "1000" in _everything(r)        # the result is shown
    _clean(r)


def test_derived_result_variable_is_refused_by_writers(k):
    k.ok(f"%%guarded_sql con -o d\nSELECT id, replace(ssn, '-', '') AS x FROM customers {WHERE}")
    r = k.blocked("d.to_csv('derived.csv')", "exfiltration")
    _clean(r)
    assert not (k.workdir / "derived.csv").exists()


EXPORTS = [
    pytest.param("COPY (SELECT c FROM customers c) TO '{f}'", id="whole-row"),
    pytest.param("COPY (SELECT id, to_json(c) FROM customers c) TO '{f}'", id="to-json-row"),
    pytest.param("COPY (SELECT struct_pack(k := ssn) AS s FROM customers) TO '{f}'", id="struct"),
    pytest.param("COPY (SELECT COLUMNS('.*') FROM customers) TO '{f}'", id="columns-star"),
    pytest.param("COPY (SELECT id, reverse(email) AS r FROM customers) TO '{f}'", id="reverse"),
    pytest.param("COPY (SELECT id, to_base64(CAST(ssn AS BLOB)) AS b FROM customers) TO '{f}'",
                 id="base64"),
    pytest.param("COPY (SELECT id, md5(email) AS h FROM customers) TO '{f}'", id="md5-default"),
    pytest.param("COPY (SELECT id, max(ssn) AS m FROM customers GROUP BY id) TO '{f}'", id="max"),
    pytest.param("COPY (SELECT id, sum(CAST(ssn AS BIGINT)) AS m FROM customers GROUP BY id) "
                 "TO '{f}'", id="sum-over-single-rows"),
    pytest.param("CREATE VIEW v_{n} AS SELECT id, ssn AS k FROM customers;\n"
                 "COPY v_{n} TO '{f}'", id="view-renamed"),
    pytest.param("CREATE TABLE t_{n} AS SELECT id, ssn AS k FROM customers", id="ctas-then-copy"),
    pytest.param("COPY customers (id, email) TO '{f}'", id="copy-column-list"),
]


@pytest.mark.parametrize("sql", EXPORTS)
def test_tainted_exports_refused(k, sql, request):
    n = request.node.callspec.id.replace("-", "_")
    f = f"taint_{n}.csv"
    if n == "ctas_then_copy":
        k.ok(f"%%guarded_sql con\n{sql.format(n=n, f=f)}")
        sql = "COPY t_{n} TO '{f}'"
    r = k.blocked(f"%%guarded_sql con\n{sql.format(n=n, f=f)}", "exfiltration")
    _clean(r)
    assert not (k.workdir / f).exists()


def test_view_made_before_the_session_is_followed(k):
    from jupyter_guard.connections import unwrap

    k.ok("con.close()")
    import duckdb

    raw = unwrap(duckdb.connect(str(k.workdir / "wh.duckdb")))
    raw.execute("CREATE OR REPLACE VIEW old_v AS SELECT id, ssn AS k FROM customers")
    raw.close()
    k.ok("con = duckdb.connect('wh.duckdb')")
    k.blocked("%%guarded_sql con\nCOPY old_v TO 'old_v.csv'", "exfiltration")
    assert not (k.workdir / "old_v.csv").exists()


def test_copy_from_database_into_an_attached_file_refused(k):
    r = k.blocked("%%guarded_sql con\nATTACH 'copy_target.db' AS tgt;\n"
                  "COPY FROM DATABASE wh TO tgt", "exfiltration")
    _clean(r)
    assert not (k.workdir / "copy_target.db").exists()


BENIGN = [
    pytest.param("COPY (SELECT city, count(*) AS n, count(DISTINCT email) AS e FROM customers "
                 "GROUP BY city) TO '{f}'", "city,n,e", id="counts"),
    # sum, not avg: the warehouse's SSNs are consecutive, so each city's average is exactly one
    # of them (100002499.0 is customer 2499's SSN as a float) and the known-value scan of the
    # written rows rightly finds it; a sum over a large group is no value of the column
    pytest.param("COPY (SELECT city, sum(CAST(ssn AS BIGINT)) AS a FROM customers GROUP BY city) "
                 "TO '{f}'", "city,a", id="sum-over-large-groups"),
    pytest.param("COPY (SELECT a.id, b.amount FROM customers a JOIN customers b "
                 "ON a.email = b.email) TO '{f}'", "id,amount", id="join-on-email"),
    pytest.param("COPY (SELECT * EXCLUDE (email, ssn) FROM customers) TO '{f}'",
                 "id,city,amount", id="star-exclude"),
    pytest.param("COPY (SELECT id FROM customers WHERE city = 'Lyon') TO '{f}'", "id",
                 id="filter-on-plain-column"),
    pytest.param("COPY customers (id, city) TO '{f}'", "id,city", id="copy-plain-column-list"),
]


@pytest.mark.parametrize(("sql", "header"), BENIGN)
def test_benign_exports_run(k, sql, header, request):
    f = f"benign_{request.node.callspec.id}.csv"
    k.ok(f"%%guarded_sql con\n{sql.format(f=f)}")
    text = (k.workdir / f).read_text()
    assert text.splitlines()[0] == header and len(text.splitlines()) > 2


INFERENCE = [
    pytest.param("SELECT count(*) FROM customers WHERE ssn LIKE '123%'", id="like"),
    pytest.param("SELECT count(*) FROM customers WHERE email = 'user5@example.com'", id="eq"),
    pytest.param("SELECT id FROM customers c WHERE c.email IN ('a@x.org', 'b@x.org')", id="in"),
    pytest.param("SELECT count(*) FROM customers WHERE ssn BETWEEN '1' AND '2'", id="between"),
    pytest.param("SELECT count(*) FROM customers WHERE regexp_matches(email, '^user5')",
                 id="regexp"),
    pytest.param("SELECT count(*) FROM customers WHERE starts_with(email, 'user5')",
                 id="starts-with"),
    pytest.param("SELECT count(*) FROM customers WHERE left(ssn, 3) = '100'", id="function-eq"),
    pytest.param("SELECT sum(CASE WHEN ssn > '1000' THEN 1 ELSE 0 END) FROM customers",
                 id="case-in-aggregate"),
    pytest.param("SELECT city, count(*) FROM customers GROUP BY city HAVING max(email) > 'u'",
                 id="having"),
    pytest.param("SELECT id, levenshtein(email, 'user5@example.com') AS d FROM customers",
                 id="distance"),
    pytest.param("SELECT id, jaro_similarity(ssn, '100000005') AS d FROM customers",
                 id="similarity"),
    pytest.param("SELECT id, instr(email, 'user5@') AS d FROM customers", id="position"),
    pytest.param("SELECT id, nullif(ssn, '100000005') IS NULL AS d FROM customers", id="nullif"),
    pytest.param("SELECT id, CASE ssn WHEN '100000005' THEN 1 END AS d FROM customers",
                 id="simple-case"),
    pytest.param("SELECT count(*) FROM (SELECT ssn AS s FROM customers) t WHERE s = '100000005'",
                 id="derived-table-alias"),
    pytest.param("WITH t AS (SELECT ssn AS x FROM customers) SELECT count(*) FROM t "
                 "WHERE x LIKE '1%'", id="cte-alias"),
    pytest.param("SELECT count(*) FROM customers c JOIN (SELECT '100000005' AS s) x "
                 "ON c.ssn = x.s", id="join-constant-table"),
    pytest.param("SELECT count(*) FROM customers c JOIN (VALUES ('100000005')) v(s) "
                 "ON c.ssn = v.s", id="join-values"),
]


@pytest.mark.parametrize("sql", INFERENCE)
def test_inference_refused(k, sql):
    k.blocked(f"%%guarded_sql con\n{sql}", "inference")


def test_inference_through_python_sink_refused(k):
    k.blocked("con.execute(\"SELECT count(*) FROM customers WHERE email = 'x@y.org'\")"
              ".fetchall()", "inference")


def test_plain_filters_and_email_joins_answer(k):
    r = k.ok("%%guarded_sql con\nSELECT count(*) AS n FROM customers a JOIN customers b "
             "ON a.email = b.email WHERE a.city = 'Paris'")
    assert "1667" in _everything(r)


def test_hashed_identifiers_are_sensitive_by_default(k):
    r = k.ok(f"%%guarded_sql con\nSELECT id, md5(ssn) AS h FROM customers {WHERE}")
    import hashlib

    raw = [hashlib.md5(s.encode()).hexdigest() for s in SSNS]
    assert not any(h in _everything(r) for h in raw)


def test_hashed_identifiers_allowed_by_policy(tmp_path):
    """``sensitive.hashed_ids: allow``: hashed columns are exported and shown as they are,
    everywhere alike; the raw values they hash still are not."""
    import hashlib

    policy = "version: 1\nextends: default\nsensitive:\n  hashed_ids: allow\n"
    with guarded_kernel(tmp_path, {"JUPYTER_GUARD_USER": "ann"}, policy=policy,
                        warehouse=5000, connect=True) as kern:
        r = kern.run("%%guarded_sql con\nCOPY (SELECT id, md5(email) AS h FROM customers) "
                     "TO 'hashed.csv'")
        assert r.status == "ok", r.text
        lines = (tmp_path / "hashed.csv").read_text().splitlines()
        first = hashlib.md5(b"user0@example.com").hexdigest()
        assert lines[0] == "id,h" and lines[1] == f"0,{first}"
        r = kern.run(f"%%guarded_sql con\nSELECT id, md5(ssn) AS h FROM customers {WHERE}")
        assert hashlib.md5(SSNS[0].encode()).hexdigest() in r.text
        r = kern.run("%%guarded_sql con\nCOPY (SELECT id, md5(email) || email AS h FROM customers)"
                     " TO 'mixed.csv'")
        assert r.status == "error" and "[exfiltration]" in r.text


def test_relation_results_keep_their_taint(k):
    """``con.sql(q).df()`` in Python: derived columns display masked and cannot be written."""
    r = k.ok("rel_df = con.sql(\"SELECT id, replace(ssn, '-', '') AS k, reverse(email) AS r, "
             f"city FROM customers {WHERE} ORDER BY id\").df()\nrel_df")
    assert "Paris" in _everything(r) or "Lyon" in _everything(r)
    _clean(r)
    r = k.blocked("rel_df.to_csv('rel_df.csv')", "exfiltration")
    _clean(r)
    r = k.ok("con.sql('SELECT city, count(*) AS n FROM customers GROUP BY city ORDER BY city')"
             ".df()")
    assert "1667" in _everything(r)
