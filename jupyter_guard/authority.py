"""The authority outside the kernel: the jupyter server's Ed25519 key and the stamps it signs.

The server (``jupyter_guard.server``) loads or creates the private key (mode 0600, in its data dir
or at ``JUPYTER_GUARD_AUTHORITY_KEY_FILE``) and gives the kernels it starts only the public key, in
``JUPYTER_GUARD_AUTHORITY_PUBKEY`` (base64 of the 32 raw bytes). For every ``execute_request`` it
forwards it signs a stamp ``{user, groups, actor, cell_id, msg_id, code_sha256, issued_at}``, put in
``metadata.jupyter_guard.stamp`` with ``metadata.jupyter_guard.signature``.

The kernel trusts a per-cell user only from a stamp that verifies: signed by that key, for this
message id and this code, never seen before, and not older than ``max_age`` seconds. Anything else
is ``unverified`` and the cell runs as the kernel's owner. ``cryptography`` is imported lazily.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PUBKEY_ENV = "JUPYTER_GUARD_AUTHORITY_PUBKEY"
KEY_FILE_ENV = "JUPYTER_GUARD_AUTHORITY_KEY_FILE"
MAX_AGE_ENV = "JUPYTER_GUARD_STAMP_MAX_AGE"
DEFAULT_MAX_AGE = 3600.0      # seconds a queued cell may wait between the server and the kernel
STAMP_FIELDS = ("user", "groups", "actor", "cell_id", "msg_id", "code_sha256", "issued_at")
OPTIONAL_FIELDS = ("approval", "last_refused", "server_event")   # the gate's facts of this cell


def canonical(stamp: Mapping[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no spaces, ASCII only.

    >>> canonical({"b": 1, "a": "é"})
    b'{"a":"\\\\u00e9","b":1}'
    """
    return json.dumps(stamp, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


def load_or_create_key(path: str) -> Any:
    """The server's private key at ``path``, created (mode 0600, dir 0700) when missing.

    Refuses a key file that other OS accounts may read: a key anyone can read signs for anyone.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if os.path.exists(path):
        mode = os.stat(path).st_mode & 0o077
        if mode:
            raise PermissionError(f"jupyter_guard: the authority key {path} is readable by other "
                                  f"accounts; fix: chmod 600 {path}")
        with open(path, "rb") as fh:
            key = serialization.load_pem_private_key(fh.read(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"jupyter_guard: {path} is not an Ed25519 private key")
        return key
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key


def public_b64(private_key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


class Signer:
    """The server side: signs stamps with the private key (never leaves the server process)."""

    def __init__(self, private_key: Any) -> None:
        self._key = private_key
        self.public = public_b64(private_key)

    def sign(self, record: Mapping[str, Any]) -> str:
        return base64.b64encode(self._key.sign(canonical(record))).decode()

    def stamp(self, *, user: str, groups: tuple[str, ...], actor: str, cell_id: str,
              msg_id: str, code: str, now: float | None = None,
              extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``{"stamp": {...}, "signature": ...}`` for one execute_request."""
        record = {k: v for k, v in (extra or {}).items() if k in OPTIONAL_FIELDS}
        record.update(user=user, groups=list(groups), actor=actor, cell_id=cell_id, msg_id=msg_id,
                      code_sha256=code_hash(code),
                      issued_at=round(time.time() if now is None else now, 3))
        return {"stamp": record, "signature": self.sign(record)}


@dataclass(frozen=True)
class Checked:
    """What the kernel concluded from one cell's stamp."""

    status: str                      # "verified", "unverified" or "none" (nothing was claimed)
    user: str = ""
    groups: tuple[str, ...] = ()
    actor: str = ""
    claimed: str = ""                # the user the metadata claimed, verified or not
    reason: str = ""


class Verifier:
    """The kernel side: the public key read once at load, and the message ids already used."""

    def __init__(self, public: str, max_age: float = DEFAULT_MAX_AGE) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        self._key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public, validate=True))
        self.max_age = max_age
        self._seen: OrderedDict[str, None] = OrderedDict()

    def check(self, part: Mapping[str, Any], msg_id: str, code: str,
              now: float | None = None) -> Checked:
        """Verify ``metadata.jupyter_guard`` of the request ``msg_id`` running ``code``."""
        user = part.get("user")
        claimed = user if isinstance(user, str) else ""
        stamp, sig = part.get("stamp"), part.get("signature")
        if stamp is None and sig is None:
            return Checked("unverified" if claimed else "none", claimed=claimed,
                           reason="no signed stamp" if claimed else "")
        if not isinstance(stamp, Mapping) or not isinstance(sig, str) \
                or set(stamp) - set(OPTIONAL_FIELDS) != set(STAMP_FIELDS):
            return Checked("unverified", claimed=claimed, reason="malformed stamp")
        claimed = str(stamp.get("user") or claimed)
        bad = self._signature_problem(stamp, sig) or _problem(
            stamp, msg_id, code, self.max_age, time.time() if now is None else now)
        if not bad and msg_id in self._seen:
            bad = "stamp reused (message id seen before)"
        if bad:
            return Checked("unverified", claimed=claimed, reason=bad)
        self._seen[msg_id] = None
        if len(self._seen) > 100_000:
            self._seen.popitem(last=False)
        return Checked("verified", user=str(stamp["user"]), groups=tuple(stamp["groups"]),
                       actor=str(stamp["actor"]), claimed=claimed)

    def verify_record(self, record: Mapping[str, Any], sig: object) -> bool:
        """Whether ``sig`` is the authority's signature of ``record`` (an approval, a receipt)."""
        return isinstance(sig, str) and not self._signature_problem(record, sig)

    def _signature_problem(self, stamp: Mapping[str, Any], sig: str) -> str:
        from cryptography.exceptions import InvalidSignature

        try:
            self._key.verify(base64.b64decode(sig, validate=True), canonical(stamp))
        except (InvalidSignature, ValueError, TypeError):
            return "bad signature"
        return ""


