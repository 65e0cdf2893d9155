"""The argument parser of ``jupyter guard`` (``cli.py``): every subcommand, its options and help,
and the ``cmd_*`` function (``cli_commands.py``) that runs it.
"""
from __future__ import annotations

import argparse
import os

from jupyter_guard.cli_commands import (
    cmd_approvals,
    cmd_authority,
    cmd_compact,
    cmd_enable,
    cmd_explain,
    cmd_export,
    cmd_policy_check,
    cmd_policy_schema,
    cmd_repair,
    cmd_replay,
    cmd_report,
    cmd_verify,
)
from jupyter_guard.cli_json import add_conventions, duration_arg, since_arg


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="jupyter guard", description="jupyter_guard governance and setup"
    )
    p.add_argument(
        "--audit", help="audit file (default: JUPYTER_GUARD_AUDIT or the Jupyter data dir)"
    )
    sub = p.add_subparsers(dest="command", required=True)
    pc = sub.add_parser("policy", help="policy tools").add_subparsers(
        dest="policy_cmd", required=True
    )
    check = pc.add_parser("check", help="validate a policy file")
    check.add_argument("file")
    check.set_defaults(func=cmd_policy_check)
    pc.add_parser("schema", help="print the JSON Schema of policy files (for editors)"
                  ).set_defaults(func=cmd_policy_schema)
    ex = sub.add_parser("explain", help="the decision for CODE or SQL, without running it")
    ex.add_argument("code")
    ex.add_argument("--policy")
    ex.add_argument("--user", default="")
    ex.add_argument("--actor", default="human")
    ex.set_defaults(func=cmd_explain)
    rep = sub.add_parser("report", help="blocked/allowed by user, rule and day")
    rep.add_argument("--since", type=since_arg,
                     help="a date (2026-01-31), a datetime, or a duration back from now (7d, 12h)")
    rep.add_argument("--user")
    rep.add_argument("--format", choices=("table", "json", "csv"), default="table")
    rep.set_defaults(func=cmd_report)
    v = sub.add_parser("verify", help="check every hash chain")
    v.add_argument("--full", action="store_true",
                   help="re-hash every segment, also those sealed by an earlier verify")
    v.add_argument("--incremental", action="store_true",
                   help="the default now (sealed segments are not re-hashed); kept for scripts")
    v.add_argument("--authority", help="the audit authority's folder: verify its keyed chain "
                   "against its signed checkpoints instead of the local file")
    v.add_argument("--dsn", default=os.environ.get("JUPYTER_GUARD_AUDIT_DSN", ""),
                   help="with --authority: its PostgreSQL ledger (hub mode)")
    v.add_argument("--checkpoint", help="with --authority: a signed checkpoint saved earlier "
                   "(a ledger rolled back with its own checkpoints is still caught)")
    v.set_defaults(func=cmd_verify)
    au = sub.add_parser("authority", help="run the audit authority as a process of its own "
                        "(a JupyterHub service)")
    au.add_argument("--folder", required=True, help="its 0700 folder (keys, local ledger)")
    au.add_argument("--port", type=int, required=True)
    au.add_argument("--dsn", default=os.environ.get("JUPYTER_GUARD_AUDIT_DSN", ""),
                    help="PostgreSQL (hub mode), else the SQLite ledger in --folder")
    au.add_argument("--tokens", default="", help="JSON file {token: {kernel, user, users}}")
    au.add_argument("--copy", default="", help="the governance DuckDB copy the mover keeps")
    au.add_argument("--base-url", default="/")
    au.set_defaults(func=cmd_authority)
    sub.add_parser("repair", help="move an unreadable audit file aside and rebuild it from the "
                   "journals").set_defaults(func=cmd_repair)
    exp = sub.add_parser("export", help="export to Parquet or OpenLineage")
    exp.add_argument("--parquet")
    exp.add_argument("--openlineage")
    exp.set_defaults(func=cmd_export)
    comp = sub.add_parser("compact", help="move old events to Parquet, keeping chains verifiable")
    comp.add_argument("--older-than", default="90d", type=duration_arg,
                      help="a duration: 90d, 12w, 36h")
    comp.add_argument("--archive")
    comp.set_defaults(func=cmd_compact)
    req = sub.add_parser("requests", help="pending approval requests")
    req.add_argument("--format", choices=("table", "json"), default="table")
    req.add_argument("--all", action="store_true")
    req.add_argument("--url", help="the jupyter server (default: the running one)")
    req.add_argument("--token", help="your token for that server")
    req.set_defaults(func=cmd_approvals)
    for name in ("approve", "deny"):
        a = sub.add_parser(name, help=f"{name} an approval request (not your own), through "
                           "the jupyter server")
        a.add_argument("request_id")
        a.add_argument("--url", help="the jupyter server (default: the running one, like "
                       "`jupyter server list`)")
        a.add_argument("--token", help="your token for that server (default: the running "
                       "server's)")
        a.add_argument("--reason", help="why (kept with the decision)")
        a.add_argument("--as-user", dest="as_user", help="refused: the server decides who you are")
        a.add_argument("--policy", help="ignored: the server's policy decides")
        a.set_defaults(func=cmd_approvals)
    rp = sub.add_parser("replay", help="what another policy would have decided on recorded cells")
    rp.add_argument("--policy", required=True, help="the policy file to replay under")
    rp.add_argument("--since")
    rp.add_argument("--user")
    rp.add_argument("--format", choices=("table", "json"), default="table")
    rp.set_defaults(func=cmd_replay)
    for name in ("enable", "disable"):
        e = sub.add_parser(name, help=f"{name} the guard for every kernel of this user")
        e.add_argument("--sys-prefix", action="store_true", help="for this environment instead")
        e.set_defaults(func=cmd_enable)
    from jupyter_guard import __version__

    add_conventions(p, __version__)
    return p
