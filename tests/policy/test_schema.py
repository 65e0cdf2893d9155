"""The policy JSON Schema: generated from the validator's tables, shipped as a file, and agreeing
with the validator on what is a valid policy."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from jupyter_guard.policy.load import PolicyError, load
from jupyter_guard.policy.schema import policy_schema

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "jupyter_guard" / "schemas" / "policy.v1.json"


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SHIPPED.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_shipped_file_is_the_generated_schema():
    assert json.loads(SHIPPED.read_text()) == policy_schema(), (
        "regenerate: jupyter guard policy schema > jupyter_guard/schemas/policy.v1.json")


def test_cli_prints_the_schema():
    out = subprocess.run([sys.executable, "-m", "jupyter_guard.cli", "policy", "schema"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert json.loads(out) == policy_schema()


def _policy_files() -> list[Path]:
    return sorted((ROOT / "policies").glob("*.yaml")) + sorted(
        (ROOT / "notebooks").glob("**/*.yaml")) + sorted((ROOT / "docs").glob("**/*.yaml"))


@pytest.mark.parametrize("path", _policy_files(), ids=lambda p: p.name)
def test_shipped_policies_are_valid_under_the_schema(path):
    load(path)   # the validator accepts it
    errors = [e.message for e in _validator().iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


VALID = [
    "mode: audit\nmax_affected_rows: 50\n",
    "sensitive:\n  columns: ['*ssn*']\n  detectors: [email, ssn]\n  strategy: hash\n"
    "  per_column: {'*email*': redact}\n  min_group_size: 10\n  inference: warn\n",
    "roles:\n  lead: {users: [gina], groups: [leads], may_unmask: true, may_approve: true}\n",
    "rules:\n  - id: no-prod\n    match: {connections: ['*prod*'], sql: [delete, update]}\n"
    "    action: approval\n    message: ask first\n",
    "audit: {on_failure: warn}\nchildren: {allow_unread: [make, git]}\n",
    "openlineage: {transport: {type: console}}\nexfiltration: {max_sensitive_values_per_cell: 5}\n",
    "network: {allow_hosts: [api.example.com]}\nprotected_paths: ['data/**']\nsql: {allow_extensions: [json]}\n",
]

INVALID = [
    "mode: enforse\n",
    "colour: blue\n",
    "sensitive:\n  strategy: blur\n",
    "sensitive:\n  detectors: [emial]\n",
    "sensitive:\n  colums: ['*ssn*']\n",
    "rules:\n  - id: a\n    match: {sql: [insrt]}\n",
    "rules:\n  - id: a\n    match: {sql: [insert]}\n    action: blok\n",
    "rules:\n  - id: a\n    match: {tabels: [x]}\n",
    "rules:\n  - id: a\n    match: {}\n",
    "rules:\n  - id: a\n    match: {sql: [insert]}\n    colour: red\n",
    "roles:\n  lead: {userz: [gina]}\n",
    "max_affected_rows: -1\n",
    "session_window_minutes: 0\n",
    "audit: {on_failure: ignore}\n",
    "children: {allow: [make]}\n",
    "exfiltration: {max_values: 3}\n",
    "sensitive:\n  hashed_ids: maybe\n",
    "openlineage: {transport: console}\n",
    "version: 2\n",
]


def _validator_accepts(tmp_path: Path, text: str) -> bool:
    p = tmp_path / "p.yaml"
    p.write_text(text)
    try:
        load(p)
    except PolicyError:
        return False
    return True


@pytest.mark.parametrize("text", VALID)
def test_valid_policies_pass_both(tmp_path, text):
    assert _validator_accepts(tmp_path, text)
    assert list(_validator().iter_errors(yaml.safe_load(text))) == []


@pytest.mark.parametrize("text", INVALID)
def test_invalid_policies_fail_both(tmp_path, text):
    assert not _validator_accepts(tmp_path, text)
    assert list(_validator().iter_errors(yaml.safe_load(text))) != []
