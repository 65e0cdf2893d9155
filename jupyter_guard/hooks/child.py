"""The guard inside a Python child of a guarded kernel (``!python ...``, ``subprocess``, ...).

A guarded kernel puts ``jupyter_guard/_child`` first on ``PYTHONPATH`` and its policy, audit
file, user, actor and session in ``JUPYTER_GUARD_*`` (``children.install``); every Python child
inherits them, and the ``sitecustomize`` there calls ``start``: one PEP 578 audit hook that
judges file deletes, moves, truncating writes and further children with the same rules
(``policy.decide``) and records refusals in an audit session of its own naming the kernel's.
The whole child is user code, except the guard's own frames. Kept light: no IPython, DuckDB or
sqlglot unless a refusal is recorded or a grandchild's Python code is analysed.
"""
from __future__ import annotations

import _thread
import os
import sys

from jupyter_guard.hooks import own_code

TYPE_CHECKING = False   # not ``typing``'s: a child that only prints must not import typing
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from types import FrameType
    from typing import Any

    from jupyter_guard.model import Intent

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__))) + os.sep
CHILD_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "_child")
PARENT = "JUPYTER_GUARD_PARENT_SESSION"
_tl = _thread._local()   # the builtin one: importing threading costs a child start


class ChildBlocked(PermissionError):
    """A refusal inside a child (the kernel's ``GuardBlocked``, without IPython)."""

    def __init__(self, rule_id: str, reason: str) -> None:
        self.rule_id, self.reason = rule_id, reason.rstrip(".")
        super().__init__(f"Blocked by jupyter_guard [{rule_id}]: {self.reason}.")
        self.errno = 1   # EPERM: a pty child refused at exec, passed on by ptyprocess as one


def read_text(path: str, limit: int = 200_000) -> str | None:
    """A script a child will run, as text; None when it cannot be read."""
    try:
        with open(os.path.expanduser(path), encoding="utf-8", errors="replace") as fh:
            return fh.read(limit)
    except (OSError, ValueError):
        return None


def walk_files(folder: str, limit: int = 20_000) -> Iterator[str]:
    """What a folder holds (files and folders, absolute), for judging a delete or move of the
    folder by its content; past ``limit`` entries, ``UNKNOWN`` (the rules then refuse)."""
    from jupyter_guard.model import UNKNOWN

    folder = os.path.expanduser(folder)
    if "://" in folder or not os.path.isdir(folder) or os.path.islink(folder):
        return
    n = 0
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            n += 1
            if n > limit:
                yield UNKNOWN
                return
            yield os.path.join(root, name)


def in_folder(cwd: Any, command: str) -> str:
    """The command a child started with ``cwd=`` runs, as the shell analysis reads it: its
    relative paths are in that folder (``subprocess.run(['rm', 'keep.csv'], cwd='data')``).

    >>> in_folder(None, "rm x"), in_folder("my dir", "rm x")
    ('rm x', "cd 'my dir' && rm x")
    """
    if cwd is None:
        return command
    import shlex  # (stdlib) late: only when a child is started with a folder of its own

    try:
        folder = os.fsdecode(cwd)
    except TypeError:   # not a path: the child fails to start (the analysis keeps the command)
        return command
    return f"cd {shlex.quote(folder)} && {command}"


def env_drops_guard(env: Mapping[Any, Any] | None) -> str:
    """Why a child given ``env`` would run without the guard ('' when it keeps it)."""
    if env is None:
        return ""

    def get(k: str) -> str:
        v = env.get(k) or env.get(k.encode())
        return os.fsdecode(v) if isinstance(v, (str, bytes)) else ""

    if CHILD_DIR not in get("PYTHONPATH").split(os.pathsep):
        return "its environment has no PYTHONPATH entry for the guard"
    for k, v in list(os.environ.items()):
        if k.startswith("JUPYTER_GUARD_") and get(k) != v:
            return f"its environment changes {k}"
    return ""


def guard_files(audit: str, policy: str) -> tuple[str, ...]:
    names = [p for p in (audit, audit + ".journal", audit + ".lock", policy) if p]
    return tuple(dict.fromkeys([os.path.realpath(p) for p in names] +
                               [os.path.abspath(p) for p in names]))


