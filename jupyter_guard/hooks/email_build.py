"""The automaton of a batch of known e-mails (``known_emails``) built off the cell path.

A fetch of 10,000 e-mails would have the first print after it build their automaton (~50-100
ms). A batch of ``BACKGROUND_MIN`` e-mails or more is built in a thread instead (``Build``);
meanwhile a text whose skeleton may spell one of them waits for it, so none is missed.

>>> grams, table = _grams(["user", "exam"])
>>> len(grams)   # user, resu, hfre; exam, maxe, rknz
6
"""
from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

Words = tuple[list[list[str]], list[list[str]]]
"""The folded words of the local parts and of the domains of a batch of e-mails."""
_ROT13 = str.maketrans("abcdefghijklmnopqrstuvwxyz", "nopqrstuvwxyzabcdefghijklm")

BACKGROUND_MIN = 2_000
"""Batches of at least this many e-mails (a fetch) have their automaton built off the cell
path, in a thread (``Build``)."""
PAUSE = 0.005
"""How long a build in the background sleeps when the cell's thread waited for it."""


class Stopped(Exception):
    """A build in the background no longer wanted (its index was dropped)."""


class Build:
    """The automaton of one batch of e-mails built in a thread (``build``), then put in
    ``index.levels`` (a ``known_emails.Index``; in place of them all where it ``merged``
    them). Until then a text is only judged without it where its skeleton holds none of the
    batch's *grams* (``may_hit``): every skeleton
    looked for holds one (the first 4 characters of the local part's skeleton, or of the
    domain's where the local part is shorter, as written, backwards or in rot13), so a text
    that may spell one of the batch's e-mails waits for the build: never a silent pass.
    Between its steps the thread sleeps ``PAUSE`` when the cell's thread was waiting to run."""

    def __init__(self, index: Any, emails: list[str], merged: bool,
                 build: Callable[..., tuple[Any, dict[str, str]]],
                 fold: Callable[[list[str]], list[list[str]]]) -> None:
        """``build``: ``known_emails._automaton``; ``fold``: ``email_fold.words_all``."""
        self.index, self.emails, self.merged, self.build = index, emails, merged, build
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.stop = False
        self.error: BaseException | None = None
        self.fold = fold
        self.words: Words | None = None
        self.parts = [e.rpartition("@") for e in emails]
        self.locals = fold([p[0] for p in self.parts])   # (the domains': in the thread)
        self.grams, self.table = _grams(firsts(self.locals, self.parts, fold))
        _RUNNING.add(self)
        threading.Thread(target=self._run, name="jupyter_guard-emails", daemon=True).start()

    def _run(self) -> None:
        try:
            level = (*self.build(self.emails, self._words(), self._pause), self.emails)
            self.index.levels = [level] if self.merged else [*self.index.levels, level]
        except BaseException as e:  # noqa: BLE001 - stopped, or failed: built again where
            self.error = e   # it is waited for, on the cell path (``wait``)
        finally:
            self.done.set()
            _RUNNING.discard(self)

    def _words(self) -> Words:
        words = self.words or (self.locals, self.fold([p[2] for p in self.parts]))
        self.words = words
        return words

    def _pause(self) -> None:
        if self.stop:
            raise Stopped
        t = time.perf_counter()
        time.sleep(0)   # (the GIL to the cell's thread; back at once where it waits on none)
        if time.perf_counter() - t > 0.0005:
            time.sleep(PAUSE)

    def wait(self) -> None:
        """Until the batch is in ``index.levels`` (built here where the thread failed)."""
        self.done.wait()
        with self.lock:
            if self.error is not None:
                level = (*self.build(self.emails, self._words()), self.emails)
                self.index.levels = [level] if self.merged else [*self.index.levels, level]
                self.error = None

    def may_hit(self, skel: str) -> bool:
        """Whether ``skel`` (a text's skeleton) holds one of the batch's grams."""
        import numpy as np

        if len(skel) < 4 or not len(self.grams):
            return False
        h = _gram_hashes(np.frombuffer(skel.encode("utf-32-le"), dtype=np.uint32))
        maybe = h[self.table[_slot(h)]]
        return bool(len(maybe)) and bool(np.isin(maybe, self.grams).any())


_K = 0x100000001B3
_TABLE_BITS = 22


def _gram_hashes(u: Any) -> Any:
    """A 64-bit hash of each 4 characters in a row of code points ``u``."""
    import numpy as np

    u = u.astype(np.uint64)
    with np.errstate(over="ignore"):
        h = u[:-3] * np.uint64(_K) + u[1:-2]
        h = h * np.uint64(_K) + u[2:-1]
        return h * np.uint64(_K) + u[3:]


def _slot(h: Any) -> Any:
    import numpy as np

    with np.errstate(over="ignore"):
        return (h * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - _TABLE_BITS)


def firsts(locals_: list[list[str]], parts: list[tuple[str, str, str]],
           fold: Callable[[list[str]], list[list[str]]]) -> list[str]:
    """The first 4 characters of each e-mail's local part skeleton (``locals_``: its folded
    words), of its domain's where the local part is shorter (``parts``: the e-mails
    ``rpartition('@')``)."""
    a = list(map("".join, locals_))
    short = [i for i, x in enumerate(a) if len(x) < 4]
    for i, words in zip(short, fold([parts[i][2] for i in short]) if short else []):
        a[i] = "".join(words)
    return [x[:4] for x in a]


def _grams(firsts: list[str]) -> tuple[Any, Any]:
    """The grams of a batch (``Build``) from ``firsts``, each as written, backwards and in
    rot13: sorted hashes and a table of their slots."""
    import numpy as np

    joined = "".join(g for g in firsts if len(g) == 4)
    every = joined + joined[::-1] + joined.translate(_ROT13)   # (backwards: each reversed)
    u = np.frombuffer(every.encode("utf-32-le"), dtype=np.uint32).reshape(-1, 4)
    h = np.unique(_gram_hashes(u.reshape(-1))[::4]) if len(u) else np.zeros(0, np.uint64)
    table = np.zeros(1 << _TABLE_BITS, dtype=bool)
    table[_slot(h)] = True
    return h, table


_RUNNING: weakref.WeakSet[Build] = weakref.WeakSet()


def _forked() -> None:
    """In a forked child the threads of running builds are gone: each is done there, as one
    that failed (built again where it is waited for)."""
    for job in list(_RUNNING):
        job.lock = threading.Lock()
        job.error = Stopped()
        job.done.set()
    _RUNNING.clear()


os.register_at_fork(after_in_child=_forked)
