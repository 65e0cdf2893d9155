"""``jupyter guard verify --authority DIR``: OK on the honest ledger, exit 1 naming the tamper
form otherwise, the checkpoint log or a saved checkpoint catching a rollback; exit 2 without the
authority's key."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from jupyter_guard.authority_audit.service import AuditAuthority
from tests.authority_audit.conftest import fill


def guard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jupyter_guard.cli", *args],
                          capture_output=True, text=True, timeout=300)


def test_verify_authority_cli(authority: AuditAuthority, tmp_path: Path) -> None:
    fill(authority)
    folder = str(tmp_path / "authority")
    r = guard("verify", "--authority", folder)
    assert r.returncode == 0 and "OK" in r.stdout and "12 events" in r.stdout, r.stderr
    saved = tmp_path / "cp.json"
    saved.write_text(json.dumps(authority.latest_checkpoint()))
    con = sqlite3.connect(authority.ledger.path)   # type: ignore[attr-defined]
    con.execute("DELETE FROM events WHERE gseq > 9")
    con.execute("DELETE FROM checkpoints WHERE gseq > 9")
    con.commit()
    con.close()
    # the ledger's own checkpoints agree, but the checkpoint log kept beside it does not
    r = guard("verify", "--authority", folder, "--format", "json")
    assert r.returncode == 1, r.stderr
    assert {p["form"] for p in json.loads(r.stdout)["problems"]} == {"truncated", "deleted"}
    # the log rolled back too (its owner may rewrite it here): only a checkpoint kept
    # elsewhere catches it (or a log the owner may only append to: test_rollback.py)
    log = Path(folder) / "audit-checkpoints.jsonl"
    log.write_text("".join(line + "\n" for line in log.read_text().splitlines()
                           if json.loads(json.loads(line)["body"])["gseq"] <= 9))
    assert guard("verify", "--authority", folder).returncode == 0
    r = guard("verify", "--authority", folder, "--checkpoint", str(saved), "--format", "json")
    assert r.returncode == 1, r.stderr
    assert {p["form"] for p in json.loads(r.stdout)["problems"]} == {"truncated", "deleted"}
    con = sqlite3.connect(authority.ledger.path)   # type: ignore[attr-defined]
    con.execute("UPDATE events SET body = replace(body, 'x = 2', 'x = 7') WHERE gseq = 2")
    con.commit()
    con.close()
    r = guard("verify", "--authority", folder)
    assert r.returncode == 1 and "edited: event 2" in r.stderr, r.stderr


def test_verify_authority_without_key(tmp_path: Path) -> None:
    r = guard("verify", "--authority", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "no audit MAC key" in r.stderr
