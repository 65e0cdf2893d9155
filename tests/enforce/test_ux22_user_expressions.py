"""Code a client sends beside a cell is judged like a cell (``kernel.client_code``).

An ``execute_request``'s ``user_expressions`` are evaluated by IPython after the cell, outside
``run_cell``: each is now judged by the cell's analysis and policy, recorded in the audit with
its decision and rule, and a refused one comes back as ``status: error``, ``ename:
GuardBlocked`` without running. Read by effect: the directory, the warehouse and the guard's
files are intact, the audit file holds the rows, no raw SSN is in any message. Benign twins:
``len(df)``, ``1+1`` and a name the cell just set evaluate to the right values; an empty request
with no expressions works. The debugger, which evaluates client code, refuses every request
that would run any.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import new_workspace
from tests.enforce.test_audit19_sent import wait_for
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

ROWS = 40


@pytest.fixture(scope="module")
def home(work_root: Path) -> Iterator[tuple[Kernel, Path]]:
    cwd = new_workspace(work_root, data=False)   # outside the temp dir, which is not protected
    with guarded_kernel(cwd, {"JUPYTER_GUARD_USER": "ux22"}, warehouse=ROWS) as k:
        con = duckdb.connect(str(cwd / "wh.duckdb"), read_only=True)
        try:   # read before the kernel holds the file's lock
            SSNS[:] = [r[0] for r in con.execute("SELECT ssn FROM customers").fetchall()]
        finally:
            con.close()
        k.ok("import duckdb\ncon = duckdb.connect('wh.duckdb')\n"
             "df = con.sql('SELECT * FROM customers').df()\nS = list(df.ssn)")
        yield k, cwd


SSNS: list[str] = []


def request(k: Kernel, code: str, exprs: dict[str, str],
            silent: bool = False) -> tuple[dict[str, Any], str]:
    """The execute_reply's content and the text of every message the request caused."""
    msg = k.kc.session.msg("execute_request", {
        "code": code, "silent": silent, "store_history": not silent, "user_expressions": exprs,
        "allow_stdin": False, "stop_on_error": False})
    k.kc.shell_channel.send(msg)
    mid = msg["header"]["msg_id"]
    seen: list[Any] = []
    while True:
        m = k.kc.get_iopub_msg(timeout=60)
        if m["parent_header"].get("msg_id") == mid:
            seen.append(m["content"])
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
    while True:
        r = k.kc.get_shell_msg(timeout=60)
        if r["parent_header"].get("msg_id") == mid:
            seen.append(r["content"])
            return r["content"], json.dumps(seen, ensure_ascii=False)


ATTACKS = {
    "rm": "__import__('os').system('rm -rf victim')",
    "warehouse": "__import__('os').remove('wh.duckdb')",
    "heads": "open('audit.duckdb.heads.json', 'w').write('{}')",
    "store": "__import__('duckdb').connect('audit.duckdb').sql('SHOW TABLES').fetchall()",
    "events": ("(lambda c: [c.execute(\"DELETE FROM events_live WHERE decision = 'block'\"), "
               "c.close()])(__import__('duckdb').connect('audit.duckdb'))"),
    "drop": "con.execute('DROP TABLE customers')",
    "magic": "get_ipython().run_cell_magic('bash', '', 'rm -rf victim')",
    "system": "get_ipython().system('rm -rf victim')",
}


def test_refused_expressions_never_run_and_are_audited(home: tuple[Kernel, Path]) -> None:
    k, cwd = home
    (cwd / "victim").mkdir()
    (cwd / "victim" / "keep.txt").write_text("keep")
    heads = cwd / "audit.duckdb.heads.json"
    for code in ("", "y = 1"):   # with no cell, and after one
        reply, _ = request(k, code, ATTACKS)
        assert reply["status"] == "ok", reply
        for key in ATTACKS:
            entry = reply["user_expressions"][key]
            assert entry["status"] == "error" and entry["ename"] == "GuardBlocked", (key, entry)
            assert "jupyter_guard" in entry["evalue"]
    assert (cwd / "victim" / "keep.txt").read_text() == "keep"
    r = k.ok("print(con.sql('SELECT count(*) FROM customers').fetchall())")
    assert f"[({ROWS},)]" in r.stream, r.stream   # the warehouse and its table are there
    if heads.exists():   # JSON lines the audit writes, never the '{}' the expression wrote
        assert heads.read_text().strip() != "{}"
        assert all(json.loads(line) for line in heads.read_text().splitlines())
    found = wait_for(cwd / "audit.duckdb", "decision = 'block' AND code LIKE '%rm -rf victim%'")
    # three spellings (os.system, %%bash, !) in each of the two requests
    assert len(found) == 6 and all(e["rule_id"] == "destructive-files" for e in found), found
    for text in ("remove(''wh.duckdb'')", "audit.duckdb.heads.json", "DROP TABLE customers"):
        rows = wait_for(cwd / "audit.duckdb", f"decision = 'block' AND code LIKE '%{text}%'")
        assert len(rows) == 2 and all(e["rule_id"] for e in rows), (text, rows)
    # opening the audit store is refused while it runs, as in a cell: the expression's row
    # ends blocked, beside the run-time hook's own row
    rows = wait_for(cwd / "audit.duckdb", "kind = 'python' AND code LIKE '%events_live%'")
    assert [e["status"] for e in rows] == ["blocked", "blocked"], rows
    rows = wait_for(cwd / "audit.duckdb", "kind = 'runtime' AND rule_id = 'self-protection' "
                    "AND code LIKE '%audit.duckdb%'")
    assert len(rows) == 4 and all(e["decision"] == "block" for e in rows), rows


