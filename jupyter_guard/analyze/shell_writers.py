"""Shell rules for programs that read files but also write, delete or run through an option or
a little language: ``sort -o``, ``uniq in out``, ``tar --remove-files``, compressors that replace
their input (``gzip f`` leaves only ``f.gz``), ``find -fprint``, ``awk`` (``system()``, pipes,
``print > f``, ``-i inplace``) and ``sed`` scripts (``w f``, ``e cmd``). One pure function each.
"""
from __future__ import annotations

import re

from jupyter_guard.analyze import shell_programs
from jupyter_guard.analyze.children import unread, unread_script
from jupyter_guard.analyze.shell_files import sed as sed_in_place
from jupyter_guard.analyze.shell_opts import (
    Ctx,
    demo,  # noqa: F401 - used by docstring examples
    files,
    parse_opts,
)
from jupyter_guard.model import Analysis

_STD = frozenset({"/dev/stdout", "/dev/stderr", "-", "/dev/null"})


def _found(ctx: Ctx, prog: str, found: shell_programs.Found) -> Analysis:
    out = Analysis(tuple(unread(prog, why, ctx.source) for why in found.unread))
    for path, truncates in found.writes:
        if path not in _STD:
            out += Analysis(files(ctx, "file.truncate" if truncates else "file.write", [path]))
    out = sum((ctx.nested_script(c) for c in found.commands), out)
    # a command reading what the program prints gets text the guard does not see: ``print
    # "rm -rf d" | "sh"`` is judged as ``sh`` reading an unseen pipe (``true`` prints nothing)
    return sum((ctx.nested_script(f"true | {c}") for c in found.fed), out)


def awk(ctx: Ctx, argv: list[str]) -> Analysis:
    """``awk 'BEGIN{system("rm -rf d")}'``, ``awk '{print > "f"}'``, ``gawk -i inplace``.

    >>> demo('''awk 'BEGIN{system("rm -rf d")}' ''')
    [('file.delete', 'd')]
    >>> demo('''awk '{print $1 > "a.db"}' x'''), demo("gawk -i inplace '{print}' a.db")
    ([('file.truncate', 'a.db')], [('file.truncate', 'a.db')])
    >>> demo("awk -F, '$2 > 5 {print $1}' data.csv"), demo('''awk '{print | "sh"}' ''')
    ([], [('code.dynamic', 'sh')])
    """
    prog = argv[0].rpartition("/")[2]
    o = parse_opts(argv[1:], "fvFiEl", ("--file", "--assign", "--field-separator",
                                        "--include", "--exec", "--load"))
    texts: list[str] = []
    out = Analysis()
    for f in o.get("-f", "--file", "-E", "--exec"):
        text = ctx.children.read(f) if ctx.children is not None else None
        if text is None:
            out += Analysis((unread_script(ctx.children, prog, f, ctx.source),))
        else:
            texts.append(text)
    data = list(o.args)
    if not o.get("-f", "--file", "-E", "--exec") and data:
        texts.append(data.pop(0))
    if any(i.startswith("inplace") for i in o.get("-i", "--include")):
        out += Analysis(files(ctx, "file.truncate", [d for d in data if "=" not in d]))
    for text in texts:
        if "@load" in text or "@include" in text:
            out += Analysis((unread(prog, "loads code the guard does not read", ctx.source),))
        out += _found(ctx, prog, shell_programs.awk(text))
    return out


