"""The temp-dir exemption as a decision table: only generic recursive deletes of scratch that
holds no protected file, never inside the notebook's folder, never of protected or guard files."""
from __future__ import annotations

import pytest

from jupyter_guard.model import Intent
from jupyter_guard.policy.model import Policy
from jupyter_guard.policy.rules import Context, destructive_files

POL = Policy(protected_paths=("*.duckdb", "*.parquet", "data/**"))
FILES = {"/tmp/holds": ["/tmp/holds/a/x.parquet"], "/tmp/s": ["/tmp/s/f.txt"]}
GUARD = ("/tmp/g/audit.duckdb", "/tmp/g/audit.duckdb.journal", "/tmp/g/audit.duckdb.lock",
         "/tmp/g/policy.yaml")


def ctx(cwd: str) -> Context:
    return Context(cwd=cwd, guard_files=GUARD, walk=lambda d: FILES.get(d, []))


def fi(action: str, target: str, recursive: bool = False) -> Intent:
    return Intent(action, "path", target, recursive=recursive)  # type: ignore[arg-type]


@pytest.mark.parametrize("intent,cwd,rule", [
    pytest.param(fi("file.delete", "data", True), "/tmp/nb", "destructive-files", id="rmtree-data"),
    pytest.param(fi("file.delete", "w.duckdb"), "/tmp/nb", "destructive-files", id="rm-duckdb"),
    pytest.param(fi("file.truncate", "w.duckdb"), "/tmp/nb", "destructive-files", id="truncate"),
    pytest.param(fi("file.move", "/tmp/x/w.duckdb"), "/home/a", "destructive-files", id="mv-tmp-db"),
    pytest.param(fi("file.delete", "/tmp/g/audit.duckdb"), "/home/a", "self-protection", id="audit"),
    pytest.param(fi("file.write", "/tmp/g/policy.yaml"), "/home/a", "self-protection", id="policy"),
    pytest.param(fi("file.delete", "/tmp/g/audit.duckdb.journal/s.jsonl"), "/home/a",
                 "self-protection", id="journal"),
    pytest.param(fi("file.delete", "/tmp/g", True), "/home/a", "self-protection", id="holds-guard"),
    pytest.param(fi("file.delete", "/tmp/holds", True), "/home/a", "destructive-files", id="holds"),
    pytest.param(fi("file.move", "/tmp/holds"), "/home/a", "destructive-files", id="mv-holds"),
    pytest.param(fi("file.delete", "scratch", True), "/tmp/nb", "destructive-files", id="in-nb"),
    pytest.param(fi("file.delete", "/tmp", True), "/tmp/nb", "self-protection", id="tmp-root"),
    pytest.param(fi("file.delete", "/var/tmp", True), "/var/tmp/nb", "destructive-files", id="var-tmp"),
    pytest.param(fi("file.delete", "/tmp/nb", True), "/tmp/nb", "destructive-files", id="nb-itself"),
])
def test_protection_beats_the_temp_dir(intent: Intent, cwd: str, rule: str):
    v = destructive_files(intent, POL, ctx(cwd))
    assert v is not None and v.rule_id == rule and v.decision == "block"


@pytest.mark.parametrize("intent,cwd", [
    pytest.param(fi("file.delete", "/tmp/s", True), "/home/a", id="scratch"),
    pytest.param(fi("file.delete", "/tmp/s", True), "/tmp/nb", id="scratch-beside-nb"),
    pytest.param(fi("file.delete", "/tmp/nb/notes.txt"), "/tmp/nb", id="plain-file"),
    pytest.param(fi("file.write", "new.duckdb"), "/tmp/nb", id="new-file"),
])
def test_benign_twins(intent: Intent, cwd: str):
    assert destructive_files(intent, POL, ctx(cwd)) is None


def test_a_tmpdir_holding_the_notebook_folder_exempts_nothing_in_it(monkeypatch: pytest.MonkeyPatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", "/home/a")
    c = ctx("/home/a/proj")
    assert destructive_files(fi("file.delete", "build", True), POL, c) is not None
    assert destructive_files(fi("file.delete", "/home/a/proj/w.duckdb"), POL, c) is not None