def test_benign_expressions_evaluate(home: tuple[Kernel, Path]) -> None:
    k, cwd = home
    reply, _ = request(k, "", {"n": "len(df)", "x": "1+1"})
    values = {key: v["data"]["text/plain"] for key, v in reply["user_expressions"].items()}
    assert values == {"n": str(ROWS), "x": "2"}, reply
    reply, _ = request(k, "z = 21", {"z": "z * 2"})
    assert reply["user_expressions"]["z"]["data"]["text/plain"] == "42", reply
    rows = wait_for(cwd / "audit.duckdb", "code = 'len(df)' AND decision = 'allow'")
    assert rows[-1]["status"] == "ok", rows
    reply, _ = request(k, "", {})   # an honest empty request
    assert reply["status"] == "ok" and reply["user_expressions"] == {}, reply
    # not Python (a magic is not expanded in an expression): IPython's own error, nothing ran
    reply, _ = request(k, "", {"bad": "1 +", "magic": "%%bash\nrm -rf victim", "line": "!ls"})
    assert {v["ename"] for v in reply["user_expressions"].values()} == {"SyntaxError"}, reply


def test_no_raw_value_in_any_message(home: tuple[Kernel, Path]) -> None:
    k, _cwd = home
    reply, text = request(k, "", {"s": "S[:3]", "q": "con.sql('SELECT ssn FROM customers')"
                                  ".fetchall()[:3]"})
    assert all(v["status"] == "ok" for v in reply["user_expressions"].values()), reply
    assert len(SSNS) == ROWS
    leaked = [s for s in SSNS if s in text or s.replace("-", "") in text]
    assert not leaked, text[:500]


def test_taking_the_hook_off_does_not_help(home: tuple[Kernel, Path]) -> None:
    k, cwd = home
    (cwd / "victim2").mkdir(exist_ok=True)
    for code in ("del get_ipython().user_expressions",
                 "get_ipython().__class__ = type(get_ipython()).__mro__[1]",
                 "get_ipython().kernel.__class__ = type(get_ipython().kernel).__mro__[1]"):
        assert "[self-protection]" in k.run(code).everything(), code
    k.run("get_ipython().Completer.evaluation = 'dangerous'")
    attack = {"a": "__import__('os').system('rm -rf victim2')"}
    reply, _ = request(k, "", attack)
    assert reply["user_expressions"]["a"]["ename"] == "GuardBlocked", reply
    # a silent cell (no post_run_cell) puts IPython's own method back on the class
    request(k, "from IPython.core.interactiveshell import InteractiveShell as I\n"
            "type(get_ipython()).user_expressions = I.user_expressions", {}, silent=True)
    reply, _ = request(k, "", attack)
    assert reply["user_expressions"]["a"]["ename"] == "GuardBlocked", reply
    assert (cwd / "victim2").is_dir()
    reply, _ = request(k, "", {"e": "get_ipython().Completer.evaluation"})
    assert reply["user_expressions"]["e"]["data"]["text/plain"] == "'limited'", reply


def debug(k: Kernel, command: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    msg = k.kc.session.msg("debug_request", {"type": "request", "seq": 1, "command": command,
                                             "arguments": arguments or {}})
    k.kc.control_channel.send(msg)
    while True:
        r = k.kc.get_control_msg(timeout=60)
        if r["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
            content: dict[str, Any] = r["content"]
            return content


def test_debugger_runs_no_client_code(home: tuple[Kernel, Path]) -> None:
    k, cwd = home
    (cwd / "victim3").mkdir(exist_ok=True)
    info = debug(k, "debugInfo")
    assert info.get("success") is True and info["body"]["isStarted"] is False, info
    for command, args in (("initialize", {"clientID": "t", "adapterID": "python"}),
                          ("attach", {}),
                          ("evaluate", {"expression": "__import__('os').system('rm -rf victim3')",
                                        "context": "repl"})):
        reply = debug(k, command, args)
        assert reply.get("success") is False and "jupyter_guard" in reply.get("message", ""), reply
    assert (cwd / "victim3").is_dir()
    rows = wait_for(cwd / "audit.duckdb", "rule_id = 'debugger' AND code LIKE '%rm -rf victim3%'")
    assert rows[0]["decision"] == "block", rows


def complete(k: Kernel, code: str) -> list[str]:
    msg_id = k.kc.complete(code, len(code))
    while True:
        r = k.kc.get_shell_msg(timeout=60)
        if r["parent_header"].get("msg_id") == msg_id:
            matches: list[str] = r["content"]["matches"]
            return matches


def test_completion_runs_no_user_code(home: tuple[Kernel, Path]) -> None:
    k, cwd = home
    k.ok("class Probe:\n"
         "    def __getattr__(self, n):\n"
         "        open('ran_getattr_' + n, 'w').close()\n        return self\n"
         "    def __getitem__(self, n):\n"
         "        open('ran_getitem', 'w').close()\n        return self\n"
         "probe = Probe()\nD = {'alpha': 1, 'beta': 2}")
    for code in ("probe.zz.", "probe['x'].", "probe.zz['y']."):
        complete(k, code)
    # no name or key the client sent reaches the user's methods (IPython itself still asks
    # an object for a few fixed names of its own, such as ``_ipython_canary_method_...``)
    ran = sorted(p.name for p in cwd.glob("ran_*"))
    assert not [n for n in ran if n in ("ran_getitem", "ran_getattr_zz")], ran
    assert complete(k, "D['") == ["alpha", "beta"]   # honest completion still works
    assert "keys" in [m.rsplit(".", 1)[-1] for m in complete(k, "D.ke")]
    assert "ssn" in [m.rsplit(".", 1)[-1] for m in complete(k, "df.ss")]
