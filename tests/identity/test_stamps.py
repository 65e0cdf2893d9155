"""Signed stamps without a server: every way a stamp can be wrong makes it ``unverified``; the
right stamp verifies once. Real Ed25519 keys (``cryptography``), real key files."""
from __future__ import annotations

import base64
import os
import stat
import time
from pathlib import Path

import pytest

from jupyter_guard.authority import (
    PUBKEY_ENV,
    Signer,
    Verifier,
    kernel_verifier,
    load_or_create_key,
    server_signer,
)

CODE = "%%guarded_sql con\nDROP TABLE customers"


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer(load_or_create_key(str(tmp_path / "k" / "authority.key")))


def stamp(signer: Signer, msg_id: str = "m1", code: str = CODE, **kw: object) -> dict:
    args = {"user": "gina", "groups": ("gov",), "actor": "human", "cell_id": "c1",
            "msg_id": msg_id, "code": code, **kw}
    return signer.stamp(**args)  # type: ignore[arg-type]


def test_key_file_is_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "guard" / "authority.key"
    env = {"JUPYTER_GUARD_AUTHORITY_KEY_FILE": str(path)}
    first = server_signer(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert server_signer(env).public == first.public       # the same key on the next start
    assert "PRIVATE KEY" in path.read_text() and first.public not in path.read_text()
    os.chmod(path, 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        server_signer(env)


def test_the_right_stamp_verifies_once(signer: Signer) -> None:
    v = Verifier(signer.public)
    part = stamp(signer)
    ok = v.check(part, "m1", CODE)
    assert (ok.status, ok.user, ok.groups, ok.actor) == ("verified", "gina", ("gov",), "human")
    again = v.check(part, "m1", CODE)
    assert (again.status, again.user, again.reason) == ("unverified", "",
                                                        "stamp reused (message id seen before)")


@pytest.mark.parametrize("why", ["other key", "edited user", "other message", "other code",
                                 "too old", "future", "no signature", "garbage signature",
                                 "extra field", "missing field", "groups not strings",
                                 "unsigned claim", "stamp not a dict"])
def test_every_wrong_stamp_is_unverified(signer: Signer, tmp_path: Path, why: str) -> None:
    v = Verifier(signer.public, max_age=60)
    part = stamp(signer)
    msg_id, code = "m1", CODE
    if why == "other key":
        part = stamp(Signer(load_or_create_key(str(tmp_path / "evil.key"))))
    elif why == "edited user":
        part["stamp"]["user"] = "alice"
    elif why == "other message":
        msg_id = "m2"
    elif why == "other code":
        code = CODE + " -- "
    elif why == "too old":
        part = stamp(signer, now=time.time() - 61)
    elif why == "future":
        part = stamp(signer, now=time.time() + 3600)
    elif why == "no signature":
        del part["signature"]
    elif why == "garbage signature":
        part["signature"] = "not base64!"
    elif why == "extra field":
        part["stamp"]["role"] = "admin"
    elif why == "missing field":
        del part["stamp"]["issued_at"]
    elif why == "groups not strings":
        part = stamp(signer, groups=(1,))
    elif why == "unsigned claim":
        part = {"user": "gina"}
    elif why == "stamp not a dict":
        part = {"stamp": "gina", "signature": part["signature"]}
    got = v.check(part, msg_id, code)
    assert got.status == "unverified" and got.user == "" and got.reason
    # and the honest stamp for the same message still works afterwards (nothing was spent)
    if why not in ("other message", "other code", "too old", "future"):
        assert v.check(stamp(signer), "m1", CODE).status == "verified"


def test_optional_fields_are_signed_too(signer: Signer) -> None:
    v = Verifier(signer.public)
    part = stamp(signer, extra={"approval": "r1", "bogus": 1})
    assert part["stamp"]["approval"] == "r1" and "bogus" not in part["stamp"]
    part["stamp"]["approval"] = "r2"
    assert v.check(part, "m1", CODE).reason == "bad signature"


def test_no_stamp_means_no_claim(signer: Signer) -> None:
    v = Verifier(signer.public)
    assert v.check({}, "m1", CODE).status == "none"
    assert v.check({"actor": "agent:x"}, "m1", CODE).status == "none"


def test_kernel_verifier_comes_from_the_environment_only_as_a_valid_key(signer: Signer) -> None:
    assert kernel_verifier({}) is None
    v = kernel_verifier({PUBKEY_ENV: signer.public})
    assert v is not None and v.check(stamp(signer), "m1", CODE).status == "verified"
    with pytest.raises(ValueError):
        kernel_verifier({PUBKEY_ENV: base64.b64encode(b"short").decode()})