def sed(ctx: Ctx, argv: list[str]) -> Analysis:
    """``sed -i`` (rewrites its files), and what its script writes or runs: ``w f``, ``e cmd``.

    >>> demo("sed -n 'w a.db' x"), demo("sed '1e rm -rf d' x"), demo("sed -n 1p x")
    ([('file.truncate', 'a.db')], [('file.delete', 'd')], [])
    """
    o = parse_opts(argv[1:], "eflsE", ("--expression", "--file", "--line-length"))
    scripts = list(o.get("-e", "--expression"))
    out = sed_in_place(ctx, argv)
    for f in o.get("-f", "--file"):
        text = ctx.children.read(f) if ctx.children is not None else None
        if text is None:
            out += Analysis((unread_script(ctx.children, "sed", f, ctx.source),))
        else:
            scripts.append(text)
    if not o.get("-e", "--expression", "-f", "--file") and o.args:
        scripts.append(o.args[0])
    return sum((_found(ctx, "sed", shell_programs.sed(s)) for s in scripts), out)


def sort(ctx: Ctx, argv: list[str]) -> Analysis:
    """``sort -o f`` writes ``f`` over (it may be one of its inputs).

    >>> demo("sort -o a.db x"), demo("sort --output=a.db x"), demo("sort -k2 -t, x")
    ([('file.truncate', 'a.db')], [('file.truncate', 'a.db')], [])
    """
    o = parse_opts(argv[1:], "okStT", ("--output", "--key", "--field-separator",
                                       "--buffer-size", "--temporary-directory", "--parallel",
                                       "--batch-size", "--compress-program", "--files0-from",
                                       "--random-source", "--sort"))
    return Analysis(files(ctx, "file.truncate", o.get("-o", "--output")))


def uniq(ctx: Ctx, argv: list[str]) -> Analysis:
    """``uniq in out``: its second file is written over.

    >>> demo("uniq x a.db"), demo("uniq -c x")
    ([('file.truncate', 'a.db')], [])
    """
    o = parse_opts(argv[1:], "fswf", ("--skip-fields", "--skip-chars", "--check-chars",
                                      "--all-repeated", "--group"))
    return Analysis(files(ctx, "file.truncate", list(o.args[1:2])))


def tar(ctx: Ctx, argv: list[str]) -> Analysis:
    """``tar --remove-files -cf x.tar d`` deletes what it archived; ``tar -xf x.tar`` (``-C d``)
    writes its members over the files there (which they are is not read: the whole folder).

    >>> demo("tar --remove-files -cf /tmp/x.tar data"), demo("tar cf x.tar --remove-files d")
    ([('file.delete', 'data')], [('file.delete', 'd')])
    >>> demo("tar -cf /tmp/x.tar data"), demo("tar xf x.tar -C d"), demo("tar -tf x.tar")
    ([], [('file.truncate', 'd')], [])
    """
    extracting = _tar_extracts(argv[1:])
    if "--remove-files" not in argv[1:] and not extracting:
        return Analysis()
    args = list(argv[1:])
    if args and not args[0].startswith("-") and "f" in args[0]:   # old style: tar cf x.tar d
        args = ["-" + args[0], *args[1:]]
    o = parse_opts(args, "fCbHKLNTVX", ("--file", "--directory", "--exclude", "--files-from",
                                        "--transform", "--owner", "--group", "--mode",
                                        "--format", "--label", "--newer", "--blocking-factor"))
    where = o.get("-C", "--directory")
    if extracting:
        return Analysis(files(ctx, "file.truncate", where[-1:] or ["."], recursive=True))
    paths = [p if not where or p.startswith("/") else f"{where[-1]}/{p}" for p in o.args]
    unseen = o.get("-T", "--files-from")
    out = Analysis(files(ctx, "file.delete", paths, recursive=True))
    return out + Analysis(tuple(unread("tar", f"deletes the files listed in {f}", ctx.source)
                                for f in unseen))


def _tar_extracts(args: list[str]) -> bool:
    """``tar -x``/``xf``/``--extract``/``--get``, unless it keeps the files that are there."""
    first = args[0] if args else ""
    x = any(a in ("--extract", "--get") or (a.startswith("-") and not a.startswith("--")
                                            and "x" in a) for a in args) or \
        (not first.startswith("-") and "x" in first)
    return x and not any(a in ("-k", "--keep-old-files", "--skip-old-files",
                                "--keep-newer-files", "-O", "--to-stdout") for a in args)


