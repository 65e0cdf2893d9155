"""`jupyter guard` on Jupyter's conventions, one test per command: `--format json` prints one JSON
document, and exit codes are 0 allowed/done, 1 blocked/failed, 2 usage."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from jupyter_guard import __version__
from tests.test_cli_audit import session


def guard(*args: str, audit: Path | None = None, env: dict[str, str] | None = None
          ) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **(env or {})}
    if audit is not None:
        full["JUPYTER_GUARD_AUDIT"] = str(audit)
    return subprocess.run([sys.executable, "-m", "jupyter_guard.cli", *args], capture_output=True,
                          text=True, timeout=120, env=full)


def as_json(r: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(r.stdout)


@pytest.fixture()
def audit(tmp_path: Path) -> Path:
    path = tmp_path / "audit.duckdb"
    session(path)
    return path


def test_version() -> None:
    r = guard("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"jupyter guard {__version__}"


def test_usage_errors_exit_2() -> None:
    assert guard("no-such-command").returncode == 2
    assert guard().returncode == 2
    assert guard("report", "--format", "yaml").returncode == 2


def test_policy_check(tmp_path: Path) -> None:
    good, bad = tmp_path / "ok.yaml", tmp_path / "bad.yaml"
    good.write_text("extends: default\nmode: audit\n")
    bad.write_text("extends: default\nmode: enforse\n")
    ok = guard("policy", "check", "--format", "json", str(good))
    assert ok.returncode == 0 and as_json(ok)["ok"] is True and as_json(ok)["mode"] == "audit"
    no = guard("policy", "check", "--format", "json", str(bad))
    assert no.returncode == 1 and as_json(no)["ok"] is False
    assert any(f"{bad}:2:" in p for p in as_json(no)["problems"])


@pytest.mark.parametrize("code, rc, decision, rule", [
    pytest.param("SELECT 1", 0, "allow", None, id="allowed"),
    pytest.param("DROP TABLE customers", 1, "block", "destructive-ddl", id="blocked"),
    pytest.param("DELETE FROM t WHERE 1=1", 1, "block", "bulk-change", id="bulk"),
])
def test_explain(code: str, rc: int, decision: str, rule: str | None) -> None:
    r = guard("explain", "--format", "json", code)
    assert r.returncode == rc
    out = as_json(r)
    assert (out["decision"], out["rule_id"]) == (decision, rule)
    assert (out["refusal"] is None) == (rc == 0)
    if out["refusal"]:
        assert out["refusal"]["rule_id"] == rule
    assert guard("explain", code).returncode == rc


@pytest.mark.parametrize("since", ["7d", "12h", "2w", "2020-01-01"])
def test_report(audit: Path, since: str) -> None:
    r = guard("report", "--since", since, "--format", "json", audit=audit)
    assert r.returncode == 0, r.stderr
    rows = as_json(r)
    assert sum(x["blocked"] for x in rows) == 1 and sum(x["allowed"] for x in rows) == 2


def test_report_since_excludes_older_events(audit: Path) -> None:
    con = duckdb.connect(str(audit))
    con.execute("UPDATE events_live SET ts = ts - INTERVAL 10 DAY WHERE rule_id = 'destructive-ddl'")
    con.close()   # (the hash chain breaks; report does not verify)
    rows = as_json(guard("report", "--since", "7d", "--format", "json", audit=audit))
    assert sum(x["blocked"] for x in rows) == 0 and sum(x["allowed"] for x in rows) == 2


def test_report_bad_since_is_usage(audit: Path) -> None:
    r = guard("report", "--since", "last week", audit=audit)
    assert r.returncode == 2 and "duration (7d, 12h)" in r.stderr


def test_verify(audit: Path) -> None:
    ok = guard("verify", "--format", "json", audit=audit)
    assert ok.returncode == 0 and as_json(ok) == {"audit": str(audit), "ok": True, "problems": []}
    con = duckdb.connect(str(audit))
    con.execute("UPDATE events_live SET decision = 'allow' WHERE rule_id = 'destructive-ddl'")
    con.close()
    bad = guard("verify", "--format", "json", audit=audit)
    assert bad.returncode == 1 and as_json(bad)["ok"] is False
    assert any("edited" in p for p in as_json(bad)["problems"])


def test_export(audit: Path, tmp_path: Path) -> None:
    r = guard("export", "--parquet", str(tmp_path / "pq"), "--format", "json", audit=audit)
    assert r.returncode == 0, r.stderr
    assert as_json(r)["parquet"]["events"] == 3
    none = guard("export", "--format", "json", audit=audit)
    assert none.returncode == 2 and "--parquet DIR" in as_json(none)["error"]


def test_compact(audit: Path, tmp_path: Path) -> None:
    r = guard("compact", "--older-than", "30d", "--archive", str(tmp_path / "arch"),
              "--format", "json", audit=audit)
    assert r.returncode == 0, r.stderr
    assert as_json(r)["moved"] == 0 and as_json(r)["older_than"] == "30d"
    assert guard("compact", "--older-than", "soon", audit=audit).returncode == 2


def test_requests(audit: Path, tmp_path: Path) -> None:
    """Without a running server: the copies in the audit file (none here)."""
    r = guard("requests", "--format", "json", audit=audit,
              env={"JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")})
    assert r.returncode == 0 and as_json(r) == []


def test_repair(audit: Path) -> None:
    r = guard("repair", "--format", "json", audit=audit)
    assert r.returncode == 0, r.stderr
    out = as_json(r)
    assert (out["command"], out["ok"]) == ("repair", True)
    assert "rebuilt from the journals" in out["message"]
    assert as_json(guard("verify", "--format", "json", audit=audit))["ok"] is True


def test_replay(audit: Path, tmp_path: Path) -> None:
    stricter = tmp_path / "strict.yaml"
    stricter.write_text("version: 1\nextends: default\nmode: enforce\n")
    r = guard("replay", "--policy", str(stricter), "--format", "json", audit=audit)
    assert r.returncode == 0, r.stderr
    assert set(as_json(r)) >= {"policy", "replayed", "changes"}
    bad = guard("replay", "--policy", str(tmp_path / "missing.yaml"), "--format", "json",
                audit=audit)
    assert bad.returncode == 2 and as_json(bad)["ok"] is False
    assert "missing.yaml" in as_json(bad)["error"]


def test_policy_schema() -> None:
    r = guard("policy", "schema", "--format", "json")
    assert r.returncode == 0 and as_json(r)["$id"].endswith("policy.v1.json")


@pytest.mark.parametrize("command", ["approve", "deny"])
def test_approve_and_deny(audit: Path, command: str, tmp_path: Path) -> None:
    r = guard(command, "nosuchid", "--format", "json", audit=audit,
              env={"JUPYTER_GUARD_USER": "nobody", "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")})
    assert r.returncode == 1
    out = as_json(r)
    assert out["ok"] is False and out["request_id"] == "nosuchid"
    assert "no running jupyter server found" in out["message"]


@pytest.mark.parametrize("command", ["enable", "disable"])
def test_enable_and_disable(tmp_path: Path, command: str) -> None:
    r = guard(command, "--format", "json", env={"IPYTHONDIR": str(tmp_path / "ipy")})
    assert r.returncode == 0
    assert as_json(r)["command"] == command
    assert as_json(r)["config"].endswith("ipython_kernel_config.py")


def test_every_command_takes_format_json() -> None:
    from jupyter_guard.cli import parser

    sub = next(a for a in parser()._actions if a.dest == "command")
    for name, p in sub.choices.items():  # type: ignore[union-attr]
        nested = [a for a in p._actions if a.dest == "policy_cmd"]
        targets = list(nested[0].choices.values()) if nested else [p]  # type: ignore[union-attr]
        for t in targets:
            fmt = [a for a in t._actions if "--format" in a.option_strings]
            assert fmt and "json" in fmt[0].choices, name


def test_doctests() -> None:
    import doctest

    from jupyter_guard import cli_json

    result = doctest.testmod(cli_json)
    assert result.attempted and not result.failed
