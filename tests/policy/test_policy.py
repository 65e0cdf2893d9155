"""Policy files: the packaged default, extends/merge, validation with file:line, rules."""
from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

from jupyter_guard.model import Intent
from jupyter_guard.policy.decide import decide
from jupyter_guard.policy.load import PolicyError, load, load_or_refuse
from jupyter_guard.policy.rules import Context


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "policy.yaml"
    p.write_text(text)
    return p


def test_default_policy_matches_the_contract():
    p = load_or_refuse(None)
    assert (p.mode, p.max_affected_rows, p.strategy) == ("enforce", 1000, "partial")
    for col in ("email", "ssn", "phone", "card_number", "pan", "password", "api_token", "salary",
                "birth_date", "dob", "home_address", "iban", "client_secret"):
        assert p.is_sensitive_column(col), col
    assert not p.is_sensitive_column("city") and not p.is_sensitive_column("company")
    assert set(p.detectors) == {"email", "ssn", "card", "phone", "iban", "secret"}
    assert p.allow_hosts == () and "*.duckdb" in p.protected_paths and "data/**" in p.protected_paths


def test_extends_lists_replace_and_maps_merge(tmp_path):
    p = load(write(tmp_path, "extends: default\nmax_affected_rows: 10\nsensitive:\n  columns: ['*iban*']\n"
                             "network:\n  allow_hosts: [api.internal.example]\n"))
    assert p.max_affected_rows == 10 and p.sensitive_columns == ("*iban*",)
    assert p.strategy == "partial" and p.detectors  # merged from the default
    assert p.allow_hosts == ("api.internal.example",)


@pytest.mark.parametrize("text,line,words", [
    pytest.param("mode: enforse\n", 1, "Did you mean 'enforce'", id="mode"),
    pytest.param("version: 1\nsensitive:\n  strategy: blur\n", 3, "strategy 'blur'", id="strategy"),
    pytest.param("rules:\n  - id: a\n    match: {sql: [insrt]}\n", 3, "Did you mean 'insert'", id="sql-word"),
    pytest.param("rules:\n  - id: a\n    match: {sql: [insert]}\n    action: blok\n", 4, "Did you mean 'block'", id="action"),
    pytest.param("max_affected_rows: lots\n", 1, "whole number", id="rows"),
    pytest.param("mode: [\n", 2, "not valid YAML", id="yaml"),
    pytest.param("colour: blue\n", 1, "unknown key 'colour'", id="unknown-key"),
])
def test_errors_name_file_and_line(tmp_path, text, line, words):
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as e:
        load(path)
    assert any(p.startswith(f"{path}:{line}:") and words in p for p in e.value.problems), e.value.problems


BROKEN_FILES = [
    pytest.param(b"extends: default\nname: caf\xe9\n", 2, "not UTF-8", id="not-utf8"),
    pytest.param(b"\xff\xfe", 1, "not UTF-8", id="utf16-bom"),
    pytest.param(b"mode: off\n", 1, "mode 'False'", id="invalid"),
    pytest.param(b"mode: [x\n", 2, "not valid YAML", id="yaml"),
    pytest.param(b"extends: default\nsensitive: {per_column: [a]}\n", 2, "per_column", id="type"),
    pytest.param(b"extends: default\naudit: {on_failure: refuze}\n", 2, "Did you mean", id="key"),
    pytest.param(b"a: !!python/object:os.system x\n", 1, "", id="tag"),
]


@pytest.mark.parametrize("body, line, words", BROKEN_FILES)
def test_a_broken_policy_refuses_everything_and_never_falls_back(tmp_path, body, line, words):
    from jupyter_guard.model import Intent
    from jupyter_guard.policy.decide import decide
    from jupyter_guard.policy.rules import Context

    path = tmp_path / "policy.yaml"
    path.write_bytes(body)
    p = load_or_refuse(path)
    assert p.errors and p.source == str(path) and p.name == "policy" and p.mode == "enforce"
    assert p.errors[0].startswith(f"{path}:{line}:") and words in p.errors[0], p.errors
    for intent in (Intent("sql.select", "table", "t"), Intent("sql.drop", "table", "t")):
        (v,) = decide([intent], p, Context())
        assert v.decision == "block" and v.rule_id == "guard-error"
        assert "%guard reload" in v.reason and f"policy check {path}" in v.reason


def test_audit_on_failure_key(tmp_path):
    assert load_or_refuse(None).audit_on_failure == "refuse"
    p = load(write(tmp_path, "extends: default\naudit: {on_failure: warn}\n"))
    assert p.audit_on_failure == "warn"


def test_extra_rules_come_first_and_scope_by_connection_user_and_actor(tmp_path):
    p = load(write(tmp_path, """extends: default
roles:
  governance: {users: [gina], may_unmask: true, may_approve: true}
rules:
  - id: no-prod-writes
    match: {sql: [insert, update, delete, merge], connections: ["*prod*"]}
    action: approval
    message: Writes to production need a second pair of eyes.
  - id: interns-read-only
    match: {sql: [insert], users: [intern*]}
    action: block
"""))
    ins = Intent("sql.insert", "table", "t")
    assert decide([ins], p, Context(connection="prod_dw"))[0].rule_id == "no-prod-writes"
    assert decide([ins], p, Context(connection="dev"))[0].decision == "allow"
    assert decide([ins], p, Context(user="intern7"))[0].rule_id == "interns-read-only"
    assert decide([ins], p, Context(actor="agent:copilot"))[0].rule_id == "agent-approval"
    assert p.may("may_approve", "gina") and not p.may("may_approve", "bob")


def test_audit_mode_logs_instead_of_blocking(tmp_path):
    p = load(write(tmp_path, "extends: default\nmode: audit\n"))
    (v,) = decide([Intent("sql.drop", "table", "customers")], p, Context())
    assert v.decision == "warn" and v.rule_id == "destructive-ddl" and v.reason.startswith("would block")


@pytest.mark.parametrize("module", ["jupyter_guard.policy.rules", "jupyter_guard.policy.decide",
                                    "jupyter_guard.policy.model", "jupyter_guard.analyze.where",
                                    "jupyter_guard.analyze.sql", "jupyter_guard.analyze.pysinks",
                                    "jupyter_guard.analyze.python", "jupyter_guard.model"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0


def test_analysis_and_policy_import_neither_ipython_nor_duckdb():
    import ast

    root = Path(__file__).resolve().parents[2] / "jupyter_guard"
    for folder in ("analyze", "policy"):
        for f in (root / folder).glob("*.py"):
            for node in ast.walk(ast.parse(f.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                assert not any(n.split(".")[0] in ("IPython", "duckdb") for n in names), (f, names)


def test_a_policy_path_that_is_not_a_regular_file_is_refused_without_reading_it(tmp_path):
    """A FIFO would block the kernel's start and /dev/zero would never end: neither is read."""
    import os

    fifo = tmp_path / "policy.fifo"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero"), tmp_path):
        p = load_or_refuse(path)
        assert p.errors and "not a regular file" in p.errors[0], p.errors
        (v,) = decide([Intent("sql.select", "table", "t")], p, Context())
        assert v.rule_id == "guard-error"


def test_aliases_may_share_a_list_within_bounds(tmp_path):
    p = load(write(tmp_path, "extends: default\nnetwork:\n  allow_hosts: &team [ana, bo]\n"
                             "roles:\n  stewards:\n    users: *team\n    may_unmask: true\n"))
    assert p.allow_hosts == ("ana", "bo")
    assert [r.users for r in p.roles if r.name == "stewards"] == [("ana", "bo")]
