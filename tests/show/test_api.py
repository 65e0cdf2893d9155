"""The sidebar's server API (CONTRACT §7) through a real jupyter_server, with pytest-jupyter."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User
from tornado.httpclient import HTTPClientError

from jupyter_guard import _jupyter_server_extension_points
from jupyter_guard.server import api

from .audit_fixture import event, write_audit

pytest_plugins = ["pytest_jupyter.jupyter_server"]

TOKENS = {"alice-token": "alice", "bob-token": "bob", "carol-token": "carol",
          "mallory-token": "mallory"}


class TokenUsers(IdentityProvider):
    """One token per user, so a test can speak as alice or bob."""

    def get_user(self, handler: Any) -> User | None:
        name = TOKENS.get(self.get_token(handler) or "")
        return User(name) if name else None


class NoGuardForMallory(Authorizer):
    def is_authorized(self, handler: Any, user: User, action: str, resource: str) -> bool:
        return not (user.username == "mallory" and resource == "jupyter_guard")


EVENTS = [
    event("alice", "allow", 1),
    event("alice", "block", 2, "destructive-ddl", "DROP TABLE t would destroy data",
          "DROP TABLE t"),
    event("alice", "mask", 3, "sensitive-data", "email masked", "SELECT email FROM users"),
    event("alice", "allow", 4),
    event("alice", "warn", 5, "bulk-change", "updates 40 rows"),
    event("alice", "block", 6, "bulk-change", "DELETE without WHERE", "DELETE FROM t"),
    event("alice", "allow", 7),
    event("bob", "block", 8, "exfiltration", "COPY of a sensitive column", "COPY users TO 'x'"),
    event("bob", "allow", 9),
]


@pytest.fixture
def audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_audit(tmp_path / "audit.duckdb", EVENTS, pending_by=("alice", "bob", "bob"))
    monkeypatch.setenv("JUPYTER_GUARD_AUDIT", str(path))
    monkeypatch.setenv("JUPYTER_GUARD_ADMINS", "carol")
    return path


@pytest.fixture
def identity() -> str:
    return "per-user"


@pytest.fixture
def jp_server_config(identity: str) -> dict[str, Any]:
    server: dict[str, Any] = {"jpserver_extensions": {"jupyter_guard": True}}
    if identity == "per-user":
        server |= {"identity_provider_class": TokenUsers, "authorizer_class": NoGuardForMallory}
    return {"ServerApp": server}


async def get(jp_fetch: Any, what: str, as_user: str | None = None, **params: Any) -> Any:
    headers = {"Authorization": f"token {as_user}-token"} if as_user else None
    response = await jp_fetch("jupyter-guard", "api", what, params=params, headers=headers)
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def refused(jp_fetch: Any, what: str, token: str, **params: Any) -> tuple[int, Any]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-guard", "api", what, params=params,
                       headers={"Authorization": f"token {token}"})
    response = info.value.response
    assert response is not None
    return info.value.code, json.loads(response.body)


def test_extension_point() -> None:
    assert _jupyter_server_extension_points() == [{"module": "jupyter_guard.server.extension"}]


async def test_summary_counts_only_the_requesters_events(jp_fetch: Any, audit: Path) -> None:
    body = await get(jp_fetch, "summary", "alice")
    assert body["counts"] == {"allow": 3, "mask": 1, "warn": 1, "approval": 0, "block": 2}
    assert body["total"] == 7
    assert body["scope"] == "user" and body["requester"] == "alice"
    assert body["top_rules"][0] == {"rule_id": "bulk-change", "count": 2, "blocked": 1}
    assert [e["rule_id"] for e in body["latest_blocked"]] == ["bulk-change", "destructive-ddl"]
    assert body["latest_blocked"][0]["ts"] == "2026-01-01T12:06:00Z"
    assert {e["decision"] for e in body["latest_allowed"]} <= {"allow", "mask", "warn"}
    assert body["pending_approvals"] == 1


async def test_one_user_cannot_read_anothers_events(jp_fetch: Any, audit: Path) -> None:
    bob = await get(jp_fetch, "events", "bob")
    assert {e["user_name"] for e in bob["events"]} == {"bob"}
    assert [e["rule_id"] for e in bob["events"] if e["decision"] == "block"] == ["exfiltration"]
    summary = await get(jp_fetch, "summary", "bob")
    assert summary["total"] == 2 and summary["pending_approvals"] == 2
    code, body = await refused(jp_fetch, "events", "bob-token", user="alice")
    assert code == 403 and "own events" in body["message"]


async def test_admin_sees_everyone_or_one_user(jp_fetch: Any, audit: Path) -> None:
    everyone = await get(jp_fetch, "summary", "carol")
    assert everyone["scope"] == "all" and everyone["total"] == 9
    assert everyone["counts"]["block"] == 3
    bob = await get(jp_fetch, "events", "carol", user="bob")
    assert {e["user_name"] for e in bob["events"]} == {"bob"}


@pytest.mark.parametrize("what", ["summary", "events"])
@pytest.mark.parametrize("token", ["", "wrong-token"], ids=["no-token", "wrong-token"])
async def test_unauthenticated_requests_are_refused(
    jp_fetch: Any, audit: Path, what: str, token: str
) -> None:
    code, _ = await refused(jp_fetch, what, token)
    assert code in (401, 403)


async def test_unauthorized_user_is_refused(jp_fetch: Any, audit: Path) -> None:
    code, body = await refused(jp_fetch, "summary", "mallory-token")
    assert code == 403 and "message" in body


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"decision": "block"}, ["bulk-change", "destructive-ddl"], id="block"),
        pytest.param({"decision": "mask,warn"}, ["bulk-change", "sensitive-data"], id="two"),
        pytest.param({"decision": "block", "limit": "1"}, ["bulk-change"], id="limit"),
        pytest.param({"since": "2026-01-01T12:05:00Z", "decision": "block"}, ["bulk-change"],
                     id="since"),
        pytest.param({"limit": "2"}, ["", "bulk-change"], id="newest-first"),
    ],
)
async def test_event_filters(
    jp_fetch: Any, audit: Path, params: dict[str, str], expected: list[str]
) -> None:
    body = await get(jp_fetch, "events", "alice", **params)
    assert [e["rule_id"] for e in body["events"]] == expected


@pytest.mark.parametrize(
    ("params", "word"),
    [
        pytest.param({"decision": "nope"}, "unknown decision", id="decision"),
        pytest.param({"limit": "ten"}, "whole number", id="limit"),
        pytest.param({"since": "yesterday"}, "ISO 8601", id="since"),
    ],
)
async def test_bad_filters_are_json_400(
    jp_fetch: Any, audit: Path, params: dict[str, str], word: str
) -> None:
    code, body = await refused(jp_fetch, "events", "alice-token", **params)
    assert code == 400 and word in body["message"]


async def test_missing_audit_file_is_an_empty_summary(
    jp_fetch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_GUARD_AUDIT", str(tmp_path / "none.duckdb"))
    body = await get(jp_fetch, "summary", "alice")
    assert body["total"] == 0 and body["latest_blocked"] == []
    assert (await get(jp_fetch, "events", "alice"))["events"] == []


async def test_unreadable_audit_file_is_503_naming_it(
    jp_fetch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "garbage.duckdb"
    bad.write_bytes(b"this is not a duckdb file" * 200)
    monkeypatch.setenv("JUPYTER_GUARD_AUDIT", str(bad))
    code, body = await refused(jp_fetch, "summary", "alice-token")
    assert code == 503 and str(bad) in body["message"]


@pytest.mark.parametrize("identity", ["shared-token"])
async def test_shared_token_means_the_servers_owner(
    jp_fetch: Any, audit: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    monkeypatch.setenv("JUPYTER_GUARD_USER", "bob")
    response = await jp_fetch("jupyter-guard", "api", "summary")
    body = json.loads(response.body)
    assert body["requester"] == "bob" and body["total"] == 2


def test_api_reads_a_file_without_the_approvals_table(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "audit.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE events (event_id VARCHAR, user_name VARCHAR, decision VARCHAR)")
    con.execute("INSERT INTO events VALUES ('e1', 'alice', 'block')")
    con.close()
    result = api.summary(path, "alice")
    assert result["counts"]["block"] == 1 and result["pending_approvals"] == 0
    assert api.events(path, "alice")[0]["ts"] is None


async def test_journaled_events_are_brought_in_before_reading(
    jp_fetch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kernel's journal that nobody ingested yet is visible on the next request."""
    audit_mod = pytest.importorskip("jupyter_guard.record.audit")
    path = tmp_path / "journaled.duckdb"
    monkeypatch.setenv("JUPYTER_GUARD_AUDIT", str(path))
    log = audit_mod.AuditLog(path, background=False)
    try:
        log.begin(user="alice", actor="human", notebook="demo.ipynb", cell_id="c1",
                  execution_count=1, kind="sql", code="DROP TABLE t", decision="block",
                  rule_id="destructive-ddl", reason="DROP TABLE destroys data", status="blocked")
        done = log.begin(user="alice", actor="human", notebook="demo.ipynb", cell_id="c2",
                         execution_count=2, kind="sql", code="SELECT 1", decision="allow",
                         rule_id="", reason="")
        log.finish(done, status="ok", duration_ms=2.0)
        body = await get(jp_fetch, "summary", "alice")
    finally:
        log.close()
    assert body["counts"]["block"] == 1 and body["counts"]["allow"] == 1
    assert body["latest_blocked"][0]["rule_id"] == "destructive-ddl"