class ChildGuard:
    def __init__(self, env: Mapping[str, str]) -> None:
        from jupyter_guard.hooks.child_policy import POLICY_JSON, policy_from_json

        if env.get(POLICY_JSON):
            self.policy = policy_from_json(env[POLICY_JSON])
        else:   # a child started with the variables but not by a kernel: the file itself
            from jupyter_guard.policy.load import load_or_refuse

            self.policy = load_or_refuse(env.get("JUPYTER_GUARD_POLICY") or None)
        self.env = env
        self.user = env.get("JUPYTER_GUARD_USER", "")
        self.actor = env.get("JUPYTER_GUARD_ACTOR", "human")
        self.audit = env.get("JUPYTER_GUARD_AUDIT", "")
        self.parent = env.get(PARENT, "")
        self.files = guard_files(self.audit, env.get("JUPYTER_GUARD_POLICY", ""))
        self.log: Any = None

    def decide(self, intents: list[Intent], desc: str) -> None:
        if not intents:
            return
        from jupyter_guard.model import combine
        from jupyter_guard.policy.decide import decide
        from jupyter_guard.policy.rules import Context

        _tl.busy = sys._getframe()
        try:
            ctx = Context(user=self.user, actor=self.actor, cwd=os.getcwd(), guard_files=self.files,
                          runtime_checks=True, walk=walk_files)
            v = combine(decide(intents, self.policy, ctx))
            if v.refuses:
                self.record(v.decision, v.rule_id, v.reason, desc)
        finally:
            _tl.busy = None
        if v.refuses:
            raise ChildBlocked(v.rule_id, v.reason)

    def record(self, decision: str, rule: str, reason: str, desc: str) -> None:
        try:
            if self.log is None:
                import uuid

                from jupyter_guard.record.audit import AuditLog
                from jupyter_guard.record.journal import JournalWriter

                sid = uuid.uuid4().hex
                JournalWriter(self.audit, sid, parent=self.parent).close()  # head names the kernel
                self.log = AuditLog(self.audit, session_id=sid, background=False)
            self.log.begin(user=self.user, actor=self.actor, notebook="", cell_id="",
                           execution_count=None, kind="runtime", code=desc[:300], decision=decision,
                           rule_id=rule, reason=reason, status="blocked",
                           policy_revision=self.policy.revision)
        except Exception as e:  # noqa: BLE001 - recording is best effort here: the action is refused anyway
            print(f"jupyter_guard: could not record a refusal ({e})", file=sys.stderr)

    def shell(self, command: str, leaves: bool = False) -> list[Intent]:
        """``leaves``: the command's output goes to a file, a socket or another program."""
        from jupyter_guard.analyze.children import Reader
        from jupyter_guard.analyze.shell import analyze_shell
        from jupyter_guard.hooks.event_paths import database_in

        def python(code: str) -> Any:
            import ast

            from jupyter_guard.analyze.python import analyze_python
            return analyze_python(ast.parse(code), sql=self._sql, shell=lambda c: self._shell(c))

        reader = Reader(read=read_text, python=python, starting=True, exists=os.path.lexists,
                        database=database_in)
        return list(analyze_shell(command, sql=lambda s, d: self._sql(s, d).intents,
                                  children=reader, leaves=leaves).intents)

    def _shell(self, command: str) -> Any:
        from jupyter_guard.model import Analysis
        return Analysis(tuple(self.shell(command)))

    @staticmethod
    def _sql(text: str, dialect: str = "duckdb", params: Any = None) -> Any:
        from jupyter_guard.analyze.sql import analyze_sql
        return analyze_sql(text, dialect, params=params)


def _own(frame: FrameType, _module: Any = own_code.module_frame, _code: Any = own_code.own
         ) -> bool:
    """``frame`` runs the guard's own code, told by identity as in the kernel (``own_code``): a
    code object a script compiled under a guard file's name is not the guard's. What it asks is
    taken at import (a script that rebinds a name changes nothing; ``__defaults__``: refused)."""
    code = frame.f_code
    if not code.co_filename.startswith(PACKAGE_DIR):
        return False
    return _module(frame) if code.co_name == "<module>" else _code(code)


