"""Files opened for writing by user code, whatever the library: ``open``/``io.open`` (and so
``json.dump``, ``pickle.dump``, ``np.save``, ``Path.write_text``, pandas' own writers however
called, ``Styler.to_html``) return a ``CheckedFile`` (``file_batch``) whose writes are scanned,
in batches, before they reach the file (``exits.scan``); pandas frames being written are judged
like the patched writers; writers that open files in native code (DuckDB relation
``write_csv``/``write_parquet``/``to_csv``/``to_parquet``, pyarrow's ``write_table``/
``write_csv``/``write_feather``, ``ParquetWriter``: ``exit_native``, which also refuses every
pyarrow route naming the audit store) are patched and judged on the data they would write, and so
is numpy's ``ndarray.tofile`` (``exit_numpy``). Every write is also read as numbers, whose
adjacent pieces may spell a known SSN (``file_pieces``); pandas and Arrow writers' rows too. A
binary write's numbers (and an Arrow writer's numeric columns) are read as derived values too:
floats of a scaled SSN, an SSN with a digit cut, digits as small integers (``known_binary``).
"""
from __future__ import annotations

import builtins
import importlib
import io
import os
import sys
from typing import Any

from jupyter_guard.hooks import exit_dbcopy, exit_native, exits, joined_pieces
from jupyter_guard.hooks.exit_native import Judged as Judged  # re-exported: writers
from jupyter_guard.hooks.exit_native import _tl
from jupyter_guard.hooks.file_batch import CheckedFile
from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import busy, held

DATABASE_PAGES = exit_dbcopy.DATABASE_PAGES


def database_pages(data: Any) -> bool:
    """Bytes that begin as a DuckDB or SQLite file does: a copy of a database made by reading
    and writing its bytes (``open(x, 'wb').write(open('wh.duckdb', 'rb').read())``)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return False
    from jupyter_guard.hooks.event_paths import database_header

    return database_header(bytes(data[:24]))


_OPEN = io.open


def _data_fd(fd: int) -> bool:
    """A descriptor whose bytes leave: a file (``tempfile.TemporaryFile``, ``os.open``) or a
    pipe (a child's stdin); terminals and sockets have their own exits."""
    import stat

    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) or stat.S_ISFIFO(mode)


class FileExits:
    def __init__(self, rt: Any) -> None:
        self.rt = rt
        self._exports: Any = None

    @property
    def exports(self) -> Any:
        """The data-aware export decision (``writers.Exports``) of the current guard."""
        if self._exports is None or self._exports.guard is not self.rt.guard:
            from jupyter_guard.hooks.writers import Exports  # late: writers imports CheckedFile

            self._exports = Exports(self.rt.guard, self.rt)
        return self._exports

    def check(self, data: Any, dest: str, how: str) -> None:
        if busy():
            return
        pages = exit_dbcopy.copied(data, dest) or (
            database_pages(data) and not exit_dbcopy.downloading(sys._getframe(1))
            and exit_dbcopy.local_copy(data, dest))   # a download is no copy of this machine's
        kind = DATABASE_PAGES if pages else (self._scan(data)
                                             or joined_pieces.carries(data)
                                             or _pieces(data, dest)
                                             or _binary(data))
        if kind:
            exits.refuse(self.rt.guard, self.rt, kind, dest, how, data=data)

    def _scan(self, data: Any) -> str:
        """``exits.scan``; a numeric ``.npy`` (``np.save``) has its header read by the detectors
        and its body by the known values only: raw float bytes spell e-mails by chance."""
        settings = self.exports.settings()
        head = _npy_head(data)
        if not head:
            return exits.scan(data, settings, decode=True)
        import dataclasses

        return exits.scan(bytes(data[:head]), settings, decode=True) or exits.scan(
            data, dataclasses.replace(settings, detectors=()), decode=True)

    def opened(self, f: Any, file: Any, mode: Any) -> Any:
        if not isinstance(mode, str) or not ("w" in mode or "a" in mode or "x" in mode
                                             or "+" in mode):
            exit_dbcopy.note(file, self.rt, sys._getframe(2))   # reading: nothing leaves, but
            return f   # a database file's bytes user code read are looked for in later writes
        judged = _tl.judged
        if (judged is not None and held(judged, sys._getframe(1))) or busy() \
                or (isinstance(file, int) and not _data_fd(file)):
            return f
        caller = sys._getframe(2)
        if not self.rt.user_stack(caller):
            return f
        path = str(getattr(f, "name", file))
        self._pandas_frame(caller, path)
        return CheckedFile(f, path, self, file)

    def _pandas_frame(self, frame: Any, path: str) -> None:
        """pandas opening a file for user code (``NDFrame.to_csv(df, ...)``, ``Styler.to_html``):
        judge the frame it writes like the patched writers do."""
        import pandas as pd

        from jupyter_guard.hooks.df_lineage import origins

        data = None
        while frame is not None:
            if str(frame.f_globals.get("__name__", "")).startswith("pandas."):
                obj = frame.f_locals.get("self")
                obj = getattr(obj, "data", obj) if type(obj).__name__ == "Styler" else obj
                obj = getattr(obj, "obj", obj) if not isinstance(obj, pd.core.generic.NDFrame) \
                    else obj
                if isinstance(obj, (pd.DataFrame, pd.Series)):
                    data = obj
            frame = frame.f_back
        if data is None:
            return
        if isinstance(data, pd.Series):
            lineage = {str(data.name): origins(data).get("", frozenset())}
            data = data.to_frame(name=str(data.name))
        else:
            lineage = origins(data)
        self.exports.check(data, path, "pandas writer", lineage)


