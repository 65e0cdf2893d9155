"""pyarrow's own I/O layer (filesystems, native files, IPC writers) judged like Python's.

pyarrow opens, writes, moves and deletes files from C++, and speaks to object stores over its
own sockets: no Python audit event fires. One entry-point layer makes each route raise the
event its Python twin raises, so the same path rules decide (protected paths, the audit store,
destructive writes), and judges the bytes and tables written with the same data-aware check:

- ``pyarrow._fs.FileSystem``'s methods are replaced in the C type's own dictionary
  (``c_types.patch``), so every subclass and every instance (``LocalFileSystem``,
  ``SubTreeFileSystem`` resolved to its base, ``FileSystem.from_uri``'s) is judged however
  the method is reached. A local path raises ``open`` (``open_output_stream``: truncating;
  ``open_append_stream``: appending), ``os.remove`` (``delete_file``), ``shutil.rmtree``
  (``delete_dir``, ``delete_dir_contents``), ``os.rename`` (``move``), ``shutil.copyfile``
  (``copy_file``). A remote one (S3, GCS, HDFS, Azure, or a type not known) is a network exit
  to the endpoint's host: a change there is an upload (``network.allow_hosts``), a read has
  its path text checked like a URL. ``PyFileSystem`` runs Python code of its own: its opens
  and sockets raise their own events.
- ``copy_files`` (``pyarrow._fs._copy_files``/``_copy_files_selector``): every file copied
  is a ``shutil.copyfile`` and an overwrite of its destination (or an upload).
- ``NativeFile.write``/``writelines``/``upload`` (the C type: every file, stream, memory
  map): the bytes are checked like a Python file's (``FileExits.check``), to a remote stream
  like a send (``exit_net.check_out``). In-memory buffers and ``PythonFile`` pass (the first
  is no exit, the second's writes are Python's own).
- ``_CRecordBatchWriter.write``/``write_batch``/``write_table`` (every IPC writer): the
  table is judged like ``pq.write_table``'s (``exit_native.judge_table``).
- Paths opened by name for writing (``OSFile``, ``output_stream``, ``create_memory_map``,
  ``memory_map`` ``r+``/``w``, the IPC and table writers): ``opened`` raises ``open``.
"""
from __future__ import annotations

import os
import sys
import weakref
from typing import Any

from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import busy

TRUNC = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND
INPLACE = os.O_RDWR
# filesystem methods: name -> how many leading arguments are paths
FS_METHODS = {"open_output_stream": 1, "open_append_stream": 1, "delete_file": 1,
              "delete_dir": 1, "delete_dir_contents": 1, "create_dir": 1, "move": 2,
              "copy_file": 2, "open_input_file": 1, "open_input_stream": 1,
              "get_file_info": 1}
CHANGES = ("open_output_stream", "open_append_stream", "delete_file", "delete_dir",
           "delete_dir_contents", "create_dir", "move", "copy_file")
# writers that open their path for writing from scratch (``exit_native``'s names for them)
TRUNCATING = ("pyarrow.output_stream", "pyarrow.create_memory_map", "pyarrow.ipc.new_file",
              "pyarrow.ipc.new_stream", "pyarrow.ipc.RecordBatchFileWriter",
              "pyarrow.ipc.RecordBatchStreamWriter", "pyarrow.parquet.ParquetWriter",
              "pyarrow.orc.ORCWriter", "pyarrow.parquet.write_metadata", "pyarrow.OSFile",
              "pyarrow.parquet.write_table", "pyarrow.csv.write_csv",
              "pyarrow.feather.write_feather", "pyarrow.orc.write_table",
              "pyarrow.csv.CSVWriter")
_HOSTS = {"s3": "s3.amazonaws.com", "gcs": "storage.googleapis.com"}
_REMOTE: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()   # stream -> host
_DEST: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()   # stream -> path
_FX: list[Any] = []


def raise_event(event: str, *args: Any) -> None:
    """The audit event the Python twin of a native route raises (its handler decides)."""
    sys.audit(event, *args)


