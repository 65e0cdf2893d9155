"""Files that native code opens by path (pyarrow, polars, h5py): C++ and Rust open them past
``open`` and the audit hook, so each route is wrapped where user code calls it and its path is
checked at call time.

- Self-protection: a path that names the audit store (``audit.duckdb``, its journals, lock,
  delta files, copies; a glob that can match one; a folder that holds it) or the server's
  authority files is refused as ``guard.tamper``, for reading and writing alike.
- A destination that is no path is let through only when it is an in-memory buffer, or a file
  object whose own opening the guard already checked (Python's ``open``, a pyarrow file made by
  a wrapped route); anything else cannot be told and is refused (fail closed).
- Writers (``write_table``, ``ParquetWriter``, ``CSVWriter``, ``ORCWriter``, ``write_to_dataset``,
  ``write_dataset``, h5py datasets in ``exit_h5py``) have their data judged (``judge_table``).

Paths opened for writing also raise ``open`` (``exit_arrow.opened``: the path rules decide);
filesystems, native files' writes and IPC writers' tables are ``exit_arrow``'s. Not covered:
code that kept a route from before the guard loaded.
"""
from __future__ import annotations

import io
import os
import sys
import threading
import weakref
from typing import Any

from jupyter_guard.hooks import exit_arrow, exits, lazy
from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import Busy, busy, held

# module -> {function: (position of the path, its keyword, extra paths' keywords)}
_FUNCS: dict[str, dict[str, tuple[int, str]]] = {
    "pyarrow": {"memory_map": (0, "path"), "create_memory_map": (0, "path"),
                "input_stream": (0, "source"), "output_stream": (0, "source")},
    "pyarrow.parquet": {"read_table": (0, "source"), "read_pandas": (0, "source"),
                        "read_metadata": (0, "where"), "read_schema": (0, "where"),
                        "write_metadata": (1, "where")},
    "pyarrow.dataset": {"dataset": (0, "source"), "parquet_dataset": (0, "metadata_path")},
    "pyarrow.feather": {"read_table": (0, "source"), "read_feather": (0, "source")},
    "pyarrow.csv": {"read_csv": (0, "input_file"), "open_csv": (0, "input_file")},
    "pyarrow.json": {"read_json": (0, "input_file")},
    "pyarrow.orc": {"read_table": (0, "source")},
    "pyarrow.ipc": {"open_file": (0, "source"), "open_stream": (0, "source"),
                    "new_file": (0, "sink"), "new_stream": (0, "sink")},
}
# Python classes whose ``__init__`` opens the path
_INITS: dict[str, dict[str, tuple[int, str]]] = {
    "pyarrow.parquet": {"ParquetFile": (0, "source"), "ParquetWriter": (0, "where"),
                        "ParquetDataset": (0, "path_or_paths")},
    "pyarrow.orc": {"ORCFile": (0, "source"), "ORCWriter": (0, "where")},
    "pyarrow.ipc": {"RecordBatchFileWriter": (0, "sink"), "RecordBatchStreamWriter": (0, "sink")},
}
# module -> writers judged on their data: name -> (table position, path position, keyword)
_WRITERS: dict[str, dict[str, tuple[int, int, str]]] = {
    "pyarrow.parquet": {"write_table": (0, 1, "where"), "write_to_dataset": (0, 1, "root_path")},
    "pyarrow.csv": {"write_csv": (0, 1, "output_file")},
    "pyarrow.feather": {"write_feather": (0, 1, "dest")},
    "pyarrow.orc": {"write_table": (0, 1, "where")},
    "pyarrow.dataset": {"write_dataset": (0, 1, "base_dir")},
}
_DEST: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()   # writer -> its path
_FX: list[Any] = []


class _Local(threading.local):
    # the frame of a patched writer that decided this write (a class default: a missing
    # thread-local attribute costs an exception per open)
    judged: Any = None


_tl = _Local()


class Judged:
    """``with Judged():`` a writer that decided on its frame: its own file needs no byte scan.
    A token like ``state.Busy``'s: the writer's own frame, held only by the guard's code."""

    def __enter__(self) -> None:
        self.prev = _tl.judged
        _tl.judged = sys._getframe(1)

    def __exit__(self, *exc: object) -> None:
        _tl.judged = self.prev