def held(frame: FrameType | None, _own: Any = _own) -> bool:
    """The child guard's ``busy`` token: a frame of the guard's own code, live on this thread's
    stack at or above ``frame`` (a value a script sets, or a frame gone, is no token)."""
    token = getattr(_tl, "busy", None)
    if frame is None or type(token) is not type(frame) or not _own(token):
        return False
    while frame is not None and frame is not token:
        frame = frame.f_back
    return frame is not None


def own_work(frame: FrameType | None, _own: Any = _own, held: Any = held) -> bool:
    """The guard's own code is acting (recording, a kernel guard loaded in this child)."""
    if held(frame):
        return True
    while frame is not None:
        if frame.f_code not in PASSING and _own(frame):
            return True
        frame = frame.f_back
    return False


PASSING: set[Any] = set()
"""The guard's code user code calls through (``early_open``'s ``open``): not the guard's work."""


# Events the child judges; everything else returns at once (reads, imports, ...).
# the modules whose first import arms the child's SQL guard (``child_sql.arm``): DuckDB and the
# PostgreSQL drivers (SQLAlchemy, pandas and jupysql reach PostgreSQL through them)
ARM_ON = frozenset({"duckdb", "psycopg", "psycopg2", "pg8000", "asyncpg", "sqlite3"})
# the data libraries: their first import also installs the kernel's data-aware exits
# (``child_exits``: values read from sensitive columns are then checked wherever they go)
DATA_LIBS = ARM_ON | {"pandas", "pyarrow", "polars"}
# the network events: the first installs the exits and the kernel's network handlers
# (``child_exits.network``), which judge it and every later one
NET_EVENTS = ("urllib.Request", "http.client.send", "socket.connect", "socket.sendto",
              "socket.sendmsg", "socket.getaddrinfo", "socket.gethostbyname")
EVENTS = frozenset({"cpython.run_stdin", "open", "os.remove", "os.rmdir", "os.rename",
                    "os.truncate", "shutil.rmtree", "shutil.move", "shutil.copyfile", "os.link",
                    "os.symlink", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                    "subprocess.Popen", "os.putenv", "os.unsetenv", *NET_EVENTS})
# the kernel's self-protection events (``child_self``); ``NAMED``: code made under a name
NAMED = frozenset({"compile", "code.__new__"})
SELF_EVENTS = NAMED | {"gc.get_referents", "gc.get_referrers", "gc.get_objects", "ctypes.cdata",
                       "ctypes.cdata/buffer", "ctypes.dlopen", "ctypes.dlsym", "sys.settrace",
                       "ctypes.call_function", "sys.addaudithook", "sys.setprofile",
                       "object.__setattr__"}
EVENTS = EVENTS | SELF_EVENTS
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _writes(mode: str) -> bool:
    return "w" in mode or "a" in mode or "x" in mode or "+" in mode


READ: list[Any] = []
"""Files read before the exits were installed (at most ``READ_MAX``): ``child_exits`` tells
``exit_dbcopy`` the database files among them (bytes read before the first write stay known)."""
READ_MAX = 256