def local(p: Any) -> str | None:
    """A local path named by ``p`` (``file://`` stripped); None for a URI or no path."""
    if isinstance(p, bytes):
        p = os.fsdecode(p)
    if isinstance(p, os.PathLike):
        p = os.fspath(p)
    if not isinstance(p, str):
        return None
    if p.startswith("file://"):
        return p[len("file://"):]
    return None if "://" in p else p


def flags_of(mode: Any) -> int:
    """Open flags of a pyarrow mode (``OSFile``, ``memory_map``); 0 for reading."""
    mode = str(mode or "r")
    if "w" in mode:
        return TRUNC
    if "a" in mode:
        return APPEND
    return INPLACE if "+" in mode else 0


def opened(how: str, where: Any, flags: int = TRUNC) -> None:
    """A path a native writer opens (``how``: its name) raises ``open`` with ``flags``."""
    if busy() or not flags:
        return
    for w in (where if isinstance(where, (list, tuple)) else [where]):
        p = local(w)
        if p is not None:
            raise_event("open", p, None, flags)


def where(fs: Any, path: Any) -> tuple[str, str]:
    """(``local``, the path), (``remote``, the host) or (``own``, '') for a filesystem that
    does its own I/O in Python or in memory."""
    path = str(getattr(path, "base_dir", path))   # a FileSelector
    for _ in range(32):
        if fs.type_name != "subtree":
            break
        path = fs.base_path.rstrip("/") + "/" + path.lstrip("/")
        fs = fs.base_fs
    kind = fs.type_name
    if kind == "local":
        return "local", path
    if kind in ("py", "mock"):
        return "own", ""
    return "remote", host_of(fs)


def host_of(fs: Any) -> str:
    """The host a remote filesystem speaks to ('' when it cannot be told: allowed nowhere)."""
    try:
        opts = fs.__reduce__()[1][0]
    except Exception:  # noqa: BLE001 - no options to read: no host, which no policy allows
        return ""
    kind = fs.type_name
    if kind == "hdfs":
        host = str(opts.get("host") or "")
    elif kind == "abfs":
        host = str(opts.get("blob_storage_authority") or "") or (
            f"{opts.get('account_name')}.blob.core.windows.net")
    else:
        host = str(opts.get("endpoint_override") or "") or _HOSTS.get(kind, "")
    host = host.split("://", 1)[-1].split("/", 1)[0]
    return host.rsplit(":", 1)[0].strip("[]").lower() if host.count(":") <= 1 or \
        host.startswith("[") else host.lower()


def remote_url(rt: Any, url: Any, options: Any, how: str) -> None:
    """A write to an object-store URL (``s3://``, ``gs://``, ``az://``, ``http://``): an
    upload to its endpoint's host (``storage_options``' endpoint, else the URL's own host)."""
    if not isinstance(url, str) or "://" not in url or url.startswith("file://"):
        return
    opts = options if isinstance(options, dict) else {}
    end = next((str(v) for k, v in opts.items() if "endpoint" in str(k).lower() and v), "")
    host = (end or url).split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    _upload(rt, host.rsplit(":", 1)[0].lower() if end or url.startswith("http") else "",
            url[:200], how)


def _upload(rt: Any, host: str, what: str, how: str) -> None:
    from jupyter_guard.model import UNKNOWN, Intent

    rt.decide([Intent("net.upload", "host", host or UNKNOWN, remote=True, detail=what,
                      source=how)], f"{how}({what!r})")