def install(fx: Any, module_patched: dict[tuple[Any, str], Any],
            patched: dict[tuple[Any, str], Any]) -> None:
    """Wrap every route above when user code imports its module."""
    _FX[:] = [fx]
    for name in sorted((set(_FUNCS) | set(_INITS) | set(_WRITERS)) - {"pyarrow"}):
        def wrap(m: Any, n: str = name) -> None:
            _module(fx, n, m, module_patched, patched)
        lazy.when_imported(name, wrap)
    lazy.when_imported("pyarrow", lambda m: _classes(fx, m, module_patched))
    for fs_name in ("pyarrow._fs", "pyarrow.fs"):   # the C module alone, or through ``fs``
        lazy.when_imported(fs_name, lambda m: exit_arrow.install_fs(fx, m, module_patched))
    from jupyter_guard.hooks import exit_h5py

    lazy.when_imported("h5py", lambda m: exit_h5py.install(fx, m, patched, check))


def _set(mod: Any, name: str, fn: Any, module_patched: dict[tuple[Any, str], Any]) -> None:
    setattr(mod, name, fn)
    module_patched[(mod, name)] = fn


def _module(fx: Any, name: str, mod: Any, module_patched: dict[tuple[Any, str], Any],
            patched: dict[tuple[Any, str], Any]) -> None:
    for fname, (at, kw) in _FUNCS.get(name, {}).items():
        orig = getattr(mod, fname, None)
        if orig is not None and not getattr(orig, "_jg", False):
            fn = _opener(fx, orig, at, kw, f"{name}.{fname}")
            _set(mod, fname, fn, module_patched)
            if name == "pyarrow":
                _set(sys.modules["pyarrow.lib"], fname, fn, module_patched)
    for cname, (at, kw) in _INITS.get(name, {}).items():
        cls = getattr(mod, cname, None)
        orig = cls.__dict__.get("__init__") if isinstance(cls, type) else None
        if orig is not None and not getattr(orig, "_jg", False):
            fn = _opener(fx, orig, at + 1, kw, f"{name}.{cname}", keep=True)
            type.__setattr__(cls, "__init__", fn)
            patched[(cls, "__init__")] = fn
            for meth in ("write_table", "write_batch", "write"):
                m = cls.__dict__.get(meth)
                if "Writer" in cname and m is not None and not getattr(m, "_jg", False):
                    w = _method_writer(fx, m, f"{name}.{cname}.{meth}")
                    type.__setattr__(cls, meth, w)
                    patched[(cls, meth)] = w
    for wname, (t_at, at, kw) in _WRITERS.get(name, {}).items():
        orig = getattr(mod, wname, None)
        if orig is not None and not getattr(orig, "_jg", False):
            _set(mod, wname, _writer(fx, orig, t_at, at, kw, wname, f"{name}.{wname}"),
                 module_patched)


# -- paths -------------------------------------------------------------------------------------
def _in_memory(obj: Any) -> bool:
    if isinstance(obj, (bytes, bytearray, memoryview, io.BytesIO, io.StringIO)):
        return True
    pa, dset = sys.modules.get("pyarrow"), sys.modules.get("pyarrow.dataset")
    return (pa is not None and isinstance(obj, (
        pa.Buffer, pa.BufferReader, pa.BufferOutputStream, pa.MockOutputStream,
        pa.FixedSizeBufferWriter, pa.Table, pa.RecordBatch, pa.RecordBatchReader))) or (
        dset is not None and isinstance(obj, dset.Dataset))   # made by a checked route


def paths_of(where: Any) -> list[str] | None:
    """The paths ``where`` names; ``[]`` for an in-memory buffer or a file object whose opening
    was checked; ``None`` when it cannot be told."""
    if isinstance(where, (str, bytes, os.PathLike)):
        return [os.fsdecode(os.fspath(where))]
    if isinstance(where, (list, tuple)):
        out: list[str] = []
        for w in where:
            got = paths_of(w)
            if got is None:
                return None
            out += got
        return out
    if where is None or _in_memory(where) or isinstance(where, io.IOBase):
        return []   # Python file objects: ``open`` (checked) made them
    pa = sys.modules.get("pyarrow")
    if pa is not None and isinstance(where, pa.NativeFile):
        return []   # made by a wrapped route (``OSFile``, ``memory_map``, ``input_stream``)
    if hasattr(where, "write") or hasattr(where, "read"):   # a file-like object of Python
        return []   # code: its own writes and opens go through the checked ``open``
    return None


