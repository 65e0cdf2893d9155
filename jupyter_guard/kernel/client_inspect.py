"""Shift+Tab inspection (``inspect_request``) runs no code a cell defined, and shows no raw value.

IPython finds the inspected name with ``getattr`` (a cell's property or ``__getattr__`` runs
for every part but the last), then its inspector calls ``str``, ``len`` and ``getdoc`` on the
object (a cell's ``__repr__``, ``__len__``, ``getdoc`` run). Here the name is resolved part by
part as IPython's ``limited`` completion does: names from the namespace, attributes read
statically (``inspect.getattr_static``), a function bound without a call; a descriptor or a
``__getattr__`` runs only when a library defined it (``df.ssn``, ``df.T``), and a cell's
stops the lookup (a cell's property as the last part is shown as the property, unevaluated,
as IPython does). The inspector then runs with a trace function that stops it at the first call into
code a cell (or any file outside the installed libraries) defined, and an audit hook that
refuses any act (a process, a write, a connection) while it runs, for code a cell reached
without a Python frame. A stopped inspection answers with a one-line note instead.

The reply is masked on the wire as displays are (``kernel.replies``); each request is one audit row
(``kind='runtime'``, ``inspect_request <name>``, rule ``inspect`` when stopped).
"""
from __future__ import annotations

import builtins
import inspect
import logging
import os
import sys
import sysconfig
import threading
import types
from typing import Any

log = logging.getLogger("jupyter_guard")

RULE = "inspect"
ACTS = frozenset({
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.kill",
    "os.killpg", "subprocess.Popen", "os.remove", "os.rmdir", "os.rename", "os.mkdir",
    "os.truncate", "os.chmod", "os.chown", "os.link", "os.symlink", "os.utime", "os.putenv",
    "os.unsetenv", "shutil.rmtree", "shutil.copyfile", "shutil.move", "socket.connect",
    "socket.bind", "socket.sendto", "socket.sendmsg", "ctypes.dlopen", "ctypes.call_function",
    "ctypes.dlsym", "pty.spawn", "webbrowser.open"})
"""Audit events refused while the inspector runs: nothing it does for a reply acts."""
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
INSPECTING: dict[str, Any] = {"thread": None}


class Stopped(BaseException):
    """The inspection reached code a cell defined (a ``BaseException``: the inspector's own
    ``except Exception`` does not swallow it)."""


