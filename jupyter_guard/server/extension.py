"""The jupyter-server extension: the sidebar's JSON API over the audit file.

    GET /jupyter-guard/api/summary                              counts, top rules, latest events
    GET /jupyter-guard/api/events?since=&decision=&limit=       latest events, newest first

Both take ``user=``: users who may see all (``may_see_all``) narrow to one user with it; anyone
else gets 403 for a name not their own. ``decision`` is a word or a comma list, ``since`` ISO 8601.

Handlers are thin: they decide *whose* events the requester may see and hand the rest to
:mod:`jupyter_guard.server.api`. Reads run in a worker thread so a slow or locked audit file never
stalls the server. Errors are JSON (``{"message": ...}``) like every jupyter_server API.
"""
from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from traitlets import List, Unicode
from traitlets.config import LoggingConfigurable

from jupyter_guard.server import api
from jupyter_guard.server.auth import requesting_user
from jupyter_guard.server.events import setup_events
from jupyter_guard.server.gate_socket import setup_gate

AUTH_RESOURCE = "jupyter_guard"
API_PREFIX = "jupyter-guard/api"

class GuardServer(LoggingConfigurable):
    """Server-side settings (``c.GuardServer.*``); environment variables win over config files."""

    audit = Unicode("", help="Path of the DuckDB audit file. Env: JUPYTER_GUARD_AUDIT. "
                    "Default: <jupyter data dir>/guard/audit.duckdb").tag(config=True)
    admins = List(Unicode(), help="Users who may see every user's events. "
                  "Env: JUPYTER_GUARD_ADMINS (comma list).").tag(config=True)

    def audit_path(self) -> str:
        env = os.environ.get("JUPYTER_GUARD_AUDIT", "").strip()
        if env:
            return os.path.expanduser(env)
        if self.audit:
            return os.path.expanduser(self.audit)
        return os.path.join(jupyter_data_dir(), "guard", "audit.duckdb")

    def may_see_all(self, username: str) -> bool:
        """Whether ``username`` may read every user's events: the admins list decides
        (``JUPYTER_GUARD_ADMINS``, else ``c.GuardServer.admins``), not the policy's roles."""
        env = os.environ.get("JUPYTER_GUARD_ADMINS")
        admins = [a.strip() for a in env.split(",")] if env is not None else list(self.admins)
        return username in {a for a in admins if a}


class _GuardAPIHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    def initialize(self, guard: GuardServer) -> None:
        self.guard = guard

    def requester(self) -> str:
        return requesting_user(self)

    def scope(self) -> str | None:
        """The user whose events this request may read; None for everyone's."""
        me = self.requester()
        asked = self.get_argument("user", None)
        if self.guard.may_see_all(me):
            return asked or None
        if asked and asked != me:
            raise web.HTTPError(403, f"{me} may only read their own events")
        return me

    async def read(self, fn: Callable[[], Any]) -> Any:
        try:
            return await asyncio.get_running_loop().run_in_executor(None, fn)
        except api.AuditUnavailable as exc:
            raise web.HTTPError(503, str(exc)) from exc
        except ValueError as exc:
            raise web.HTTPError(400, str(exc)) from exc


class SummaryHandler(_GuardAPIHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        user = self.scope()
        result = await self.read(functools.partial(api.summary, self.guard.audit_path(), user))
        result["scope"] = "user" if user else "all"
        result["requester"] = self.requester()
        self.finish(result)


class EventsHandler(_GuardAPIHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        user = self.scope()
        fn = functools.partial(
            api.events, self.guard.audit_path(), user,
            since=self.get_argument("since", None),
            decision=self.get_argument("decision", None),
            limit=self.get_argument("limit", None),
        )
        self.finish({"events": await self.read(fn), "scope": "user" if user else "all"})


def _load_jupyter_server_extension(serverapp: Any) -> None:
    guard = GuardServer(parent=serverapp)
    base = serverapp.web_app.settings["base_url"]
    handlers: list[tuple[str, type[web.RequestHandler], dict[str, Any]]] = [
        (f"{API_PREFIX}/summary", SummaryHandler, {"guard": guard}),
        (f"{API_PREFIX}/events", EventsHandler, {"guard": guard}),
    ]
    serverapp.web_app.add_handlers(
        ".*$", [(url_path_join(base, pattern), cls, kw) for pattern, cls, kw in handlers]
    )
    gate = setup_gate(serverapp)

    setup_events(serverapp, guard.audit_path(),
                 policy=(lambda: gate.policy) if gate is not None else None)
    serverapp.log.info("jupyter_guard: API at %s, audit file %s",
                       url_path_join(base, API_PREFIX), guard.audit_path())


# jupyter_server < 2 looked for the name without the underscore.
load_jupyter_server_extension = _load_jupyter_server_extension
