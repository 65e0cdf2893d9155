"""The numbers a write to a file holds, in order, for ``file_pieces``: runs of digits in the
text as written and in the text of a binary write's 2-, 4- and 8-byte units (UTF-16/32, arrays
of character codes), a pickle's integers and digit strings (read from its opcodes by one regex
pass and numpy, never unpickled), an ``.npy`` array's values in row order (its header read by
``ast.literal_eval``), a frame column's integers or digit strings. Each reader gives two arrays:
the values (``BREAK`` where a run of adjacent numbers ends) and their digit counts (leading
zeros written count).

>>> vals, lens = digit_runs(np.frombuffer(b"id 1000,0005\x01 7", dtype=np.uint8))
>>> vals.tolist(), lens.tolist()
([1000, 5, -1, 7], [4, 4, 0, 1])
"""
from __future__ import annotations

import ast
import re
from typing import Any

import numpy as np

DIGITS = 9
"""The length of the values rebuilt from pieces (SSNs)."""
LIMIT = 16 << 20
"""Bytes of one write read at most (a cost bound; the rest is not joined)."""
BREAK = -1
POW = np.array([10 ** k for k in range(19)], dtype=np.int64)


def column(col: Any) -> tuple[np.ndarray, np.ndarray]:
    """A column's values as numbers and their digit counts (``BREAK`` where none)."""
    n = len(col)
    lens = np.zeros(n, dtype=np.int64)
    if getattr(col.dtype, "kind", "O") in "iu":
        v = col.to_numpy(dtype=np.int64, na_value=BREAK)
        ok = (v >= 0) & (v < POW[DIGITS])
        return np.where(ok, v, BREAK), np.where(ok, lengths(np.where(ok, v, 0)), 0)
    text = col.astype(str)
    digits = text.str.fullmatch(r"\d{1,8}").fillna(False).to_numpy(dtype=bool)
    v = np.full(n, BREAK, dtype=np.int64)
    v[digits] = text[digits].astype(np.int64).to_numpy()
    lens[digits] = text[digits].str.len().to_numpy()
    return v, lens


def lengths(v: np.ndarray) -> np.ndarray:
    return np.searchsorted(POW[1:], v, side="right") + 1


_MEMO = re.compile(rb"\n[pg][0-9]+\n")   # a protocol 0 pickle's memo indices: no values
_PROTO = re.compile(rb"\x80[\x02-\x05]")
_NPY = re.compile(rb"\x93NUMPY[\x01-\x03]\x00")


def sequences(data: bytes, pickled: bool = False
               ) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
    """The numbers ``data`` holds, as sequences (values, digit counts; ``BREAK`` between),
    and which of them a later write to the same file continues (a pickle's, else the text's).
    A pickle is read when ``data`` starts as one (after a ``dbm`` record's padding of NULs) or
    continues one (``pickled``: the file's earlier write was)."""
    text = _MEMO.sub(b"\n", data) if data[:1] in (b"(", b"]", b"}") else data
    out = [digit_runs(np.frombuffer(text, dtype=np.uint8))]
    first = 0
    body = data.lstrip(b"\x00")
    if _PROTO.match(body) or pickled or (data[:1] in (b"(", b"]", b"}") and data[-1:] == b"."):
        out.append(_pickle_ints(body if _PROTO.match(body) else data))
        first = 1
    if b"\x00" in data:   # binary: the text of its wider units, an array's numbers
        for width in (2, 4, 8):
            for order in "<>":
                for at in range(width):
                    n = (len(data) - at) // width
                    if n < 2:
                        continue
                    units = np.frombuffer(data, dtype=f"{order}u{width}", count=n, offset=at)
                    out.append(digit_runs(np.where(units < 128, units, 1).astype(np.uint8)))
        npy = _NPY.search(data)
        if npy is not None:
            out.append(_npy(data, npy.start()))
    return out, first


# what ends a run of adjacent numbers: control characters but NUL, tab and line breaks, and
# anything past ASCII (binary bytes, or a wide unit that is no ASCII character)
_ENDS = np.zeros(256, dtype=bool)
_ENDS[[*range(1, 9), 11, 12, *range(14, 32), *range(127, 256)]] = True


