"""Child processes: what the guard can tell, before a child starts, of the code it will run.

Pure: the caller hands in how to read a file and how to analyse Python (``Reader``).

- Python children run with the guard inside them (an injected ``sitecustomize``); their inline
  code and readable scripts are also analysed here, so a refusal comes before the child starts.
  Flags and environments that would drop the injection (``-I``, ``-E``, ``-S``, ``env -i``,
  ``PYTHONPATH=``, ``unset PYTHONPATH``) are refused as attempts to bypass the guard.
- Other interpreters (perl, ruby, node, Rscript, php) get a conservative scan for deletes and
  shell-outs; shell scripts get the shell analysis.
- Code the guard cannot read (a script that is not there, a build or version-control tool that
  runs its own files) is ``child.unread``, refused unless ``children.allow_unread`` names it.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from jupyter_guard.model import Analysis, Intent

PYTHON = re.compile(r"^(python|pypy|ipython)[0-9.]*$")
SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh", "ash", "mksh", "fish"})
INTERPRETERS = frozenset({"perl", "ruby", "node", "nodejs", "Rscript", "php", "deno", "bun"})
# Tools that run code from files of their own (Makefiles, hooks, package scripts): unread.
RUNNERS = frozenset({"make", "gmake", "git", "npm", "npx", "yarn", "pnpm", "cargo", "gradle",
                     "mvn", "ant", "rake", "just", "invoke", "tox", "nox", "pre-commit", "cmake",
                     "ninja", "snakemake", "dvc",
                     # interpreters whose code (an argument, a file, stdin) the guard does not read
                     "tclsh", "wish", "expect", "lua", "luajit", "julia", "octave", "gdb", "pwsh",
                     "guile", "sbcl", "racket", "scala", "groovy", "jshell", "java", "dotnet",
                     "go", "swift", "R", "matlab", "emacs", "vim", "vi", "nvim", "ex", "ed"})
INJECTION_VARS = ("PYTHONPATH",)           # the injected sitecustomize lives on PYTHONPATH
GUARD_PREFIX = "JUPYTER_GUARD_"
_STRIP_FLAGS = frozenset("IES")             # -I isolated, -E no PYTHON* env, -S no site
_VALUE_FLAGS = frozenset("WXQ")             # python flags that take a value
NOT_YET = "not found yet, decided when the child starts"


@dataclass(frozen=True)
class Reader:
    """How the shell analysis reads scripts and analyses Python (given by the caller)."""

    read: Callable[[str], str | None]        # a file's text, None when it cannot be read
    python: Callable[[str], Analysis]        # Python source -> intents
    starting: bool = False                   # the child starts now: a missing file is unread
    exists: Callable[[str], bool] | None = None  # the path is there (missing: decided later)
    # the database file a path names (and, when True, one in the folder it names), by header
    database: Callable[[str, bool], tuple[str, ...]] | None = None
    environ: Callable[[str], str | None] | None = None  # a variable the command inherits


def is_python(prog: str) -> bool:
    """
    >>> is_python("/usr/bin/python3.11"), is_python("pythonista"), is_python("ipython")
    (True, False, True)
    """
    return bool(PYTHON.match(prog.rpartition("/")[2]))


def may_run_python(prog: str) -> bool:
    """A program that is, or can start, a Python child."""
    name = prog.rpartition("/")[2]
    return is_python(name) or name in SHELLS or name in RUNNERS or name in INTERPRETERS


def tamper(prog: str, why: str, source: str) -> Intent:
    return Intent("guard.tamper", "guard", f"starts {prog} without the guard ({why}); "
                  "children run with the guard inside them", source=source)


def unread(prog: str, why: str, source: str) -> Intent:
    return Intent("child.unread", "command", prog.rpartition("/")[2], source=source, detail=why)


def unread_script(reader: Reader | None, prog: str, path: str, source: str) -> Intent:
    """A script the guard cannot read. One that is not there yet (a cell may write it before it
    runs it) is decided again when the child starts, by the run-time layer."""
    missing = reader is not None and not reader.starting and reader.read(path) is None \
        and reader.exists is not None and not reader.exists(path)
    why = (f"{NOT_YET}: script {path}" if missing else f"script {path} cannot be read")
    return unread(prog, why, source)


def strips(name: str, value: str | None) -> bool:
    """Setting or unsetting ``name`` (to ``value``) drops the guard from Python children.

    >>> strips("PYTHONPATH", ""), strips("PYTHONPATH", "/x:$PYTHONPATH"), strips("HOME", "")
    (True, False, False)
    """
    if name.upper().startswith(GUARD_PREFIX):
        return True
    if name not in INJECTION_VARS:
        return False
    return value is None or not re.search(r"\$\{?" + name + r"\b", value)


def python_child(argv: list[str], reader: Reader | None, source: str,
                 stdin: str | None = None) -> Analysis:
    """``python [flags] -c CODE | -m MOD | SCRIPT | -``.

    >>> [i.action for i in python_child(["python", "-I", "-c", "1"], None, "").intents]
    ['guard.tamper']
    """
    out: list[Intent] = []
    args = list(argv[1:])
    code: str | None = None
    script = ""
    while args:
        a = args.pop(0)
        if a == "-":
            code = stdin
            break
        if a == "--" or not a.startswith("-"):
            script = (args[0] if args else "") if a == "--" else a
            break
        if a.startswith("--"):
            continue
        letters, stop = a[1:], False
        for n, ch in enumerate(letters):
            if ch in _STRIP_FLAGS:
                out.append(tamper(argv[0], f"python -{ch}", source))
            if ch in "cm" or ch in _VALUE_FLAGS:
                value = letters[n + 1:] or (args.pop(0) if args else "")
                code = value if ch == "c" else code
                stop = ch in "cm"
                break
        if stop:
            break
    if code is None and not script and not args and stdin is not None:
        code = stdin                              # echo CODE | python
    if code is None and script and reader is not None:
        code = reader.read(script)
    if code is not None and reader is not None:
        try:
            found = reader.python(code).intents
        except SyntaxError:
            found = ()
        out += [i for i in found if i.action != "code.dynamic"]
    return Analysis(tuple(out))


_QUOTED = r"""\s*\(?\s*(?:\[\s*)?(['"])((?:\\.|(?!\1).)*)\1"""
# (language, call pattern, recursive) for deletes; shell-outs handled by ``_SHELL_OUT``.
_DELETES: tuple[tuple[frozenset[str], str, bool], ...] = (
    (frozenset({"perl"}), r"\b(?:File::Path::)?(?:rmtree|remove_tree)\b", True),
    (frozenset({"perl", "php"}), r"\b(?:unlink|rmdir)\b", False),
    (frozenset({"ruby"}),
     r"\bFileUtils\.(?:rm_rf|rm_r|remove_dir|remove_entry(?:_secure)?|rmtree)\b", True),
    (frozenset({"ruby"}), r"\b(?:FileUtils\.(?:rm|rm_f|remove|mv|move)|"
                          r"File\.(?:delete|unlink|rename)|Dir\.(?:rmdir|delete|unlink))\b", False),
    (frozenset({"node", "nodejs", "deno", "bun"}),
     r"\b(?:rmSync|rm|rmdir|rmdirSync|unlink|unlinkSync|rename|renameSync|truncate|truncateSync|"
     r"writeFileSync|writeFile|remove|removeSync|emptyDir)\b", True),
    (frozenset({"Rscript"}), r"\b(?:unlink|file\.remove|file\.rename|fs::dir_delete|"
                             r"fs::file_delete)\b", True),
)
_SHELL_OUT: dict[str, str] = {
    "perl": r"\b(?:system|exec|qx)\b|`",
    "ruby": r"\b(?:system|exec|spawn)\b|`|%x|IO\.popen|Open3",
    "node": r"\b(?:exec|execSync|spawn|spawnSync|execFile|execFileSync|fork)\b",
    "Rscript": r"\b(?:system|system2|shell)\b",
    "php": r"\b(?:shell_exec|system|exec|passthru|popen|proc_open)\b|`",
}
_SHELL_OUT.update({"nodejs": _SHELL_OUT["node"], "deno": _SHELL_OUT["node"],
                   "bun": _SHELL_OUT["node"]})


def scan_code(lang: str, code: str, source: str,
              shell: Callable[[str], Analysis]) -> Analysis:
    """A conservative scan of perl/ruby/node/R/php code: every delete-like call is a delete of
    its first quoted argument (recursive when the call is, or when the path is not a literal);
    a shell-out runs its quoted command through the shell analysis, or is a dynamic command.

    >>> a = scan_code("perl", 'use File::Path; rmtree("data")', "", lambda s: Analysis())
    >>> [(i.action, i.target, i.recursive) for i in a.intents]
    [('file.delete', 'data', True)]
    """
    out = Analysis()
    for langs, pattern, recursive in _DELETES:
        if lang not in langs:
            continue
        for m in re.finditer(pattern, code):
            q = re.match(_QUOTED, code[m.end():])
            target = q.group(2) if q else "<path known only when the child runs>"
            out += Analysis((Intent("file.delete", "path", target, recursive=recursive or not q,
                                    source=source, detail=f"{lang} {m.group(0)}"),))
    for m in re.finditer(_SHELL_OUT.get(lang, r"(?!)"), code):
        tick = m.group(0) == "`"
        q = re.match(r"([^`]*)`" if tick else _QUOTED, code[m.end():])
        text = (q.group(1) if tick else q.group(2)) if q else None
        if text is None:
            out += Analysis((Intent("shell.exec", "command", m.group(0), source=source,
                                    detail="dynamic command"),))
        else:
            out += shell(text)
    return out


def interpreter_child(argv: list[str], reader: Reader | None, source: str,
                      shell: Callable[[str], Analysis], stdin: str | None = None) -> Analysis:
    """``perl -e CODE``, ``ruby s.rb``, ``node -e CODE``, ``Rscript -e CODE``, ``php -r CODE``."""
    name = argv[0].rpartition("/")[2]
    lang = "node" if name in ("nodejs", "deno", "bun") else name
    codes: list[str] = []
    script = ""
    args = argv[1:]
    while args:
        a = args.pop(0)
        if a in ("-e", "-E", "--eval", "-p", "--print", "-r", "--expr"):
            codes.append(args.pop(0) if args else "")
        elif a.startswith(("-e", "-E")) and len(a) > 2 and lang in ("perl", "ruby"):
            codes.append(a[2:])
        elif a.startswith("--eval="):
            codes.append(a.partition("=")[2])
        elif a == "-" or not a.startswith("-"):
            script = a
            break
    if not codes and (script in ("", "-")):
        if stdin is not None:
            codes.append(stdin)
        elif script == "-" or not script:
            return Analysis((unread(name, "code read from stdin is not visible", source),))
    if not codes and script:
        text = reader.read(script) if reader is not None else None
        if text is None:
            return Analysis((unread_script(reader, name, script, source),))
        codes.append(text)
    return sum((scan_code(lang, c, source, shell) for c in codes), Analysis())