def _problem(stamp: Mapping[str, Any], msg_id: str, code: str, max_age: float,
             now: float) -> str:
    """Why an (unverified) stamp cannot speak for this message, '' when its fields fit."""
    if not isinstance(stamp["user"], str) or not stamp["user"]:
        return "malformed stamp (user)"
    groups = stamp["groups"]
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        return "malformed stamp (groups)"
    if not msg_id or stamp["msg_id"] != msg_id:
        return "stamp is for another message"
    if stamp["code_sha256"] != code_hash(code):
        return "stamp is for other code"
    issued = stamp["issued_at"]
    if not isinstance(issued, (int, float)) or isinstance(issued, bool):
        return "malformed stamp (issued_at)"
    if now - issued > max_age or issued - now > 60:
        return "stamp too old" if now - issued > max_age else "stamp from the future"
    return ""


def kernel_verifier(env: Mapping[str, str] | None = None) -> Verifier | None:
    """The verifier a kernel builds once at load from the key its server gave it (None: no key)."""
    env = os.environ if env is None else env
    public = env.get(PUBKEY_ENV, "").strip()
    if not public:
        return None
    try:
        max_age = float(env.get(MAX_AGE_ENV) or DEFAULT_MAX_AGE)
    except ValueError:
        max_age = DEFAULT_MAX_AGE
    return Verifier(public, max_age)


def server_signer(env: Mapping[str, str] | None = None) -> Signer:
    """The jupyter server's signer: the key at ``JUPYTER_GUARD_AUTHORITY_KEY_FILE``, else
    ``<jupyter data dir>/guard/authority.key`` (created on first start, mode 0600)."""
    env = os.environ if env is None else env
    path = env.get(KEY_FILE_ENV, "").strip()
    if not path:
        from jupyter_core.paths import jupyter_data_dir

        path = os.path.join(jupyter_data_dir(), "guard", "authority.key")
    return Signer(load_or_create_key(os.path.expanduser(path)))
