"""h5py as a file route: HDF5 opens and writes its files in C, past ``open`` and the byte scans.

``h5py.File(name, ...)`` has its path checked (``exit_native.check``: the audit store and the
server's authority files are refused as ``self-protection``, a source that is no path, file
object or in-memory buffer is refused). What is written into a file (``create_dataset(data=)``,
``group[name] = value``, ``dataset[...] = value``, ``attrs[name] = value``) is judged before
HDF5 gets it: text values by the detectors and the known values (``FileExits.check``), numbers
by the known-value readers (``known_binary.in_array``: scaled, cut or split known values).
Raw numeric bytes are not run through the text detectors (random floats spell e-mails).
"""
from __future__ import annotations

import os
import sys
from typing import Any

from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import Busy, busy


def install(fx: Any, h5py: Any, patched: dict[tuple[Any, str], Any], check: Any) -> None:
    """Wrap ``File`` (its path, by ``check``: ``exit_native.check``) and the writes."""
    def file_init(self: Any, name: Any, *args: Any, **kw: Any) -> Any:
        if not type(name).__module__.startswith("h5py"):   # a FileID: a file open already
            check(fx, name, "h5py.File", sys._getframe(1))
        return init(self, name, *args, **kw)

    def create_dataset(self: Any, name: Any, *args: Any, **kw: Any) -> Any:
        data = args[2] if len(args) > 2 else kw.get("data")
        if data is not None:
            judge(fx, self, data, "h5py create_dataset", sys._getframe(1))
        return create(self, name, *args, **kw)

    def group_set(self: Any, name: Any, obj: Any) -> Any:
        judge(fx, self, obj, "h5py group[name] = value", sys._getframe(1))
        return gset(self, name, obj)

    def dataset_set(self: Any, key: Any, val: Any) -> Any:
        judge(fx, self, val, "h5py dataset[...] = value", sys._getframe(1))
        return dset(self, key, val)

    def attrs_set(self: Any, name: Any, value: Any) -> Any:
        judge(fx, self, value, "h5py attrs[name] = value", sys._getframe(1))
        return aset(self, name, value)

    File, Group, Dataset = h5py.File, h5py.Group, h5py.Dataset
    Attrs = h5py.AttributeManager
    init, create = File.__dict__["__init__"], Group.__dict__["create_dataset"]
    gset, dset = Group.__dict__["__setitem__"], Dataset.__dict__["__setitem__"]
    aset = Attrs.__dict__["__setitem__"]
    for cls, name, fn, orig in ((File, "__init__", file_init, init),
                                (Group, "create_dataset", create_dataset, create),
                                (Group, "__setitem__", group_set, gset),
                                (Dataset, "__setitem__", dataset_set, dset),
                                (Attrs, "__setitem__", attrs_set, aset)):
        if getattr(orig, "_jg", False):
            continue
        checked = sealed(fn, orig)   # its cells (the check) out of a cell's reach
        checked._jg = True   # a mark on the guard's own wrapper
        type.__setattr__(cls, name, checked)
        patched[(cls, name)] = checked


def judge(fx: Any, node: Any, value: Any, how: str, frame: Any) -> None:
    """Refuse writing ``value`` into the HDF5 file ``node`` belongs to when it carries known or
    detected sensitive values."""
    if busy() or not fx.rt.user_stack(frame):
        return
    import numpy as np

    from jupyter_guard.hooks import exit_numpy, exits, known_binary

    with Busy():   # the guard reading what it judges
        try:   # a group's or dataset's ``id``, an attribute manager's ``_id``
            ident = node.id if hasattr(node, "id") else node._id
            dest = os.fsdecode(sys.modules["h5py"].h5f.get_name(ident))
        except Exception:  # noqa: BLE001 - a closed file: HDF5 refuses the write itself
            dest = "an HDF5 file"
        if type(value).__module__.startswith("h5py"):
            return   # a link, a dataset or a group: data already in a file
        try:
            arr = np.asarray(value)
        except Exception:  # noqa: BLE001 - not an array: its text is judged
            arr = np.asarray([str(value)], dtype=object)
    if arr.dtype.kind in "USO":
        fx.check(exit_numpy.content(arr, "", "%s"), dest, how)
    elif len(exits.known):
        with Busy():
            kind = known_binary.in_array(arr)
        if kind:
            exits.refuse(fx.rt.guard, fx.rt, kind, dest, how)
