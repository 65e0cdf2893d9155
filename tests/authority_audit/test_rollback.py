"""Local mode rollback (events deleted together with their own checkpoints) is caught without
``--checkpoint`` when the checkpoint log is a file its owner may only append to: made
append-only (``chattr +a``), it cannot be truncated, rewritten or deleted, even by root, and a
line appended to it cannot hide a newer signed checkpoint."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_guard.authority_audit.cplog import LOG_ENV
from jupyter_guard.authority_audit.service import AuditAuthority
from tests.authority_audit.conftest import fill


@pytest.fixture()
def append_only(tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "var-log" / "checkpoints.jsonl"
    log.parent.mkdir()
    log.touch()
    made = subprocess.run(["chattr", "+a", str(log)], capture_output=True, text=True)
    if made.returncode:
        pytest.skip(f"no append-only files here (chattr +a: {made.stderr.strip()})")
    try:
        yield log
    finally:
        subprocess.run(["chattr", "-a", str(log)], capture_output=True)


def test_rollback_with_its_checkpoints_is_caught_by_an_append_only_log(
        tmp_path: Path, append_only: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOG_ENV, str(append_only))
    folder = tmp_path / "authority"
    auth = AuditAuthority.open(str(folder))
    fill(auth)
    assert len(append_only.read_text().splitlines()) == 4     # one line per committed batch
    con = sqlite3.connect(auth.ledger.path)   # type: ignore[attr-defined]
    con.execute("DELETE FROM events WHERE gseq > 9")           # the owner rolls back the ledger
    con.execute("DELETE FROM checkpoints WHERE gseq > 9")      # with its own checkpoints
    con.commit()
    con.close()
    # ...and cannot roll back the log: not rewritten, not truncated, not deleted
    for act in (lambda: open(append_only, "w").close(), lambda: os.truncate(append_only, 0),
                lambda: os.unlink(append_only)):
        with pytest.raises(PermissionError):
            act()
    # appending an older signed checkpoint (the owner holds the key in local mode) hides nothing
    old = auth.ledger.checkpoints()[-1]
    with open(append_only, "a") as fh:
        fh.write(json.dumps({"body": old[1], "signature": old[2]}) + "\n")
    r = subprocess.run([sys.executable, "-m", "jupyter_guard.cli", "verify", "--authority",
                        str(folder), "--format", "json"], capture_output=True, text=True,
                       timeout=300, env={**os.environ, LOG_ENV: str(append_only)})
    assert r.returncode == 1, r.stderr
    problems = json.loads(r.stdout)["problems"]
    assert {p["form"] for p in problems} == {"truncated", "deleted"}, problems
    assert any("signed checkpoint says 12" in p["detail"] for p in problems), problems
