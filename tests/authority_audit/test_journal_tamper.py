"""A user cannot make their own kernel stop sending: whatever they do to their journal (a
malformed line, a huge line, a line reusing another event's id, deleting, truncating or
rewriting the file, filling its folder with junk), the shipper skips it, keeps sending the
events written after it, and the record holds a tamper event ``verify --authority`` names.

The shipper is stepped by hand (no thread), so each test controls what was read when."""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_guard.authority_audit.mac import load_or_create_key
from jupyter_guard.authority_audit.service import AuditAuthority
from jupyter_guard.authority_audit.shipper import Shipper
from jupyter_guard.authority_audit.tail import MAX_LINE
from jupyter_guard.authority_audit.verify import verify
from jupyter_guard.record.audit import AuditLog
from tests.authority_audit.authority_proc import AuthorityProc


class Rig:
    def __init__(self, tmp: Path) -> None:
        self.folder = tmp / "authority"
        self.proc = AuthorityProc(self.folder, {"tok": {"kernel": "k1", "user": "alice"},
                                                "tok-b": {"kernel": "k2", "user": "bob"}})
        self.proc.start()
        self.log = AuditLog(tmp / "audit.duckdb", background=False)
        self.shipper = Shipper(self.log._journal, self.proc.url, "tok")
        self.journal = Path(self.log.journal_path)

    def cell(self, n: int, user: str = "alice", log: AuditLog | None = None) -> str:
        return (log or self.log).begin(
            user=user, actor="human", notebook="n", cell_id=f"c{n}", execution_count=n,
            kind="python", code=f"x = {n}", decision="block", rule_id="r", reason="",
            status="blocked")

    def cells(self, start: int, count: int) -> list[str]:
        return [self.cell(n) for n in range(start, start + count)]

    def append(self, data: bytes) -> None:
        with open(self.journal, "ab") as f:   # the user writes to their own journal
            f.write(data)

    def ship(self, want: set[str], form: str, shipper: Shipper | None = None,
             timeout: float = 120, until: Any = None) -> list[Any]:
        """Step the shipper until ``want`` are stored (and a ``form`` report); the rows."""
        auth = AuditAuthority.open(str(self.folder))
        deadline = time.monotonic() + timeout
        while True:
            done = (shipper or self.shipper).step()
            rows = list(auth.ledger.rows())
            ids = {r.event_id for r in rows}
            if done and want <= ids and (not form or form in forms(rows)) and (
                    until is None or until(rows)):
                return rows
            assert time.monotonic() < deadline, (want - ids, forms(rows),
                                                 self.shipper.last_error)
            time.sleep(0.05)

    def verified(self) -> Any:
        auth = AuditAuthority.open(str(self.folder))
        return verify(auth.ledger, load_or_create_key(str(self.folder)), auth.public_key)

    def close(self) -> None:
        self.proc.stop()
        self.log.close()


def forms(rows: list[Any]) -> set[str]:
    return {json.loads(r.body)["facts"]["tamper"] for r in rows
            if r.event_id.startswith("tamper-")}


@pytest.fixture()
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path)
    try:
        yield r
    finally:
        r.close()


def named(rig: Rig, form: str) -> None:
    res = rig.verified()
    assert res.forms() == {"journal"}, res.problems
    assert any(str(p).startswith(f"journal: {form}: alice's session") for p in res.problems), \
        res.problems


def test_a_malformed_line_is_skipped_reported_and_later_events_still_sent(rig: Rig) -> None:
    first = set(rig.cells(0, 3))
    rig.append(b"this is not json\n")
    rig.append(b'{"t": "begin", "event_id": 7, "session_id": "s"}\n')   # JSON, not an event
    rig.append(b"[1, 2, 3]\n")
    later = set(rig.cells(3, 3))
    rows = rig.ship(first | later, "malformed")
    assert len([r for r in rows if not r.event_id.startswith("tamper-")]) == 6
    told = [json.loads(r.body) for r in rows if r.event_id.startswith("tamper-")]
    assert told[0]["user_name"] == "alice" and "3 line(s)" in told[0]["reason"], told
    named(rig, "malformed")


def test_a_huge_line_is_skipped_without_reading_it_whole(rig: Rig) -> None:
    first = set(rig.cells(0, 2))
    rig.append(b'{"t": "begin", "code": "' + b"x" * (MAX_LINE + 1000) + b'"}\n')
    later = set(rig.cells(2, 2))
    rows = rig.ship(first | later, "oversized")
    assert len([r for r in rows if not r.event_id.startswith("tamper-")]) == 4
    assert max(len(r.body) for r in rows) < 10_000     # nothing of the huge line was sent
    named(rig, "oversized")


