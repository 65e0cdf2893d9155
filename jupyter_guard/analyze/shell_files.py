"""Shell rules for commands that delete, move, truncate or write files. One pure function each.

Paths are kept as written (quotes stripped, no glob or ``~`` expansion): policy matches globs.
"""
from __future__ import annotations

import re
from itertools import pairwise

from jupyter_guard.analyze.shell_opts import (
    Ctx,
    demo,  # noqa: F401 - used by docstring examples
    files,
    parse_opts,
)
from jupyter_guard.model import Analysis, Intent

DELETERS = frozenset({"rm", "unlink", "shred", "rmdir"})


def rm(ctx: Ctx, argv: list[str]) -> Analysis:
    """``rm -rf data`` -> recursive file.delete of ``data``.

    >>> demo('rm -rf data')
    [('file.delete', 'data')]
    """
    o = parse_opts(argv[1:], long_arg=("--interactive",))
    rec = o.has("-r", "-R", "--recursive")
    return Analysis(files(ctx, "file.delete", o.args, recursive=rec))


def rmdir(ctx: Ctx, argv: list[str]) -> Analysis:
    """``rmdir d``, ``unlink f``, ``shred -u f`` -> file.delete.

    >>> demo('unlink a.db')
    [('file.delete', 'a.db')]
    """
    o = parse_opts(argv[1:], "ns", ("--iterations", "--size", "--random-source"))
    return Analysis(files(ctx, "file.delete", o.args))


def find(ctx: Ctx, argv: list[str]) -> Analysis:
    """``find data -delete`` / ``find data -exec rm {} +`` -> recursive delete of ``data``;
    ``-fprint f`` (``-fprint0``, ``-fprintf``, ``-fls``) writes ``f`` over.

    >>> demo('find data -exec rm {} +'), demo('find . -fprint a.db')
    ([('file.delete', 'data')], [('file.truncate', 'a.db')])
    """
    args = argv[1:]
    while args and args[0] in ("-H", "-L", "-P"):
        args = args[1:]
    k = next((n for n, a in enumerate(args) if a.startswith("-") or a in ("(", "!")), len(args))
    starts, expr = args[:k] or ["."], args[k:]
    out = Analysis()
    if "-delete" in expr:
        out += Analysis(files(ctx, "file.delete", starts, recursive=True))
    out += Analysis(files(ctx, "file.truncate", [b for a, b in pairwise(expr)
                                                 if a in ("-fprint", "-fprint0", "-fprintf",
                                                          "-fls")]))
    for n, a in enumerate(expr):
        if a not in ("-exec", "-execdir", "-ok", "-okdir"):
            continue
        cmd: list[str] = []
        for b in expr[n + 1:]:
            if b in (";", "+"):
                break
            cmd.append(b)
        if not cmd:
            continue
        if cmd[0].rpartition("/")[2] in DELETERS:
            out += Analysis(files(ctx, "file.delete", starts, recursive=True))
            out += ctx.nested(cmd[:1])
        else:
            for s in starts:
                out += ctx.nested([s if b == "{}" else b for b in cmd])
    return out


def mv(ctx: Ctx, argv: list[str]) -> Analysis:
    """``mv a b`` -> file.move of ``a`` and file.truncate of ``b``: an existing ``b`` is
    replaced (gone as surely as if it were emptied; one that does not exist, or is a folder, is
    only written). Into a folder (``-t d``, or a last operand that is one) each source lands as
    ``d/<name>``, over a file of that name.

    >>> demo('mv a.db b')
    [('file.move', 'a.db'), ('file.truncate', 'b'), ('file.truncate', 'b/a.db')]
    >>> demo('mv -T x wh.duckdb')
    [('file.move', 'x'), ('file.truncate', 'wh.duckdb')]
    >>> demo('mv -t d s/a.db')
    [('file.move', 's/a.db'), ('file.truncate', 'd/a.db')]
    """
    o = parse_opts(argv[1:], "tS", ("--target-directory", "--suffix"))
    dest = o.get("-t", "--target-directory")
    srcs, dst = (list(o.args), dest) if dest else (list(o.args[:-1]), list(o.args[-1:]))
    into = [] if o.has("-T", "--no-target-directory") else [
        f"{d.rstrip('/')}/{s.rstrip('/').rpartition('/')[2]}" for d in dst for s in srcs]
    return Analysis(files(ctx, "file.move", srcs) +
                    files(ctx, "file.truncate", ([] if dest else dst) + into))


