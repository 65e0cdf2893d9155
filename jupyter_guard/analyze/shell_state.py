"""What a shell script has done so far to its folder and files: the folder ``cd`` moved into
(``pushd``/``popd``'s stack), and the files it wrote, with their text when visible, so a later
``bash f`` or ``./f`` in the same script is read as what it will run (``shell.py``'s walk).
"""
from __future__ import annotations

import os
import re

from jupyter_guard.analyze.children import Reader
from jupyter_guard.analyze.shell_redirs import DATA_COMMANDS
from jupyter_guard.model import UNKNOWN, Analysis

CHANGES = frozenset({"file.delete", "file.truncate", "file.move"})   # what a command changes
_FILE_ACTIONS = CHANGES | {"file.write"}


class ScriptFiles:
    """The script's folder and the files it wrote; ``base`` reads the files it did not."""

    def __init__(self, base: Reader | None) -> None:
        self.written: dict[str, str | None] = {}   # files this script wrote: text, None if unseen
        self.cwd = ""                # the folder ``cd`` moved into, relative to the start
        self.dirs: list[str] = []    # ``pushd``'s stack
        self.base = base

    def here(self, path: str) -> str | None:
        """``path`` as the caller's reader must look it up: relative paths are in the folder
        ``cd`` moved into (None when that folder is known only when the script runs)."""
        if not self.cwd or path.startswith(("/", "~")):
            return path
        if UNKNOWN in self.cwd:
            return None
        return os.path.normpath(os.path.join(self.cwd, path))

    def read(self, path: str) -> str | None:
        if path in self.written:
            return self.written[path]
        here = self.here(path)   # ``cd x && bash s.sh`` runs x/s.sh
        if here is None:
            return None
        return self.base.read(here) if self.base is not None else None

    def exists(self, path: str) -> bool:
        if path in self.written:
            return True
        base, here = self.base, self.here(path)
        return base is not None and here is not None and (base.exists is None or base.exists(here))

    def rebased(self, found: Analysis) -> Analysis:
        """After ``cd data``, ``rm keep.csv`` deletes ``data/keep.csv``: relative paths of the
        files a command changes are taken from the folder ``cd`` moved into; after a ``cd`` to a
        folder known only when it runs, from any folder below the start (``**/keep.csv``, a
        pattern the policy expands against the disk).
        """
        if not self.cwd:
            return found
        out = []
        for i in found.intents:
            if i.action in _FILE_ACTIONS and i.target_kind == "path" and i.target and \
                    not i.target.startswith(("/", "~")) and UNKNOWN not in i.target:
                if self.cwd == UNKNOWN or UNKNOWN in self.cwd:   # any folder below the start
                    i = i.with_(target=os.path.join("**", i.target))
                else:
                    i = i.with_(target=os.path.normpath(os.path.join(self.cwd, i.target)))
            out.append(i)
        return Analysis(tuple(out), found.errors)

    def remember(self, argv: list[str], stdin: str | None, done: Analysis, red: Analysis) -> None:
        """Files this script writes, with their text when it is visible (``cat > f <<EOF``,
        ``echo ... > f``), so a later ``bash f`` in the same script reads what it will run."""
        text: str | None = None
        if argv and argv[0] == "cat" and len(argv) == 1:
            text = stdin
        elif argv and argv[0] in DATA_COMMANDS:
            text = " ".join(a for a in argv[1:]
                            if argv[0] != "echo" or not re.fullmatch(r"-[neE]+", a))
            text = text + "\n" if argv[0] == "echo" else text
        for i in red.intents:
            if i.action in ("file.write", "file.truncate"):
                prev = self.written.get(i.target, "") if i.action == "file.write" else ""
                self.written[i.target] = None if text is None or prev is None else prev + text
        for i in done.intents:
            if i.action in ("file.write", "file.truncate", "file.move") and i.target_kind == "path":
                self.written[i.target] = None
        if argv and argv[0] in ("cp", "mv") and len(argv) == 3 and not argv[1].startswith("-"):
            self.written[argv[2]] = self.read(argv[1])   # cp a.sh b.sh: b.sh holds what a.sh does

    def cd(self, argv: list[str], known: bool = True) -> None:
        """``cd data && cp wh.duckdb /tmp``: later relative paths are looked up in ``data`` too;
        after ``cd $(…)`` (a folder known only when it runs), anywhere below the start;
        ``popd`` goes back where ``pushd`` left."""
        if argv[0] == "pushd":
            self.dirs.append(self.cwd)
        if argv[0] == "popd":
            self.cwd = self.dirs.pop() if self.dirs else UNKNOWN
        elif argv[0] in ("cd", "pushd") and not known:
            self.cwd = UNKNOWN
        elif argv[0] in ("cd", "pushd") and len(argv) > 1 and not argv[-1].startswith("-"):
            self.cwd = os.path.join(self.cwd, os.path.expanduser(argv[-1]))
        elif argv[0] in ("cd", "pushd"):
            self.cwd = os.path.expanduser("~")