def judge_fs(fx: Any, fs: Any, name: str, args: tuple[Any, ...], frame: Any) -> str:
    """Decide a filesystem method; the host of a remote filesystem ('' otherwise)."""
    # late: exit_native (and exit_net through exit_files) import this module
    from jupyter_guard.hooks import exit_native, exit_net

    rt, how = fx.rt, f"pyarrow.fs.{type(fs).__name__}.{name}"
    paths = list(args[:FS_METHODS[name]])
    kinds = [where(fs, p) for p in paths]
    if kinds and kinds[0][0] == "remote":
        host = kinds[0][1]
        if name in CHANGES:
            _upload(rt, host, f"{fs.type_name}://{host}/{paths[0]}", how)
        else:
            exit_net.check_out(rt, host, str(paths[0])[:65536], f"{fs.type_name}://{host}", how)
        return host
    if not kinds or kinds[0][0] != "local":
        return ""
    locs = [k[1] for k in kinds]
    for p in locs:
        exit_native.check(fx, p, how, frame)
    if name == "open_output_stream":
        raise_event("open", locs[0], None, TRUNC)
    elif name == "open_append_stream":
        raise_event("open", locs[0], None, APPEND)
    elif name == "delete_file":
        raise_event("os.remove", locs[0], None)
    elif name in ("delete_dir", "delete_dir_contents"):
        raise_event("shutil.rmtree", locs[0], None)
    elif name == "move":
        raise_event("os.rename", locs[0], locs[1], None, None)
    elif name == "copy_file":
        raise_event("shutil.copyfile", locs[0], locs[1])
        raise_event("open", locs[1], None, TRUNC)
    return ""


def _fs_method(fx: Any, orig: Any, name: str) -> Any:
    def method(self: Any, *args: Any, **kw: Any) -> Any:
        frame = sys._getframe(1)
        host, dest = "", ""
        if not busy() and fx.rt.user_stack(frame):
            if kw and not args:   # keywords only: in the order of the signature
                args = tuple(kw.pop(k) for k in ("path", "src", "dest", "paths_or_selector")
                             if k in kw)
            host = judge_fs(fx, self, name, args, frame)
            dest = str(args[0]) if args else ""
        out = orig(self, *args, **kw)
        if name in ("open_output_stream", "open_append_stream"):
            try:
                (_REMOTE if host else _DEST)[out] = host or where(self, dest)[1]
            except TypeError:
                pass
        return out
    checked = sealed(method, orig)
    checked._jg = True
    return checked


def _copy(fx: Any, orig: Any, selector: bool) -> Any:
    def copy(src_fs: Any, src: Any, dst_fs: Any, dst: Any, *args: Any, **kw: Any) -> Any:
        frame = sys._getframe(1)
        if not busy() and fx.rt.user_stack(frame):
            _judge_copy(fx, src_fs, src, dst_fs, dst, selector, frame)
        return orig(src_fs, src, dst_fs, dst, *args, **kw)
    checked = sealed(copy, orig)
    checked._jg = True
    return checked


def _judge_copy(fx: Any, src_fs: Any, src: Any, dst_fs: Any, dst: str, selector: bool,
                frame: Any) -> None:
    # late: exit_native (and exit_net through exit_files) import this module
    from jupyter_guard.hooks import exit_native

    how = "pyarrow.fs.copy_files"
    pairs = [(str(src), str(dst))]
    if selector:   # every file the folder holds, to its place under ``dst``
        base = str(src.base_dir).rstrip("/")
        pairs = [(i.path, dst.rstrip("/") + i.path[len(base):])
                 for i in src_fs.get_file_info(src) if i.type.name == "File"] or \
            [(base, dst)]
    dkind, dwhere = where(dst_fs, dst)
    skind = where(src_fs, str(getattr(src, "base_dir", src)))[0]
    for s, d in pairs:
        if dkind == "remote":
            _upload(fx.rt, dwhere, f"{dst_fs.type_name}://{dwhere}/{d}", how)
            return
        s_loc, d_loc = where(src_fs, s)[1], where(dst_fs, d)[1]
        if skind == "local":
            exit_native.check(fx, s_loc, how, frame)
        if dkind == "local":
            exit_native.check(fx, d_loc, how, frame)
            if skind == "local":
                raise_event("shutil.copyfile", s_loc, d_loc)
            raise_event("open", d_loc, None, TRUNC)


def _data(data: Any) -> Any:
    return data if isinstance(data, (bytes, str)) else bytes(memoryview(data))


def _file_write(fx: Any, orig: Any, how: str) -> Any:
    def write(self: Any, data: Any, *args: Any, **kw: Any) -> Any:
        frame = sys._getframe(1)
        if not busy() and not _own(self) and fx.rt.user_stack(frame):
            items = data if how.endswith("writelines") else [data]
            body = b"".join(d.encode() if isinstance(d, str) else _data(d) for d in items)
            judge_bytes(fx, self, body, how)
        return orig(self, data, *args, **kw)
    checked = sealed(write, orig)
    checked._jg = True
    return checked


