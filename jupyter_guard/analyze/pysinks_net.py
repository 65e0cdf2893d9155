"""Python calls that reach the network: HTTP clients (``requests``, ``httpx``, ``urllib``) and
cloud uploads (``boto3``'s ``upload_file``), each a handler for ``pysinks``' tables.
"""
from __future__ import annotations

import ast

from jupyter_guard.analyze.pysinks_args import Ctx, Handler, arg, one
from jupyter_guard.analyze.pyvalues import Scope, dotted, string_of
from jupyter_guard.model import UNKNOWN, Analysis, Intent


def upload(method: str | None = None) -> Handler:
    def h(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
        verb = (method or string_of(arg(call, 0, "method"), scope) or "").upper()
        url_node = arg(call, 0 if method else 1, "url")
        url = string_of(url_node, scope) or UNKNOWN
        has_body = any(k.arg in ("data", "json", "files", "content") for k in call.keywords)
        upload = has_body or verb in ("POST", "PUT", "PATCH")
        return one(Intent("net.upload" if upload else "net.download", "host", host_of(url),
                           remote=True, source=ast.unparse(call), detail=url))
    return h


def urlopen(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
    target = arg(call, 0, "url")
    has_body = arg(call, 1, "data") is not None
    url = string_of(target, scope)
    if isinstance(target, ast.Call) and dotted(target.func, scope).endswith("Request"):
        url = string_of(arg(target, 0, "url"), scope)
        has_body = has_body or arg(target, 1, "data") is not None
    url = url or UNKNOWN
    return one(Intent("net.upload" if has_body else "net.download", "host", host_of(url),
                       remote=True, source=ast.unparse(call), detail=url))


def cloud_upload(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
    bucket = string_of(arg(call, 1, "Bucket", "bucket"), scope) or UNKNOWN
    return one(Intent("net.upload", "host", bucket, remote=True, source=ast.unparse(call)))


def host_of(url: str) -> str:
    """
    >>> host_of("https://api.example.com:8443/x?y=1"), host_of("s3://bucket/key")
    ('api.example.com', 'bucket')
    """
    rest = url.split("://", 1)[1] if "://" in url else url
    return rest.split("/", 1)[0].split("@")[-1].split(":")[0].lower() or UNKNOWN
