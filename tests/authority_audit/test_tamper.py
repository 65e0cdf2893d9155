"""Every tamper form against the authority's ledger is found by ``verify`` and named; the honest
ledger verifies. The tampering is done as the ledger file's owner would: plain SQL on it."""
from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from jupyter_guard.authority_audit.mac import canonical, load_or_create_key, unkeyed
from jupyter_guard.authority_audit.service import AuditAuthority
from jupyter_guard.authority_audit.verify import verify
from tests.authority_audit.conftest import ALICE, event, fill


def check(auth: AuditAuthority) -> set[str]:
    folder = str(Path(auth.ledger.path).parent)   # type: ignore[attr-defined]
    res = verify(auth.ledger, load_or_create_key(folder), auth.public_key)
    return set() if res.ok else res.forms() | {str(p) for p in res.problems}


def sql(auth: AuditAuthority, *statements: str) -> None:
    con = sqlite3.connect(auth.ledger.path)   # type: ignore[attr-defined]
    for s in statements:
        con.execute(s)
    con.commit()
    con.close()


def test_honest_ledger_verifies(authority: AuditAuthority) -> None:
    fill(authority)
    folder = str(Path(authority.ledger.path).parent)   # type: ignore[attr-defined]
    res = verify(authority.ledger, load_or_create_key(folder), authority.public_key)
    assert res.ok, res.problems
    assert res.events == 12 and res.checkpoint_gseq == 12


def test_resend_is_idempotent(authority: AuditAuthority) -> None:
    batch = [event("s-a", n=i) for i in range(3)]
    assert authority.receive(ALICE, batch) == [e["event_id"] for e in batch]
    assert authority.receive(ALICE, batch + [event("s-a", n=9)])[:3] == [e["event_id"]
                                                                          for e in batch]
    assert [r.gseq for r in authority.ledger.rows()] == [1, 2, 3, 4]
    assert check(authority) == set()


def test_edited_event(authority: AuditAuthority) -> None:
    fill(authority)
    sql(authority, "UPDATE events SET body = replace(body, '\"decision\":\"allow\"', "
        "'\"decision\":\"block\"') WHERE gseq = 5")
    assert "edited" in check(authority)


def test_edited_column_only(authority: AuditAuthority) -> None:
    fill(authority)
    sql(authority, "UPDATE events SET user_name = 'carol' WHERE gseq = 2")
    assert "edited" in check(authority)


def test_reordered_events(authority: AuditAuthority) -> None:
    fill(authority)
    sql(authority, "UPDATE events SET gseq = -4 WHERE gseq = 4",
        "UPDATE events SET gseq = 4 WHERE gseq = 5", "UPDATE events SET gseq = 5 WHERE gseq = -4")
    assert "reordered" in check(authority)


def test_deleted_event(authority: AuditAuthority) -> None:
    fill(authority)
    sql(authority, "DELETE FROM events WHERE gseq = 6")
    got = check(authority)
    assert "deleted" in got and "deleted: events 6..6 are missing" in got


def test_truncated_tail(authority: AuditAuthority) -> None:
    fill(authority)
    sql(authority, "DELETE FROM events WHERE gseq > 10")
    got = check(authority)
    assert "truncated" in got


def test_deleted_whole_session(authority: AuditAuthority) -> None:
    fill(authority)
    sql(authority, "DELETE FROM events WHERE session_id = 's-b'")
    got = check(authority)
    assert any(p.startswith("deleted: deleted session s-b") for p in got), got


def test_deleted_session_and_renumbered(authority: AuditAuthority) -> None:
    """The gap closed by renumbering the rest: the MACs (over gseq) and the checkpoint catch it."""
    fill(authority)
    sql(authority, "DELETE FROM events WHERE session_id = 's-c'")
    got = check(authority)
    assert "truncated" in got and any("deleted session s-c" in p for p in got)


def test_forged_event_appended(authority: AuditAuthority) -> None:
    fill(authority)
    body = canonical({**event("s-a", "bob", n=99), "gseq": 13})
    sql(authority, f"INSERT INTO events VALUES (13, 'forged1', 's-a', 6, 'bob', 'k-alice', 0, "
        f"'{body}', 'x', '{'0' * 64}')")
    assert "forged" in check(authority)


def test_forged_duplicate_seq(authority: AuditAuthority) -> None:
    """A second row cannot share a gseq (primary key): the forger replaces one instead."""
    fill(authority)
    body = canonical({**event("s-a", "bob", n=99), "gseq": 3})
    sql(authority, "DELETE FROM events WHERE gseq = 3",
        f"INSERT INTO events VALUES (3, 'forged2', 's-a', 3, 'bob', 'k-alice', 0, '{body}', "
        f"'x', '{'0' * 64}')")
    assert "edited" in check(authority)   # in the signed range: a replaced event


def test_recomputed_unkeyed_chain(authority: AuditAuthority) -> None:
    fill(authority)
    con = sqlite3.connect(authority.ledger.path)   # type: ignore[attr-defined]
    prev = ""
    for gseq, body in con.execute("SELECT gseq, body FROM events ORDER BY gseq").fetchall():
        rec = json.loads(body)
        rec["user_name"] = "mallory" if rec["user_name"] == "bob" else rec["user_name"]
        new = canonical(rec)
        h = unkeyed(gseq, prev, new)
        con.execute("UPDATE events SET body = ?, prev_mac = ?, mac = ?, user_name = ? "
                    "WHERE gseq = ?", [new, prev, h, rec["user_name"], gseq])
        prev = h
    con.commit()
    con.close()
    assert "recomputed" in check(authority)
    assert hashlib.sha256(b"").hexdigest()   # (the forger's tool: plain SHA-256)


def test_forged_checkpoint(authority: AuditAuthority) -> None:
    fill(authority)
    body = canonical({"v": 1, "gseq": 3, "mac": "", "count": 3, "sessions": {}, "at": 0})
    sql(authority, "DELETE FROM events WHERE gseq > 3",
        f"INSERT INTO checkpoints VALUES (99, '{body}', 'AAAA')")
    got = check(authority)
    assert "forged" in got and "truncated" in got


def test_rolled_back_with_its_checkpoints(authority: AuditAuthority) -> None:
    """The owner deletes the tail and the checkpoints that signed it: a checkpoint governance
    kept outside the ledger still catches it."""
    fill(authority)
    kept = authority.latest_checkpoint()
    assert kept is not None
    sql(authority, "DELETE FROM events WHERE gseq > 7", "DELETE FROM checkpoints WHERE gseq > 7")
    folder = str(Path(authority.ledger.path).parent)   # type: ignore[attr-defined]
    key = load_or_create_key(folder)
    assert verify(authority.ledger, key, authority.public_key).ok   # alone, it cannot tell
    res = verify(authority.ledger, key, authority.public_key,
                 [(kept["body"], kept["signature"])])
    assert "truncated" in res.forms()


@pytest.mark.parametrize("claimed", ["bob", "root", ""])
def test_identity_is_the_authoritys(authority: AuditAuthority, claimed: str) -> None:
    authority.receive(ALICE, [event("s-a", user=claimed)])
    (row,) = list(authority.ledger.rows())
    assert row.user_name == "alice"
    assert json.loads(row.body)["claimed_user"] == claimed
