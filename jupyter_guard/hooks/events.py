"""Audit events -> Intents: one small handler per PEP 578 event the runtime layer decides on.

A handler gets the event's arguments and the frame that raised it, returns early unless user code
is acting, and hands the Intents to ``Runtime.decide`` (same words as the static analysers, so
the same rules decide). Paths are decided as given *and* as resolved (symlinks, ``dir_fd``).
"""
from __future__ import annotations

import logging
import os
import shlex
import socket
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from jupyter_guard.analyze.children import may_run_python
from jupyter_guard.analyze.pysinks import GUARD_ENV_PREFIX, host_of
from jupyter_guard.hooks import (
    exit_dbcopy,
    exit_files,
    exit_net,
    exit_polars,
    exit_popen,
    exit_socket,
    exit_socket_raw,
    lazy,
)
from jupyter_guard.hooks.child import CHILD_DIR, env_drops_guard, in_folder
from jupyter_guard.hooks.event_paths import database_copy
from jupyter_guard.hooks.event_paths import event_path as _path
from jupyter_guard.hooks.state import Busy, busy
from jupyter_guard.model import UNKNOWN, Intent

log = logging.getLogger("jupyter_guard")
Handler = Callable[[tuple[Any, ...], FrameType], None]

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_STDLIB = os.path.dirname(os.__file__) + os.sep
_NET_SKIP = (os.path.join(_STDLIB, "socket.py"), os.path.join(_STDLIB, "asyncio") + os.sep,
             os.path.join(_STDLIB, "selectors.py"), os.path.join(_STDLIB, "ssl.py"))
_CTYPES_SKIP = (os.path.join(_STDLIB, "ctypes") + os.sep,)
_UPLOAD_METHODS = (b"POST ", b"PUT ", b"PATCH ")