def unzip(ctx: Ctx, argv: list[str]) -> Analysis:
    """``unzip x.zip`` (``-d dir``) writes its members over the files there, unless ``-n``
    (never overwrite), ``-l``/``-t``/``-v``/``-Z`` (list, test) or ``-p``/``-c`` (to stdout);
    ``7z x``/``7z e`` likewise. Which members it holds is not read: the whole folder.

    >>> demo("unzip -o x.zip"), demo("unzip -q x.zip -d /tmp/t"), demo("unzip -l x.zip")
    ([('file.truncate', '.')], [('file.truncate', '/tmp/t')], [])
    """
    name = argv[0].rpartition("/")[2]
    if name.startswith("7z"):
        o = parse_opts(argv[1:], "", ())
        if not o.args or o.args[0] not in ("x", "e"):
            return Analysis()
        dest = [a[2:] for a in argv[1:] if a.startswith("-o")]
        return Analysis(files(ctx, "file.truncate", dest[-1:] or ["."], recursive=True))
    o = parse_opts(argv[1:], "dxP", ())
    if o.has("-n", "-l", "-t", "-v", "-Z", "-p", "-c", "-z"):
        return Analysis()
    return Analysis(files(ctx, "file.truncate", o.get("-d")[-1:] or ["."], recursive=True))


# compressors that replace their input file with the compressed (or decompressed) one unless
# told to keep it or write to stdout, and those that keep it unless told to remove it
REPLACE = frozenset({"gzip", "gunzip", "pigz", "unpigz", "bzip2", "bunzip2", "pbzip2", "xz",
                     "unxz", "lzma", "unlzma", "lzip", "compress", "uncompress"})
KEEP = frozenset({"zstd", "unzstd", "lz4", "brotli", "pzstd"})


def compress(ctx: Ctx, argv: list[str]) -> Analysis:
    """``gzip f`` / ``xz -d f.xz`` / ``zstd --rm f``: the input file is deleted.

    >>> demo("gzip a.db"), demo("gzip -r data"), demo("gzip -c a.db"), demo("zstd a.db")
    ([('file.delete', 'a.db')], [('file.delete', 'data')], [], [])
    """
    name = argv[0].rpartition("/")[2]
    o = parse_opts(argv[1:], "bSoBTM", ("--suffix", "--output", "--format", "--threads",
                                        "--memlimit", "--block-size"))
    keeps = {"-c", "--stdout", "--to-stdout", "-k", "--keep", "-t", "--test", "-l", "--list",
             "-h", "--help", "-V", "--version"}
    if any(f in keeps for f in o.flags) or o.get("-o", "--output"):
        return Analysis()
    if name in KEEP and not o.has("--rm", "-j"):
        return Analysis()
    rec = o.has("-r", "--recursive")
    return Analysis(files(ctx, "file.delete", [a for a in o.args if a != "-"], recursive=rec))


# programs that write the file an option or a positional names: (short options taking a value,
# long options taking a value, output options, index of the output among the positionals)
OUTPUTS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], int | None]] = {
    "shuf": ("noi", ("--output", "--head-count", "--input-range", "--random-source"),
             ("-o", "--output"), None),
    "iconv": ("oft", ("--output", "--from-code", "--to-code"), ("-o", "--output"), None),
    "xxd": ("cglson", ("--cols", "--groupsize", "--len", "--seek", "--name"), (), 1),
    "sponge": ("", (), (), 0),
}