def _holds_store(path: str, audit: str) -> bool:
    """A folder holding the store (a dataset read or written over it takes its files)."""
    try:
        if not os.path.isdir(path):
            return False
        real = os.path.realpath(path).rstrip(os.sep) + os.sep
        return any(os.path.realpath(a).startswith(real) for a in (audit,))
    except (OSError, ValueError):
        return True


def check(fx: Any, where: Any, how: str, frame: Any) -> None:
    """Refuse (``self-protection``) a native route naming the guard's own files."""
    if busy() or not fx.rt.user_stack(frame):
        return
    paths = paths_of(where)
    if paths is None:
        fx.rt.tamper(f"{how} is given {type(where).__name__}, which names no file the guard "
                     "can check; pass a path or an in-memory buffer", f"{how}(...)")
        return
    if not paths:
        return
    from jupyter_guard.authority_files import named_in
    from jupyter_guard.guard.store_reads import store_paths

    audit = fx.rt.guard.settings.get("audit") or ""
    for p in paths:
        p = p[len("file://"):] if p.startswith("file://") else p
        if audit and store_paths([p], audit):
            fx.rt.tamper(f"opens the guard's audit store {p} through {how}; the store is the "
                         "guard's own: read it outside the kernel (`jupyter guard report`)",
                         f"{how}({p!r})")
        elif audit and _holds_store(p, audit):
            fx.rt.tamper(f"opens the folder {p}, which holds the guard's audit store, through "
                         f"{how}; name a folder without it", f"{how}({p!r})")
        if named_in([p]):
            fx.rt.tamper(f"opens the jupyter server's authority file {p} through {how} (its "
                         "signing key or approvals); no cell may", f"{how}({p!r})")


def _arg(args: tuple[Any, ...], kw: dict[str, Any], at: int, name: str) -> Any:
    return args[at] if len(args) > at else kw.get(name)


def _opener(fx: Any, orig: Any, at: int, kw_name: str, how: str, keep: bool = False) -> Any:
    def opener(*args: Any, **kw: Any) -> Any:
        where = _arg(args, kw, at, kw_name)
        check(fx, where, how, sys._getframe(1))
        if how == "pyarrow.memory_map":   # ``r+``/``w``: written in place
            exit_arrow.opened(how, where, exit_arrow.flags_of(_arg(args, kw, at + 1, "mode")))
        elif how in exit_arrow.TRUNCATING and fx.rt.user_stack(sys._getframe(1)):
            exit_arrow.opened(how, where)
        out = orig(*args, **kw)
        if keep and args and isinstance(where, (str, os.PathLike)):
            try:
                _DEST[args[0]] = os.fspath(where)   # a writer's later writes name it
            except TypeError:
                pass
        return out
    checked = sealed(opener, orig)   # its cells (the check) out of a cell's reach
    checked._jg = True   # a mark on the guard's own wrapper
    return checked


# -- content -----------------------------------------------------------------------------------
def judge_table(fx: Any, table: Any, dest: str, how: str, frame: Any) -> Any:
    """Refuse (``exfiltration``) writing ``table`` (Arrow table, batch, stream or pandas frame)
    when it carries sensitive data; returns the table to write (a stream is read once)."""
    if busy() or not fx.rt.user_stack(frame):
        return table
    with Busy():
        if not hasattr(table, "slice") and hasattr(table, "read_all"):
            table = table.read_all()   # a stream: read once, checked, written
        if hasattr(table, "iloc"):   # a pandas frame (``DataFrame.to_feather`` hands it over)
            sample = table.head(200)
        elif hasattr(table, "slice"):
            sample = table.slice(0, 200).to_pandas()
        else:
            return table   # a dataset or batches: their files are checked by path only
    fx.exports.check(sample, dest, how, {})
    judged = _tl.judged   # a pandas writer read its frame's numbers already
    if len(exits.known) and not (judged is not None and held(judged, frame)):
        from jupyter_guard.hooks import known_binary

        with Busy():
            kind = known_binary.in_table(table)
        if kind:
            exits.refuse(fx.rt.guard, fx.rt, kind, dest, how)
    return table


