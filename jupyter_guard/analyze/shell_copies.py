"""Copies of database files by any program that copies bytes, judged by the files themselves.

A DuckDB or SQLite file holds every table in it, so a program that copies, archives, compresses,
encodes or streams it (``cp``, ``rsync``, ``tar``, ``zip``, ``gzip -c``, ``cat … >``, ``dd``,
``base64``, ``ln``…) exports all of them. Whether an argument is a database file is decided by its
header (the caller's ``Reader.database``), whatever its name; a folder an archiver takes along is
looked into. The guard's own files are left to self-protection, which names them.

Pure: the caller hands in how to tell a database file (``Reader.database``).
"""
from __future__ import annotations

import os
import re

from jupyter_guard.analyze.children import Reader, is_python
from jupyter_guard.model import Intent

COPIERS = frozenset({
    # copy, move, link, sync
    "cp", "mv", "install", "rsync", "scp", "sftp", "rclone", "ln", "link", "dd", "pv", "sponge",
    # archive
    "tar", "bsdtar", "zip", "7z", "7za", "7zr", "jar", "ar", "cpio", "pax", "rar",
    # compress
    "gzip", "pigz", "bzip2", "pbzip2", "xz", "lzma", "lzip", "zstd", "lz4", "compress", "brotli",
    "zcat", "gzcat",
    # print, encode, split: the bytes go wherever the output goes (a file, a pipe)
    "cat", "tac", "head", "tail", "tee", "split", "csplit", "base64", "base32", "basenc", "xxd",
    "od", "hexdump", "strings", "uuencode", "openssl", "gpg", "age", "nc", "ncat", "socat",
    # text filters: they print the bytes of the files they read, reordered or not
    "sed", "awk", "gawk", "mawk", "nawk", "grep", "egrep", "fgrep", "rg", "sort", "uniq", "rev",
    "tr", "cut", "paste", "fold", "fmt", "nl", "pr", "iconv", "expand", "unexpand", "dos2unix",
    "unix2dos", "column", "shuf", "look",
})
"""Programs whose output is the bytes of the files they are given."""


PY_COPIERS = frozenset({"zipfile", "tarfile", "gzip", "bz2", "lzma", "base64", "uu", "shutil"})
"""Modules whose ``python -m`` command line archives, compresses or encodes the files named."""


def copier(prog: str, argv: list[str] | None = None) -> bool:
    """
    >>> copier("/usr/bin/tar"), copier("duckdb"), copier("sqlite3")
    (True, False, False)
    >>> copier("python3", ["python3", "-m", "zipfile", "-c", "x.zip", "wh.duckdb"])
    True
    """
    name = prog.rpartition("/")[2]
    if name in COPIERS:
        return True
    if argv and is_python(name) and "-m" in argv[1:-1]:
        return argv[argv.index("-m") + 1] in PY_COPIERS
    return False


DEST_LAST = frozenset({"cp", "mv", "install", "rsync", "scp", "rclone", "ln", "link"})
"""Their last path is where the copy goes, not something copied."""
WALK_ALWAYS = frozenset({"tar", "bsdtar", "7z", "7za", "7zr", "jar", "rar", "pax", "rclone",
                         "tarfile", "zipfile"})
WALK_FLAGS = frozenset({"-r", "-R", "-a", "--recursive", "--archive", "--recurse-paths"})


def paths_of(args: list[str]) -> list[str]:
    """The words of a command line that may name files: plain words, and the value of
    ``name=value`` words (``dd if=wh.duckdb``, ``--files-from=x``).

    >>> paths_of(["czf", "x.tgz", "-C", "d", "wh.duckdb", "if=a.db", "of=c", "--file=b", "-v"])
    ['czf', 'x.tgz', 'd', 'wh.duckdb', 'a.db', 'b']
    """
    out = []
    for a in args:
        if a.startswith("of="):   # ``dd of=x``: where the bytes go, not what is copied
            continue
        if "=" in a:
            out.append(a.partition("=")[2])
        elif not a.startswith("-"):
            out.append(a)
    return out