FX: FileExits | None = None


def install(rt: Any, module_patched: dict[tuple[Any, str], Any],
            patched: dict[tuple[Any, str], Any]) -> FileExits:
    """Patch ``open`` now; DuckDB's and pyarrow's writers when user code imports them."""
    global FX
    from jupyter_guard.hooks import lazy

    if FX is not None:
        FX.rt = rt
        return FX
    fx = FX = FileExits(rt)
    orig = _OPEN
    from jupyter_guard.mask import text as mask_text

    if exits.known_spans not in mask_text.KNOWN:   # printed values from sensitive columns
        mask_text.KNOWN.append(exits.known_spans)
        mask_text.KNOWN.append(exits.grouped_spans)   # their digits cut in groups

    def open(file: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
        f = orig(file, mode, *args, **kw)
        return fx.opened(f, file, mode)

    checked = sealed(open, orig)   # its cells (the check) out of a cell's reach; io.open's name
    for mod in (builtins, io):
        mod.open = checked  # type: ignore[attr-defined]  # builtins.open and io.open, replaced
        module_patched[(mod, "open")] = checked
    shell_mod = sys.modules.get("IPython.core.interactiveshell")   # the ``open`` cells see
    if shell_mod is not None and hasattr(shell_mod, "io_open"):
        shell_mod.io_open = checked  # type: ignore[attr-defined]  # IPython's alias of io.open
        module_patched[(shell_mod, "io_open")] = checked
    from jupyter_guard.hooks import exit_streams

    exit_streams.install(fx, module_patched, patched)
    from jupyter_guard.hooks import file_layers

    file_layers.install()   # the file objects behind a checked file check their own writes
    exit_dbcopy.install(rt, module_patched)   # ``os.open`` of a database, ``copy_file_range``
    lazy.when_imported("duckdb", lambda duckdb: _relation_writers(fx, duckdb, patched))
    from jupyter_guard.hooks import exit_numpy

    lazy.when_imported("numpy", lambda numpy: exit_numpy.install(fx, numpy))
    lazy.when_imported("numpy", _load_binary)   # loaded before a write needs it
    lazy.when_imported("numpy.lib._datasource",
                       lambda ds: exit_numpy.install_datasource(ds, orig, checked))
    exit_native.install(fx, module_patched, patched)   # pyarrow: paths checked, writers judged
    return fx


def _load_binary(numpy: Any) -> None:
    importlib.import_module("jupyter_guard.hooks.known_binary")


def _relation_writers(fx: FileExits, duckdb: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """DuckDB relation writers, which open their files in native code."""
    rel = duckdb.DuckDBPyRelation
    from jupyter_guard.hooks.result_taint import FETCHES

    for name in sorted(FETCHES):   # results keep the SQL taint of their columns
        orig = getattr(rel, name, None)
        if orig is not None and not getattr(orig, "_jg", False):
            fn = _relation_fetch(orig, name, fx)
            type.__setattr__(rel, name, fn)
            patched[(rel, name)] = fn
    for name in ("write_csv", "write_parquet", "to_csv", "to_parquet"):
        orig = getattr(rel, name, None)
        if orig is not None and not getattr(orig, "_jg", False):
            fn = _relation_writer(orig, name, fx)
            type.__setattr__(rel, name, fn)
            patched[(rel, name)] = fn


def _relation_fetch(orig: Any, how: str, fx: FileExits) -> Any:
    def fetch(self: Any, *args: Any, **kw: Any) -> Any:
        try:
            out = orig(self, *args, **kw)
        except Exception as e:
            if not busy():   # a value the error quotes (``error(ssn)``, a failed cast)
                from jupyter_guard.hooks import error_values
                from jupyter_guard.hooks.state import Busy

                try:
                    with Busy():
                        sql = self.sql_query()
                except Exception:  # noqa: BLE001 - no SQL behind it: the detectors scan the error
                    sql = ""
                error_values.note(e, sql, fx.rt.guard)
            raise
        if not busy():
            from jupyter_guard.hooks import result_taint
            from jupyter_guard.hooks.state import Busy

            guard = fx.rt.guard
            try:
                with Busy():
                    sql, names = self.sql_query(), [str(c) for c in self.columns]
            except Exception:  # noqa: BLE001 - no SQL behind it (a frame or a file read): names and detectors
                return out
            out = result_taint.fetched(out, how, sql, result_taint.namespace_connections(guard),
                                       names, guard)
        return out
    sealed_fetch = sealed(fetch, orig)   # its cells (the guard) out of a cell's reach
    sealed_fetch._jg = True   # a mark on the guard's own wrapper
    return sealed_fetch


def _relation_writer(orig: Any, how: str, fx: FileExits) -> Any:
    def write(self: Any, file_name: Any, *args: Any, **kw: Any) -> Any:
        if not busy() and fx.rt.user_stack(sys._getframe(1)):
            from jupyter_guard.hooks.state import Busy

            with Busy():
                sample = self.limit(200).df()
            fx.exports.check(sample, str(file_name), f"relation.{how}", _sql_lineage(self, fx))
        return orig(self, file_name, *args, **kw)
    checked = sealed(write, orig)   # its cells (the exports check) out of a cell's reach
    checked._jg = True   # a mark on the guard's own wrapper
    return checked


def _sql_lineage(rel: Any, fx: FileExits) -> dict[str, frozenset[str]]:
    """Columns of a relation that its SQL computes from sensitive columns (names as read)."""
    try:
        from jupyter_guard.hooks.state import Busy

        with Busy():
            query, cols = rel.sql_query(), [str(c) for c in rel.columns]
        a = fx.rt.guard.sql_analysis(query)
        policy = fx.rt.guard.policy
        read = [c for i in a.intents for c in i.columns if policy.is_sensitive_column(c)]
    except Exception:  # noqa: BLE001 - no SQL to read: the sample's names and values decide
        return {}
    return {c: frozenset(read) for c in cols} if read else {}


def _npy_head(data: Any) -> int:
    """The length of the ``.npy`` header ``data`` begins with when it declares plain numbers
    (bool, integer, float, complex; no fields, no objects), else 0."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or bytes(data[:6]) != b"\x93NUMPY" \
            or sys.modules.get("numpy") is None:
        return 0
    import ast

    import numpy as np

    size = 2 if data[6] == 1 else 4
    end = 8 + size + int.from_bytes(bytes(data[8:8 + size]), "little")
    try:
        header = ast.literal_eval(bytes(data[8 + size:end]).decode("latin-1"))
        dtype = np.dtype(header["descr"])
    except Exception:  # noqa: BLE001 - no header numpy would read: the whole file is text to scan
        return 0
    return end if dtype.kind in "biufc" and dtype.fields is None and not dtype.hasobject else 0


def _pieces(data: Any, dest: str) -> str:
    """``file_pieces.carries``, imported (with numpy) only once a value is known: a guarded
    child's first write must not load numpy."""
    if not len(exits.known):
        return ""
    from jupyter_guard.hooks import file_pieces

    return file_pieces.carries(data, dest)


def _binary(data: Any) -> str:
    """``known_binary.carries``: known values as derived binary numbers (floats of a cut or
    scaled value, digits as small integers); numpy only once a value is known."""
    if not len(exits.known) or not isinstance(data, (bytes, bytearray, memoryview)):
        return ""
    from jupyter_guard.hooks import known_binary

    return known_binary.carries(data)
