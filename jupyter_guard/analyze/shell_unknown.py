"""Programs the guard has no rule for. What they do with the files they are given cannot be read
before they run (``patch f``, ``ex -sc '%d|x' f``, ``fallocate -p f``, ``openssl … -out f``,
``strace rm -rf d``: a program that runs another), so every path such a program is handed is a
path it may change: ``file.truncate`` with detail ``UNKNOWN_PROGRAM``. The policy refuses it
only where the path is protected, and lets a program the team trusts run
(``children.allow_unread``). Programs known to only read what they are given are not asked.

Pure: argv in, intents out.
"""
from __future__ import annotations

from jupyter_guard.model import UNKNOWN, Intent

UNKNOWN_PROGRAM = "may change it: the guard does not know what this program does with its files"

READERS = frozenset({
    # look at files and folders
    "ls", "dir", "tree", "stat", "file", "du", "df", "wc", "cat", "tac", "head", "tail", "less",
    "more", "most", "nl", "od", "hexdump", "strings", "readlink", "realpath", "basename",
    "dirname", "pwd", "test", "[", "[[", "md5sum", "sha1sum", "sha224sum", "sha256sum",
    "sha384sum", "sha512sum", "b2sum", "cksum", "sum", "lsattr", "getfacl", "namei",
    # text on stdout
    "grep", "egrep", "fgrep", "rg", "ag", "ack", "diff", "diff3", "cmp", "comm", "join", "paste",
    "cut", "tr", "fold", "fmt", "pr", "expand", "unexpand", "rev", "column", "look", "base64",
    "base32", "basenc", "echo", "printf", "true", "false", ":", "seq", "yes", "expr", "bc",
    "jq", "yq", "xsv", "qsv", "csvlook", "csvstat", "csvcut", "csvgrep", "csvjson", "in2csv",
    "csvformat", "csvsort", "csvclean", "zcat", "zgrep", "zless", "bzcat", "xzcat", "zstdcat",
    "lz4cat", "gzcat", "uuencode", "pv", "split", "csplit",
    # the system, not files
    "which", "type", "whereis", "command", "hash", "whoami", "id", "groups", "date", "uname",
    "hostname", "uptime", "nproc", "free", "ps", "top", "htop", "env", "printenv", "locale",
    "sleep", "cd", "pushd", "popd", "export", "set", "shopt", "declare", "local", "readonly",
    "read", "wait", "jobs", "getent", "host", "dig", "ping", "nslookup", "lscpu", "lsblk",
    "nvidia-smi", "mount", "findmnt", "ulimit", "umask", "history", "help", "man", "info",
    "pip", "pip3", "conda", "mamba", "uv", "mkdir", "mktemp", "exit", "return", "shift", "let",
    "unalias", "kill", "disown", "bg", "fg", "tput", "clear", "stty", "tty",
})
"""Programs that only read the paths they are given (those with options that write have rules
of their own, ``shell_writers``: ``sort``, ``uniq``, ``awk``, ``sed``, compressors)."""


def unknown_program(argv: list[str], source: str) -> tuple[Intent, ...]:
    """Every path an unknown program is given (``--out=f``'s too) may be changed by it.

    >>> [(i.action, i.target) for i in unknown_program(["patch", "-p0", "a.db", "x.diff"], "")]
    [('file.truncate', 'a.db'), ('file.truncate', 'x.diff')]
    >>> unknown_program(["wc", "-l", "a.db"], ""), unknown_program(["frob", "-x"], "")
    ((), ())
    """
    name = argv[0].rpartition("/")[2]
    if name in READERS or not name or UNKNOWN in argv[0]:   # a program named at run time is
        return ()                                           # judged then, by its real name
    paths = []
    for a in argv[1:]:
        if a.startswith("-"):
            value = a.partition("=")[2]
            if value and not value.startswith("-"):
                paths.append(value)
        elif a:
            paths.append(a)
    paths = [p for p in paths if UNKNOWN not in p]   # known only at run time: judged then
    return tuple(Intent("file.truncate", "path", p, source=source,
                        detail=f"{name} {UNKNOWN_PROGRAM}") for p in paths)