def _writer(fx: Any, orig: Any, t_at: int, at: int, kw_name: str, name: str, how: str) -> Any:

    def write(*args: Any, **kw: Any) -> Any:
        frame = sys._getframe(1)
        where = _arg(args, kw, at, kw_name)
        check(fx, where, how, frame)
        if how in exit_arrow.TRUNCATING and fx.rt.user_stack(frame):
            exit_arrow.opened(how, where)
        key = {"write_dataset": "data", "write_csv": "data", "write_feather": "df"}.get(name,
                                                                                   "table")
        table = _arg(args, kw, t_at, key)
        new = judge_table(fx, table, str(getattr(where, "path", where)), how, frame)
        if len(args) > t_at:
            args = (*args[:t_at], new, *args[t_at + 1:])
        elif key in kw:
            kw[key] = new
        with Judged():
            return orig(*args, **kw)
    checked = sealed(write, orig)   # its cells (the check) out of a cell's reach
    checked._jg = True   # a mark on the guard's own wrapper
    return checked


def _method_writer(fx: Any, orig: Any, how: str) -> Any:
    def write(self: Any, table: Any, *args: Any, **kw: Any) -> Any:
        dest = _DEST.get(self, type(self).__name__)
        table = judge_table(fx, table, dest, how, sys._getframe(1))
        with Judged():
            return orig(self, table, *args, **kw)
    checked = sealed(write, orig)   # its cells (the check) out of a cell's reach
    checked._jg = True   # a mark on the guard's own wrapper
    return checked


# -- Cython types: replaced by checked subclasses where user code finds them ----------------------
def _classes(fx: Any, pa: Any, module_patched: dict[tuple[Any, str], Any]) -> None:
    _module(fx, "pyarrow", pa, module_patched, {})
    exit_arrow.install_lib(fx, pa)
    orig = pa.OSFile
    if getattr(orig, "_jg", False):
        return

    def new(cls: Any, path: Any, *args: Any, **kw: Any) -> Any:
        check(fx, path, "pyarrow.OSFile", sys._getframe(1))
        if fx.rt.user_stack(sys._getframe(1)):
            exit_arrow.opened("pyarrow.OSFile", path,
                              exit_arrow.flags_of(args[0] if args else kw.get("mode")))
        return orig.__new__(cls, path, *args, **kw)
    sub = type("OSFile", (orig,), {"__new__": staticmethod(sealed(new, orig.__new__)),
                                   "_jg": True, "__module__": orig.__module__,
                                   "__doc__": orig.__doc__})
    _set(pa, "OSFile", sub, module_patched)
    _set(sys.modules["pyarrow.lib"], "OSFile", sub, module_patched)
    csv = sys.modules.get("pyarrow.csv")
    if csv is not None:
        _csv_writer(fx, csv, module_patched)
    else:
        lazy.when_imported("pyarrow.csv", lambda m: _csv_writer(fx, m, module_patched))


def _csv_writer(fx: Any, csv: Any, module_patched: dict[tuple[Any, str], Any]) -> None:
    orig = csv.CSVWriter
    if getattr(orig, "_jg", False):
        return

    def new(cls: Any, sink: Any, *args: Any, **kw: Any) -> Any:
        check(fx, sink, "pyarrow.csv.CSVWriter", sys._getframe(1))
        if fx.rt.user_stack(sys._getframe(1)):
            exit_arrow.opened("pyarrow.csv.CSVWriter", sink)
        obj = orig.__new__(cls, sink, *args, **kw)
        if isinstance(sink, (str, os.PathLike)):
            _DEST[obj] = os.fspath(sink)
        return obj
    body: dict[str, Any] = {"__new__": staticmethod(sealed(new, orig.__new__)),
                            "_jg": True, "__module__": orig.__module__, "__doc__": orig.__doc__}
    for meth in ("write", "write_table", "write_batch"):
        body[meth] = _method_writer(fx, getattr(orig, meth), f"pyarrow.csv.CSVWriter.{meth}")
    _set(csv, "CSVWriter", type("CSVWriter", (orig,), body), module_patched)
