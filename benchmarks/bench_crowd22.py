"""Cost of measuring a no-guess check over a crowd, against the query itself, in one run: the
query, the sketch query of crowd20 (``legacy``: whole-row hashes made distinct, one pass per
count) and today's (``guard.crowd_memory.fingerprint_sql``), alternating, on one DuckDB table of
``--rows`` people, with a primary key (``keyed``: the person is ``HASH(id, email)``, each row
counted as it comes) and without (``heap``: the whole row's hash, made distinct once). Medians
of ``--repeat`` runs; ratios are against the query's median of the same run.

    python benchmarks/bench_crowd22.py [--rows 1000000] [--repeat 7] [--json]
"""
from __future__ import annotations

import statistics
from typing import Any

import duckdb
import sqlglot
from bench_crowd20 import QUERIES as CROWD20_QUERIES
from bench_crowd20 import cli, elapsed_ms, people
from sqlglot import exp

from jupyter_guard.analyze.sql_crowd import crowd_checks
from jupyter_guard.guard.crowd_memory import fingerprint_sql

QUERIES = {
    **CROWD20_QUERIES,
    "through a CTE": "WITH c AS (SELECT id, email, 'x' AS pad FROM customers) SELECT count(*) "
                     "FROM c WHERE id <> 185 AND email LIKE '%@gmail.com'",
}


def _table(con: duckdb.DuckDBPyConnection, rows: int, keyed: bool) -> None:
    con.execute("DROP TABLE IF EXISTS customers")
    con.execute("CREATE TABLE customers (id BIGINT" + (" PRIMARY KEY" if keyed else "") +
                ", email VARCHAR, ssn VARCHAR, city VARCHAR, amount DECIMAL(10, 1))")
    con.execute("INSERT INTO customers " + people(rows))


def legacy(probe: str) -> str:
    """crowd20's sketch query (for the comparison only): HASH of the source's row, distinct
    people materialized, one grouped pass per count."""
    inner = sqlglot.parse_one(probe, read="duckdb").find(exp.From).this.this
    group = inner.args.get("group")
    keys = [k.copy() for k in group.expressions] if group is not None else []
    g = exp.func("HASH", *keys) if keys else exp.Literal.number(0)
    outs = [o.unalias() for o in inner.expressions]
    h = outs[0].this.this.expressions[0].copy()
    flags = [exp.alias_(o.expression.this.copy(), f"t{t}") for t, o in enumerate(outs)]
    rows = inner.copy()
    rows.set("group", None)
    rows.set("expressions", [exp.alias_(g, "g"), exp.alias_(h, "h"), *flags])
    rows.set("where", exp.Where(this=exp.or_(*(f.unalias().copy() for f in flags))))
    people = ", ".join(f"BOOL_OR(t{t}) AS t{t}" for t in range(len(flags)))
    per = " UNION ALL ".join(
        f"SELECT {t} AS t, g, h % 128 AS b, COUNT(*) AS c, SUM(h) AS s FROM _jg_people "
        f"WHERE t{t} GROUP BY g, b" for t in range(len(flags)))
    return (f"WITH _jg_people AS MATERIALIZED (SELECT g, h, {people} FROM "
            f"({rows.sql(dialect='duckdb')}) AS _jg_rows GROUP BY g, h) {per}")


def run(rows: int, repeat: int) -> dict[str, Any]:
    con = duckdb.connect()
    out: dict[str, Any] = {}
    for keyed in (True, False):
        _table(con, rows, keyed)
        for name, q in QUERIES.items():
            detail = crowd_checks(sqlglot.parse_one(q, read="duckdb"))[0][2]
            probe = detail.split("crowd?:", 1)[1]
            made = fingerprint_sql(probe, {}, lambda _t: ["id"] if keyed else [], ["email"])
            assert isinstance(made, tuple), made
            forms = {"query": q, "legacy": legacy(probe), "sketch": made[0]}
            times: dict[str, list[float]] = {k: [] for k in forms}
            for _ in range(repeat):
                for k, sql in forms.items():
                    times[k].append(elapsed_ms(con, sql))
            med = {k: statistics.median(v) for k, v in times.items()}
            out[f"{'keyed' if keyed else 'heap'} / {name}"] = {
                "query_ms": round(med["query"], 1), "legacy_ms": round(med["legacy"], 1),
                "sketch_ms": round(med["sketch"], 1), "per_row": made[1],
                "legacy_ratio": round(med["legacy"] / med["query"], 2),
                "ratio": round(med["sketch"] / med["query"], 2)}
    return out


def main() -> None:
    cli(__doc__, run, 7, "{name:28} query {query_ms:7.1f} ms  crowd20 {legacy_ms:7.1f} ms "
                         "×{legacy_ratio:<5}  now {sketch_ms:7.1f} ms ×{ratio}")


if __name__ == "__main__":
    main()
