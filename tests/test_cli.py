"""`jupyter guard ...` as a user runs it: a real subprocess."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def guard(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None
          ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jupyter_guard.cli", *args], capture_output=True,
                          text=True, timeout=60, env=env, cwd=cwd)


def test_explain_prints_decision_rule_and_reason():
    r = guard("explain", "DELETE FROM t WHERE 1=1")
    assert r.returncode == 1   # it would block
    assert "decision: block" in r.stdout and "rule:     bulk-change" in r.stdout
    assert "always true" in r.stdout


def test_explain_python_and_shell(workdir: Path):
    assert "destructive-files" in guard("explain", "!rm -rf data", cwd=workdir).stdout
    assert "decision: allow" in guard("explain", "SELECT 'DROP TABLE x'").stdout


def test_policy_check(tmp_path: Path):
    good = tmp_path / "ok.yaml"
    good.write_text("extends: default\nmode: audit\n")
    r = guard("policy", "check", str(good))
    assert r.returncode == 0 and "OK" in r.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: default\nmode: enforse\n")
    r = guard("policy", "check", str(bad))
    assert r.returncode == 1 and f"{bad}:2:" in r.stderr and "enforce" in r.stderr


def test_enable_and_disable_write_ipython_config(tmp_path: Path):
    import os

    env = {**os.environ, "IPYTHONDIR": str(tmp_path / "ipy")}
    assert guard("enable", env=env).returncode == 0
    cfg = tmp_path / "ipy" / "profile_default" / "ipython_kernel_config.py"
    assert "jupyter_guard" in cfg.read_text()
    assert guard("enable", env=env).returncode == 0
    assert cfg.read_text().count("jupyter_guard") == 1
    assert guard("disable", env=env).returncode == 0
    assert "jupyter_guard" not in cfg.read_text()
