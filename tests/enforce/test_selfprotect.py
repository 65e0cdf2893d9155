"""After %load_ext the kernel stays guarded whatever the cell does to the guard."""
from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.kernel

PROBE = "import os\ngetattr(os, PROBE[1])(PROBE[0])"

TAMPER = [
    pytest.param("%unload_ext jupyter_guard", id="unload_ext"),
    pytest.param("%reload_ext jupyter_guard", id="reload_ext"),
    pytest.param("k = getattr(get_ipython(), '_jupyter_guard' + '_kernel')\ngetattr(k, 'unin' + 'stall')()",
                 id="uninstall-getattr"),
    pytest.param("c = getattr(get_ipython(), 'com' + 'pile')\nsetattr(c, 'ast_' + 'parse', "
                 "type(c).ast_parse.__get__(c))", id="restore-ast_parse"),
    pytest.param("ip = get_ipython()\nfor k in list(ip.events.callbacks): getattr(ip.events.callbacks[k], 'cl'+'ear')()",
                 id="clear-callbacks"),
    pytest.param("import sys\ngetattr(sys.modules, 'po'+'p')('jupyter_' + 'guard')", id="pop-module"),
    pytest.param("import os\ne = os.environ\ne.__setitem__('JUPYTER_GUARD_' + 'AUDIT', '/tmp/x')", id="environ"),
    pytest.param("m = __import__('jupyter_guard.kernel.cellhook', fromlist=['x'])\n"
                 "setattr(m.KernelGuard, '_ch' + 'eck', lambda self, t, s, f: t)", id="patch-class"),
    pytest.param("m = __import__('jupyter_guard.policy.rules', fromlist=['x'])\n"
                 "vars(m)['destructive_' + 'files'] = lambda *a: None\n"
                 "vars(__import__('jupyter_guard.policy.decide', fromlist=['x']))['RU' + 'LES'] = ()",
                 id="patch-module-globals"),
    pytest.param("g = get_ipython()._jupyter_guard_kernel.guard\nimport dataclasses\n"
                 "setattr(g, 'pol' + 'icy', dataclasses.replace(g.policy, mode='audit'))", id="policy-audit"),
    pytest.param("import pandas as pd\nsetattr(pd.DataFrame, 'to_' + 'csv', pd.DataFrame.to_csv.__wrapped__)"
                 " if hasattr(pd.DataFrame.to_csv, '__wrapped__') else None\n"
                 "import threading\nsetattr(threading.Thread, 'st' + 'art', lambda self: None)", id="restore-wrapped"),
    pytest.param("open(AUDIT, 'a').write('x')", id="write-audit"),
    pytest.param("import os\ngetattr(os, 'rem' + 'ove')(AUDIT)", id="delete-audit"),
    pytest.param("import sys\nsys.addaudithook(lambda *a: None)", id="addaudithook"),
]


@pytest.mark.parametrize("code", TAMPER)
def test_still_guarded_after(kernel, code):
    (kernel.workdir / "data").mkdir(exist_ok=True)
    probe = kernel.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    audit = kernel.workdir / "audit.duckdb"
    kernel.ok(f"PROBE = ['data/probe.duckdb', 'remove']\nAUDIT = {str(audit)!r}")
    first = kernel.run(code)
    # refused outright, or re-armed: the next cells are guarded (one may be refused as re-armed)
    if first.reply["status"] == "ok":
        kernel.run("1")
    r = kernel.run(PROBE)
    assert r.reply["status"] == "error" and "[destructive-files]" in r.everything(), (first.everything(), r.everything())
    assert probe.exists()
    deadline = time.monotonic() + 60   # the store appears with the next ingest (the journal has
    while not audit.exists():          # the rows already); nothing may have moved it away
        assert time.monotonic() < deadline, "the audit store never appeared"
        time.sleep(0.1)
    r = kernel.run("import os\nprint(os.environ.get('JUPYTER_GUARD_AUDIT'))")
    assert "/tmp/x" not in r.everything()


def test_tamper_is_logged(kernel):
    kernel.run("import sys\ngetattr(sys.modules, 'po'+'p')('jupyter_' + 'guard')")
    kernel.run("1")
    r = kernel.ok("g = get_ipython()._jupyter_guard_kernel.guard\n"
                  "print([e['rule_id'] for e in g.recent if e['status'] == 'blocked'][-5:])")
    assert "self-protection" in r.everything()


# Tampering and acting in the same cell, even in the same statement: every decision point puts
# the guard object back before it decides (the re-arm between cells is too late for these).
G = "g = get_ipython()._jupyter_guard_kernel.guard\nimport dataclasses\n"
AUDIT_MODE = "setattr(g, 'pol' + 'icy', dataclasses.replace(g.policy, mode='audit'))"
SAME_CELL = [
    pytest.param(f"{AUDIT_MODE}\ncon.execute(Q[0])", id="policy-then-execute"),
    pytest.param(f"({AUDIT_MODE}, con.execute(Q[0]))", id="policy-and-execute-one-statement"),
    pytest.param(f"({AUDIT_MODE}, get_ipython().run_cell_magic('guarded_sql', 'con', Q[0]))",
                 id="policy-and-magic-one-statement"),
    pytest.param("A = __import__('jupyter_guard.model', fromlist=['x']).Analysis\n"
                 "((lambda j: setattr(g, 'ju' + 'dge', lambda *a, **k: j(A(()))))(g.judge),"
                 " con.execute(Q[0]))",
                 id="judge-and-execute"),
]


@pytest.mark.parametrize("code", SAME_CELL)
def test_tamper_and_act_in_one_cell(kernel, code):
    import duckdb

    db = kernel.workdir / "same_cell.duckdb"
    db.unlink(missing_ok=True)
    with duckdb.connect(str(db)) as c:
        c.execute("CREATE TABLE keep AS SELECT 1 AS a")
    # the statement is only known at run time (static analysis cannot see into Q)
    kernel.ok(G + f"import duckdb\ncon = duckdb.connect({str(db)!r})\nQ = ['DROP TABLE keep']")
    r = kernel.run(code)
    try:
        assert r.reply["status"] == "error" and "[destructive-ddl]" in r.everything(), r.everything()
        kernel.ok("assert g.policy.mode == 'enforce', g.policy.mode\ncon.close()")
        r = kernel.ok("print([e['reason'] for e in g.recent "
                      "if e['rule_id'] == 'self-protection'][-3:])")
        assert "has been restored: guard." in r.everything() or "re-armed: guard." in r.everything(), r.everything()
        with duckdb.connect(str(db)) as c:
            assert c.execute("SELECT count(*) FROM keep").fetchone() == (1,)
    finally:
        kernel.run("con.close()")


def test_tamper_in_pre_run_cell_callback(kernel):
    """A callback that switches the policy to audit mode before every cell is undone before the
    cell is judged."""
    kernel.ok(G + "def cb(info=None):\n    " + AUDIT_MODE
              + "\nget_ipython().events.register('pre_run_cell', cb)")
    try:
        kernel.run("1")
        r = kernel.run("!rm -rf data")
        assert r.reply["status"] == "error" and "[destructive-files]" in r.everything(), r.everything()
    finally:
        kernel.run("get_ipython().events.unregister('pre_run_cell', cb)")
