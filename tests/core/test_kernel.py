"""Through a real ipykernel: the user-facing behaviour (identity, magics, refusals, the audit)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import make_warehouse
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[tuple[Kernel, Path]]:
    d = work_root / "kernel"
    (d / "data").mkdir(parents=True)
    make_warehouse(d / "wh.duckdb")
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"), "JUPYTER_GUARD_USER": "alice"})
    try:
        loaded = kernel.run("%load_ext jupyter_guard")
        kernel.banner = loaded.text  # type: ignore[attr-defined]
        assert kernel.run("import duckdb\ncon = duckdb.connect('wh.duckdb')").status == "ok"
        yield kernel, d
    finally:
        kernel.stop()


def test_load_prints_one_line(k):
    kernel, d = k
    lines = [ln for ln in kernel.banner.splitlines() if ln.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("jupyter_guard on: policy default") and "mode enforce" in lines[0]
    assert "user alice" in lines[0] and str(d / "audit.duckdb") in lines[0]
    again = kernel.run("%load_ext jupyter_guard")  # IPython answers "already loaded"; still guarded
    assert again.status == "ok" and "already loaded" in again.text


def test_blocked_cell_is_short_error_and_nothing_runs(k):
    kernel, _ = k
    r = kernel.run("marker = 'ran'\ncon.execute('DROP TABLE customers')", metadata={"cellId": "cell-drop"})
    assert r.status == "error"
    assert r.error["ename"] == "GuardBlocked"
    tb = "\n".join(r.error["traceback"])
    assert "Blocked by jupyter_guard [destructive-ddl]" in tb
    assert "%guard request" not in tb          # nobody may approve under the default policy
    # the message, then the refused statement with its target underlined; no Python traceback
    assert r.error["traceback"][1:] == ["  > DROP TABLE customers", "               ^^^^^^^^^"]
    assert "Traceback" not in tb
    check = kernel.run("print('marker' in dir(), con.execute('SELECT count(*) FROM customers').fetchone()[0])")
    assert check.text.strip() == "False 5000"


def test_guarded_sql_result_is_masked_and_output_unmasked(k):
    kernel, _ = k
    r = kernel.run("%%guarded_sql con -o raw\nSELECT id, email, ssn, city FROM customers ORDER BY id LIMIT 3")
    assert r.status == "ok"
    assert "user0@example.com" not in r.text and "100000000" not in r.text
    assert "Paris" in r.text and "@example.com" in r.text
    got = kernel.run("assert raw.email.iloc[0] == 'user0@example.com' and raw.ssn.iloc[0] == '100000000'\n"
                     "print(raw.email.iloc[0])")
    assert got.status == "ok"
    assert got.text.strip() == "█████@example.com"  # printed: masked; the variable: raw


def test_parse_error_is_shown(k):
    kernel, _ = k
    r = kernel.run("%%guarded_sql con\nSELEC * FRM customers")
    assert r.status == "error"
    assert "syntax error" in r.text.lower() and "Nothing ran" in r.text


def test_jupysql_is_covered(k):
    kernel, d = k
    pre = duckdb.connect(str(d / "jupysql.duckdb"))   # a table the session did not make
    pre.execute("CREATE TABLE ext AS SELECT range AS i FROM range(3000)")
    pre.close()
    assert kernel.run("%load_ext sql").status == "ok"
    assert kernel.run(f"%sql duckdb:///{d}/jupysql.duckdb").status == "ok"
    r = kernel.run("%%sql\nDELETE FROM ext")
    assert r.status == "error" and "bulk-change" in r.text
    assert kernel.run("%sql CREATE TABLE t AS SELECT range AS i FROM range(3000)").status == "ok"
    r = kernel.run("%%sql\nDELETE FROM t")   # its own table (by place): emptying it is allowed
    assert r.status == "ok", r.text
    r = kernel.run("_n = %sql SELECT count(*) AS n FROM t\nprint('rows', list(_n)[0][0])")
    assert r.status == "ok" and "rows 0" in r.text, r.text
    r = kernel.run("%sql DROP TABLE t")
    assert r.status == "ok"  # created by this session
    r = kernel.run("%sql SELECT 1 AS one")
    assert r.status == "ok"


def test_every_cell_is_in_the_audit_file(k):
    kernel, d = k
    kernel.run("!echo hello", metadata={"cellId": "cell-shell"})
    kernel.run("!rm -rf data", metadata={"cellId": "cell-rm"})
    kernel.run("%%guarded_sql con\nSELECT 1", metadata={"cellId": "cell-sql"})
    kernel.run("x = 41 + 1", metadata={"cellId": "cell-x"})
    deadline = time.time() + 10
    rows: list[tuple] = []
    while time.time() < deadline:
        try:
            con = duckdb.connect(str(d / "audit.duckdb"), read_only=True)
        except duckdb.Error:
            time.sleep(0.2)
            continue
        rows = con.execute("SELECT cell_id, execution_count, user_name, decision, rule_id, status, kind "
                           "FROM events ORDER BY ts").fetchall()
        con.close()
        if any(r[0] == "cell-x" and r[5] == "ok" for r in rows):
            break
        time.sleep(0.3)
    by_cell = {r[0]: r for r in rows}
    assert by_cell["cell-drop"][3:6] == ("block", "destructive-ddl", "blocked")
    assert by_cell["cell-drop"][2] == "alice"
    assert by_cell["cell-x"][3] == "allow" and by_cell["cell-x"][5] == "ok"
    assert isinstance(by_cell["cell-x"][1], int)
    assert by_cell["cell-shell"][3::3] == ("allow", "shell") and by_cell["cell-shell"][5] == "ok"
    assert by_cell["cell-rm"][3:7] == ("block", "destructive-files", "blocked", "shell")
    assert by_cell["cell-sql"][3] == "allow" and by_cell["cell-sql"][6] == "sql"
    assert (d / "data").exists()


def test_panel_updates_after_every_cell(k):
    kernel, _ = k
    r = kernel.run("%guard panel")
    assert r.status == "ok"
    assert any("application/vnd.jupyter.widget-view+json" in m["content"].get("data", {})
               for m in r.messages if m["msg_type"] in ("execute_result", "display_data"))
    kernel.run("p = _")
    kernel.run("con.execute('DROP TABLE orders')")
    kernel.run("y = 2")
    check = kernel.run("v = p.children[0].value\nprint('destructive-ddl' in v, 'this drops table orders' in v)")
    assert check.text.strip() == "True True"


def _audit_rows(path: Path, sql: str, want: int, timeout: float = 60,
                until: Any = None) -> list[tuple]:
    """The rows of ``sql`` once there are ``want`` of them (and ``until(rows)`` holds), waiting
    for the ingest (about once a second, slower on a loaded machine)."""
    deadline = time.time() + timeout
    rows: list[tuple] = []
    while time.time() < deadline:
        try:
            con = duckdb.connect(str(path), read_only=True)
            rows = con.execute(sql).fetchall()
            con.close()
        except duckdb.Error:
            rows = []
        if len(rows) >= want and (until is None or until(rows)):
            return rows
        time.sleep(0.3)
    return rows


def test_lineage_of_a_join_dataframe_groupby_chain(k):
    kernel, d = k
    assert kernel.run("joined = con.sql('SELECT c.city, o.total FROM customers c JOIN orders o "
                      "ON o.customer_id = c.id').df()", metadata={"cellId": "cell-join"}).status == "ok"
    assert kernel.run("summary = joined.groupby('city').total.sum()",
                      metadata={"cellId": "cell-sum"}).status == "ok"
    rows = _audit_rows(d / "audit.duckdb", "SELECT cell_id, direction, object_kind, name FROM cell_lineage "
                       "WHERE cell_id IN ('cell-join', 'cell-sum') AND status = 'ok'", 7,
                       until=lambda rows: any(r[0] == "cell-sum" for r in rows))
    got = set(rows)
    assert {("cell-join", "read", "table", "customers"), ("cell-join", "read", "table", "orders"),
            ("cell-join", "write", "variable", "joined"), ("cell-sum", "read", "variable", "joined"),
            ("cell-sum", "write", "variable", "summary")} <= got
    assert ("cell-join", "read", "column", "orders.total") in got
    # "which cells produced `summary`, and from which tables?" as one query, walking variables back
    sources = _audit_rows(d / "audit.duckdb", """
        WITH RECURSIVE chain(name) AS (
            SELECT 'summary' UNION
            SELECT r.name FROM chain JOIN cell_lineage w ON w.direction = 'write' AND w.object_kind = 'variable'
              AND w.name = chain.name
            JOIN cell_lineage r ON r.event_id = w.event_id AND r.direction = 'read' AND r.object_kind = 'variable')
        SELECT DISTINCT r.name FROM chain JOIN cell_lineage w ON w.direction = 'write' AND w.name = chain.name
        JOIN cell_lineage r ON r.event_id = w.event_id AND r.direction = 'read' AND r.object_kind = 'table'
        ORDER BY 1""", 2)
    assert sources == [("customers",), ("orders",)]


def test_audit_file_and_journal_hold_no_raw_sensitive_literal(k):
    kernel, d = k
    secrets = ["user7@example.com", "123-45-6789", "4111 1111 1111 1111", "sk-live-9f8e7d6c5b4a39281706"]
    kernel.run(f"%%guarded_sql con\nSELECT id FROM customers WHERE email = '{secrets[0]}'",
               metadata={"cellId": "cell-lit-sql"})
    kernel.run(f"ssn = '{secrets[1]}'; card = '{secrets[2]}'", metadata={"cellId": "cell-lit-py"})
    kernel.run(f"con.execute(\"DELETE FROM customers WHERE ssn = '{secrets[1]}' OR 1=1\")",
               metadata={"cellId": "cell-lit-blocked"})
    kernel.run(f"token = '{secrets[3]}'", metadata={"cellId": "cell-lit-token"})
    rows = _audit_rows(d / "audit.duckdb", "SELECT code, reason FROM events WHERE cell_id LIKE 'cell-lit%'", 4)
    assert len(rows) == 4
    text = "\n".join(f"{c}\n{r}" for c, r in rows)
    for journal in (d / "audit.duckdb.journal").rglob("*.jsonl"):
        text += journal.read_text()
    for s in secrets:
        assert s not in text, s
    assert "WHERE email = '" in text and "@example.com'" in text  # masked, not dropped


def test_connections_and_aliases_made_before_load_are_guarded(work_root: Path):
    d = work_root / "before"
    d.mkdir()
    make_warehouse(d / "wh.duckdb")
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb")})
    try:
        assert kernel.run("import duckdb\nfrom duckdb import connect as opener\n"
                          "pre = duckdb.connect('wh.duckdb')").status == "ok"
        assert kernel.run("%load_ext jupyter_guard").status == "ok"
        r1 = kernel.run("q = 'DROP TABLE ' + 'customers'\npre.execute(q)")
        assert r1.status == "error" and "destructive-ddl" in r1.text
        r2 = kernel.run("pre.close()\nc = opener('wh.duckdb')\n"
                        "q = ' '.join(reversed(['orders', 'TRUNCATE']))  # opaque to static analysis\n"
                        "c.execute(q)")
        assert r2.status == "error" and "destructive-ddl" in r2.text
        left = kernel.run("print(c.execute('SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders)')"
                          ".fetchall())")
        assert left.text.strip() == "[(5000, 2000)]"
    finally:
        kernel.stop()


def test_loading_raises_no_false_tamper_event(work_root: Path):
    d = work_root / "clean-load"
    d.mkdir()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb")})
    try:
        assert kernel.run("%load_ext jupyter_guard").status == "ok"
        for n in range(3):
            assert kernel.run(f"x{n} = {n}").status == "ok"
    finally:
        kernel.stop()
    from jupyter_guard.record import ingest

    ingest(d / "audit.duckdb")
    con = duckdb.connect(str(d / "audit.duckdb"), read_only=True)
    rows = con.execute("SELECT rule_id, reason FROM events WHERE decision <> 'allow'").fetchall()
    con.close()
    assert rows == []


def test_panel_has_no_approve_button_and_an_audit_row_approves_nothing(work_root: Path):
    """Deciding is the jupyter server's: the panel lists the audit file's copies of requests
    without buttons, and an "approved" row written there lets nothing run."""
    d = work_root / "panel-approve"
    d.mkdir()
    make_warehouse(d / "wh.duckdb")
    policy = d / "policy.yaml"
    policy.write_text("extends: default\nroles:\n  governance: {users: [gina], may_approve: true}\n")
    env = {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"), "JUPYTER_GUARD_POLICY": str(policy)}
    alice = Kernel(d, {**env, "JUPYTER_GUARD_USER": "alice"})
    gina = Kernel(d, {**env, "JUPYTER_GUARD_USER": "gina"})
    try:
        assert alice.run("%load_ext jupyter_guard\nimport duckdb\ncon = duckdb.connect('wh.duckdb')").status == "ok"
        drop = "con.execute('DROP TABLE orders')"
        assert alice.run(drop).status == "error"
        from jupyter_guard.record import AuditLog, decide_approval, ingest

        log = AuditLog(d / "audit.duckdb", background=False)
        rid = log.request_approval("", requested_by="alice", code=drop, reason="nightly rebuild")
        log.close()
        ingest(d / "audit.duckdb")
        assert gina.run("%load_ext jupyter_guard\nimport jupyter_guard\n"
                        "from jupyter_guard.kernel.panel import Panel\n"
                        "P = Panel(jupyter_guard._kernel_guard.guard)").status == "ok"
        rows = gina.run("print(len(P.pending.children), "
                        "[type(c).__name__ for c in P.pending.children])")
        assert rows.text.strip() == "2 ['HTML', 'HTML']", rows.text   # no buttons
        decide_approval(d / "audit.duckdb", rid, decided_by="gina", verdict="approved")
        again = alice.run(drop)
        assert again.status == "error" and "[destructive-ddl]" in again.error["evalue"]
    finally:
        alice.stop()
        gina.stop()


def test_shell_commands_and_forked_children_run_after_the_audit_ingest(k):
    """`!cmd` forks the kernel: the child must not free the audit ingester's DuckDB (it used to
    segfault there, so the command silently never ran)."""
    kernel, d = k
    marker = f"fork-{time.time_ns()}"
    assert kernel.run(f"m = {marker!r}").status == "ok"
    # the ingester has published the cell above: its DuckDB instance is up in its own thread
    assert _audit_rows(d / "audit.duckdb", f"SELECT 1 FROM events WHERE code LIKE '%{marker}%'", 1)
    (d / "bang.txt").unlink(missing_ok=True)
    r = kernel.run("!echo ran > bang.txt")
    assert r.status == "ok" and (d / "bang.txt").read_text().strip() == "ran"
    r = kernel.run("import os\npid = os.fork()\nif pid == 0:\n    os._exit(7)\n"
                   "print('child', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))")
    assert r.text.strip() == "child 7", r.text
    r = kernel.run("from multiprocessing import get_context\n"
                   "with get_context('fork').Pool(2) as pool:\n"
                   "    print(pool.map(abs, [-1, -2, 3]))")
    assert r.text.strip() == "[1, 2, 3]", r.text


def test_refusals_in_forked_workers_are_recorded_and_every_chain_verifies(k):
    """A forked worker's refusal goes into a session of its own (two processes appending to the
    kernel's chain made `jupyter guard verify` report reordered rows)."""
    import os
    import subprocess
    import sys

    kernel, d = k
    (d / "fn.txt").write_text("rmtree")   # the function is only known at run time
    r = kernel.run("import shutil\nfrom multiprocessing import get_context\n"
                   "def wipe(_):\n    try:\n"
                   "        getattr(shutil, open('fn.txt').read())('data')\n"
                   "        return 'wiped'\n    except PermissionError:\n        return 'refused'\n"
                   "with get_context('fork').Pool(2) as pool:\n    print(pool.map(wipe, [1, 2]))")
    assert r.text.strip() == "['refused', 'refused']", r.text
    assert (d / "data").exists()
    kernel.run("after_the_workers = 1")
    rows = _audit_rows(d / "audit.duckdb", "SELECT session_id FROM events WHERE kind = 'runtime' "
                       "AND rule_id = 'destructive-files' AND code LIKE '%data%'", 2)
    own = _audit_rows(d / "audit.duckdb", "SELECT DISTINCT session_id FROM events "
                      "WHERE code = 'after_the_workers = 1'", 1)
    assert len(rows) >= 2 and own and not {s for (s,) in rows} & {s for (s,) in own}
    env = {**os.environ, "JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb")}
    done = subprocess.run([sys.executable, "-m", "jupyter_guard.cli", "verify"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