def sources(argv: list[str]) -> tuple[list[str], bool]:
    """The words that may name what ``argv`` copies, and whether folders among them are taken
    along whole (an archiver, a recursive copy).

    >>> sources(["cp", "-r", "d", "wh.db", "bk"]), sources(["cp", "-t", "bk", "a"])
    ((['d', 'wh.db'], True), (['a'], False))
    """
    prog, args = argv[0].rpartition("/")[2], argv[1:]
    if is_python(prog) and "-m" in args[:-1]:   # ``python -m tarfile -c x.tar d``
        prog, args = args[args.index("-m") + 1], args[args.index("-m") + 2:]
    flags = {a for a in args if a.startswith("--")} | {
        "-" + ch for a in args if a.startswith("-") and not a.startswith("--") for ch in a[1:]}
    walk = prog in WALK_ALWAYS or bool(flags & WALK_FLAGS)
    if prog not in DEST_LAST:
        return paths_of(args), walk
    if "-t" in args or any(a.startswith("--target-directory") for a in args):
        k = args.index("-t") if "-t" in args else -1
        return paths_of([a for n, a in enumerate(args) if n not in (k, k + 1)
                         and not a.startswith("--target-directory")]), walk
    return paths_of(args)[:-1], walk


def database_copies(reader: Reader | None, argv: list[str], source: str, cwd: str = "",
                    stdin: str | None = None) -> tuple[Intent, ...]:
    """``tar czf x.tgz wh.duckdb`` (``wh.duckdb`` a DuckDB file) -> an export of every table.
    ``cwd`` is the folder an earlier ``cd`` of the same command line moved into: a relative
    word is looked up both there and where the command line started (a ``cd`` inside a
    subshell may or may not still hold). Names read from a list (``tar -T list``, ``cpio -o``
    and ``zip -@`` from their input) are looked up too; from an input the guard cannot see
    (``find . | cpio -o``), the whole folder is."""
    if reader is None or reader.database is None or not argv or not copier(argv[0], argv):
        return ()
    prog = argv[0].rpartition("/")[2]
    if peeks(argv) is not None:
        return ()
    words, walk = sources(argv)
    listed = _listed(reader, argv, stdin)
    words, walk = words + listed, walk or bool(listed)
    found: list[str] = []
    for p in words + [os.path.join(d, w) for d in (cwd, *_dirs(argv)) if d for w in words]:
        found += [src for src in reader.database(p, walk) if src not in found]
    return tuple(export(src, prog, source) for src in found)


def _listed(reader: Reader, argv: list[str], stdin: str | None) -> list[str]:
    """Names a copier reads from a list file (``tar -T list``) or from its input (``tar -T -``,
    ``cpio -o``, ``zip -@``); ``.`` (the whole folder) for a list the guard cannot read.

    >>> from jupyter_guard.model import Analysis
    >>> r = Reader(read=lambda p: None, python=lambda s: Analysis())
    >>> _listed(r, ["cpio", "-ov"], "a.db\\nb"), _listed(r, ["tar", "cf", "x", "-T", "l"], None)
    (['a.db', 'b'], ['.'])
    """
    prog, args = argv[0].rpartition("/")[2], argv[1:]
    names: list[str] = []
    from_input = False
    for i, a in enumerate(args):
        name = args[i + 1] if a in ("-T", "--files-from") and i + 1 < len(args) else (
            a.partition("=")[2] if a.startswith("--files-from=") else "")
        if name == "-":
            from_input = True
        elif name:
            text = reader.read(name)
            names += text.split() if text is not None else ["."]
    short = {ch for a in args if a.startswith("-") and not a.startswith("--") for ch in a[1:]}
    cpio_out = bool(short & {"o", "p"} or {"--create", "--pass-through"} & set(args))
    if (prog == "cpio" and cpio_out) or (prog == "zip" and "-@" in args):
        from_input = True
    if from_input:
        names += stdin.split() if stdin is not None else ["."]
    return names


HEADER_BYTES = 100
"""Bytes at the start of a database file that hold no table (SQLite's file header is 100 bytes;
DuckDB's first 4 KB are its headers): reading no more than this only looks at the file."""

_PEEK = {"head": ("-c", "--bytes"), "xxd": ("-l", "-len"), "od": ("-N", "--read-bytes"),
         "hexdump": ("-n", "--length")}


