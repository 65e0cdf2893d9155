"""``jupyter guard replay`` on the scripted sessions' audit file (real kernels): the recorded
policy gives every recorded decision back; stricter and looser policies change exactly the cells
they should, decided on the facts recorded when the cells ran (row counts, actor, user)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from governance_session import rows

from jupyter_guard.cli import main
from jupyter_guard.policy.load import default_path, load
from jupyter_guard.record.replay import replay

pytestmark = pytest.mark.kernel


def policy(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "new.yaml"
    p.write_text("version: 1\nextends: default\n" + text)
    return p


def test_the_recorded_policy_reproduces_every_decision(session_audit: Path) -> None:
    result = replay(session_audit, load(default_path()))
    (events,), = rows(session_audit, "SELECT count(*) FROM events")
    assert result.changes == ()
    assert result.not_replayable == 0
    assert result.replayed == events and result.cells == 16 + 4
    (with_facts,), = rows(session_audit, "SELECT count(*) FROM events WHERE facts IS NOT NULL "
                                         "AND decision IN ('block', 'approval')")
    assert with_facts == 7                        # every refusal was decided again, not skipped
    # the two cells shown masked and bot's typo were decided again from their facts too: the
    # policy's allow (mask is how they were shown) and the parse refusal (nothing of it ran)
    annotated = rows(session_audit, """SELECT decision, rule_id, status FROM events
        WHERE facts IS NOT NULL AND rule_id IN ('sensitive-data', 'sql-parse-error')
        ORDER BY rule_id""")
    assert annotated == [("mask", "sensitive-data", "ok")] * 2 + [
        ("allow", "sql-parse-error", "error")]


def test_a_stricter_policy_reports_what_it_would_block_by_rule_and_user(
        session_audit: Path, tmp_path: Path) -> None:
    new = policy(tmp_path, """max_affected_rows: 5
rules:
  - id: no-agent-reads
    match: {actors: ["agent:*"], sql: [select]}
    action: block
  - id: no-ssn-for-ada
    match: {users: [ada], tables: [customers], sql: [select]}
    action: approval
""")
    result = replay(session_audit, load(new))
    summary = {(s["what"], s["rule_id"], s["user"]): s["cells"] for s in result.summary}
    # the recorded count (10 rows) is over the new limit of 5
    assert summary[("newly blocked", "bulk-change", "ada")] == 1
    assert summary[("newly blocked", "no-agent-reads", "bot")] == 1
    # ada's SELECTs whose target is customers: %%guarded_sql and the SQL string in Python (a
    # rule's `tables` matches the statement's target: the join, CTAS and COPY target others)
    assert summary[("newly blocked", "no-ssn-for-ada", "ada")] == 2
    assert all(what == "newly blocked" for what, _, _ in summary)
    assert {c.new[1] for c in result.changes} == {"bulk-change", "no-agent-reads",
                                                  "no-ssn-for-ada"}


def test_a_looser_policy_reports_what_it_would_let_through(session_audit: Path,
                                                          tmp_path: Path) -> None:
    result = replay(session_audit, load(policy(tmp_path, "mode: audit\n")))
    summary = {(s["what"], s["rule_id"], s["user"]): s["cells"] for s in result.summary}
    assert summary == {("newly allowed", "exfiltration", "ada"): 3,
                       ("newly allowed", "bulk-change", "ada"): 1,
                       ("newly allowed", "destructive-ddl", "ada"): 1,
                       ("newly allowed", "destructive-files", "ada"): 1,
                       ("newly allowed", "agent-approval", "bot"): 1}
    assert all(c.new[0] == "warn" for c in result.changes)


def test_the_cli_filters_by_user_and_date_and_prints_json(session_audit: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    new = policy(tmp_path, "mode: audit\n")
    assert main(["--audit", str(session_audit), "replay", "--policy", str(new), "--user", "bot",
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["cells"] == 4 and [c["user"] for c in doc["changes"]] == ["bot"]
    assert doc["changes"][0]["what"] == "newly allowed"
    later = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    assert main(["--audit", str(session_audit), "replay", "--policy", str(new),
                 "--since", later]) == 0
    assert "replayed 0 decisions" in capsys.readouterr().out
    assert main(["--audit", str(session_audit), "replay", "--policy", str(new)]) == 0
    out = capsys.readouterr().out
    assert "newly allowed" in out and "exfiltration" in out


def test_a_broken_policy_is_refused_with_one_line(session_audit: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    bad = policy(tmp_path, "mode: enforcee\n")
    assert main(["--audit", str(session_audit), "replay", "--policy", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "new.yaml" in err and "policy check" in err


def test_a_recorded_refusal_alone_is_no_fact_to_replay(tmp_path: Path) -> None:
    """Refused events carry the structured refusal the user was shown (``facts.refusal``); it is
    not what a decision is replayed from: a refusal with no intents is not replayable, never
    an allow."""
    from jupyter_guard.record import AuditLog, ingest

    audit = tmp_path / "audit.duckdb"
    log = AuditLog(audit, background=False)
    log.begin(user="ada", actor="human", notebook="", cell_id="", execution_count=1,
              kind="python", code="x", decision="block", rule_id="guard-error", reason="broken",
              status="blocked", facts={"refusal": {"rule_id": "guard-error"}})
    log.close()
    ingest(audit)
    result = replay(audit, load(default_path()))
    assert (result.replayed, result.not_replayable, result.changes) == (0, 1, ())