def digit_runs(chars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Runs of ASCII digits in ``chars``: each of 1-18 digits as one number, and every
    ``DIGITS`` digits of a longer run as a value of its own (then a break)."""
    digit = (chars >= 48) & (chars <= 57)
    if not digit.any():
        return np.empty(0, np.int64), np.empty(0, np.int64)
    edge = np.diff(digit.view(np.int8), prepend=0, append=0)
    starts, ends = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1)
    lens = ends - starts
    short = lens <= 18
    idx = np.flatnonzero(digit)
    power = np.repeat(ends, lens) - idx - 1   # each digit's place in its run
    np.minimum(power, 18, out=power)   # (a longer run's value is dropped below)
    weighted = (chars[idx] - 48).astype(np.int64) * POW[power]
    vals = np.add.reduceat(weighted, np.concatenate(([0], np.cumsum(lens)[:-1])))
    vals = np.where(short, vals, BREAK)
    lens = np.where(short, lens, 0)
    ending = _ENDS[chars]   # a binary byte between two runs: not adjacent
    cut = np.zeros(0, dtype=bool)
    if ending.any():
        ended = np.cumsum(ending, dtype=np.int32)
        cut = ended[starts[1:]] != ended[ends[:-1] - 1]
    if cut.any():
        at = np.flatnonzero(cut) + 1
        vals = np.insert(vals, at, BREAK)
        lens = np.insert(lens, at, 0)
    if (ends - starts > DIGITS).any():   # every nine digits of a long run (character codes)
        wins = _windows(np.where(digit, chars.astype(np.int64) - 48, 0), digit)
        vals = np.concatenate([vals, [BREAK], wins])
        lens = np.concatenate([lens, [0], np.where(wins >= 0, DIGITS, 0)])
    return vals, lens


def _windows(d: np.ndarray, digit: np.ndarray) -> np.ndarray:
    n = len(d) - DIGITS + 1
    if n <= 0:
        return np.empty(0, np.int64)
    v = np.zeros(n, dtype=np.int64)
    ok = np.ones(n, dtype=bool)
    for j in range(DIGITS):
        v = v * 10 + d[j:j + n]
        ok &= digit[j:j + n]
    return v[ok] if ok.any() else np.empty(0, np.int64)


def _pickle_ints(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """A pickle's integers (BININT1, BININT2, BININT) and short strings (digits: a number;
    others: a break) in order, wherever it starts; its structure between them skipped. One
    pass in C (``_OPS``), the tokens then read by numpy (``VALUES`` at most)."""
    toks = _OPS.findall(data, 0, LIMIT)[:VALUES]
    if not toks:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    size = np.fromiter(map(len, toks), dtype=np.int64, count=len(toks))
    blob = np.frombuffer(b"".join(toks) + bytes(10), dtype=np.uint8).astype(np.int64)
    at = np.concatenate(([0], np.cumsum(size)[:-1]))
    op = blob[at]
    arg = [blob[at + i] for i in range(1, 10)]
    j = arg[0] | arg[1] << 8 | arg[2] << 16 | arg[3] << 24
    vals = np.where(op == 0x4B, arg[0], np.where(op == 0x4D, arg[0] | arg[1] << 8,
                                                 np.where(j >= 1 << 31, j - (1 << 32), j)))
    digits = size - 2   # a string's: its size byte said as many
    text = (op == 0x8C) & (digits > 0) & (digits == arg[0])
    number = np.zeros(len(toks), dtype=np.int64)
    for i in range(1, 9):   # the digits after the size byte, as a number
        number = np.where(digits >= i, number * 10 + arg[i] - 48, number)
    ok = (op != 0x8C) & (vals >= 0) & (vals < POW[DIGITS])
    vals = np.where(text, number, np.where(ok, vals, BREAK))
    lens = np.where(text, digits, np.where(ok, lengths(np.where(ok, vals, 0)), 0))
    return vals, lens


_OPS = re.compile(rb"K.|M..|J....|\x8c[\x01-\x08][0-9]{1,8}(?![0-9])|\x8c.", re.S)
VALUES = 1_000_000
"""Values read at most from one write's pickles (a cost bound)."""


def _npy(data: bytes, at: int) -> tuple[np.ndarray, np.ndarray]:
    """An ``.npy`` array's integers in row order (its header read, never its objects)."""
    empty = (np.empty(0, np.int64), np.empty(0, np.int64))
    try:
        major = data[at + 6]
        size_at, size_len = at + 8, (2 if major == 1 else 4)
        hlen = int.from_bytes(data[size_at:size_at + size_len], "little")
        body = size_at + size_len + hlen
        head = ast.literal_eval(data[size_at + size_len:body].decode("latin-1"))
        dtype = np.dtype(head["descr"])
        if dtype.kind not in "iuUS":
            return empty
        n = min((len(data) - body) // dtype.itemsize, VALUES)
        arr = np.frombuffer(data, dtype=dtype, count=n, offset=body)
        shape = tuple(head.get("shape", ()))
        if head.get("fortran_order") and len(shape) == 2 and n == shape[0] * shape[1]:
            arr = arr.reshape(shape, order="F").ravel()
        if dtype.kind in "US":   # fixed-width text: each element a number, or a break
            import pandas as pd

            text = pd.Series(arr.tolist(), dtype=object)
            if dtype.kind == "S":
                text = text.str.decode("latin-1")
            return column(text)
        arr = arr.astype(np.int64)
    except Exception:  # noqa: BLE001 - no readable header: the bytes are read as they are
        return empty
    ok = (arr >= 0) & (arr < POW[DIGITS])
    return np.where(ok, arr, BREAK), np.where(ok, lengths(np.where(ok, arr, 0)), 0)
