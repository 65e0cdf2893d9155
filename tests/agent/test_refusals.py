"""Refusals that help: an agent drives a real kernel through jupyter_client alone, reads the
structured refusal (validated against the shipped JSON schema), applies its rewrite, succeeds."""
from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from jupyter_guard.policy.refusal import SCHEMA_FILE
from tests.conftest import make_warehouse
from tests.kernelutil import Kernel, Reply

pytestmark = pytest.mark.kernel
SCHEMA = json.loads(SCHEMA_FILE.read_text())
AGENT = {"jupyter_guard": {"actor": "agent:copilot"}}


def refusal(r: Reply) -> dict[str, Any]:
    """The structured refusal, checked to be the same in the reply, its metadata and on iopub."""
    assert r.status == "error", r.text
    details = r.reply.get("jupyter_guard")
    assert details, f"no structured refusal in the execute_reply: {r.reply}"
    assert r.error.get("jupyter_guard") == details
    jsonschema.validate(details, SCHEMA)
    return dict(details)


def tables(k: Kernel) -> set[str]:
    out = k.run("import json\n"
                "print(json.dumps([t for (t,) in con.execute('SHOW TABLES').fetchall()]))")
    return set(json.loads(out.text.strip().splitlines()[-1]))


def count(k: Kernel, table: str) -> int:
    out = k.run(f"print(con.execute('SELECT count(*) FROM {table}').fetchone()[0])")
    return int(out.text.strip())


