"""Event and decision ids: unique, UUID-4 shaped, and different in a forked child."""
from __future__ import annotations

import os
import uuid

from jupyter_guard.model import Verdict, new_id


def test_ids_are_unique_version_4_uuids():
    ids = [new_id() for _ in range(100_000)]
    ids += [Verdict("allow", "", "").decision_id for _ in range(1000)]
    assert len(set(ids)) == len(ids)
    for i in ids[:: 997]:
        u = uuid.UUID(hex=i)
        assert (u.version, u.variant, u.hex) == (4, uuid.RFC_4122, i)


def test_a_forked_child_does_not_repeat_the_parent_ids():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave at once
        os.write(write, " ".join(new_id() for _ in range(3)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 4096).decode().split()
    os.close(read)
    parent = [new_id() for _ in range(3)]
    assert len(child) == 3 and not set(child) & set(parent)
    assert {c[:16] for c in child} != {p[:16] for p in parent}
