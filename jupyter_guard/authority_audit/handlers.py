"""The authority's HTTP API, plain tornado handlers so a jupyter-server extension and a hub
service mount the same ones (``mount``):

    POST {base}jupyter-guard/api/kernel/audit/events   {"events": [final events]}
         header ``X-Jupyter-Guard-Kernel: <token>`` -> {"acked": [event ids]}
         403 unknown token, 400 a malformed batch, 503 the ledger cannot be written
    GET  {base}jupyter-guard/api/audit/checkpoint      the latest signed checkpoint and the key

The token names a kernel (``resolve`` turns it into a ``Principal``); the events are stored with
that principal's identity. Writes run in worker threads: the event loop never waits on the ledger.
"""
from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from tornado import web

from .service import AuditAuthority, BadBatch, Principal, Resolver

TOKEN_HEADER = "X-Jupyter-Guard-Kernel"
EVENTS_PATH = "jupyter-guard/api/kernel/audit/events"
CHECKPOINT_PATH = "jupyter-guard/api/audit/checkpoint"
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="jupyter-guard-audit")


def _loads(raw: bytes) -> Any:
    """JSON with ``orjson`` (twice as fast), or ``json`` for what orjson refuses (NaN, an
    integer past 64 bits), so both parse what a kernel's ``json.dumps`` wrote."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


class _Json(web.RequestHandler):
    def initialize(self, authority: AuditAuthority, resolve: Resolver) -> None:
        self.authority, self.resolve = authority, resolve

    def check_xsrf_cookie(self) -> None:   # a header token, no cookie: nothing to forge
        return None

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        message = exc.log_message if isinstance(exc, web.HTTPError) and exc.log_message \
            else self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message}))


class EventsHandler(_Json):
    def principal(self) -> Principal | None:
        """Who sent this batch (a mount that authenticates otherwise overrides this)."""
        return self.resolve(self.request.headers.get(TOKEN_HEADER, ""))

    async def post(self) -> None:
        principal = self.principal()
        if principal is None:
            raise web.HTTPError(403, "not a kernel this authority knows")
        try:
            data = _loads(self.request.body or b"{}")
        except ValueError as e:
            raise web.HTTPError(400, f"the body is not JSON: {e}") from e
        events = data.get("events") if isinstance(data, dict) else None
        loop = asyncio.get_running_loop()
        try:
            acked = await loop.run_in_executor(_POOL, self.authority.receive, principal, events)
        except BadBatch as e:
            raise web.HTTPError(400, str(e)) from e
        except Exception as e:  # any ledger failure: nothing is acknowledged, the kernel resends
            raise web.HTTPError(503, f"the audit ledger cannot be written: {e}") from e
        self.set_header("Content-Type", "application/json")
        self.finish(orjson.dumps({"acked": acked}))


class CheckpointHandler(_Json):
    async def get(self) -> None:
        loop = asyncio.get_running_loop()
        cp = await loop.run_in_executor(_POOL, self.authority.latest_checkpoint)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(cp or {}))


def handlers(base_url: str, authority: AuditAuthority, resolve: Resolver
             ) -> list[tuple[str, type[web.RequestHandler], dict[str, Any]]]:
    base = base_url.rstrip("/") + "/"
    kw = {"authority": authority, "resolve": resolve}
    return [(base + EVENTS_PATH, EventsHandler, kw), (base + CHECKPOINT_PATH, CheckpointHandler,
                                                       kw)]


def mount(web_app: web.Application, base_url: str, authority: AuditAuthority,
          resolve: Resolver) -> None:
    web_app.add_handlers(".*$", handlers(base_url, authority, resolve))