def judge_bytes(fx: Any, f: Any, body: Any, how: str) -> None:
    """Bytes written to a native file: a send to a remote stream's host, else a file write."""
    host = _REMOTE.get(f)
    if host is not None:
        # late: exit_native (and exit_net through exit_files) import this module
        from jupyter_guard.hooks import exit_net

        exit_net.check_out(fx.rt, host, body, f"remote://{host}", how)
        return
    fx.check(body, _DEST.get(f) or str(getattr(f, "path", "") or type(f).__name__), how)


def _upload_method(fx: Any, orig: Any) -> Any:
    def upload(self: Any, stream: Any, buffer_size: int = 1 << 16) -> Any:
        frame = sys._getframe(1)
        if busy() or _own(self) or not fx.rt.user_stack(frame):
            return orig(self, stream, buffer_size)
        while True:   # read here and written by the checked ``write``: every chunk judged
            chunk = stream.read(buffer_size or (1 << 16))
            if not chunk:
                return None
            self.write(chunk)
    checked = sealed(upload, orig)
    checked._jg = True
    return checked


def _own(f: Any) -> bool:
    pa = sys.modules.get("pyarrow")
    return pa is not None and isinstance(f, (pa.BufferOutputStream, pa.MockOutputStream,
                                             pa.FixedSizeBufferWriter, pa.PythonFile))


def _batch_writer(fx: Any, orig: Any, how: str) -> Any:
    def write(self: Any, table: Any, *args: Any, **kw: Any) -> Any:
        # late: exit_native (and exit_net through exit_files) import this module
        from jupyter_guard.hooks import exit_native

        dest = exit_native._DEST.get(self, type(self).__name__)
        table = exit_native.judge_table(fx, table, dest, how, sys._getframe(1))
        return orig(self, table, *args, **kw)
    checked = sealed(write, orig)
    checked._jg = True
    return checked


def install_lib(fx: Any, pa: Any) -> None:
    """The C types of ``pyarrow.lib``: native files' writes, IPC writers' tables."""
    from jupyter_guard.hooks import c_types

    _FX[:] = [fx]
    nf = pa.lib.NativeFile
    for name in ("write", "writelines"):
        orig = c_types.original(nf, name)
        if orig is not None and not getattr(orig, "_jg", False):
            c_types.patch(nf, name, _file_write(fx, orig, f"pyarrow.NativeFile.{name}"))
    orig = c_types.original(nf, "upload")
    if orig is not None and not getattr(orig, "_jg", False):
        c_types.patch(nf, "upload", _upload_method(fx, orig))
    bw = pa.lib._CRecordBatchWriter
    for name in ("write", "write_batch", "write_table"):
        orig = c_types.original(bw, name)
        if orig is not None and not getattr(orig, "_jg", False):
            c_types.patch(bw, name, _batch_writer(fx, orig, f"pyarrow.ipc writer.{name}"))


def install_fs(fx: Any, fs: Any, module_patched: dict[tuple[Any, str], Any]) -> None:
    """``pyarrow._fs.FileSystem``'s methods and the copy functions ``copy_files`` calls."""
    from jupyter_guard.hooks import c_types

    _fs = sys.modules["pyarrow._fs"]
    for name in FS_METHODS:
        orig = c_types.original(_fs.FileSystem, name)
        if orig is not None and not getattr(orig, "_jg", False):
            c_types.patch(_fs.FileSystem, name, _fs_method(fx, orig, name))
    for name in ("_copy_files", "_copy_files_selector"):
        orig = getattr(_fs, name, None)
        if orig is None or getattr(orig, "_jg", False):
            continue
        fn = _copy(fx, orig, name.endswith("selector"))
        for mod in (_fs, fs):
            if getattr(mod, name, None) is orig:
                setattr(mod, name, fn)
                module_patched[(mod, name)] = fn