def cp(ctx: Ctx, argv: list[str]) -> Analysis:
    """``cp a b`` (also ``install``) -> file.read of ``a`` and file.truncate of ``b`` (its old
    content is gone; a ``b`` that does not exist, or is a folder, is only written).

    >>> demo('cp a b.db'), demo('cp wh.duckdb /tmp/x')[-1]
    ([('file.read', 'a'), ('file.truncate', 'b.db'), ('file.truncate', 'b.db/a')], \
('df.export', '/tmp/x'))
    """
    o = parse_opts(argv[1:], "tSmgo", ("--target-directory", "--suffix", "--mode", "--owner",
                                       "--group"))
    dest = o.get("-t", "--target-directory")
    srcs, dst = (o.args, dest) if dest else (o.args[:-1], o.args[-1:])
    rec = o.has("-r", "-R", "-a", "--recursive", "--archive")
    # a folder copied over one: into ``dst/<name>`` (or, with -T, over ``dst`` itself), whose
    # files it overwrites
    # (a file copied into a folder, ``cp x d/``, ``cp -t . s/x``: over ``d/x``)
    notarget = o.has("-T", "--no-target-directory")
    over = tuple(Intent("file.truncate", "path", d if notarget else
                        f"{d.rstrip('/')}/{s.rstrip('/').rpartition('/')[2]}", recursive=rec,
                        source=ctx.source) for s in srcs for d in dst if rec or not notarget)
    by_name = ctx.children is None or ctx.children.database is None   # else: by header, for
    copies = tuple(Intent("df.export", "file", d, ("?",), source=ctx.source,   # every copier
                          detail=f"copies database file {s}")
                   for s in srcs if by_name and s.lower().endswith(DATABASE_SUFFIXES) for d in dst)
    return Analysis(files(ctx, "file.read", srcs) + files(ctx, "file.truncate", dst) + over +
                    copies)


DATABASE_SUFFIXES = (".duckdb", ".ddb", ".db", ".sqlite", ".sqlite3")
"""With no way to read a file's header (a pure analysis), a copy of a file so named is an export
of every table in it (``cp wh.duckdb /tmp/x``); the guard itself judges by the header."""


def truncate(ctx: Ctx, argv: list[str]) -> Analysis:
    """``truncate -s 0 f`` -> file.truncate of ``f``.

    >>> demo('truncate -s 0 a.db')
    [('file.truncate', 'a.db')]
    """
    o = parse_opts(argv[1:], "sr", ("--size", "--reference"))
    return Analysis(files(ctx, "file.truncate", o.args))


def dd(ctx: Ctx, argv: list[str]) -> Analysis:
    """``dd if=a of=b`` -> file.read ``a``, file.truncate ``b`` (with ``conv=notrunc`` too: it
    writes over ``b``'s bytes in place, which destroys it as surely as truncating it).

    >>> demo('dd if=a of=b.db')
    [('file.read', 'a'), ('file.truncate', 'b.db')]
    """
    kv = {k: v for k, _, v in (a.partition("=") for a in argv[1:] if "=" in a)}
    out: tuple[Intent, ...] = ()
    if "if" in kv:
        out += files(ctx, "file.read", [kv["if"]])
    if "of" in kv:
        out += files(ctx, "file.truncate", [kv["of"]])
    return Analysis(out)


def tee(ctx: Ctx, argv: list[str]) -> Analysis:
    """``tee f`` -> file.truncate of ``f``; ``tee -a f`` -> file.write.

    >>> demo('tee -a log')
    [('file.write', 'log')]
    """
    o = parse_opts(argv[1:], long_arg=("--output-error",))
    return Analysis(files(ctx, "file.write" if o.has("-a", "--append") else "file.truncate",
                          o.args))


def ln(ctx: Ctx, argv: list[str]) -> Analysis:
    """``ln -s a b`` -> file.write of the link name ``b``; with ``-f`` (``--force``) an existing
    ``b`` is removed first, so it is overwritten (``ln -sf /dev/null wh.db`` empties it).

    >>> demo('ln -s x a.db'), demo('ln -sf x a.db')
    ([('file.write', 'a.db')], [('file.truncate', 'a.db')])
    """
    o = parse_opts(argv[1:], "tS", ("--target-directory", "--suffix"))
    dest = o.get("-t", "--target-directory")
    names = dest or (o.args[-1:] if len(o.args) > 1 else [a.rpartition("/")[2] for a in o.args])
    force = o.has("-f", "--force")   # the old file is removed first
    return Analysis(files(ctx, "file.truncate" if force else "file.write", names))


