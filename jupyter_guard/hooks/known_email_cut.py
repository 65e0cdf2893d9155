"""Known e-mails with their last characters cut (``e[:-2]``: ``user12@example.c``; ``e[:-4]``).

The e-mail detector finds an address cut at its start (``e[2:]``: ``er12@example.com`` is still
an address), and the local part alone is found where it names the person (``known_emails``);
an address cut at its end is neither. Here a token that is a known e-mail's whole local part,
its '@', and a proper prefix of its domain of at least ``DOMAIN_KEPT`` of the domain's
characters (and ``DOMAIN_MIN``) counts as that e-mail, in any case. Cut at both ends
(``e[2:-2]``) it does not (another person's shorter address would look so).

The known e-mails are indexed by local part, following the batches the set of known values
adds (``known_set.Values.readers``). Called by ``known_emails.found`` (the exits and the
screen).

>>> from jupyter_guard.hooks.known_set import Values
>>> v = Values(); v.update(["user12@example.com", "jane.doe@mail.org"])
>>> spans("to user12@example.c, JANE.DOE@MAIL.O and user12@ex", v)
[(3, 19, 'user12@example.com'), (21, 36, 'jane.doe@mail.org')]
>>> spans("user12@example.com bob@example.co x.user12@example.c", v)
[]
"""
from __future__ import annotations

import re
from typing import Any

DOMAIN_KEPT = 0.5
"""The share of the domain's characters that must be kept."""
DOMAIN_MIN = 3
NAME = "email_cut"
_TOKEN = re.compile(r"([\w.+-]{1,64})@([\w-]{1,63}(?:\.[\w-]*){0,8})")


class Follow:
    """Known e-mails by local part (lower case) -> (domain, e-mail), merged batch by batch."""

    def __init__(self) -> None:
        self.by_local: dict[str, list[tuple[str, str]]] = {}   # (domain, the e-mail)
        self.state: tuple[int, int] = (0, -1)

    def add(self, batch: Any) -> None:
        try:   # (a batch of numbers: one C search over it, no loop)
            if "@" not in "\x01".join(batch):
                return
        except TypeError:   # not all strings
            pass
        for v in batch:
            if isinstance(v, str) and "@" in v:
                local, _, domain = v.lower().rpartition("@")
                if local and "." in domain:
                    self.by_local.setdefault(local, []).append((domain, v))

    def of(self, values: Any) -> dict[str, list[tuple[str, str]]]:
        readers = getattr(values, "readers", None)
        state = (id(values), getattr(values, "resets", 0))
        if readers is None:   # a plain set (a test's): read whole
            self.by_local, self.state = {}, (0, -1)
            self.add(values)
        elif state != self.state or readers.get(NAME) is None:
            readers[NAME] = []   # (first: a batch added meanwhile is read twice, not lost)
            self.by_local, self.state = {}, state
            self.add(list(values))
        elif readers[NAME]:
            batches, readers[NAME] = readers[NAME], []
            for batch in batches:
                self.add(batch)
        return self.by_local


FOLLOW = Follow()


def spans(text: str, values: Any) -> list[tuple[int, int, str]]:
    """``(start, end, e-mail)`` of each known e-mail cut at its end in ``text``."""
    if "@" not in text or not values:
        return []
    by_local = FOLLOW.of(values)
    if not by_local:
        return []
    out = []
    for m in _TOKEN.finditer(text):
        local, domain = m.group(1).lower(), m.group(2).lower()
        if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "._+-"):
            continue
        for full, email in by_local.get(local.strip(".+-"), ()):
            if (len(domain) < len(full) and full.startswith(domain)
                    and len(domain) >= max(DOMAIN_MIN, DOMAIN_KEPT * len(full))):
                a = m.start() + len(m.group(1)) - len(m.group(1).lstrip(".+-"))
                out.append((a, m.end(), email))
                break
    return out