def start(d: Path, policy: str | None = None) -> Kernel:
    env = {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb")}
    if policy is not None:
        (d / "policy.yaml").write_text(policy)
        env["JUPYTER_GUARD_POLICY"] = str(d / "policy.yaml")
    k = Kernel(d, env=env)
    for code in ("%load_ext jupyter_guard", "import duckdb\ncon = duckdb.connect('wh.duckdb')"):
        assert k.run(code).status == "ok"
    return k


@pytest.fixture(scope="module")
def kernel(work_root: Path) -> Iterator[tuple[Kernel, Path]]:
    d = work_root / "agent-refusals"
    (d / "data").mkdir(parents=True)
    make_warehouse(d / "wh.duckdb", rows=5000)
    k = start(d)
    yield k, d
    k.stop()


def test_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_agent_applies_the_export_rewrite(kernel: tuple[Kernel, Path]) -> None:
    k, d = kernel
    r = refusal(k.run("%%guarded_sql con\n"
                      "COPY (SELECT * FROM customers WHERE id < 20) TO 'out.csv'"))
    assert (r["decision"], r["rule_id"]) == ("block", "exfiltration")
    assert not (d / "out.csv").exists()
    assert {"customers.email", "customers.ssn"} <= set(r["effect"]["sensitive_columns"])
    assert r["effect"]["tables"] == ["customers"]
    # nobody may approve under the packaged default policy: the refusal does not suggest asking
    assert r["approval"] == {"possible": False, "request_id": None, "command": None,
                             "why_not": "no role in policy default may approve"}
    assert "%guard request" not in k.run("%guard status").text + r["reason"]
    rewrite = r["rewrite"]
    assert rewrite["kind"] == "drop-sensitive-columns"
    ok = k.run(f"%%guarded_sql con\n{rewrite['sql']}")
    assert ok.status == "ok", ok.text
    with open(d / "out.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 20 and set(rows[0]) == {"id", "city", "amount"}


def test_no_suggestion_the_policy_would_refuse(kernel: tuple[Kernel, Path]) -> None:
    """A rename is destructive DDL for a table the session did not create: no rewrite for DROP."""
    k, _ = kernel
    r = refusal(k.run("con.execute('DROP TABLE orders')"))
    assert (r["rule_id"], r["action"], r["effect"]["target"]) == (
        "destructive-ddl", "sql.drop", "orders")
    assert r["rewrite"] is None
    shown = "\n".join(k.run("con.execute('DROP TABLE orders')").error["traceback"])
    assert "Safer:" not in shown
    assert "orders" in tables(k)


def test_bulk_change_reports_the_measured_count(kernel: tuple[Kernel, Path]) -> None:
    k, _ = kernel
    r = refusal(k.run("%%guarded_sql con\nDELETE FROM customers WHERE id >= 100"))
    assert r["effect"]["rows"] == 4900 and r["rule_id"] == "bulk-change"
    assert r["rewrite"]["kind"] == "narrow-where" and r["rewrite"]["sql"] is None
    counted = k.run(f"print(con.execute({r['rewrite']['count_sql']!r}).fetchone()[0])")
    assert counted.text.strip() == "4900"
    assert count(k, "customers") == 5000


def _shown(r: Any) -> list[str]:
    import re

    return [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in r.error["traceback"]]


def test_the_refused_statement_is_shown_with_its_part_underlined(
        kernel: tuple[Kernel, Path]) -> None:
    """In a cell of several statements, the person sees which one was refused and where."""
    k, d = kernel
    lines = _shown(k.run("%%guarded_sql con\nSELECT count(*) FROM orders;\n"
                         "COPY (SELECT id, city, email FROM customers) TO 'pointed.csv'"))
    stmt = next(i for i, line in enumerate(lines) if line.startswith("  > COPY"))
    under = lines[stmt + 1]
    start = lines[stmt].index("email")
    assert under[start:start + 5] == "^^^^^" and set(under[:start]) <= {" "}, lines
    assert not (d / "pointed.csv").exists()
    lines = _shown(k.run("%%guarded_sql con\nDELETE FROM customers\nWHERE id >= 100"))
    stmt = lines.index("  > DELETE FROM customers WHERE id >= 100")
    start = lines[stmt].index("WHERE")
    assert lines[stmt + 1] == " " * start + "^" * len("WHERE id >= 100"), lines
    lines = _shown(k.run("con.execute('DROP TABLE orders')"))
    assert any(line.startswith("  > ") for line in lines), lines
    assert count(k, "customers") == 5000 and "orders" in tables(k)


def test_runtime_sql_carries_the_refusal_too(kernel: tuple[Kernel, Path]) -> None:
    k, _ = kernel
    r = refusal(k.run("parts = ['TRUNCATE', 'customers']\n"
                      "con.execute(' '.join(reversed(parts[::-1])))"))
    assert r["rule_id"] == "destructive-ddl" and r["effect"]["target"] == "customers"
    assert count(k, "customers") == 5000


def test_agent_marked_cell_is_told_nobody_can_approve(kernel: tuple[Kernel, Path]) -> None:
    k, _ = kernel
    r = refusal(k.run("%%guarded_sql con\nINSERT INTO customers (id) VALUES (-1)", metadata=AGENT))
    assert (r["decision"], r["rule_id"]) == ("approval", "agent-approval")
    assert r["approval"]["possible"] is False and r["rewrite"] is None
    again = k.run("%%guarded_sql con\nINSERT INTO customers (id) VALUES (-1)", metadata=AGENT)
    assert "Ask for approval" not in again.error["evalue"]


def test_allowed_and_plain_errors_carry_nothing(kernel: tuple[Kernel, Path]) -> None:
    k, _ = kernel
    ok = k.run("%%guarded_sql con\nSELECT count(*) AS n FROM customers")
    assert ok.status == "ok" and "jupyter_guard" not in ok.reply
    err = k.run("1/0")
    assert err.status == "error"
    assert "jupyter_guard" not in err.reply and "jupyter_guard" not in err.error


def test_sensitive_literals_are_masked_in_the_refusal(kernel: tuple[Kernel, Path]) -> None:
    k, _ = kernel
    r = refusal(k.run("%%guarded_sql con\n"
                      "DELETE FROM customers WHERE email <> 'bob.smith@example.com'"))
    assert "bob.smith@example.com" not in json.dumps(r)


def test_create_or_replace_gets_create_beside(kernel: tuple[Kernel, Path]) -> None:
    k, _ = kernel
    r = refusal(k.run("%%guarded_sql con\n"
                      "CREATE OR REPLACE TABLE customers AS SELECT id, city FROM customers"))
    assert r["rewrite"]["kind"] == "create-beside"
    assert "Safer: build the new table as customers_new" in "\n".join(
        k.run("%%guarded_sql con\nCREATE OR REPLACE TABLE customers AS SELECT id, city "
              "FROM customers").error["traceback"])
    ok = k.run(f"%%guarded_sql con\n{r['rewrite']['sql']}")
    assert ok.status == "ok", ok.text
    new = k.run("print([c[0] for c in con.execute('DESCRIBE customers_new').fetchall()])").text
    old = k.run("print([c[0] for c in con.execute('DESCRIBE customers').fetchall()])").text
    assert "'city'" in new and "'email'" not in new and "'email'" in old


APPROVERS = """\
version: 1
extends: default
roles:
  governance: {users: [gina], may_approve: true}
"""


def test_in_local_mode_the_refusal_says_no_approval_is_possible(work_root: Path) -> None:
    """Approvers exist in the policy, but a kernel no jupyter server started has no authority
    to get an approval from: the refusal says so instead of suggesting `%guard request`.
    (With a server: tests/approvals/test_server_approvals.py.)"""
    d = work_root / "agent-approvers"
    (d / "data").mkdir(parents=True)
    make_warehouse(d / "wh.duckdb", rows=50)
    k = start(d, APPROVERS)
    try:
        r = refusal(k.run("%%guarded_sql con\nDROP TABLE orders"))
        assert r["approval"]["possible"] is False and r["approval"]["request_id"] is None
        assert "local mode" in r["approval"]["why_not"]
        assert "Ask for approval" not in k.run("con.execute('DROP TABLE orders')").error["evalue"]
        out = k.run("%guard request cleaning up")
        assert out.status == "error" and "local mode" in out.text
    finally:
        k.stop()


def test_audit_mode_notes_what_would_be_blocked(work_root: Path) -> None:
    d = work_root / "agent-audit"
    (d / "data").mkdir(parents=True)
    make_warehouse(d / "wh.duckdb", rows=50)
    k = start(d, "version: 1\nextends: default\nmode: audit\n")
    try:
        r = k.run("con.execute('DROP TABLE orders')")
        assert r.status == "ok", r.text
        notes = [line for line in r.text.splitlines()
                 if line.startswith("jupyter_guard (audit mode)")]
        assert notes == ["jupyter_guard (audit mode): in enforce mode this would be refused "
                         "[destructive-ddl]: this drops table orders, which this session did "
                         "not create"]
        assert "orders" not in tables(k)   # audit mode refuses nothing
        sql = k.run("%%guarded_sql con\nDELETE FROM customers")
        assert sql.status == "ok", sql.text
        assert sql.text.count("jupyter_guard (audit mode): in enforce mode this would be refused "
                              "[bulk-change]") == 1
        quiet = k.run("x = 1")
        assert "audit mode" not in quiet.text
        # the events API says what enforce mode would have refused, as data
        would = _recorded(d / "audit.duckdb", "destructive-ddl")
        assert would and would[0]["decision"] == "warn", would
        jsonschema.validate(would[0]["refusal"], SCHEMA)
        assert would[0]["refusal"]["would_block"] is True
        assert would[0]["refusal"]["effect"]["target"] == "orders"
    finally:
        k.stop()


def _recorded(audit: Path, rule: str, deadline: float = 60.0) -> list[dict[str, Any]]:
    """The events API's refused events of ``rule`` (``server.api.events``, what
    ``GET /jupyter-guard/api/events`` serves), once the kernel's journal is in the store."""
    import time

    from jupyter_guard.server.api import events

    end = time.monotonic() + deadline
    while True:
        got = [e for e in events(audit, decision="block,warn", limit=1000)
               if e["rule_id"] == rule]
        if got or time.monotonic() > end:
            return got
        time.sleep(0.2)


def test_the_events_api_and_jupyter_events_carry_the_refusal_the_agent_got(
        work_root: Path) -> None:
    """An agent's DROP is refused on the wire with the structured refusal; the audit event, the
    events API and the `cell-decided` jupyter_event carry the very same one (same request id
    and decision id), valid under the shipped schema."""
    from jupyter_events import EventLogger

    from jupyter_guard.server.events import SCHEMAS, Relay, register, schema_id

    d = work_root / "agent-events"
    (d / "data").mkdir(parents=True)
    make_warehouse(d / "wh.duckdb", rows=50)
    k = start(d)
    logger = EventLogger()
    register(logger)
    emitted: list[dict[str, Any]] = []
    logger.emit = lambda schema_id, data: emitted.append(  # type: ignore[method-assign]
        (jsonschema.validate(data, SCHEMAS[schema_id.split("/")[-2]]), data)[1])
    relay = Relay(str(d / "audit.duckdb"), logger)
    relay.poll()
    try:
        r = refusal(k.run("con.execute('DROP TABLE orders')", metadata=AGENT))
        assert (r["rule_id"], r["effect"]["target"]) == ("destructive-ddl", "orders")
        assert "orders" in tables(k)
        got = _recorded(d / "audit.duckdb", "destructive-ddl")
        assert got, "the refused DROP is not in the events API"
        api = got[0]["refusal"]
        jsonschema.validate(api, SCHEMA)
        assert api == r
        relay.stamp = None
        relay.poll()
        cells = [e for e in emitted if e.get("rule_id") == "destructive-ddl"]
        assert cells and cells[-1]["refusal"] == r
        assert schema_id("cell-decided").endswith("/cell-decided/v1")
        # allowed events carry none
        k.run("y = 2")
        from jupyter_guard.server.api import events

        assert all(e["refusal"] is None for e in events(d / "audit.duckdb", decision="allow"))
    finally:
        k.stop()
