"""The server's approval store and the kernel's check of a signed grant, with real keys and real
files (no kernel): one right grant approves its one cell; every altered, foreign, replayed, late or
misdirected one does not. Also the webhook body and the approval event schemas."""
from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import stat
from pathlib import Path

import jsonschema
import pytest
from jupyter_events import EventLogger

from jupyter_guard import grants
from jupyter_guard.authority import Signer, Verifier, load_or_create_key
from jupyter_guard.server.approval_notify import event_data, message
from jupyter_guard.server.approval_store import ApprovalStore, Conflict, public
from jupyter_guard.server.events import register, schema_id

CODE = "con.execute('DROP TABLE orders')"
SHA = hashlib.sha256(CODE.encode()).hexdigest()


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer(load_or_create_key(str(tmp_path / "k" / "authority.key")))


@pytest.fixture
def store(tmp_path: Path, signer: Signer) -> ApprovalStore:
    return ApprovalStore(str(tmp_path / "guard" / "approvals.json"), signer)


def approved(store: ApprovalStore, msg_id: str = "m0") -> str:
    req = store.create(requester="alice", kernel_id="k1", msg_id=msg_id, code=CODE,
                       rule="destructive-ddl", reason="tidy")
    store.decide(req["id"], approver="gina", verdict="approve", lifetime_s=600)
    return str(req["id"])


def test_a_spent_grant_approves_its_one_cell_and_nothing_else(store: ApprovalStore,
                                                              signer: Signer) -> None:
    rid = approved(store)
    got = store.spend(requester="alice", code_sha256=SHA, msg_id="m1", kernel_id="k1")
    assert got is not None
    req, grant = got
    assert req["status"] == "used" and grant["decision"]["approver"] == "gina"
    assert grant["decision"] == {"type": "approval", "request_id": rid, "code_sha256": SHA,
                                 "requester": "alice", "approver": "gina",
                                 "expires_at": grant["decision"]["expires_at"], "uses": 1}
    assert store.spend(requester="alice", code_sha256=SHA, msg_id="m2", kernel_id="k1") is None
    v = Verifier(signer.public)
    ok = {"user": "alice", "code_sha256": SHA, "msg_id": "m1"}
    assert grants.problem(v, grant, **ok) == ""
    assert grants.problem(v, grant, **{**ok, "code_sha256": None}) == ""

    def edited(part: str, key: str, value: object) -> dict[str, object]:
        g = copy.deepcopy(grant)
        g[part][key] = value
        return g

    other = Verifier(Signer(load_or_create_key(str(Path(store.path).parent / "evil.key"))).public)
    cases = {
        "another cell": (grant, {**ok, "msg_id": "m2"}, "spent for another cell"),
        "another user": (grant, {**ok, "user": "mallory"}, "not mallory"),
        "other code": (grant, {**ok, "code_sha256": "0" * 64}, "other code"),
        "edited approver": (edited("decision", "approver", "boss"), ok, "not signed"),
        "edited receipt": (edited("receipt", "msg_id", "m9"), {**ok, "msg_id": "m9"},
                           "receipt not signed"),
        "two uses": (edited("decision", "uses", 2), ok, "not signed"),
        "no receipt": ({k: v for k, v in grant.items() if not k.startswith("receipt")}, ok,
                       "malformed spend receipt"),
        "not a grant": ("gina", ok, "malformed approval"),
        "extra field": (edited("decision", "admin", True), ok, "malformed approval"),
    }
    for name, (g, kw, why) in cases.items():
        assert why in grants.problem(v, g, **kw), name
    assert "not signed" in grants.problem(other, grant, **ok)
    assert "local mode" in grants.problem(None, grant, **ok)
    late = grant["decision"]["expires_at"] + 1
    assert grants.problem(v, grant, **ok, now=late) == "approval expired"


def test_the_store_decides_once_expires_and_persists_privately(
        store: ApprovalStore, signer: Signer) -> None:
    req = store.create(requester="alice", kernel_id="k1", msg_id="m0", code=CODE, rule="r",
                       reason="x", request_id="0123456789ab")
    assert req["id"] == "0123456789ab"                         # the id the refusal reserved
    again = store.create(requester="alice", kernel_id="k1", msg_id="m5", code=CODE, rule="r",
                         reason="x", request_id="0123456789ab")
    assert again["id"] != "0123456789ab"                       # taken: a new one
    with pytest.raises(Conflict):                              # one request per cell
        store.create(requester="alice", kernel_id="k1", msg_id="m0", code=CODE, rule="r",
                     reason="x")
    denied = store.decide(req["id"], approver="gina", verdict="deny")
    assert denied["status"] == "denied" and denied["grant"] is None
    with pytest.raises(Conflict):
        store.decide(req["id"], approver="gina", verdict="approve")
    with pytest.raises(KeyError):
        store.decide("nosuch", approver="gina", verdict="approve")
    mode = Path(store.path).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(Path(store.path).parent.stat().st_mode) == 0o700
    reread = ApprovalStore(store.path, signer)
    assert reread.get(req["id"])["status"] == "denied"       # type: ignore[index]
    # pending past a day, approved past its lifetime: expired, and nothing to spend
    late = ApprovalStore(store.path, signer, clock=lambda: 0.0)
    rid = approved(late, "m6")
    pending = late.create(requester="bob", kernel_id="k1", msg_id="m7", code="x", rule="r",
                          reason="")
    late.clock = lambda: 601.0
    assert {r["id"] for r in late.sweep()} == {rid}
    late.clock = lambda: 24 * 3600.0 + 1
    assert {r["id"] for r in late.sweep()} == {pending["id"]}
    assert late.spend(requester="alice", code_sha256=SHA, msg_id="m8", kernel_id="k1") is None
    shown = public(late.get(rid), "gina", True)                # type: ignore[arg-type]
    assert shown["status"] == "expired" and shown["may_decide"] is False
    assert shown["expires_at"] == "1970-01-01T00:10:00Z"


def test_webhook_body_and_events_validate(store: ApprovalStore) -> None:
    asyncio.run(_webhook_body_and_events_validate(store))


async def _webhook_body_and_events_validate(store: ApprovalStore) -> None:
    rid = approved(store)
    req = store.get(rid)
    assert req is not None
    body = message("approval-decided", req)
    assert body["text"] == f"jupyter_guard: gina approved request {rid} of alice"
    assert (body["event"], body["request_id"], body["rule"]) == ("approval-decided", rid,
                                                                 "destructive-ddl")
    json.dumps(body)
    logger = EventLogger()
    register(logger)
    got: list[str] = []

    async def listener(logger: EventLogger, schema_id: str, data: dict[str, object]) -> None:
        got.append(schema_id)

    for name in ("approval-requested", "approval-decided", "approval-used", "approval-expired"):
        logger.add_listener(schema_id=schema_id(name), listener=listener)
    for name in ("approval-requested", "approval-decided", "approval-used", "approval-expired"):
        logger.emit(schema_id=schema_id(name), data=event_data(req))
    with pytest.raises(jsonschema.ValidationError):
        logger.emit(schema_id=schema_id("approval-expired"), data={"request_id": rid})
    await asyncio.sleep(0.05)
    assert len(got) == 4
