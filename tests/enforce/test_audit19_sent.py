"""Refusals of ``kernel.sent_pieces`` are in the audit: a known value sent a few characters a
message over a channel no person reads (a comm, a made-up message type, a widget ``Label``)
refuses the sending call and writes one ``blocked`` event with rule ``exfiltration``, in the
cell it happened in (or in the session with no cell, for a widget callback the front end ran),
as the user who ran it, its reason naming the channel and the message type. No raw value
reaches the audit store (DuckDB tables and journals); ``jupyter guard verify`` passes. Benign
twin: 1,000 progress messages over a comm write no refusal. ``mode: audit`` lets the call pass
and records a ``warn``; a full disk under ``audit.on_failure: warn`` still refuses the call and
the event arrives once the disk has room.

Read by effect: the events are read with plain SQL from the DuckDB audit file after an ingest.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from jupyter_guard.record import ingest
from tests.conftest import mounted_tmpfs
from tests.enforce.test_red15c_corpus import SETUP
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

SSNS = [f"{100000000 + n:09d}" for n in range(60)]
EMAILS = [f"user{n}@example.com" for n in range(60)]
USER = "ada19"
SEND = ("k = get_ipython().kernel\n"
        "def send(kind, content, **kw):\n"
        "    k.session.send(k.iopub_socket, kind, content, parent=k.get_parent(), **kw)\n")
ATTACKS = {
    "comm-chars": ("S", 11, "from comm import create_comm\nc = create_comm(target_name='a19')\n"
                   "for ch in v:\n    c.send({'t': ch})", "'comm_msg'"),
    "made-up-type": ("E", 12, SEND + "for ch in v:\n    send('x_progress', {'text': ch})",
                     "a made-up type (its name is not recorded)"),
    "widget-label": ("S", 13, "import ipywidgets as w\nl = w.Label('x')\ndisplay(l)\n"
                     "for ch in v:\n    l.value = ch\n    l.value = ''", "'comm_msg'"),
}
COLUMNS = ("event_id, session_id, user_name, cell_id, execution_count, kind, code, decision, "
           "rule_id, reason, status")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kernel, Path]]:
    cwd = tmp_path_factory.mktemp("audit19")
    with guarded_kernel(cwd, {"JUPYTER_GUARD_USER": USER}, warehouse=200, connect=True) as k:
        k.ok(SETUP)
        yield k, cwd / "audit.duckdb"


def events(audit: Path, where: str = "TRUE") -> list[dict[str, Any]]:
    ingest(str(audit))
    con = duckdb.connect(str(audit), read_only=True)
    try:
        cur = con.execute(f"SELECT {COLUMNS} FROM events WHERE {where} ORDER BY seq")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()


def wait_for(audit: Path, where: str, timeout: float = 60) -> list[dict[str, Any]]:
    """The events matching ``where`` once there is one (the journal is written beside the
    kernel's own ingest: waited on, never slept for)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(duckdb.IOException):
            found = events(audit, where)
            if found:
                return found
        assert time.monotonic() < deadline, f"no event where {where}: {events(audit)[-5:]}"
        time.sleep(0.1)


def refusals(audit: Path) -> list[dict[str, Any]]:
    return events(audit, "rule_id = 'exfiltration' AND kind = 'runtime'")


def no_raw_values(audit: Path) -> None:
    """No SSN or e-mail of the warehouse's first 60 customers in any table of the audit file
    (every column read as text) nor in any byte of its journals."""
    ingest(str(audit))
    con = duckdb.connect(str(audit), read_only=True)
    texts = []
    try:
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
            texts += [str(r) for r in con.execute(f'SELECT * FROM "{table}"').fetchall()]
    finally:
        con.close()
    files = [p for p in audit.parent.rglob("*")
             if p.is_file() and (p.name.startswith("audit") or ".journal" in str(p))]
    blobs = "\n".join(texts) + "".join(p.read_bytes().decode("latin-1") for p in files)
    hits = [v for v in SSNS + EMAILS if v in blobs]
    assert not hits, hits[:3]
    assert len(texts) > 10 and any(".journal" in str(p) for p in files)


@pytest.mark.parametrize("name", list(ATTACKS))
def test_a_refused_message_is_an_exfiltration_event_of_its_cell(home: tuple[Kernel, Path],
                                                                 name: str) -> None:
    k, audit = home
    var, n, code, named = ATTACKS[name]
    cell = f"audit19-{name}"
    r = k.run(f"v = {var}[{n}]\n" + code, metadata={"cellId": cell})
    assert r.status == "error" and "[exfiltration]" in r.everything(), r.everything()
    (row,) = wait_for(audit, f"cell_id = '{cell}' AND rule_id = 'exfiltration'")
    (own,) = events(audit, f"cell_id = '{cell}' AND kind <> 'runtime'")
    assert (row["decision"], row["status"], row["kind"]) == ("block", "blocked", "runtime")
    assert row["execution_count"] == r.reply["execution_count"] == own["execution_count"]
    assert row["user_name"] == USER and row["session_id"] == own["session_id"]
    assert f"{named} message on the iopub channel" in row["reason"], row
    assert "iopub" in row["code"] and named in row["code"], row


def test_a_widget_callback_refusal_is_recorded_in_the_session_with_no_cell(
        home: tuple[Kernel, Path]) -> None:
    """The front end moves a widget: its callback (no cell runs) spells a value a character a
    comm message; the refusal is the session's, with no cell."""
    k, audit = home
    r = k.ok("from comm import create_comm\ncb = create_comm(target_name='cb19')\n"
             "v = S[14]\ndef on(msg):\n    for ch in v:\n        cb.send({'t': ch})\n"
             "cb.on_msg(on)\nprint(cb.comm_id)", metadata={"cellId": "audit19-callback"})
    comm_id = r.text.strip().splitlines()[-1]
    (own,) = wait_for(audit, "cell_id = 'audit19-callback'")
    before = len(refusals(audit))
    msg = k.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": {"go": 1}})
    k.kc.shell_channel.send(msg)
    found = wait_for(audit, "rule_id = 'exfiltration' AND kind = 'runtime' "
                            "AND seq > (SELECT max(seq) FROM events WHERE cell_id = "
                            "'audit19-callback')")
    assert len(refusals(audit)) == before + 1
    (row,) = found
    assert (row["decision"], row["status"]) == ("block", "blocked")
    assert row["cell_id"] == "" and row["execution_count"] is None, row
    assert row["session_id"] == own["session_id"] and row["user_name"] == USER
    assert "'comm_msg' message on the iopub channel" in row["reason"], row


def test_names_the_cell_chose_are_not_written_into_the_audit(
        home: tuple[Kernel, Path]) -> None:
    """Red team 20: a stream whose class is named with the value, and a made-up type named with
    the value spelt in letters (``0`` -> ``a``), sending the value a character a message. The
    call is refused and recorded, and neither name (raw or in letters) reaches the audit."""
    k, audit = home
    letters = "".join("abcdefghij"[int(c)] for c in SSNS[19])
    r = k.run("v = S[18]\nkk = get_ipython().kernel\n"
              "class Fake:\n    def send_multipart(self, *a, **kw):\n        pass\n"
              "fs = type(v, (Fake,), {})()\n"
              "for ch in v:\n    kk.session.send(fs, 'x_p', {'text': ch}, parent=kk.get_parent())\n",
              metadata={"cellId": "audit20-class"})
    assert r.status == "error" and "[exfiltration]" in r.everything(), r.everything()
    r = k.run(SEND + "v = S[19]\nkind = 'q' + ''.join('abcdefghij'[int(c)] for c in v)\n"
              "for ch in v:\n    send(kind, {'text': ch})",
              metadata={"cellId": "audit20-type"})
    assert r.status == "error" and "[exfiltration]" in r.everything(), r.everything()
    (row,) = wait_for(audit, "cell_id = 'audit20-class' AND rule_id = 'exfiltration'")
    assert "message on a stream that is no kernel channel" in row["reason"], row
    (row,) = wait_for(audit, "cell_id = 'audit20-type' AND rule_id = 'exfiltration'")
    assert "a made-up type (its name is not recorded)" in row["reason"], row
    no_raw_values(audit)
    con = duckdb.connect(str(audit), read_only=True)
    try:
        texts = [str(r) for (t,) in con.execute("SELECT table_name FROM duckdb_tables()")
                 .fetchall() for r in con.execute(f'SELECT * FROM "{t}"').fetchall()]
    finally:
        con.close()
    journals = "".join(p.read_bytes().decode("latin-1") for p in audit.parent.rglob("*")
                       if p.is_file() and ".journal" in str(p))
    assert letters not in "\n".join(texts) + journals


def test_a_thousand_progress_messages_write_no_refusal(home: tuple[Kernel, Path]) -> None:
    k, audit = home
    before = refusals(audit)
    r = k.ok("from comm import create_comm\nc = create_comm(target_name='p19')\n"
             "for i in range(1000):\n    c.send({'done': i, 'of': 1000})",
             metadata={"cellId": "audit19-progress"})
    assert r.status == "ok"
    (own,) = wait_for(audit, "cell_id = 'audit19-progress' AND status = 'ok'")
    assert own["decision"] == "allow"
    assert refusals(audit) == before


def test_the_audit_verifies_and_holds_no_raw_value(home: tuple[Kernel, Path]) -> None:
    """After a refusal of its own (and those of the tests above, when they ran first)."""
    k, audit = home
    r = k.run("v = E[17]\n" + ATTACKS["widget-label"][2], metadata={"cellId": "audit19-verify"})
    assert r.status == "error" and "[exfiltration]" in r.everything(), r.everything()
    wait_for(audit, "cell_id = 'audit19-verify' AND rule_id = 'exfiltration'")
    no_raw_values(audit)
    env = {**os.environ, "JUPYTER_GUARD_AUDIT": str(audit)}
    done = subprocess.run([sys.executable, "-m", "jupyter_guard.cli", "verify"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_audit_mode_lets_the_message_pass_masked_and_records_a_warning(
        tmp_path: Path) -> None:
    with guarded_kernel(tmp_path, {"JUPYTER_GUARD_USER": USER}, warehouse=200, connect=True,
                        policy="extends: default\nmode: audit\n") as k:
        k.ok(SETUP)
        r = k.run("v = S[15]\n" + ATTACKS["comm-chars"][2], metadata={"cellId": "audit19-am"})
        assert r.status == "ok", r.everything()
        comms = [m["content"] for m in r.messages if m["msg_type"] == "comm_msg"]
        sent = json.dumps(comms, ensure_ascii=False)
        assert len(comms) == 9 and "█" in sent, sent
        assert SSNS[15] not in re.sub(r"\D", "", sent), sent
        audit = tmp_path / "audit.duckdb"
        rows = wait_for(audit, "cell_id = 'audit19-am' AND rule_id = 'exfiltration'")
        for row in rows:   # (each message that would have been refused: one or more)
            assert (row["decision"], row["kind"], row["user_name"]) == (
                "warn", "runtime", USER), row
            assert "'comm_msg' message on the iopub channel" in row["reason"], row
        assert not events(audit, "cell_id = 'audit19-am' AND decision = 'block'")
        no_raw_values(audit)


def test_a_refusal_the_audit_cannot_write_yet_still_refuses_and_arrives_later(
        tmp_path: Path) -> None:
    """``audit.on_failure: warn`` on a full disk: cells run, the refused call is still refused,
    and its event is in the store once the disk has room again."""
    gen = mounted_tmpfs(tmp_path / "mnt", "24m")
    mnt = next(gen)
    try:
        audit = mnt / "audit.duckdb"
        with guarded_kernel(tmp_path, {"JUPYTER_GUARD_AUDIT": str(audit),
                                       "JUPYTER_GUARD_USER": USER,
                                       "XDG_STATE_HOME": str(tmp_path / "state")}, warehouse=200,
                            connect=True, policy="extends: default\n"
                                                 "audit: {on_failure: warn}\n") as k:
            k.ok(SETUP)
            wait_for(audit, "TRUE")
            filler = mnt / "filler"
            with open(filler, "wb") as f, contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            told = ""
            for i in range(40):   # until the journal has failed (its buffer fills first)
                told += k.run(f"x{i} = {i}").text
                if "cannot be written" in told:
                    break
            assert "cannot be written" in told, told[-500:]
            r = k.run("v = S[16]\n" + ATTACKS["comm-chars"][2],
                      metadata={"cellId": "audit19-full"})
            assert r.status == "error" and "[exfiltration]" in r.everything(), r.everything()
            filler.unlink()
            assert k.run("after = 1").status == "ok"
            (row,) = wait_for(audit, "cell_id = 'audit19-full' AND rule_id = 'exfiltration'")
            assert (row["decision"], row["status"]) == ("block", "blocked")
    finally:
        with contextlib.suppress(StopIteration):
            next(gen)
