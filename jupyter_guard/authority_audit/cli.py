"""``jupyter guard verify --authority DIR`` and ``jupyter guard authority``: the command-line
side of the authority's record (the rest of ``jupyter guard`` is in ``jupyter_guard.cli``)."""
from __future__ import annotations

import json
import os
import sys


def verify_authority(folder: str, *, dsn: str = "", checkpoint: str = "",
                     as_json: bool = False) -> int:
    """Exit 0 when the keyed chain verifies against every signed checkpoint, 1 with each
    problem named (``edited``, ``deleted``, ...), 2 when the authority's files are missing."""
    from . import cplog
    from .mac import KEY_NAME, load_or_create_key
    from .service import AuditAuthority
    from .verify import verify

    if not os.path.exists(os.path.join(folder, KEY_NAME)):
        print(f"jupyter guard verify: no audit MAC key in {folder}: give the authority's folder "
              "(--authority), as the account that runs the authority", file=sys.stderr)
        return 2
    extra: list[tuple[str, str]] = []
    logs = [p for p in dict.fromkeys([cplog.log_path(folder), checkpoint]) if p]
    for path in logs:   # the checkpoint log(s), read by themselves; --checkpoint adds one
        try:
            extra += cplog.read(path)
        except OSError as e:
            if path != checkpoint and not os.path.exists(path):
                continue   # no log kept (yet): the ledger's own checkpoints only
            print(f"jupyter guard verify: cannot read the checkpoint {path}: {e}",
                  file=sys.stderr)
            return 2
    if checkpoint and not extra:
        print(f"jupyter guard verify: no signed checkpoint in {checkpoint}", file=sys.stderr)
        return 2
    auth = AuditAuthority.open(folder, dsn=dsn)
    res = verify(auth.ledger, load_or_create_key(folder), auth.public_key, extra)
    if as_json:
        print(json.dumps({"ok": res.ok, "events": res.events,
                          "checkpoint_gseq": res.checkpoint_gseq,
                          "problems": [{"form": p.form, "detail": p.detail}
                                       for p in res.problems]}))
    elif res.ok:
        print(f"authority ledger: OK, the keyed chain verifies ({res.events} events, signed up "
              f"to {res.checkpoint_gseq})")
    else:
        for p in res.problems:
            print(p, file=sys.stderr)
    return 0 if res.ok else 1
