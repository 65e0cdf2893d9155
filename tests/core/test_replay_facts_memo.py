"""The replay facts a recorded event carries are built once per distinct decision and never go
stale: the same intents and context give the same facts, any change of them new ones, and the
audit line holds the redacted facts of the event it belongs to."""
from __future__ import annotations

import json
from pathlib import Path

from jupyter_guard.guard.judge import Judgement
from jupyter_guard.guard.recording import Recording
from jupyter_guard.model import Analysis, Intent, Verdict
from jupyter_guard.policy.rules import Context
from jupyter_guard.record.audit import AuditLog

READ = Intent("sql.select", "table", "public.customers", columns=("customers.ssn",))


def _judgement(user: str = "ada", intent: Intent = READ) -> Judgement:
    v = Verdict("allow", "", "no rule matched")
    return Judgement(v, (v,), Analysis((intent,)), (intent,),
                     ctx=Context(user=user, connection="postgresql://ada@h:5432/shop", cwd=""))


def test_same_decision_same_facts_any_change_new_ones() -> None:
    r = Recording()
    first = r._replay_facts(_judgement())
    assert r._replay_facts(_judgement()) is first      # built once, for an equal decision
    assert first is not None and first["user"] == "ada"
    other_user = r._replay_facts(_judgement(user="bob"))
    assert other_user is not None and other_user["user"] == "bob"
    other_read = r._replay_facts(_judgement(intent=Intent("sql.select", "table", "public.orders")))
    assert other_read is not None and other_read["intents"][0]["target"] == "public.orders"
    assert r._replay_facts(_judgement())["user"] == "ada"   # type: ignore[index]


def test_each_audit_line_holds_the_redacted_facts_of_its_own_event(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.duckdb", background=False,
                   redact=lambda s: s.replace("ada", "***"))
    r = Recording()
    ids = []
    for user in ("ada", "ada", "bob", "ada"):
        facts = r._replay_facts(_judgement(user=user))
        ids.append(log.begin(user=user, actor="human", notebook="", cell_id="",
                             execution_count=1, kind="sql", code="SELECT 1", decision="allow",
                             rule_id="", reason="", status="ok", facts=facts))
    lines = [json.loads(x) for x in Path(log.journal_path).read_text().splitlines()]
    begins = {x["event_id"]: x for x in lines if x.get("t") == "begin"}
    users = [begins[i]["facts"]["user"] for i in ids]
    assert users == ["***", "***", "bob", "***"]
    log.close()