def early_open(env: Mapping[str, str], orig: Callable[..., Any]) -> Callable[..., Any]:
    """``open`` for a child whose exits are not installed yet: its first open for writing by
    user code installs them (``child_exits``) and hands back the kernel's checked file; reads,
    and the guard's own files, get the plain ``open``. A few lines, nothing imported: a child
    that writes no file pays nothing for it."""

    def open(file: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
        f = orig(file, mode, *args, **kw)
        if not isinstance(mode, str) or not _writes(mode):
            if len(READ) < READ_MAX and not isinstance(file, int):
                READ.append(file)
            return f
        if own_work(sys._getframe(1)):
            return f
        try:
            # late: the exits (and what they import) load only when a child first writes a file
            from jupyter_guard.hooks.child_exits import install

            fx = install(env)
        except ImportError:
            # another interpreter without the guard's analysis libraries: with no data library
            # loaded it has read no sensitive column, so its files are judged as actions only
            if not any(m in sys.modules for m in DATA_LIBS):
                import builtins
                import io

                builtins.open = io.open = orig
                return f
            f.close()
            raise ChildBlocked("guard-error", "this Python cannot check what it writes (the "
                               "guard's libraries are missing here) after reading a database, "
                               f"so {file!r} was not written") from None
        except BaseException as e:  # noqa: BLE001 - no check, no writing: the file is closed and the write refused
            f.close()
            raise ChildBlocked("guard-error", f"the guard could not check what this child writes "
                               f"({type(e).__name__}: {e}), so {file!r} was not written") from None
        return fx.opened(f, file, mode)

    open.__doc__, open.__name__ = orig.__doc__, "open"
    open._jg_orig = orig  # type: ignore[attr-defined]  # what ``child_exits`` puts back first
    PASSING.add(open.__code__)
    return open


def start(env: Mapping[str, str] | None = None,
          on_duckdb: Callable[[Mapping[str, str]], None] | None = None) -> None:
    """Install the child's audit hook (called by the injected ``sitecustomize``). Nothing heavy
    is imported until the child first does something the guard judges: a child that only
    reads and prints pays for the hook alone. ``on_duckdb(env)`` runs at the child's first
    ``import`` of DuckDB or a PostgreSQL driver (``ARM_ON``; ``child_sql.arm``: guarded as in
    the kernel)."""
    env = dict(os.environ) if env is None else dict(env)
    table: dict[str, Any] = {}
    # what the hook calls, in its closure (no script reaches it; a name rebound is called by nobody)
    events, write, tl, getframe, own_work, held = EVENTS, _WRITE, _tl, sys._getframe, \
        globals()["own_work"], globals()["held"]
    guards: dict[str, Any] = {}
    # the server's authority files (key, approvals): reads of them are judged too
    authority = tuple(os.path.basename(env.get(k, "") or d) for k, d in (
        ("JUPYTER_GUARD_AUTHORITY_KEY_FILE", "authority.key"),
        ("JUPYTER_GUARD_APPROVALS_FILE", "approvals.json")))

    def handlers() -> dict[str, Any]:
        if not table:
            tl.busy = getframe()
            try:
                # late: a child loads its event handlers only when it first does something
                # judged (its start-up stays cheap); child_events imports this module
                from jupyter_guard.hooks.child_events import handlers as make

                table.update(make(ChildGuard(env)))
            except Exception as e:  # noqa: BLE001 - no guard, no action: every judged action is refused
                raise ChildBlocked("guard-error", f"the guard could not start in this child "
                                   f"({type(e).__name__}: {e})") from None
            finally:
                tl.busy = None
        return table

    armed: list[bool] = []
    arm_on = DATA_LIBS
    libraries = own_code.LIBRARIES

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if (event == "import" and on_duckdb is not None and not armed
                and str(args[0]).partition(".")[0] in arm_on):
            armed.append(True)   # DuckDB is judged in the child as in the kernel
            tl.busy = getframe()
            try:
                on_duckdb(env)
            finally:
                tl.busy = None
            return
        if event not in events:
            return
        try:
            f = getframe(1)
        except ValueError:   # no Python frame: native code (DuckDB's threads) runs the child's
            f = None         # callable, user code (``held``/``own_work`` of None are false)
        if getattr(tl, "busy", None) is not None and held(f):
            return
        if event in SELF_EVENTS:   # the kernel's self-protection handlers (``child_self``)
            name = args[1] if len(args) > 1 else None
            if (event in NAMED and not (isinstance(name, str) and name.startswith(libraries))) \
                    or (f is not None and own_work(f)):   # (no library's name: nothing to do)
                return
            tl.busy = getframe()
            try:
                from jupyter_guard.hooks.child_self import judge  # late: at its first event
            finally:
                tl.busy = None
            judge(env, event, args, f, guards)
            return
        if event == "open" and not (args[2] or 0) & write:
            path = args[0]
            if not (isinstance(path, str) and any(n in path for n in authority)):
                return
            event = "authority.read"
        if own_work(f):
            return
        handlers()[event](args)

    sys.addaudithook(hook)
    if on_duckdb is not None:   # the guarded start (not a test's bare hook): files checked too
        import builtins
        import io

        builtins.open = io.open = early_open(env, io.open)
    previous = sys.excepthook

    def excepthook(kind: Any, value: Any, tb: Any) -> None:
        if isinstance(value, ChildBlocked) or kind.__name__ == "GuardBlocked":
            print(str(value), file=sys.stderr)   # one line, like the kernel's refusals
        else:
            previous(kind, value, tb)

    sys.excepthook = excepthook
