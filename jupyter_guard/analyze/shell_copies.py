"""Copies of database files by any program that copies bytes, judged by the files themselves.

A DuckDB or SQLite file holds every table in it, so a program that copies, archives, compresses,
encodes or streams it (``cp``, ``rsync``, ``tar``, ``zip``, ``gzip -c``, ``cat … >``, ``dd``,
``base64``, ``ln``…) exports all of them. Whether an argument is a database file is decided by its
header (the caller's ``Reader.database``), whatever its name; a folder an archiver takes along is
looked into. The guard's own files are left to self-protection, which names them.

Pure: the caller hands in how to tell a database file (``Reader.database``).
"""
from __future__ import annotations

from jupyter_guard.analyze.children import Reader, is_python
from jupyter_guard.model import Intent

COPIERS = frozenset({
    # copy, link, sync
    "cp", "install", "rsync", "scp", "sftp", "rclone", "ln", "link", "dd", "pv", "sponge",
    # archive
    "tar", "bsdtar", "zip", "7z", "7za", "7zr", "jar", "ar", "cpio", "pax", "rar",
    # compress
    "gzip", "pigz", "bzip2", "pbzip2", "xz", "lzma", "lzip", "zstd", "lz4", "compress", "brotli",
    "zcat", "gzcat",
    # print, encode, split: the bytes go wherever the output goes (a file, a pipe)
    "cat", "tac", "head", "tail", "tee", "split", "csplit", "base64", "base32", "basenc", "xxd",
    "od", "hexdump", "strings", "uuencode", "openssl", "gpg", "age", "nc", "ncat", "socat",
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


DEST_LAST = frozenset({"cp", "install", "rsync", "scp", "rclone", "ln", "link"})
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


def database_copies(reader: Reader | None, argv: list[str], source: str) -> tuple[Intent, ...]:
    """``tar czf x.tgz wh.duckdb`` (``wh.duckdb`` a DuckDB file) -> an export of every table."""
    if reader is None or reader.database is None or not argv or not copier(argv[0], argv):
        return ()
    prog = argv[0].rpartition("/")[2]
    words, walk = sources(argv)
    found: list[str] = []
    for p in words:
        found += [src for src in reader.database(p, walk) if src not in found]
    return tuple(export(src, prog, source) for src in found)


def database_input(reader: Reader | None, path: str, source: str) -> tuple[Intent, ...]:
    """``gzip < wh.duckdb > x``, ``nc host 9 < wh.duckdb``: a database file given as input."""
    if reader is None or reader.database is None:
        return ()
    prog = source.split(" ", 1)[0] or "a program"
    return tuple(export(src, prog, source) for src in reader.database(path, False))


def export(src: str, prog: str, source: str) -> Intent:
    """The intent the exfiltration rule refuses as a copy of every table in ``src``."""
    return Intent("df.export", "file", f"the output of {prog}", ("?",), source=source[:300],
                  detail=f"copies database file {src}")