def chmod(ctx: Ctx, argv: list[str]) -> Analysis:
    """``chmod``/``chown``/``chgrp`` -> file.write of the paths; a mode that takes the owner's
    read or write away (``000``, ``a-r``, ``u=x``) -> file.truncate (detail ``chmod``): the file
    is as lost to its users as if it were emptied.

    >>> demo('chmod -R 644 data'), demo('chmod 000 wh.db'), demo('chmod a-w,g+r wh.db')
    ([('file.write', 'data')], [('file.truncate', 'wh.db')], [('file.truncate', 'wh.db')])
    """
    args = argv[1:]
    mode = argv[0].endswith("chmod")
    rec = any(a == "--recursive" or (a[:1] == "-" and a[1:2] != "-" and "R" in a) for a in args)
    pos = [a for a in args if a[:1] != "-" or (mode and re.fullmatch(r"-[rwxXst]+", a))]
    paths = pos if any(a.startswith("--reference") for a in args) else pos[1:]
    if mode and pos and paths is not pos and locks_owner_out(pos[0]):
        return Analysis(tuple(i.with_(detail="chmod") for i in
                              files(ctx, "file.truncate", paths, recursive=rec)))
    return Analysis(files(ctx, "file.write", paths, recursive=rec))


def locks_owner_out(mode: str) -> bool:
    """Whether a ``chmod`` mode takes the owner's read or write permission away.

    >>> [locks_owner_out(m) for m in ("000", "0644", "400", "u-w", "go-rwx", "a=r", "+x")]
    [True, False, True, True, False, True, False]
    """
    if re.fullmatch(r"[0-7]{3,4}", mode):
        return int(mode[-3]) & 6 != 6
    for part in mode.split(","):
        m = re.fullmatch(r"([ugoa]*)([-+=])([rwxXst]*)", part)
        if m is None or (m.group(1) and not set(m.group(1)) & {"u", "a"}):
            continue
        if (m.group(2) == "-" and set(m.group(3)) & {"r", "w"}) or (
                m.group(2) == "=" and not {"r", "w"} <= set(m.group(3))):
            return True
    return False


def touch(ctx: Ctx, argv: list[str]) -> Analysis:
    """``touch f`` -> file.write of ``f``.

    >>> demo('touch a')
    [('file.write', 'a')]
    """
    o = parse_opts(argv[1:], "dtr", ("--date", "--reference", "--time"))
    return Analysis(files(ctx, "file.write", o.args))


def sed(ctx: Ctx, argv: list[str]) -> Analysis:
    """``sed -i 's/a/b/' f`` -> file.truncate of ``f`` (only with -i: it is rewritten).

    >>> demo("sed -i 's/a/b/' f")
    [('file.truncate', 'f')]
    """
    args = argv[1:]
    if not any(a == "--in-place" or a.startswith(("--in-place=", "-i")) or
               (a.startswith("-") and not a.startswith("--") and "i" in a) for a in args):
        return Analysis()
    o = parse_opts(args, "efl", ("--expression", "--file", "--line-length"))
    paths = o.args if o.get("-e", "-f", "--expression", "--file") else o.args[1:]
    return Analysis(files(ctx, "file.truncate", paths))


def git(ctx: Ctx, argv: list[str]) -> Analysis:
    """``git clean -fdx`` -> recursive file.delete of ``.`` (or the paths given).

    >>> demo('git clean -fd')
    [('child.unread', 'git'), ('file.delete', '.')]
    """
    o = parse_opts(argv[1:], "Ce", ("--git-dir", "--work-tree", "--exclude"), permute=False)
    if not o.args or o.args[0] != "clean":
        return Analysis()
    c = parse_opts(list(o.args[1:]), "e", ("--exclude",))
    if not c.has("-f", "--force") or c.has("-n", "--dry-run"):
        return Analysis()
    return Analysis(files(ctx, "file.delete", c.args or ["."], recursive=True))


FILE_RULES = {
    "rm": rm, "rmdir": rmdir, "unlink": rmdir, "shred": rmdir, "find": find, "mv": mv,
    "cp": cp, "install": cp, "truncate": truncate, "dd": dd, "tee": tee, "ln": ln,
    "chmod": chmod, "chown": chmod, "chgrp": chmod, "touch": touch, "sed": sed, "git": git,
}
