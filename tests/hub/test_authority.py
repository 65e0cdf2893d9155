"""The hub service's decisions without a hub: a real key and store in a private folder. Every
record speaks for the caller the hub named, never for a name in the request body."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from jupyter_guard import grants
from jupyter_guard.authority import Verifier, code_hash
from jupyter_guard.hub.authority import Authority, Caller, Refused, private_folder

POLICY = """\
version: 1
extends: default
roles:
  governance: {users: [gina], groups: [dba], may_approve: true}
"""
ALICE, GINA, BOB = Caller("alice"), Caller("gina"), Caller("bob", ("dba",))
DROP = "%%guarded_sql con\nDROP TABLE customers"


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    (tmp_path / "policy.yaml").write_text(POLICY)
    return Authority(str(tmp_path / "authority"), str(tmp_path / "policy.yaml"))


def test_the_folder_and_key_are_the_services_alone(tmp_path: Path, authority: Authority) -> None:
    folder = tmp_path / "authority"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "authority.key").stat().st_mode) == 0o600
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o755)
    open_dir.chmod(0o755)
    with pytest.raises(PermissionError, match="chmod 700"):
        private_folder(str(open_dir))
    with pytest.raises(PermissionError, match="chmod 700"):
        Authority(str(open_dir))
    assert not (open_dir / "authority.key").exists()      # refused before any key is made


def test_a_stamp_names_the_caller_and_the_hubs_groups(authority: Authority) -> None:
    body = {"user": "alice", "actor": "human", "cell_id": "c1", "msg_id": "m1",
            "code_sha256": code_hash("x = 1"), "extra": {"server_event": "e1", "evil": 1}}
    signed = authority.stamp(Caller("alice", ("analysts",)), body)
    stamp = signed["stamp"]
    assert (stamp["user"], stamp["groups"], stamp["server_event"]) == ("alice", ["analysts"], "e1")
    assert "evil" not in stamp
    checked = Verifier(authority.signer.public).check(signed, "m1", "x = 1")
    assert (checked.status, checked.user, checked.groups) == ("verified", "alice", ("analysts",))
    # a server (or a cell holding its token) asking for another user's stamp gets none
    with pytest.raises(Refused, match="speaks for alice, not 'gina'") as no:
        authority.stamp(ALICE, {**body, "user": "gina"})
    assert no.value.status == 403
    no_user = {k: v for k, v in body.items() if k != "user"}
    assert authority.stamp(ALICE, no_user)["stamp"]["user"] == "alice"
    for bad in ({"code_sha256": "abc"}, {"actor": ""}, {"actor": 3}):
        with pytest.raises(Refused) as e:
            authority.stamp(ALICE, {**body, **bad})
        assert e.value.status == 400


def test_requests_are_the_callers_and_four_eyes_decide(authority: Authority) -> None:
    sent: list[tuple[str, str]] = []
    authority.notify = lambda name, req: sent.append((name, req["id"]))
    with pytest.raises(Refused, match="speaks for alice"):
        authority.create(ALICE, {"requester": "gina", "code": DROP, "msg_id": "m"})
    req = authority.create(ALICE, {"code": DROP, "msg_id": "m1", "kernel_id": "k", "rule": "r"})
    rid = req["id"]
    assert req["requester"] == "alice" and req["grant"] is None
    # alice sees only her own, gina (by name) and bob (by the hub's group) see all
    assert [r["id"] for r in authority.listing(ALICE, "all")["requests"]] == [rid]
    assert authority.listing(Caller("carl"), "all") == {"requests": [], "may_approve": False}
    assert authority.listing(BOB, "pending")["may_approve"] is True
    for who, status in ((ALICE, 403), (Caller("carl"), 403)):
        with pytest.raises(Refused) as e:
            authority.decide(who, rid, "approve", "")
        assert e.value.status == status
    with pytest.raises(Refused) as e:
        authority.decide(GINA, "nosuch", "approve", "")
    assert e.value.status == 404
    decided = authority.decide(GINA, rid, "approve", "ok")
    assert (decided["status"], decided["decided_by"]) == ("approved", "gina")
    with pytest.raises(Refused) as e:
        authority.decide(BOB, rid, "deny", "")
    assert e.value.status == 409
    # only alice's server spends alice's approval, once, for the cell it names
    body = {"code_sha256": decided["code_sha256"], "msg_id": "run1", "kernel_id": "k"}
    assert authority.spend(GINA, body) is None
    assert authority.spend(ALICE, {**body, "requester": "gina"}) is None
    got = authority.spend(ALICE, body)
    assert got is not None and got["request"]["status"] == "used"
    verifier = Verifier(authority.signer.public)
    assert grants.problem(verifier, got["grant"], user="alice",
                          code_sha256=decided["code_sha256"], msg_id="run1") == ""
    assert authority.spend(ALICE, body) is None
    assert sent == [("approval-requested", rid), ("approval-decided", rid),
                    ("approval-used", rid)]


def test_a_broken_policy_lets_nobody_approve(tmp_path: Path, authority: Authority) -> None:
    req = authority.create(ALICE, {"code": DROP, "msg_id": "m1"})
    (tmp_path / "policy.yaml").write_text("version: 1\nroles: [not, a, mapping]\n")
    os.utime(tmp_path / "policy.yaml", ns=(1, 1))
    with pytest.raises(Refused) as e:
        authority.decide(GINA, req["id"], "approve", "")
    assert e.value.status == 403


def test_expired_requests_and_approvals_are_refused_and_shown(authority: Authority) -> None:
    sent: list[str] = []
    authority.notify = lambda name, req: sent.append(name)
    now = [1_000_000.0]
    authority.store.clock = lambda: now[0]
    pending = authority.create(ALICE, {"code": DROP, "msg_id": "m1"})
    approved = authority.create(ALICE, {"code": DROP + " -- again", "msg_id": "m2"})
    authority.decide(GINA, approved["id"], "approve", "")
    now[0] += 2 * 24 * 3600.0          # past the request's day and the approval's hour
    shown = {r["id"]: r["status"] for r in authority.listing(GINA, "all")["requests"]}
    assert shown == {pending["id"]: "expired", approved["id"]: "expired"}
    assert sent.count("approval-expired") == 2
    with pytest.raises(Refused) as e:
        authority.decide(GINA, pending["id"], "approve", "")
    assert e.value.status == 409
    assert authority.spend(ALICE, {"code_sha256": approved["code_sha256"], "msg_id": "run",
                                   "kernel_id": "k"}) is None
