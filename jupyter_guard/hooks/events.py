"""Audit events -> Intents: one small handler per PEP 578 event the runtime layer decides on.

A handler gets the event's arguments and the frame that raised it, returns early unless user code
is acting, and hands the Intents to ``Runtime.decide`` (same words as the static analysers, so
the same rules decide). Paths are decided as given *and* as resolved (symlinks, ``dir_fd``).
Files and the guard's own events are here; processes in ``event_procs``, the network in
``event_net``.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from types import FrameType
from typing import Any

from jupyter_guard.hooks import (
    event_names,
    event_net,
    event_procs,
    exit_dbcopy,
    exit_files,
    exit_net,
    exit_polars,
    exit_socket,
    exit_socket_raw,
    lazy,
    sealed_events,
)
from jupyter_guard.hooks.event_paths import database_copy
from jupyter_guard.hooks.event_paths import event_path as _path
from jupyter_guard.model import UNKNOWN, Intent

log = logging.getLogger("jupyter_guard")
Handler = Callable[[tuple[Any, ...], FrameType], None]

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _fd_path(fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def handlers(rt: Any) -> dict[str, Handler]:
    """The table the hook looks events up in (everything else returns at once)."""
    g = rt.guard
    from jupyter_guard.hooks.df_lineage import MODULE_PATCHED, PATCHED

    exit_files.install(rt, MODULE_PATCHED, PATCHED)
    lazy.when_imported("multiprocessing.connection", lambda m: exit_net.install_multiprocessing(
        rt, m, PATCHED, MODULE_PATCHED))
    if not exit_socket_raw.install(rt, MODULE_PATCHED):   # the C type checks: every socket does
        exit_socket.install(rt, PATCHED)
    lazy.when_imported("polars", lambda m: exit_polars.install(rt, m, PATCHED,
                                                              MODULE_PATCHED))
    lazy.when_imported("concurrent.futures.process", lambda m: exit_net.install_process_pool(
        rt, m, PATCHED))

    def on_ssl(m: Any) -> None:
        if not exit_socket_raw.install_tls(rt):   # not CPython: the Python TLS socket's send
            exit_socket.install_ssl(rt, m, PATCHED)

    lazy.when_imported("ssl", on_ssl)
    lazy.when_imported("multiprocessing.connection", lambda m: exit_socket.install_listener(
        rt, m, PATCHED))

    def guard_file(real: str) -> bool:
        return real.startswith(rt.package_dir) or (bool(rt.policy_file) and real == rt.policy_file)

    def path_intents(action: str, path: str | None, *, recursive: bool = False) -> list[Intent]:
        if path is None:
            return []
        out = [Intent(action, "path", path, recursive=recursive, source=f"{action} {path}")]  # type: ignore[arg-type]  # the action name comes from a table of valid names
        real = os.path.realpath(path) if UNKNOWN not in path else path
        if real != os.path.abspath(path):
            out.append(out[0].with_(target=real))
        if action != "file.read" and UNKNOWN not in path and guard_file(real):
            out.append(
                Intent("guard.tamper", "guard", f"changes the guard's own file {real}", source=path)
            )
        return out

    def overwrite(path: str | None) -> list[Intent]:
        """Writing a path: truncating if it exists (destroys it), creating if not."""
        if path is None:
            return []
        return path_intents("file.truncate" if os.path.lexists(path) else "file.write", path)

    store_name = os.path.basename(g.settings.get("audit") or "") or "\0"
    from jupyter_guard.authority_files import names as authority_names

    watched = (store_name, *authority_names())

    def opens_store(args: tuple[Any, ...], f: FrameType, what: str) -> None:
        """A read of the audit store or the server's authority files (their names in the path:
        a substring test per name per open)."""
        p = _path(args[0]) if args else None
        if p is not None and any(n in p for n in watched) and rt.user_stack(f):
            rt.decide(path_intents("file.read", p), f"{what}({p!r})")

    def on_sqlite_connect(args: tuple[Any, ...], f: FrameType) -> None:
        opens_store(args, f, "sqlite3.connect")
        if rt.user_caller(f):   # not through the guarded ``sqlite3.connect`` (``dbapi_proxy``)
            rt.tamper("opens a sqlite3 connection the guard does not see (the class called "
                      "directly, or a connect saved before the guard loaded): open it with "
                      "sqlite3.connect()", f"sqlite3.Connection({str(args[:1])[:100]})")
        exit_dbcopy.note(args[0] if args else None, rt, f)   # ``serialize()``: its pages

    def on_open(args: tuple[Any, ...], f: FrameType) -> None:
        path, mode, flags = (args + (None, None, 0))[:3]
        if not (flags or 0) & _WRITE_FLAGS:
            if not isinstance(path, int):
                opens_store(args, f, "open")
            return
        if isinstance(path, int) or not rt.user_stack(f):
            return
        p = _path(path)
        if p is None:
            return
        if flags & os.O_TRUNC or (
            flags & os.O_CREAT and not flags & os.O_APPEND and not os.path.lexists(p)
        ):
            intents = overwrite(p) if flags & os.O_TRUNC else path_intents("file.write", p)
        elif not flags & os.O_APPEND:   # ``r+``: writes over an existing file's bytes in place
            intents = overwrite(p)
        else:
            intents = path_intents("file.write", p)
        rt.decide(intents, f"open({p!r}, {mode or oct(flags)!r})")
        if isinstance(mode, str) and rt.user_caller(f):
            # A file object opened for writing by the cell itself in C (``_io.open``, the class
            # ``type(open(..., buffering=0))``): the checked ``open`` was passed by, and C
            # writes raise no event. ``os.open`` (mode None) keeps its ``os.write`` check.
            rt.tamper(f"opens {p!r} for writing past the guard's checked open (a raw "
                      "``_io.open`` or ``FileIO``); use open()", f"open({p!r}, {mode!r})")

    def on_remove(args: tuple[Any, ...], f: FrameType) -> None:
        if rt.user_stack(f):
            p = _path(args[0], args[1] if len(args) > 1 else None)
            rt.decide(path_intents("file.delete", p), f"delete {p!r}")

    def on_rename(args: tuple[Any, ...], f: FrameType) -> None:
        if rt.user_stack(f):
            src = _path(args[0], args[2] if len(args) > 2 else None)
            dst = _path(args[1], args[3] if len(args) > 3 else None)
            rt.decide(path_intents("file.move", src) + overwrite(dst), f"rename {src!r} -> {dst!r}")

    def on_chmod(args: tuple[Any, ...], f: FrameType) -> None:   # os.chmod(path, mode, dir_fd)
        if isinstance(args[1], int) and args[1] & 0o600 != 0o600 and rt.user_stack(f):
            p = _fd_path(args[0]) if isinstance(args[0], int) else _path(
                args[0], args[2] if len(args) > 2 else None)
            if p is not None and os.path.lexists(p):   # the owner loses read or write
                rt.decide([i.with_(detail="chmod") for i in path_intents("file.truncate", p)],
                          f"chmod {p!r} {oct(args[1])}")

    def on_truncate(args: tuple[Any, ...], f: FrameType) -> None:
        if rt.user_stack(f):
            p = _fd_path(args[0]) if isinstance(args[0], int) else _path(args[0])
            rt.decide(path_intents("file.truncate", p), f"truncate {p!r}")

    def on_rmtree(args: tuple[Any, ...], f: FrameType) -> None:
        if rt.user_stack(f):
            p = _path(args[0], args[1] if len(args) > 1 else None)
            rt.decide(path_intents("file.delete", p, recursive=True), f"shutil.rmtree({p!r})")

    def on_move(args: tuple[Any, ...], f: FrameType) -> None:
        if rt.user_stack(f):
            src, dst = _path(args[0]), _path(args[1])
            if dst is not None and src is not None and os.path.isdir(dst):
                dst = os.path.join(dst, os.path.basename(src.rstrip("/")))
            rt.decide(
                path_intents("file.move", src) + overwrite(dst), f"shutil.move({src!r}, {dst!r})"
            )

    def on_copyfile(args: tuple[Any, ...], f: FrameType) -> None:   # shutil.copy*, copytree
        src, dst = _path(args[0]), _path(args[1])
        copies = database_copy(src, dst, "copy")
        if copies and rt.user_stack(f):
            rt.decide(copies, f"shutil.copyfile({src!r}, {dst!r})")

    def on_link(args: tuple[Any, ...], f: FrameType) -> None:   # os.link, os.symlink
        if rt.user_stack(f):
            src, dst = _path(args[0]), _path(args[1])
            rt.decide(overwrite(dst) + path_intents("file.read", src)
                      + database_copy(src, dst, "link"), f"link {args[0]!r} -> {dst!r}")

    def on_rlimit(args: tuple[Any, ...], f: FrameType) -> None:
        """Lowering this process's file-size or open-file limit: every later journal append (or
        open) fails, so the audit stops; other limits and children's (``!ulimit``) are free."""
        import resource

        pid, res, limits = (None, *args) if len(args) == 2 else (args + (None, None, None))[:3]
        if res not in (resource.RLIMIT_FSIZE, resource.RLIMIT_NOFILE) or \
                pid not in (None, 0, os.getpid()) or not isinstance(limits, tuple) or \
                not rt.user_stack(f):
            return
        soft = limits[0] if limits else resource.RLIM_INFINITY
        now = resource.getrlimit(res)[0]
        if soft != resource.RLIM_INFINITY and (now == resource.RLIM_INFINITY or soft < now):
            rt.tamper("lowers this process's limit on file sizes or open files, which the "
                      "audit needs", f"resource.setrlimit{args!r}"[:200])

    def on_import(args: tuple[Any, ...], f: FrameType) -> None:
        if lazy_waiting and args[0] in lazy_waiting:   # keep the after-import finder in front
            lazy.ensure()

    lazy_waiting = lazy._WAITING
    table: dict[str, Handler] = {
        "import": on_import,
        "open": on_open,
        "sqlite3.connect": on_sqlite_connect,
        "os.remove": on_remove,
        "os.rmdir": on_remove,
        "os.rename": on_rename,
        "os.truncate": on_truncate,
        "os.chmod": on_chmod,
        "shutil.rmtree": on_rmtree,
        "shutil.move": on_move,
        "shutil.copyfile": on_copyfile,
        "os.link": on_link,
        "os.symlink": on_link,
        "socket.getaddrinfo": exit_net.lookup_handler(rt),
        "socket.gethostbyname": exit_net.lookup_handler(rt),
        "resource.setrlimit": on_rlimit,
        "resource.prlimit": on_rlimit,
    }
    # native code, tracers, audit hooks, gc and ctypes memory: the self-protection handlers
    # (``sealed_events``, also ``integrity``'s table and a child's), one copy of them
    table.update(sealed_events.handlers(rt))
    table.update(event_procs.process_handlers(rt))
    table.update(event_net.net_handlers(rt))
    if rt.protect is not None:
        table.update(rt.protect.handlers())
    table = event_names.chained(table, event_names.name_handlers(rt))   # names holding values
    return {k: _fail_closed(rt, k, h) for k, h in table.items()}


def _fail_closed(rt: Any, event: str, h: Handler) -> Handler:
    """A bug in a handler refuses the user's action (never lets it through) and never breaks the
    kernel's own work."""
    from jupyter_guard.errors import GuardBlocked

    def run(args: tuple[Any, ...], f: FrameType) -> None:
        try:
            h(args, f)
        except GuardBlocked:
            raise
        except Exception as e:  # noqa: BLE001 - handled below: the guard's failure refuses the user's action (fail closed)
            try:
                user = rt.user_stack(f)
            except Exception:  # noqa: BLE001 - the stack cannot be read: counted as the user's, so refused
                user = True
            log.error("jupyter_guard runtime check of %s failed: %s", event, e)
            if user:
                raise GuardBlocked("guard-error", f"the guard failed while checking {event} "
                                   f"({type(e).__name__}: {e}); the action was refused",
                                   approval_hint=False) from None
    return run