def _fd_path(fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def _command(args: Any) -> str:
    if isinstance(args, (str, bytes)):
        return os.fsdecode(args)
    try:
        return shlex.join(os.fsdecode(a) for a in args)
    except TypeError:
        return UNKNOWN


# (pid, argv) of a pty child this process judged just before forking it (``!cmd``: pexpect's
# ``PtyProcess.spawn``). The forked child then execs without running the guard's decision again:
# between fork and exec it holds copies of other threads' locks and of DuckDB instances it must
# not touch, and a refusal raised there reached the cell as ptyprocess's garbled OSError.
_PTY: list[tuple[int, tuple[str, ...]]] = []


def _judged_by_parent(argv: Any) -> bool:
    if not _PTY or _PTY[-1][0] == os.getpid() or not isinstance(argv, (list, tuple)):
        return False
    try:
        return tuple(os.fsdecode(a) for a in argv) == _PTY[-1][1]
    except TypeError:
        return False


def _pty_spawn(mod: Any, rt: Any, judge: Callable[[Any, Any, FrameType], None],
               patched: dict[tuple[Any, str], Any]) -> None:
    """Judge ``PtyProcess.spawn``'s command in the parent, before the fork."""
    cls: Any = getattr(mod, "PtyProcess", None)
    orig = cls.__dict__.get("spawn") if cls is not None else None
    if not isinstance(orig, classmethod) or getattr(orig.__func__, "_jg", False):
        return
    fn = orig.__func__

    def spawn(klass: Any, argv: Any, *args: Any, **kw: Any) -> Any:
        f = sys._getframe(1)
        if busy() or not isinstance(argv, (list, tuple)) or not rt.user_stack(f):
            return fn(klass, argv, *args, **kw)
        judge(argv, kw.get("env", args[1] if len(args) > 1 else None), f)   # raises if refused
        token = (os.getpid(), tuple(os.fsdecode(a) for a in argv))
        _PTY.append(token)
        try:
            return fn(klass, argv, *args, **kw)
        finally:
            _PTY.remove(token)

    spawn._jg = True  # type: ignore[attr-defined]  # a marker on our own function
    spawn.__doc__ = fn.__doc__
    replacement = classmethod(spawn)
    type.__setattr__(cls, "spawn", replacement)
    patched[(cls, "spawn")] = replacement


def handlers(rt: Any) -> dict[str, Handler]:
    """The table the hook looks events up in (everything else returns at once)."""
    g = rt.guard
    from jupyter_guard.hooks.df_lineage import MODULE_PATCHED, PATCHED

    exit_files.install(rt, MODULE_PATCHED, PATCHED)
    lazy.when_imported("multiprocessing.connection", lambda m: exit_net.install_multiprocessing(
        rt, m, PATCHED, MODULE_PATCHED))
    if not exit_socket_raw.install(rt, MODULE_PATCHED):   # the C type checks: every socket does
        exit_socket.install(rt, PATCHED)
    lazy.when_imported("polars", lambda m: exit_polars.install(rt, m, PATCHED))
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

    def shell(cmd: str, argv: list[str] | None, f: FrameType, env: Any = None,
              leaves: bool = False, cwd: Any = None) -> None:
        exit_net.check_command(rt, cmd, env)
        with Busy():   # ``cwd=``: the child's relative paths are in that folder
            intents = list(g.shell_analysis(in_folder(cwd, cmd), starting=True, environ=env,
                                            leaves=leaves).intents)
            words = argv or cmd.split()
            why = env_drops_guard(env) if words and may_run_python(words[0]) else ""
            if why:   # a Python child given an environment without the guard
                intents.append(Intent("guard.tamper", "guard", f"starts {words[0]} without the "
                                      f"guard ({why})", source=cmd[:200]))
        rt.decide(intents, cmd[:300])

    def judge_pty(argv: Any, env: Any, f: FrameType) -> None:
        shell(_command(argv), [os.fsdecode(a) for a in argv], f, env)

    lazy.when_imported("ptyprocess.ptyprocess", lambda m: _pty_spawn(m, rt, judge_pty, PATCHED))

    def on_system(args: tuple[Any, ...], f: FrameType) -> None:
        if rt.user_stack(f):
            shell(_command(args[0]), None, f)

    def on_exec(args: tuple[Any, ...], f: FrameType) -> None:   # os.exec*, os.posix_spawn
        if _judged_by_parent(args[1]):
            return
        if rt.user_stack(f):
            argv = [os.fsdecode(a) for a in args[1]] if isinstance(args[1], (list, tuple)) else None
            shell(_command(args[1]), argv, f, args[2] if len(args) > 2 else None)

    def on_spawn(args: tuple[Any, ...], f: FrameType) -> None:  # os.spawn*(mode, path, args, env)
        if rt.user_stack(f):
            shell(_command(args[2]), [os.fsdecode(a) for a in args[2]], f,
                  args[3] if len(args) > 3 else None)

    def on_popen(
        args: tuple[Any, ...], f: FrameType
    ) -> None:  # subprocess.Popen(exe, args, cwd, env)
        if rt.user_stack(f):
            a = args[1]
            argv = [os.fsdecode(x) for x in a] if isinstance(a, (list, tuple)) else None
            fed = exit_popen.fed_by(f)   # another child's output pipe as this one's input
            if fed is not None:
                shell(fed, None, f, None, leaves=True)
            shell(_command(a), argv, f, args[3] if len(args) > 3 else None, exit_popen.leaves(f),
                  args[2] if len(args) > 2 else None)
            exit_popen.remember(f, _command(a))

    def on_putenv(args: tuple[Any, ...], f: FrameType) -> None:
        key = os.fsdecode(args[0]) if isinstance(args[0], (str, bytes)) else ""
        value = os.fsdecode(args[1]) if len(args) > 1 and isinstance(args[1], (str, bytes)) else ""
        drops = key == "PYTHONPATH" and CHILD_DIR not in value.split(os.pathsep)
        if (key.upper().startswith(GUARD_ENV_PREFIX) or drops) and rt.user_stack(f):
            rt.tamper(f"changes {key} in the environment (children would run without the "
                      "guard)" if drops else f"changes {key} in the environment",
                      f"os.environ[{key!r}]")

    def upload(host: str, url: str, how: str) -> None:
        rt.decide(
            [Intent("net.upload", "host", host or UNKNOWN, remote=True, detail=url, source=how)],
            how,
        )

    def on_request(
        args: tuple[Any, ...], f: FrameType
    ) -> None:  # urllib.Request(url, data, headers, method)
        url, data, headers, method = (args + (None,) * 4)[:4]
        if (
            data is not None or (method or "").upper() in ("POST", "PUT", "PATCH")
        ) and rt.user_stack(f):
            upload(host_of(str(url)), str(url), f"urllib {(method or 'POST').upper()} {url}")
        elif rt.user_stack(f):   # a GET: its URL and headers may carry the data
            exit_net.check_out(rt, host_of(str(url)), f"{url}\n{headers or ''}", str(url)[:200],
                               f"urllib {(method or 'GET').upper()}")

    def on_http_send(args: tuple[Any, ...], f: FrameType) -> None:  # http.client.send(conn, data)
        conn, data = args[0], args[1]
        sock = getattr(conn, "sock", None)
        if sock is not None and exit_net.allowed(rt, str(getattr(conn, "host", "") or "")):
            exit_socket.allow(sock, str(conn.host))   # its address alone would not say so
        if isinstance(data, str):
            data = data.encode("latin-1", "replace")
        if not isinstance(data, (bytes, bytearray)):
            if getattr(conn, "_jg_upload", False) or not rt.user_stack(f):
                return
            data = b"POST "   # a body streamed from a file object: decided as an upload
        head = bytes(data[:8]).upper()
        if head.startswith((b"GET ", b"HEAD ", b"OPTIONS ")) and b"\r\n\r\n" in data[:65536]:
            clen = _content_length(bytes(data[:65536]))
            if not clen:
                if rt.user_stack(f):   # request line and headers: values in a query string
                    host = str(getattr(conn, "host", "") or "").lower()
                    exit_net.check_out(rt, host, bytes(data[:65536]), f"http://{host}",
                                       "HTTP request")
                    if len(data) <= 65536 and sock is not None:
                        exit_socket.judged(sock, len(data))   # scanned here: not again
                return
        elif not head.startswith(_UPLOAD_METHODS) and not getattr(conn, "_jg_upload", False):
            return   # body bytes of a request already decided
        if not rt.user_stack(f):
            return
        host = str(getattr(conn, "host", "") or "")
        try:
            conn._jg_upload = True
        except Exception:  # noqa: BLE001 - a connection that takes no attributes: each send is judged on its own
            pass
        upload(host.lower(), f"http://{host}", f"HTTP upload to {host}")

    def on_connect(args: tuple[Any, ...], f: FrameType) -> None:  # socket.connect(sock, address)
        sock, addr = args[0], args[1]
        if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6) or not isinstance(
            addr, tuple
        ):
            return
        if rt.user_caller(f, _NET_SKIP):
            host = str(addr[0]).lower()
            if host not in g.policy.allow_hosts:
                rt.decide(
                    [
                        Intent(
                            "net.upload",
                            "host",
                            host,
                            remote=True,
                            detail=f"raw socket {addr!r}",
                            source=f"socket.connect({addr!r})",
                        )
                    ],
                    f"socket.connect({addr!r})",
                )

    def on_sendto(args: tuple[Any, ...], f: FrameType) -> None:
        addr = args[1] if len(args) > 1 else None
        if isinstance(addr, tuple) and rt.user_caller(f, _NET_SKIP):
            rt.decide([Intent("net.upload", "host", str(addr[0]).lower(), remote=True,
                              detail="raw datagram")], f"socket.sendto({addr!r})")

    def native(what: str) -> Handler:
        def h(args: tuple[Any, ...], f: FrameType) -> None:
            if rt.user_caller(f, _CTYPES_SKIP):
                rt.tamper(f"{what} (native code can bypass the guard)", f"{what} {str(args)[:100]}")
        return h

    def caller_tamper(why: str) -> Handler:
        def h(args: tuple[Any, ...], f: FrameType) -> None:
            if rt.user_caller(f):
                rt.tamper(why, why)
        return h

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
        "os.system": on_system,
        "os.exec": on_exec,
        "os.posix_spawn": on_exec,
        "os.spawn": on_spawn,
        "subprocess.Popen": on_popen,
        "os.putenv": on_putenv,
        "os.unsetenv": on_putenv,
        "urllib.Request": on_request,
        "http.client.send": on_http_send,
        "socket.connect": on_connect,
        "socket.sendto": on_sendto,
        "socket.sendmsg": on_sendto,
        "socket.getaddrinfo": exit_net.lookup_handler(rt),
        "socket.gethostbyname": exit_net.lookup_handler(rt),
        "ctypes.dlopen": native("loads a native library"),
        "ctypes.dlsym": native("looks up a native symbol"),
        "ctypes.call_function": native("calls native code"),
        "resource.setrlimit": on_rlimit,
        "resource.prlimit": on_rlimit,
        "sys.addaudithook": caller_tamper("adds an audit hook"),
        "sys.settrace": caller_tamper("installs a tracer"),
        "sys.setprofile": caller_tamper("installs a profiler"),
        "gc.get_objects": caller_tamper("walks every object (gc.get_objects)"),
        "gc.get_referrers": caller_tamper("walks object references (gc.get_referrers)"),
    }
    if rt.protect is not None:
        table.update(rt.protect.handlers())
    return {k: _fail_closed(rt, k, h) for k, h in table.items()}


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"transfer-encoding":
            return 1
        if k.strip().lower() == b"content-length":
            try:
                return int(v.strip())
            except ValueError:
                return 1
    return 0


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