def peeks(argv: list[str]) -> int | None:
    """How many bytes a command that reads the start of a file takes, when that is at most
    ``HEADER_BYTES`` (``head -c 16``, ``xxd -l 32``, ``od -N 16``, ``dd bs=16 count=1``):
    it looks at the header, copies no table. None otherwise.

    >>> peeks(["head", "-c", "16", "wh.duckdb"]), peeks(["head", "-c16", "x"])
    (16, 16)
    >>> peeks(["head", "-c", "100000", "x"]), peeks(["dd", "if=x", "bs=16", "count=1"])
    (None, 16)
    >>> peeks(["head", "-c", "16", "-c", "9999", "x"]), peeks(["cat", "x"])
    (None, None)
    """
    prog, args = argv[0].rpartition("/")[2], argv[1:]
    if prog == "dd":
        kv = dict(a.partition("=")[::2] for a in args if "=" in a)
        size = kv.get("ibs", kv.get("bs", "512"))
        n = _int(size) * _int(kv["count"]) if "count" in kv and _int(size) >= 0 else -1
        if "skip" in kv or "iseek" in kv:
            return None
        return n if 0 <= n <= HEADER_BYTES else None
    opts = _PEEK.get(prog)
    if opts is None:
        return None
    found: list[int] = []
    for i, a in enumerate(args):
        for o in opts:
            if a == o and i + 1 < len(args):
                found.append(_int(args[i + 1]))
            elif a.startswith(o + "=") or (len(o) == 2 and a.startswith(o) and a != o):
                found.append(_int(a[len(o) + (a[len(o):len(o) + 1] == "="):]))
        if a.startswith(("-s", "--skip", "--seek", "-j")):   # not the start of the file
            return None
    return found[0] if len(found) == 1 and 0 <= found[0] <= HEADER_BYTES else None


def _int(text: str) -> int:
    return int(text) if text.isdigit() else -1


def _dirs(argv: list[str]) -> list[str]:
    """Folders a program changes into before reading what follows (``tar -C d``)."""
    out = []
    for i, a in enumerate(argv[1:-1], 1):
        if a in ("-C", "--directory"):
            out.append(argv[i + 1])
        elif a.startswith("--directory="):
            out.append(a.partition("=")[2])
    return out


DB_CLIS = frozenset({"sqlite3", "sqlite", "duckdb", "litecli", "sqlite-utils", "sqlitebrowser",
                     "datasette", "harlequin", "usql"})
"""Programs that open a database file and print or write its tables."""
_WRITES_FILES = re.compile(
    r"(?ims)^\s*\.(output|once|excel|save|backup|dump|clone|import|shell|system|log)\b|"
    r"(^|;)\s*(copy|export|attach|install|load|vacuum\b[^;]*\binto)\b")


def cli_exports(reader: Reader | None, argv: list[str], source: str, leaves: bool,
                cwd: str = "", stdin: str | None = None) -> tuple[Intent, ...]:
    """``sqlite3 wh.db "SELECT * FROM customers" > out.csv``, ``duckdb wh.duckdb -c "COPY
    customers TO 'x.csv'"``, ``sqlite3 wh.db .dump | gzip``: a database program given a
    database file whose output goes to a file or a pipe (``leaves``), or whose commands write
    files (``COPY … TO``, ``EXPORT DATABASE``, ``VACUUM INTO``, ``ATTACH``, ``.output``…, in
    its arguments, its visible input or its ``-init`` file), writes
    what it reads out of the tables without the kernel's masking: an export of every table.
    Printed to the cell's output it is masked like any output."""
    if reader is None or reader.database is None or not argv:
        return ()
    prog = argv[0].rpartition("/")[2]
    if prog not in DB_CLIS:
        return ()
    words = [a for a in argv[1:] if not a.startswith("-")]
    texts = [*argv[1:], stdin or ""] + [
        reader.read(argv[i + 1]) or "" for i, a in enumerate(argv[:-1]) if a == "-init"]
    if not leaves and not any(_WRITES_FILES.search(t) for t in texts):
        return ()
    found: list[str] = []
    for w in words:   # the database file: the first word, after a verb (``sqlite-utils``)...
        for p in (w, *((os.path.join(cwd, w),) if cwd else ())):
            found += [src for src in reader.database(p, False) if src not in found]
    return tuple(export(src, prog, source) for src in found)


def database_input(reader: Reader | None, path: str, source: str,
                   cwd: str = "") -> tuple[Intent, ...]:
    """``gzip < wh.duckdb > x``, ``nc host 9 < wh.duckdb``: a database file given as input."""
    if reader is None or reader.database is None:
        return ()
    prog = source.split(" ", 1)[0] or "a program"
    found = list(reader.database(path, False))
    if cwd:
        found += [p for p in reader.database(os.path.join(cwd, path), False) if p not in found]
    return tuple(export(src, prog, source) for src in found)


def export(src: str, prog: str, source: str) -> Intent:
    """The intent the exfiltration rule refuses as a copy of every table in ``src``."""
    return Intent("df.export", "file", f"the output of {prog}", ("?",), source=source[:300],
                  detail=f"copies database file {src}")
