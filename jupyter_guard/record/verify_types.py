"""What ``verify`` returns: each problem found, and the verdict."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

What = Literal["edited", "deleted", "reordered", "lost", "malformed"]


@dataclass(frozen=True)
class Problem:
    session_id: str
    seq: int
    event_id: str
    what: What
    detail: str

    def __str__(self) -> str:
        if not self.session_id:
            return f"{self.what}: {self.detail}"
        return (f"session {self.session_id} seq {self.seq} event {self.event_id or '?'}: "
                f"{self.what} ({self.detail})")


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    problems: tuple[Problem, ...]
    checked: int                       # events whose chain link and hash were checked
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.checked} events, every chain intact"
        return f"FAILED: {self.problems[0]} ({len(self.problems)} problem(s))"
