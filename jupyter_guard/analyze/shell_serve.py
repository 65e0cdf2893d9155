"""Programs that serve a folder or a database file over the network (``python -m http.server``,
``php -S``, ``busybox httpd``, ``ruby -run -e httpd``, ``datasette``): anyone who asks gets
every file in it, so a folder that holds a database file is a copy of every table in it.

Judged by what the folder holds (the caller's ``Reader.database``, which walks it), not by the
program's name alone: serving a folder of HTML works.

Pure: the caller hands in how to tell a database file.
"""
from __future__ import annotations

from jupyter_guard.analyze.children import Reader, is_python
from jupyter_guard.analyze.shell_copies import export, looked_up
from jupyter_guard.analyze.shell_opts import parse_opts
from jupyter_guard.model import Intent

PY_SERVERS = frozenset({"http.server", "SimpleHTTPServer", "uploadserver", "RangeHTTPServer",
                        "pyftpdlib", "twisted", "sqlite_web", "datasette"})
"""``python -m NAME``: modules that serve the current folder (or the one named) to others."""
SERVERS = frozenset({"httpd", "busybox-httpd", "darkhttpd", "http-server", "serve", "webfsd",
                     "sqlite_web", "sqlite-web", "datasette", "caddy", "miniserve", "ran"})
"""Programs that serve a folder (or the database files named) to others."""


def served(argv: list[str]) -> tuple[str, list[str]] | None:
    """(the server's name, the folders and files it serves), or None for other programs.

    >>> served(["python3", "-m", "http.server", "8000", "--directory", "site"])
    ('http.server', ['site'])
    >>> served(["python", "-m", "http.server", "-b", "127.0.0.1"]), served(["php", "-S", "h:1"])
    (('http.server', ['.']), ('php', ['.']))
    >>> served(["php", "-S", "h:1", "-t", "www"]), served(["httpd", "-f", "-h", "www"])
    (('php', ['www']), ('httpd', ['www']))
    >>> served(["ruby", "-run", "-e", "httpd", "pub", "-p", "80"]), served(["cp", "a", "b"])
    (('ruby', ['pub']), None)
    >>> served(["datasette", "serve", "x.db", "-p", "1"]), served(["php", "x.php"])
    (('datasette', ['x.db']), None)
    """
    prog, args = argv[0].rpartition("/")[2], argv[1:]
    if is_python(prog) and "-m" in args[:-1]:
        mod = args[args.index("-m") + 1]
        if mod not in PY_SERVERS:
            return None
        o = parse_opts(args[args.index("-m") + 2:], "dbpi",
                       ("--directory", "--bind", "--port", "--path", "--host"))
        given = o.get("-d", "--directory") + o.get("--path")
        words = [a for a in o.args if not a.isdigit() and a not in ("web", "serve")]
        return mod, given or (words if mod in ("sqlite_web", "datasette") else []) or ["."]
    if prog == "php":
        if "-S" not in args:
            return None
        o = parse_opts(args, "StcdfrzR", ("--docroot",))
        return prog, o.get("-t", "--docroot") or ["."]
    if prog == "ruby":
        if "-run" not in args and "-rDun" not in args:
            return None
        o = parse_opts(args, "erp", ("--port", "--bind-address"))
        return prog, [a for a in o.args if not a.isdigit()] or ["."]
    if prog in SERVERS:
        o = parse_opts(args, "hpcruaPdib", ("--root", "--port", "--address", "--host",
                                            "--index", "--config"))
        given = o.get("-h", "--root") if prog in ("httpd", "caddy") else o.get("-r")
        words = [a for a in o.args if not a.isdigit() and a not in ("serve", "file-server")]
        return prog, given or words or ["."]
    return None


def serving(reader: Reader | None, argv: list[str], source: str,
            cwd: str = "") -> tuple[Intent, ...]:
    """A server given a folder that holds a database file (or the file itself): an export of
    every table in it to whoever connects."""
    if reader is None or reader.database is None or not argv:
        return ()
    found = served(argv)
    if found is None:
        return ()
    prog, roots = found
    dbs: list[str] = []
    for r in roots:
        dbs += [p for p in looked_up(reader, r, cwd, True) if p not in dbs]
    return tuple(export(src, prog, source).with_(target=f"whoever connects to {prog}")
                 for src in dbs)