def output(ctx: Ctx, argv: list[str]) -> Analysis:
    """``shuf -o f``, ``iconv -o f``, ``xxd -r in f``, ``… | sponge f``: ``f`` is written over.

    >>> demo("shuf -o a.db x"), demo("xxd -r - a.db"), demo("sponge a.db"), demo("xxd a.db")
    ([('file.truncate', 'a.db')], [('file.truncate', 'a.db')], [('file.truncate', 'a.db')], [])
    """
    short, long_, outs, index = OUTPUTS[argv[0].rpartition("/")[2]]
    o = parse_opts(argv[1:], short, long_)
    paths = list(o.get(*outs)) if outs else []
    if index is not None and len(o.args) > index and o.args[index] != "-":
        paths.append(o.args[index])
    return Analysis(files(ctx, "file.write" if o.has("-a", "--append") else "file.truncate",
                          paths))


def in_place(ctx: Ctx, argv: list[str]) -> Analysis:
    """``dos2unix f`` / ``unix2dos f`` convert their files in place.

    >>> demo("dos2unix a.db")
    [('file.truncate', 'a.db')]
    """
    o = parse_opts(argv[1:], "c", ("--convmode", "--add-bom"))
    return Analysis(files(ctx, "file.truncate", list(o.args)))


def zip_(ctx: Ctx, argv: list[str]) -> Analysis:
    """``zip x.zip f`` writes ``x.zip``; with ``-m`` (``--move``) its inputs are deleted.

    >>> demo("zip -m /tmp/x.zip a.db"), demo("zip -r /tmp/x.zip data")
    ([('file.write', '/tmp/x.zip'), ('file.delete', 'a.db')], [('file.write', '/tmp/x.zip')])
    """
    o = parse_opts(argv[1:], "bnPtiIxZ", ("--temp-path", "--suffixes", "--password",
                                          "--include", "--exclude", "--compression-method"))
    if not o.args:
        return Analysis()
    move = o.has("-m", "--move")
    out = files(ctx, "file.write", list(o.args[:1]))
    return Analysis(out + (files(ctx, "file.delete", list(o.args[1:]), recursive=True)
                           if move else ()))


def patch(ctx: Ctx, argv: list[str]) -> Analysis:
    """``patch f d.diff``, ``patch -p1 < d.diff``: the files named, or named in the diff (read
    when visible), are rewritten; a diff the guard cannot read is ``child.unread``.

    >>> demo("patch -p1 <<'EOF'\\n--- a/x.db\\n+++ b/x.db\\nEOF"), demo("patch a.db d.diff")
    ([('file.truncate', 'x.db')], [('file.truncate', 'a.db')])
    """
    o = parse_opts(argv[1:], "pidoBrDFzVYg", ("--strip", "--input", "--directory", "--output",
                                              "--prefix", "--reject-file", "--suffix"))
    if o.args:
        return Analysis(files(ctx, "file.truncate", list(o.args[:1])))
    diffs = o.get("-i", "--input")
    text = ctx.stdin if not diffs else (ctx.children.read(diffs[0]) if ctx.children else None)
    if text is None:
        return Analysis((unread("patch", "changes the files named in a diff the guard cannot "
                                "read", ctx.source),))
    strip = int((o.get("-p", "--strip") or ["-1"])[-1] or -1)
    where = (o.get("-d", "--directory") or [""])[-1]
    names = {m.split()[0] for m in re.findall(r"(?m)^(?:\+\+\+|---) (\S+)", text)} - {"/dev/null"}
    paths = sorted({n.split("/", strip)[-1] if strip > 0 else n for n in names})
    return Analysis(files(ctx, "file.truncate", [f"{where}/{p}" if where else p for p in paths]))


WRITER_RULES = {
    "patch": patch, "unzip": unzip, "7z": unzip, "7za": unzip, "7zr": unzip,
    **dict.fromkeys(OUTPUTS, output), "dos2unix": in_place, "unix2dos": in_place, "zip": zip_,
    **dict.fromkeys(("awk", "gawk", "mawk", "nawk"), awk),
    "sed": sed, "sort": sort, "uniq": uniq, "tar": tar, "bsdtar": tar,
    **dict.fromkeys(REPLACE | KEEP, compress),
}
