"""Where a child's output goes, told when it starts (the ``subprocess.Popen`` event).

``subprocess.run(['sqlite3', 'wh.db', 'SELECT * FROM customers'], stdout=open('x.csv', 'w'))``
writes every row into the file without passing through Python: the command line alone reads
as if it printed to the cell. So the descriptor the child gets as its output is looked at: a
file, a socket, or a pipe that is not the kernel's own output means the output leaves
(``leaves``), and a database program's command is judged as ``… > file`` would be.

``stdout=PIPE`` brings the output back to Python, where the exits see it, unless the pipe is
handed on as another child's input (``Popen(['gzip'], stdin=p1.stdout, stdout=f)``): the
commands that write such pipes are remembered (``remember``) and judged again, as leaving,
when another child is given one (``fed_by``).
"""
from __future__ import annotations

import os
import stat
from types import FrameType

_PIPES: dict[int, tuple[tuple[int, int], str]] = {}
"""Read end of a pipe a child writes -> (the pipe's identity, the child's command line)."""
STDIN: set[tuple[int, int]] = set()
"""The identities of the pipes user code's children read as their input (``stdin=PIPE``)."""


def _locals(frame: FrameType | None) -> dict[str, object]:
    """``Popen._execute_child``'s locals (the descriptors it hands the child), or nothing."""
    if frame is None or frame.f_code.co_name != "_execute_child":
        return {}
    return frame.f_locals


def _fd(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else -1


def _identity(fd: int) -> tuple[int, int] | None:
    try:
        st = os.fstat(fd)
    except OSError:
        return None   # closed: nothing goes through it
    return st.st_dev, st.st_ino


def leaves(frame: FrameType | None) -> bool:
    """The child's output goes to a file, a socket or a pipe other than the kernel's own output
    (``stdout=f``), not back to the kernel (inherited, or ``stdout=PIPE``)."""
    loc = _locals(frame)
    out = _fd(loc.get("c2pwrite"))
    if out < 0 or _fd(loc.get("c2pread")) >= 0:
        return False
    try:
        mode = os.fstat(out).st_mode
    except OSError:
        return False   # not open: the child gets no output there
    if stat.S_ISREG(mode) or stat.S_ISSOCK(mode):
        return True
    return stat.S_ISFIFO(mode) and _identity(out) not in (_identity(1), _identity(2))


def remember(frame: FrameType | None, command: str) -> None:
    """A child whose output comes back through a pipe (``stdout=PIPE``): its command line is
    kept while that pipe may be handed on."""
    loc = _locals(frame)
    end = _fd(loc.get("c2pread"))
    ident = _identity(end) if end >= 0 else None
    if ident is not None:
        if len(_PIPES) > 256:
            _PIPES.clear()
        _PIPES[end] = (ident, command)


def fed_by(frame: FrameType | None) -> str | None:
    """The command line of the child whose output pipe this child gets as its input."""
    loc = _locals(frame)
    src = _fd(loc.get("p2cread"))
    hit = _PIPES.get(src) if src >= 0 else None
    if hit is None or hit[0] != _identity(src):
        return None
    return hit[1]


def note_stdin(frame: FrameType | None) -> None:
    """A child started by user code reads a pipe: what is written into it later is checked
    whoever writes it (``asyncio``'s ``communicate`` writes from the event loop, where no
    frame of the cell is on the stack)."""
    end = _fd(_locals(frame).get("p2cwrite"))
    ident = _identity(end) if end >= 0 else None
    if ident is not None:
        if len(STDIN) > 256:
            STDIN.clear()
        STDIN.add(ident)


def feeds_child(fd: object) -> bool:
    """Whether the descriptor ``fd`` writes into the input of a child user code started."""
    return bool(STDIN) and isinstance(fd, int) and _identity(fd) in STDIN
