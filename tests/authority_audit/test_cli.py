"""``jupyter guard verify --authority DIR``: OK on the honest ledger, exit 1 naming the tamper
form otherwise, a saved checkpoint catching a rollback; exit 2 without the authority's key."""
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
    assert guard("verify", "--authority", folder).returncode == 0   # its own checkpoints agree
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