def test_a_line_reusing_another_users_event_id_changes_nothing_of_theirs(
        rig: Rig, tmp_path: Path) -> None:
    bob_log = AuditLog(tmp_path / "bob" / "audit.duckdb", background=False)
    bob = Shipper(bob_log._journal, rig.proc.url, "tok-b")
    try:
        theirs = rig.cell(1, "bob", bob_log)
        deadline = time.monotonic() + 60
        while not bob.step():
            assert time.monotonic() < deadline, bob.last_error
            time.sleep(0.05)
    finally:
        bob_log.close()
    mine = rig.cell(2)
    rig.append(json.dumps({"t": "begin", "event_id": theirs, "session_id": rig.log.session_id,
                           "user_name": "alice", "status": "ok", "kind": "python",
                           "code": "overwrite bob's event"}).encode() + b"\n")
    later = rig.cell(3)
    rows = rig.ship({theirs, mine, later}, "collision")
    by_id = {r.event_id: r for r in rows}
    assert by_id[theirs].user_name == "bob" and '"x = 1"' in by_id[theirs].body
    assert "overwrite" not in by_id[theirs].body
    told = [r for r in rows if r.event_id.startswith("tamper-collision")]
    assert [t.user_name for t in told] == ["alice"], told
    named(rig, "collision")


def test_a_deleted_journal_is_reported_and_later_events_still_sent(rig: Rig) -> None:
    first = set(rig.cells(0, 3))
    rig.ship(first, "")
    os.unlink(rig.journal)
    later: set[str] = set()
    deadline = time.monotonic() + 60
    while not rig.journal.exists():    # the guard writes it again, whole, on its next line
        assert time.monotonic() < deadline
        later.add(rig.cell(10 + len(later)))
        rig.shipper.step()
        time.sleep(0.25)
    later |= set(rig.cells(100, 2))
    rows = rig.ship(first | later, "replaced")
    assert len([r for r in rows if not r.event_id.startswith("tamper-")]) == len(first | later)
    named(rig, "replaced")


@pytest.mark.parametrize("then_write", [2, 60])
def test_a_truncated_or_rewritten_journal_is_reported_and_read_again(rig: Rig,
                                                                     then_write: int) -> None:
    sent = set(rig.cells(0, 10))
    rig.ship(sent, "")
    unread = set(rig.cells(10, 2))          # written, not yet read by the shipper...
    with open(rig.journal, "r+b") as f:     # ...when the user cuts the file
        f.truncate(0)
    later = set(rig.cells(20, then_write))  # few lines (shorter than before) or many (longer)
    form = "truncated" if then_write == 2 else "rewritten"
    rows = rig.ship(sent | later, form)
    ids = {r.event_id for r in rows}
    assert not unread & ids                 # destroyed before they were read: gone, and said
    assert len([i for i in ids if not i.startswith("tamper-")]) == len(sent | later)
    named(rig, form)


def test_a_journal_folder_filled_with_junk_does_not_stop_sending(rig: Rig) -> None:
    folder = rig.journal.parent
    first = set(rig.cells(0, 2))
    for i in range(3000):
        (folder / f"junk-{i}.jsonl").write_bytes(b"garbage\n")
    (folder / "huge-header.jsonl").write_bytes(b"x" * (4 << 20))   # no line end at all
    head = {"t": "head", "v": 1, "session_id": "fake", "parent_session": rig.log.session_id}
    (folder / "fake.jsonl").write_bytes(json.dumps(head).encode() + b"\nnot an event\n")
    later = set(rig.cells(2, 2))
    t0 = time.monotonic()

    def junk(rows: list[Any]) -> int:
        return sum(int(json.loads(r.body)["reason"].split()[0]) for r in rows
                   if "tamper-junk" in r.event_id)

    rig.ship(first | later, "junk")                 # the later events do not wait on the junk
    assert time.monotonic() - t0 < 60
    # the whole folder is looked at, over several steps; the fake child's bad line is reported
    rig.ship(first | later, "malformed", until=lambda rows: junk(rows) >= 3001)
    for path in folder.glob("junk-*.jsonl"):   # the local store's own close is not tested here
        path.unlink()
    named(rig, "junk")


def test_an_ended_child_journal_removed_after_it_was_read_is_no_tamper(rig: Rig) -> None:
    """The benign twin of ``missing``: the local ingest moves an ended child's journal aside and
    deletes it once stored; read to its end before, that is no loss and nothing is reported."""
    folder = rig.journal.parent
    head = {"t": "head", "v": 1, "session_id": "child", "parent_session": rig.log.session_id}
    line = {"t": "begin", "event_id": "child-1", "session_id": "child", "user_name": "alice",
            "kind": "python", "code": "x = 99", "decision": "block", "status": "blocked"}
    (folder / "child.jsonl").write_text(json.dumps(head) + "\n" + json.dumps(line) + "\n")
    mine = set(rig.cells(0, 2))
    rig.ship(mine | {"child-1"}, "")
    (folder / "ingested").mkdir(exist_ok=True)
    os.rename(folder / "child.jsonl", folder / "ingested" / "child.jsonl")
    rig.shipper.step()
    (folder / "ingested" / "child.jsonl").unlink()
    later = set(rig.cells(2, 2))
    rows = rig.ship(mine | later | {"child-1"}, "")
    assert not forms(rows), forms(rows)
    assert rig.verified().ok