def _libraries() -> tuple[str, ...]:
    paths = {sysconfig.get_paths().get(k, "") for k in ("stdlib", "platstdlib", "purelib",
                                                         "platlib")}
    paths |= {sys.prefix, sys.base_prefix, sys.exec_prefix,
              os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    return tuple(os.path.join(p, "") for p in paths if p)


LIBRARIES = _libraries()
"""Code from these directories is a library's (the guard's package among them)."""


def user_code(filename: str, where: Any = None) -> bool:
    """Code not loaded from an installed library's file: a cell's, a file the user wrote, text
    ``exec``'d in a namespace that is not a library module's (a library makes code too: the
    ``__init__`` of a dataclass, compiled as ``<string>`` in its module's namespace)."""
    if filename.startswith((*LIBRARIES, "<frozen")):
        return False
    if not filename.startswith("<") or not isinstance(where, dict):
        return True
    module = sys.modules.get(str(where.get("__name__", "")))
    return getattr(module, "__dict__", None) is not where or \
        not str(getattr(module, "__file__", "") or "").startswith(LIBRARIES)


def _users(fn: Any) -> bool:
    """``fn`` (a function, or what holds one) runs code a user defined."""
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if isinstance(code, types.CodeType):
        return user_code(code.co_filename)
    # a user class's instance as a callable or descriptor: its type's methods decide
    return not isinstance(fn, (types.BuiltinFunctionType, types.WrapperDescriptorType,
                               types.MethodWrapperType, types.MethodDescriptorType,
                               types.GetSetDescriptorType, types.MemberDescriptorType,
                               types.ClassMethodDescriptorType)) and _users_type(type(fn))


def _users_type(cls: type) -> bool:
    return any(user_code(getattr(getattr(v, "__code__", None), "co_filename", "") or "<frozen")
               for k in cls.__mro__ for v in vars(k).values() if isinstance(v, types.FunctionType))


class Refused(Exception):
    """The name's lookup would run a user's code: ``(part, why)``."""


def resolve(shell: Any, name: str) -> tuple[bool, Any, Any]:
    """``(found, obj, parent)`` of ``name`` without running a user's code for its parts."""
    parts_ok, parts = shell._find_parts(name.strip())
    if not parts_ok or not parts:
        return False, None, None
    for ns in (shell.user_ns, shell.user_global_ns, builtins.__dict__):
        if isinstance(ns, dict) and parts[0] in ns:
            obj = dict.__getitem__(ns, parts[0])
            break
    else:
        return False, None, None
    parent = None
    for at, part in enumerate(parts[1:], 2):
        parent, obj = obj, _part(obj, part, at == len(parts))
    return True, obj, parent


_MISSING = object()


def _part(obj: Any, part: str, last: bool) -> Any:
    """One attribute (or index) of ``obj``, read as ``resolve`` says."""
    if part.isdigit():
        if type(obj) in (list, tuple):
            return obj[int(part)]
        raise Refused(part, "an item of an object that is not a plain list")
    cls = type(obj)
    hook = inspect.getattr_static(cls, "__getattribute__", None)
    if _users(hook):
        raise Refused(part, f"{cls.__name__}.__getattribute__ is a cell's")
    try:
        v = inspect.getattr_static(obj, part)
    except AttributeError:
        v = _MISSING
    if v is _MISSING:
        getter = (obj.__dict__.get("__getattr__") if isinstance(obj, types.ModuleType)
                  else inspect.getattr_static(cls, "__getattr__", None))
        if getter is None:
            raise KeyError(part)
        if _users(getter):
            raise Refused(part, f"{cls.__name__}.__getattr__ is a cell's")
        return getattr(obj, part)   # a library's __getattr__ (``df.ssn``), watched by ``watched``
    if isinstance(v, staticmethod):
        return v.__func__
    if isinstance(v, classmethod):
        return types.MethodType(v.__func__, obj if isinstance(obj, type) else cls)
    if isinstance(v, types.FunctionType):   # a method of the class is bound, not called
        of_class = not isinstance(obj, type) and inspect.getattr_static(cls, part, None) is v
        return types.MethodType(v, obj) if of_class else v
    get = getattr(type(v), "__get__", None)
    if get is None:
        return v
    if isinstance(v, property):
        if last:
            return v   # shown unevaluated, as IPython does
        if _users(v.fget):
            raise Refused(part, "a property a cell defined")
    elif _users(v) or _users_type(type(v)):
        raise Refused(part, "a descriptor a cell defined")
    return getattr(obj, part)


def _tuple_new(code: types.CodeType, where: Any) -> bool:
    """The ``__new__`` ``collections.namedtuple`` compiles: it names nothing but
    ``tuple.__new__``, with no builtins."""
    return isinstance(where, dict) and where.get("__builtins__") == {} and \
        where.get("_tuple_new") is tuple.__new__ and set(code.co_names) <= {"_tuple_new"}


_SEEN: dict[types.CodeType, bool] = {}
"""Whether a code object is a user's, remembered across requests (a library's code is most of
what an inspection calls, and the same each time)."""


def watched(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args)`` stopped (``Stopped``) at the first Python call into a user's code, and
    refusing every act (``ACTS``, a write) meanwhile. A trace function sees only calls of Python
    code (a profile sees every C call and return too: twice the cost); it returns None, so no
    line is traced."""
    seen = _SEEN
    if len(seen) > 20000:   # code objects kept alive by the memo: bounded
        seen.clear()

    def trace(frame: Any, event: str, _arg: Any) -> None:
        code = frame.f_code
        hit = seen.get(code)
        if hit is None:
            hit = seen[code] = user_code(code.co_filename, frame.f_globals) and \
                not _tuple_new(code, frame.f_globals)
        if hit:
            raise Stopped(f"{code.co_name} ({os.path.basename(code.co_filename)})")

    previous = sys.gettrace()
    sys.settrace(trace)
    INSPECTING["thread"] = threading.get_ident()
    try:
        return fn(*args, **kwargs)
    finally:
        INSPECTING["thread"] = None
        sys.settrace(previous)


def on_event(event: str, args: tuple[Any, ...]) -> None:
    """The audit hook's part for inspection: while ``watched`` runs in this thread, an act is
    refused."""
    if INSPECTING["thread"] is None or INSPECTING["thread"] != threading.get_ident():
        return
    if event in ACTS or (event == "open" and len(args) > 2 and (
            (isinstance(args[1], str) and any(c in args[1] for c in "wax+"))
            or (isinstance(args[2], int) and args[2] & _WRITE))):
        raise Stopped(f"an act ({event})")


def guarded_inspect(kernel: Any, state: dict[str, Any], code: str, cursor_pos: int,
                    detail_level: int = 0, omit_sections: Any = ()) -> dict[str, Any]:
    """ipykernel's ``do_inspect``, with the name resolved and inspected as the module says."""
    from IPython.utils.tokenutil import token_at_cursor

    shell = kernel.shell
    reply: dict[str, Any] = {"status": "ok", "data": {}, "metadata": {}, "found": False}
    name = ""
    decision, rule, why = "allow", "", ""
    try:
        name = token_at_cursor(code, cursor_pos) if isinstance(code, str) else ""
        bundle = watched(_inspect, shell, name, detail_level, omit_sections)
        if bundle is not None:
            reply["data"], reply["found"] = bundle, True
    except (Refused, Stopped) as e:
        decision, rule = "block", RULE
        why = (f"inspecting `{name[:80]}` would run code a cell defined ({_why(e)}), so it is "
               "not shown; evaluate it in a cell instead")
    except Exception as e:   # the guard failing shows nothing (fail closed)
        log.exception("jupyter_guard failed while inspecting %r", name[:80])
        decision, rule = "block", "guard-error"
        why = f"the guard could not inspect `{name[:80]}` ({type(e).__name__}); nothing is shown"
    if why:
        reply.update(found=True, data={"text/plain": f"Blocked by jupyter_guard [{rule}]: {why}"})
    # the reply is masked on the wire (``kernel.replies``: ``inspect_reply`` is scanned with
    # ``mask_bundle``, as displays are): masking it here too would scan it twice
    _record(state, name, decision, rule, why or "inspect_request")
    return reply


def _why(e: BaseException) -> str:
    return " ".join(str(a) for a in e.args[-1:]) if e.args else type(e).__name__


def _inspect(shell: Any, name: str, detail_level: int, omit_sections: Any) -> Any:
    from IPython.core.oinspect import OInfo

    magic = None
    with shell.builtin_trap:
        try:
            found, obj, parent = resolve(shell, name)
        except KeyError:
            found, obj, parent = False, None, None
        if not found and name.lstrip("%").isidentifier():   # magics are IPython's or the guard's
            bare = name.lstrip("%")
            magic = shell.find_line_magic(bare) if not name.startswith("%%") else None
            magic = magic or shell.find_cell_magic(bare)
            found, obj = magic is not None, magic
        if not found:
            return None
        info = OInfo(ismagic=magic is not None, isalias=False, found=True, parent=parent, obj=obj,
                     namespace="IPython internal" if magic is not None else "Interactive")
        bundle = shell.inspector._get_info(obj, name, info=info, detail_level=detail_level,
                                           formatter=None, omit_sections=omit_sections)
    if not shell.enable_html_pager:
        bundle.pop("text/html", None)
    return bundle


def _record(state: dict[str, Any], name: str, decision: str, rule: str, why: str) -> None:
    guard = state.get("guard")
    audit = getattr(guard, "audit", None)
    if guard is None or audit is None:
        return
    try:
        audit.begin(user=guard.user, actor=guard.actor, notebook=getattr(guard, "notebook", ""),
                    cell_id="", execution_count=None, kind="runtime",
                    code=f"inspect_request {name}"[:4000], decision=decision, rule_id=rule,
                    reason=why, status="blocked" if decision == "block" else "ok",
                    groups=getattr(guard, "groups", ()))
    except Exception as e:  # noqa: BLE001 - the reply stands whether or not it is recorded
        log.error("jupyter_guard could not record an inspection: %s", e)
