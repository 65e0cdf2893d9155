"""A refused cell learns from the ingest hint, without DuckDB, whether an approval can exist."""
from __future__ import annotations

import hashlib
from pathlib import Path

from jupyter_guard.record import AuditLog, decide_approval, find_approval, ingest
from jupyter_guard.record.approvals import maybe_approved

CODE = "DROP TABLE customers"
SHA = hashlib.sha256(CODE.encode()).hexdigest()


def _refused(log: AuditLog) -> str:
    return log.begin(user="ada", actor="human", notebook="n", cell_id="c1", execution_count=1,
                     kind="sql", code=CODE, decision="block", rule_id="destructive-ddl",
                     reason="drop", status="blocked")


def test_no_approval_is_known_without_the_store(audit: Path) -> None:
    log = AuditLog(audit, background=False)
    event = _refused(log)
    ingest(audit)
    assert not maybe_approved(audit, user="ada", code_sha256=SHA)
    request = log.request_approval(event, requested_by="ada", code=CODE, reason="please")
    ingest(audit)
    assert not maybe_approved(audit, user="ada", code_sha256=SHA)   # pending is not approved
    decide_approval(audit, request, decided_by="gina", verdict="approved")
    assert maybe_approved(audit, user="ada", code_sha256=SHA)       # at once, no ingest between
    assert find_approval(audit, user="ada", code_sha256=SHA) is not None
    assert not maybe_approved(audit, user="bob", code_sha256=SHA)
    assert not maybe_approved(audit, user="ada", code_sha256=hashlib.sha256(b"x").hexdigest())
    log.use_approval(request)
    ingest(audit)
    assert not maybe_approved(audit, user="ada", code_sha256=SHA)   # spent once
    log.close()


def test_a_missing_hint_sends_the_lookup_to_the_store(audit: Path) -> None:
    log = AuditLog(audit, background=False)
    _refused(log)
    ingest(audit)
    assert not maybe_approved(audit, user="ada", code_sha256=SHA)
    Path(f"{audit}.ingested.json").unlink()
    assert maybe_approved(audit, user="ada", code_sha256=SHA)
    log.close()
