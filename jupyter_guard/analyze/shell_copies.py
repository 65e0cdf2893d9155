"""Copies of database files by any program that copies bytes, judged by the files themselves.

A DuckDB or SQLite file holds every table in it, so a program that copies, archives, compresses,
encodes or streams it (``cp``, ``rsync``, ``tar``, ``zip``, ``gzip -c``, ``cat … >``, ``dd``,
``base64``, ``ln``…) exports all of them. Whether an argument is a database file is decided by its
header (the caller's ``Reader.database``), whatever its name; a folder an archiver takes along is
looked into. The guard's own files are left to self-protection, which names them.

Pure: the caller hands in how to tell a database file (``Reader.database``).
"""
from __future__ import annotations

import fnmatch
import os

from jupyter_guard.analyze.children import Reader, is_python
from jupyter_guard.model import UNKNOWN, Intent

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
    if prog == "socat":   # addresses: ``FILE:wh.duckdb``, ``OPEN:x,rdonly``
        return [a.partition(":")[2].partition(",")[0] for a in args if ":" in a], walk
    if prog not in DEST_LAST:
        return paths_of(args), walk
    if "-t" in args or any(a.startswith("--target-directory") for a in args):
        k = args.index("-t") if "-t" in args else -1
        return paths_of([a for n, a in enumerate(args) if n not in (k, k + 1)
                         and not a.startswith("--target-directory")]), walk
    return paths_of(args)[:-1], walk


def database_copies(reader: Reader | None, argv: list[str], source: str, cwd: str = "",
                    stdin: str | None = None,
                    listing: tuple[tuple[str, ...], tuple[str, ...]] | None = None
                    ) -> tuple[Intent, ...]:
    """``tar czf x.tgz wh.duckdb`` (``wh.duckdb`` a DuckDB file) -> an export of every table.
    ``cwd`` is the folder an earlier ``cd`` of the same command line moved into: a relative
    word is looked up both there and where the command line started (a ``cd`` inside a
    subshell may or may not still hold). Names read from a list (``tar -T list``, ``cpio -o``
    and ``zip -@`` from their input) are looked up too; from an input the guard cannot see,
    the whole folder is, unless ``listing`` says what makes it (``find src -name '*.py' |
    cpio -o``: the folders ``find`` walks and the names it keeps)."""
    if reader is None or reader.database is None or not argv or not copier(argv[0], argv):
        return ()
    prog = argv[0].rpartition("/")[2]
    if peeks(argv) is not None:
        return ()
    words, walk = sources(argv)
    listed = _listed(reader, argv, "\n".join(listing[0]) if stdin is None and listing else stdin)
    keep = listing[1] if listing and stdin is None else None
    found: list[str] = []
    for w in words + listed:
        for p in (w, *(os.path.join(d, w) for d in _dirs(argv))):
            found += [src for src in looked_up(reader, p, cwd, walk or w in listed)
                      if src not in found and (w not in listed or _kept(src, keep))]
    return tuple(export(src, prog, source) for src in found)


def looked_up(reader: Reader, word: str, cwd: str, walk: bool) -> list[str]:
    """The database files a word names (or, ``walk``, holds), where the command line started and
    in the folder a ``cd`` moved into; when that folder is unknown (``cd $(…)``), any database
    file below the starting folder whose path ends as the word does."""
    assert reader.database is not None
    found = list(reader.database(word, walk))
    if not cwd or os.path.isabs(word):
        return found
    if UNKNOWN not in cwd:
        return found + [p for p in reader.database(os.path.join(cwd, word), walk)
                        if p not in found]
    tail = os.path.normpath(word)
    for p in reader.database(".", True):
        q = os.path.normpath(p)
        if p not in found and (p.startswith("(unchecked") or tail in (".", "*") or
                               q == tail or q.endswith("/" + tail) or
                               (walk and "/" + tail + "/" in "/" + q)):
            found.append(p)
    return found


def _kept(src: str, patterns: tuple[str, ...] | None) -> bool:
    """A file ``find -name`` keeps (no patterns: every file; a folder not walked: kept).

    >>> _kept("src/wh.duckdb", ("*.py",)), _kept("src/a.db", ("*.db", "*.py")), _kept("x", None)
    (False, True, True)
    """
    if not patterns or src.startswith("(unchecked"):
        return True
    name = os.path.basename(src).lower()   # ``-iname`` too: more kept is more refused
    return any(fnmatch.fnmatch(name, p.lower()) for p in patterns)


_FIND_KEEPS = frozenset({"-type", "-name", "-iname", "-print", "-o", "-or", "(", ")", "-a",
                         "-and", "-maxdepth", "-mindepth", "-xtype", "-print0"})


def find_listing(argv: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """What ``find ROOTS [-type f] [-name P]…`` prints, as (roots, name patterns): a list of
    the files under the roots whose names match; None for other programs and other tests
    (``-newer``, ``-exec``: the guard cannot tell what they keep).

    >>> find_listing(["find", "src", "-name", "*.py"]), find_listing(["find"])
    ((('src',), ('*.py',)), (('.',), ()))
    >>> find_listing(["find", ".", "-newer", "x"]) is None, find_listing(["ls"]) is None
    (True, True)
    """
    if not argv or argv[0].rpartition("/")[2] != "find":
        return None
    args = argv[1:]
    roots = []
    while args and not args[0].startswith(("-", "(", "!")):
        roots.append(args.pop(0))
    patterns: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a not in _FIND_KEEPS:
            return None
        if a in ("-name", "-iname", "-type", "-xtype", "-maxdepth", "-mindepth"):
            if i + 1 >= len(args):
                return None
            if a in ("-name", "-iname"):
                patterns.append(args[i + 1])
            i += 1
        i += 1
    return tuple(roots) or (".",), tuple(patterns)


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


def database_input(reader: Reader | None, path: str, source: str,
                   cwd: str = "") -> tuple[Intent, ...]:
    """``gzip < wh.duckdb > x``, ``nc host 9 < wh.duckdb``: a database file given as input."""
    if reader is None or reader.database is None:
        return ()
    prog = source.split(" ", 1)[0] or "a program"
    return tuple(export(src, prog, source) for src in looked_up(reader, path, cwd, False))


def export(src: str, prog: str, source: str) -> Intent:
    """The intent the exfiltration rule refuses as a copy of every table in ``src``."""
    return Intent("df.export", "file", f"the output of {prog}", ("?",), source=source[:300],
                  detail=f"copies database file {src}")
