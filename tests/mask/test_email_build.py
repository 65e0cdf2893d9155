"""A fetch's known e-mails have their automaton built off the cell path
(``hooks/email_build.py``): a text that may spell one of them waits for it (never a silent
pass), a text that cannot does not, and a build that fails is done again where it is waited
for."""
from __future__ import annotations

import threading

import pytest

pytest.importorskip("ahocorasick")

from jupyter_guard.hooks import known_emails
from jupyter_guard.hooks.email_build import BACKGROUND_MIN

EMAILS = [f"person{i}@corp.example" for i in range(BACKGROUND_MIN + 10)]
REAL = known_emails._automaton


def _held(release: threading.Event, fail: bool = False):
    """The real automaton, built once ``release`` is set (or failing there)."""
    def build(emails, words=None, pause=None):
        assert release.wait(30)
        if fail:
            raise MemoryError("no room for the automaton")
        return REAL(emails, words, pause)
    return build


def test_pending_batch_found_and_plain_text_not_held(monkeypatch):
    release = threading.Event()
    ix = known_emails.Index()
    ix.add(["zed.one1@other.example"])   # a small batch: built on the spot
    assert ix.job is None and len(ix.levels) == 1
    monkeypatch.setattr(known_emails, "_automaton", _held(release))
    ix.add(EMAILS)
    job = ix.job
    assert job is not None and not job.done.is_set()
    # a text spelling none of them: judged at once, the build still held
    assert ix.found("Paris 12.5, Lyon 3.0, total 15.5 EUR; see the report") == []
    assert not job.done.is_set()
    # the first batch is in the automaton already: found without waiting
    assert [t[2] for t in ix.found("ZED.ONE1 AT OTHER DOT EXAMPLE")] == ["zed.one1@other.example"]
    assert not job.done.is_set()
    # one of the pending batch, respelt: the call waits for the build, then finds it
    threading.Timer(0.2, release.set).start()
    got = ix.found("mail: PERSON2005 AT CORP DOT EXAMPLE")
    assert job.done.is_set()
    assert [t[2] for t in got] == ["person2005@corp.example"]
    # benign twin: a near-miss of a pending e-mail is no hit
    assert ix.found("PERSON2005X AT CORP DOT EXAMPLES") == []


def test_failed_build_is_done_again_where_waited_for(monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(known_emails, "_automaton", _held(release, fail=True))
    ix = known_emails.Index()
    ix.add(EMAILS)
    release.set()
    ix.job.done.wait(30)
    assert ix.job.error is not None and ix.levels == []
    ix.job.build = REAL
    # the failed batch is built on the spot, where a text is judged
    assert [t[2] for t in ix.found("PERSON7 AT CORP DOT EXAMPLE")] == ["person7@corp.example"]
    assert ix.job.error is None and len(ix.levels) == 1


def test_grams_cover_every_form():
    """Every skeleton of every e-mail (``keys``) holds one of its batch's grams."""
    import numpy as np

    from jupyter_guard.hooks import email_build
    from jupyter_guard.hooks.email_fold import words_all

    emails = ["a1@longdomain.example", "at.x1234@corp.example", "first.last@x.io",
              "\uff55ser9@example.com", "jo@abcdefgh.io"]
    parts = [e.rpartition("@") for e in emails]
    firsts = email_build.firsts(words_all([p[0] for p in parts]), parts, words_all)
    grams, _ = email_build._grams(firsts)
    for e in emails:
        for key, _form in known_emails.keys(e):
            u = np.frombuffer(key.encode("utf-32-le"), dtype=np.uint32)
            assert np.isin(email_build._gram_hashes(u), grams).any(), (e, key)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_forked_child_builds_what_its_parent_had_under_way(monkeypatch):
    """A child forked while a build runs has no thread for it: the child builds the batch
    where a text may spell one of its e-mails, instead of waiting forever."""
    import os

    release = threading.Event()
    monkeypatch.setattr(known_emails, "_automaton", _held(release))
    ix = known_emails.Index()
    ix.add(EMAILS)
    ix.job.build = REAL   # (the child's rebuild: not held)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: judge a pending e-mail, report, exit
        try:
            got = [t[2] for t in ix.found("PERSON9 AT CORP DOT EXAMPLE")]
            os.write(w, repr(got).encode())
        finally:
            os._exit(0)
    os.close(w)
    import select
    ready = select.select([r], [], [], 60)[0]   # (a child waiting forever: killed, failed)
    if not ready:
        os.kill(pid, 9)
    with os.fdopen(r) as f:
        out = f.read() if ready else "the child hung"
    os.waitpid(pid, 0)
    release.set()
    assert out == "['person9@corp.example']"
