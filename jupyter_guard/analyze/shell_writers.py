"""Shell rules for programs that read files but also write, delete or run through an option or
a little language: ``sort -o``, ``uniq in out``, ``tar --remove-files``, compressors that replace
their input (``gzip f`` leaves only ``f.gz``), ``find -fprint``, ``awk`` (``system()``, pipes,
``print > f``, ``-i inplace``) and ``sed`` scripts (``w f``, ``e cmd``). One pure function each.
"""
from __future__ import annotations

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
    """``tar --remove-files -cf x.tar d`` deletes what it archived.

    >>> demo("tar --remove-files -cf /tmp/x.tar data"), demo("tar cf x.tar --remove-files d")
    ([('file.delete', 'data')], [('file.delete', 'd')])
    >>> demo("tar -cf /tmp/x.tar data")
    []
    """
    if "--remove-files" not in argv[1:]:
        return Analysis()
    args = list(argv[1:])
    if args and not args[0].startswith("-") and "f" in args[0]:   # old style: tar cf x.tar d
        args = ["-" + args[0], *args[1:]]
    o = parse_opts(args, "fCbHKLNTVX", ("--file", "--directory", "--exclude", "--files-from",
                                        "--transform", "--owner", "--group", "--mode",
                                        "--format", "--label", "--newer", "--blocking-factor"))
    where = o.get("-C", "--directory")
    paths = [p if not where or p.startswith("/") else f"{where[-1]}/{p}" for p in o.args]
    unseen = o.get("-T", "--files-from")
    out = Analysis(files(ctx, "file.delete", paths, recursive=True))
    return out + Analysis(tuple(unread("tar", f"deletes the files listed in {f}", ctx.source)
                                for f in unseen))


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


WRITER_RULES = {
    **dict.fromkeys(("awk", "gawk", "mawk", "nawk"), awk),
    "sed": sed, "sort": sort, "uniq": uniq, "tar": tar, "bsdtar": tar,
    **dict.fromkeys(REPLACE | KEEP, compress),
}
