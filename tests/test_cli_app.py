"""``jupyter guard`` as a JupyterApp: --version, --help-all, and Jupyter config files that set
the guard's settings (environment variables still win)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from jupyter_guard import __version__


def guard(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jupyter_guard.cli_app", *args],
                          capture_output=True, text=True, timeout=300, env=env)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_GUARD_")}
    env.update(JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_DATA_DIR=str(tmp_path / "data"),
               JUPYTER_GUARD_AUDIT=str(tmp_path / "audit.duckdb"), **extra)
    return env


STRICT = """extends: default
rules:
  - id: no-selects-here
    match: {sql: [select]}
    action: block
    message: this team reads through views only
"""


def test_version_help_all_and_usage(tmp_path):
    r = guard("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"jupyter guard {__version__}"
    r = guard("--help-all")
    assert r.returncode == 0
    assert "--JupyterGuard.policy" in r.stdout and "--JupyterGuard.audit" in r.stdout
    for cmd in ("report", "verify", "explain", "approve", "replay", "compact"):
        assert f"\n{cmd}\n" in r.stdout, cmd
    r = guard("bogus")
    assert r.returncode == 2 and "unknown command 'bogus'" in r.stderr
    r = guard()
    assert r.returncode == 2 and "usage" in r.stderr


def test_subcommand_options_are_unchanged(tmp_path):
    env = _env(tmp_path)
    r = guard("report", "--since", "7d", "--format", "json", env=env)   # reached the command
    assert r.returncode == 1 and "does not exist yet" in r.stderr, r.stderr
    r = guard("report", "--since", "last week", env=_env(tmp_path))
    assert r.returncode == 2
    other = tmp_path / "given.duckdb"   # cli.py's own option before the command
    r = guard("--audit", str(other), "report", env=env)
    assert r.returncode == 1 and f"audit file {other} does not exist yet" in r.stderr, r.stderr


def test_config_file_sets_the_policy_and_env_wins(tmp_path):
    strict = tmp_path / "strict.yaml"
    strict.write_text(STRICT)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "jupyter_guard_config.py").write_text(
        f"c.JupyterGuard.policy = {str(strict)!r}\n")
    r = guard("explain", "SELECT 1", env=_env(tmp_path))
    assert r.returncode == 1 and "no-selects-here" in r.stdout, (r.stdout, r.stderr)
    default = Path(__file__).resolve().parents[1] / "policies" / "default.yaml"
    r = guard("explain", "SELECT 1", env=_env(tmp_path, JUPYTER_GUARD_POLICY=str(default)))
    assert r.returncode == 0 and "no-selects-here" not in r.stdout


def test_json_config_file_sets_the_audit_file(tmp_path):
    (tmp_path / "config").mkdir()
    audit = tmp_path / "team" / "audit.duckdb"
    (tmp_path / "config" / "jupyter_guard_config.json").write_text(
        json.dumps({"JupyterGuard": {"audit": str(audit)}}))
    env = _env(tmp_path)
    del env["JUPYTER_GUARD_AUDIT"]
    r = guard("report", env=env)
    assert r.returncode == 1 and f"audit file {audit} does not exist yet" in r.stderr, r.stderr
    env["JUPYTER_GUARD_AUDIT"] = str(tmp_path / "other.duckdb")
    r = guard("report", env=env)
    assert r.returncode == 1 and str(tmp_path / "other.duckdb") in r.stderr, r.stderr


LOADED = """
import sys
from jupyter_guard.cli_app import launch
try:
    launch(sys.argv[1:])
except SystemExit as e:
    print("EXIT", e.code, "APP", "jupyter_core.application" in sys.modules, file=sys.stderr)
"""


def test_a_plain_command_skips_the_jupyter_app_and_a_config_file_brings_it_back(tmp_path):
    """Start-up: without a config file or a Jupyter option, ``report`` runs without importing
    ``jupyter_core.application``; a config file anywhere Jupyter looks is still honoured."""
    env = _env(tmp_path)

    def run(*args: str, env: dict[str, str] = env) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", LOADED, *args], capture_output=True,
                              text=True, timeout=300, env=env)

    r = run("report")
    assert "EXIT 1 APP False" in r.stderr and "does not exist yet" in r.stderr, r.stderr
    r = run("--JupyterGuard.quiet=True", "report")
    assert "APP True" in r.stderr, r.stderr
    extra = tmp_path / "extra-config"   # a folder of JUPYTER_CONFIG_PATH, not the user's own
    extra.mkdir()
    audit = tmp_path / "team" / "audit.duckdb"
    (extra / "jupyter_guard_config.json").write_text(
        json.dumps({"JupyterGuard": {"audit": str(audit)}}))
    env2 = {**env, "JUPYTER_CONFIG_PATH": str(extra)}
    del env2["JUPYTER_GUARD_AUDIT"]
    r = run("report", env=env2)
    assert "APP True" in r.stderr and str(audit) in r.stderr, r.stderr


def test_report_on_an_up_to_date_store_loads_neither_traitlets_nor_the_lock(tmp_path):
    """A plain ``report`` on a store with nothing new to ingest: no writers' lock is taken, and
    neither traitlets nor filelock is imported; a new journal line is still ingested first."""
    from jupyter_guard.config import DEFAULTS, JupyterGuard, resolve
    from jupyter_guard.record import AuditLog, ingest

    assert resolve(None, env={}) == resolve(JupyterGuard(), env={})
    assert {k: str(getattr(JupyterGuard(), k)) for k in DEFAULTS} == DEFAULTS
    env = _env(tmp_path)
    audit = Path(env["JUPYTER_GUARD_AUDIT"])
    log = AuditLog(audit, background=False)
    log.begin(user="ada", actor="human", notebook="n", cell_id="c1", execution_count=1,
              kind="python", code="x = 1", decision="allow", rule_id="", reason="", status="ok")
    ingest(audit)
    probe = LOADED.replace('file=sys.stderr)', 'file=sys.stderr)\n    print("MODS", '
                           '"traitlets" in sys.modules, "filelock" in sys.modules, '
                           'file=sys.stderr)')
    r = subprocess.run([sys.executable, "-c", probe, "report", "--format", "json"],
                       capture_output=True, text=True, timeout=300, env=env)
    assert "EXIT 0" in r.stderr, r.stderr
    assert "MODS False False" in r.stderr, r.stderr
    assert sum(row["events"] for row in json.loads(r.stdout)) == 1, r.stdout
    log.begin(user="ada", actor="human", notebook="n", cell_id="c2", execution_count=2,
              kind="python", code="x = 2", decision="allow", rule_id="", reason="", status="ok")
    r = subprocess.run([sys.executable, "-c", probe, "report", "--format", "json"],
                       capture_output=True, text=True, timeout=300, env=env)
    assert sum(row["events"] for row in json.loads(r.stdout)) == 2, r   # the new line, ingested
    log.close()
