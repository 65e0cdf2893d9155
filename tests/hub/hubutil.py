"""A real JupyterHub for tests: LocalProcessSpawner (each user's server under their own OS
account), configurable-http-proxy, the guard's authority as a managed service under ``jgauth``.

Everything it starts carries ``JUPYTER_GUARD_HUB_TEST=<its folder>`` in its environment (the hub,
the proxy, the service, the single-user servers and their kernels), so ``stop`` ends exactly the
processes this hub started, and nothing of anyone else's."""
from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MARKER = "JUPYTER_GUARD_HUB_TEST"
SERVICE = "jupyter-guard"
TESTER = "tester-" + os.urandom(16).hex()
USERS = ("alice", "gina", "jgauth")


def why_not() -> str:
    """Why a real hub cannot run here ('' when it can)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return ("the JupyterHub test needs root: LocalProcessSpawner starts each user's server "
                "under that user's OS account (run it as root, e.g. in CI's container)")
    if not (BIN / "jupyterhub").exists() or not (BIN / "jupyterhub-singleuser").exists():
        return f"jupyterhub is not installed in {BIN.parent} (pip install -e '.[test]')"
    if not shutil.which("configurable-http-proxy"):
        return "configurable-http-proxy is missing (`make test` installs it: npm i -g " \
               "configurable-http-proxy)"
    return ""


def ensure_users() -> None:
    for name in USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True,
                           capture_output=True)


def runs_as(user: str, python: str) -> str:
    """'' when ``user`` can run ``python`` and import this checkout with it, else why not."""
    try:
        probe = subprocess.run(
            [python, "-c", "import jupyter_guard.hub.service, jupyterhub, ipykernel"], cwd="/",
            user=user, env={"PYTHONPATH": str(REPO), "PATH": os.environ.get("PATH", "")},
            capture_output=True, text=True, timeout=300)
    except OSError as e:
        return str(e)
    return "" if probe.returncode == 0 else probe.stderr.strip()[-300:]


def unreadable(target: Path) -> str:
    for p in [*reversed(target.parents), target]:
        if not os.stat(p).st_mode & (0o001 if p.is_dir() else 0o004):
            return str(p)
    return ""


def python_for(user: str, root: Path) -> tuple[str, str]:
    """(a Python the spawned accounts can run with this venv's packages, '') or ('', why not).

    The venv's own interpreter when they can run it; else (its base interpreter sits in a folder
    only root may enter, as with pyenv under /root) a venv in ``root`` made from a system Python
    of the same version whose path reaches this venv's site-packages."""
    if not runs_as(user, sys.executable):
        return sys.executable, ""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = Path(sys.prefix) / "lib" / version / "site-packages"
    for base in (f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        if not os.path.exists(base) or unreadable(site) or unreadable(REPO):
            continue
        venv = root / "readable-venv"
        subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True,
                       capture_output=True, timeout=300)
        own = next((venv / "lib").glob("python3*/site-packages"))
        (own / "jupyter_guard_test_venv.pth").write_text(
            f"import site; site.addsitedir({str(site)!r})\n")
        python = str(venv / "bin" / "python")
        if not runs_as(user, python):
            return python, ""
    blocked = unreadable(Path(sys.executable).resolve()) or unreadable(REPO) or unreadable(site)
    return "", (f"{blocked or sys.executable} cannot be reached by other accounts and no system "
                f"{version} can stand in (chmod o+rx it, or clone and build the venv elsewhere)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(url: str, token: str = "", body: Any = None, method: str = "") -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"token {token}"
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                 headers=headers,
                                 method=method or ("GET" if body is None else "POST"))
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw) if raw else None
        except ValueError:
            return e.code, raw.decode(errors="replace")
    except OSError as e:          # not listening (yet)
        return 0, str(e)


def wait(cond: Any, what: str, timeout: float = 300.0, hub: Hub | None = None,
         seen: Any = None) -> Any:
    """``cond()`` once it is true; on timeout the error shows ``seen`` (what was last seen)."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if hub is not None and hub.proc is not None and hub.proc.poll() is not None:
            raise AssertionError(f"the hub exited while waiting for {what}:\n{hub.log_tail()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}"
                                 + (f" (last seen: {seen!r})" if seen is not None else "")
                                 + (f":\n{hub.log_tail()}" if hub else ""))
        time.sleep(0.3)


class Hub:
    def __init__(self, root: Path, policy: Path, python: str,
                 service_env: dict[str, str] | None = None) -> None:
        self.root, self.policy, self.python = root, policy, python
        # "{root}" in a value is this hub's folder
        self.service_env = {k: v.replace("{root}", str(root))
                            for k, v in (service_env or {}).items()}
        self.port, self.hub_port, self.proxy_api, self.svc_port = (free_port() for _ in range(4))
        self.url = f"http://127.0.0.1:{self.port}"
        self.service_dir = root / "authority"
        self.proc: subprocess.Popen[bytes] | None = None

    def config(self) -> str:
        common = {"PYTHONPATH": str(REPO), MARKER: str(self.root),
                  "JUPYTER_GUARD_POLICY": str(self.policy)}
        svc_env = {**common, "JUPYTER_GUARD_HUB_DIR": str(self.service_dir),
                   "JUPYTER_GUARD_AUDIT_COPY": "0", **self.service_env}
        user_env = {**common, "JUPYTER_GUARD_HUB_SERVICE_URL":
                    f"http://127.0.0.1:{self.svc_port}/services/{SERVICE}/",
                    # this venv's server config (it enables the guard's extension) and kernels
                    "JUPYTER_CONFIG_PATH": str(Path(sys.prefix) / "etc" / "jupyter"),
                    "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter")}
        return f"""
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {self.port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {self.hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{self.proxy_api}"
c.ConfigurableHTTPProxy.pid_file = {str(self.root / "proxy.pid")!r}
c.JupyterHub.db_url = "sqlite:///{self.root}/hub.sqlite"
c.JupyterHub.cookie_secret_file = {str(self.root / "cookie_secret")!r}
c.JupyterHub.pid_file = {str(self.root / "hub.pid")!r}
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = {{"alice", "gina"}}
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [{self.python!r}, "-m", "jupyterhub.singleuser"]
c.Spawner.start_timeout = 600
c.Spawner.http_timeout = 600
c.Spawner.environment = {user_env!r}
c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server",
                                 "access:services!service={SERVICE}", "read:users:groups!user",
                                 "read:users:name!user"]
c.JupyterHub.load_roles = [
    {{"name": "user", "scopes": ["self", "access:services!service={SERVICE}"]}},
    {{"name": "tester", "services": ["tester"],
      "scopes": ["admin:users", "admin:servers", "tokens", "read:users", "read:hub"]}},
]
c.JupyterHub.services = [
    {{"name": "{SERVICE}", "url": "http://127.0.0.1:{self.svc_port}",
      "command": [{self.python!r}, "-m", "jupyter_guard.hub"], "user": "jgauth",
      "cwd": "/", "environment": {svc_env!r}}},
    {{"name": "tester", "api_token": {TESTER!r}}},
]
"""

    def start(self) -> None:
        jg = pwd.getpwnam("jgauth")
        self.service_dir.mkdir(mode=0o700)
        os.chown(self.service_dir, jg.pw_uid, jg.pw_gid)
        (self.root / "hub_config.py").write_text(self.config())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB_",
                                                                         "JUPYTER_GUARD_"))}
        env.update({MARKER: str(self.root), "PYTHONPATH": str(REPO),
                    "PATH": f"{BIN}:{env.get('PATH', '')}"})
        self.log = open(self.root / "hub.log", "wb")   # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(BIN / "jupyterhub"), "-f", str(self.root / "hub_config.py")], cwd=self.root,
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait(lambda: call(f"{self.url}/hub/api/")[0] == 200, "the hub's API", hub=self)
        wait(lambda: call(self.service("pubkey"))[0] == 200, "the guard service", hub=self)

    def service(self, path: str) -> str:
        return f"{self.url}/services/{SERVICE}/jupyter-guard/api/{path}".rstrip("/")

    def api(self, path: str, body: Any = None, method: str = "") -> tuple[int, Any]:
        return call(f"{self.url}/hub/api/{path}", TESTER, body, method)

    def token(self, user: str) -> str:
        code, got = self.api(f"users/{user}/tokens", {"note": "jupyter_guard hub test"})
        assert code in (200, 201), got
        return str(got["token"])

    def spawn(self, user: str) -> None:
        code, got = self.api(f"users/{user}/server", {})
        assert code in (201, 202), (code, got)

        def ready() -> bool:
            servers = (self.api(f"users/{user}")[1] or {}).get("servers") or {}
            return bool(servers.get("", {}).get("ready"))

        wait(ready, f"{user}'s server", timeout=600, hub=self)

    def log_tail(self, n: int = 6000) -> str:
        try:
            return (self.root / "hub.log").read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                for name in ("alice", "gina"):   # call() never raises: a hub that is gone is fine
                    self.api(f"users/{name}/server", method="DELETE")
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=60)
        finally:
            for pid in marked(str(self.root)):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if hasattr(self, "log"):
                self.log.close()


def marked(root: str) -> list[int]:
    """Processes whose environment carries this hub's marker (every one it started)."""
    want = f"{MARKER}={root}".encode()
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if want in fh.read().split(b"\0"):
                    out.append(int(entry))
        except OSError:
            continue
    return out


class KernelWs:
    """alice's kernel through the hub's proxy: the websocket of her single-user server."""

    def __init__(self, hub: Hub, user: str, token: str) -> None:
        import websocket

        base = f"{hub.url}/user/{user}/api/kernels"
        code, got = call(base, token, {"name": "python3"})
        assert code == 201, (code, got)
        self.kernel_id = got["id"]
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{hub.port}/user/{user}/api/kernels/{self.kernel_id}/channels"
            f"?session_id={uuid.uuid4().hex}", header=[f"Authorization: token {token}"],
            timeout=300)
        self.seen: list[str] = []        # every raw frame the kernel's server sent us

    def run(self, code: str) -> tuple[dict[str, Any], str]:
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "alice",
                       "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": False}}))
        reply: dict[str, Any] | None = None
        idle, out = False, []
        deadline = time.monotonic() + 300
        while not (reply and idle):
            assert time.monotonic() < deadline, f"no reply to {code!r}"
            raw = self.ws.recv()
            self.seen.append(raw if isinstance(raw, str) else raw.decode("latin-1"))
            got = json.loads(raw)
            if got.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = got["header"]["msg_type"]
            if got["channel"] == "shell":
                reply = got["content"]
            elif kind == "stream":
                out.append(got["content"]["text"])
            elif kind == "status" and got["content"]["execution_state"] == "idle":
                idle = True
        assert reply is not None
        return reply, "".join(out)

    def close(self) -> None:
        self.ws.close()


def server_token(root: Path, user: str) -> str:
    """The hub token in the environment of ``user``'s single-user server (read as root here, as
    anything under that user's account could)."""
    uid = pwd.getpwnam(user).pw_uid
    for pid in marked(str(root)):
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if b"jupyterhub.singleuser" not in fh.read():
                    continue
            with open(f"/proc/{pid}/environ", "rb") as fh:
                env = dict(v.split(b"=", 1) for v in fh.read().split(b"\0") if b"=" in v)
        except OSError:
            continue
        return env[b"JUPYTERHUB_API_TOKEN"].decode()
    raise AssertionError(f"no single-user server of {user}")


def alices_warehouse(root: Path) -> None:
    """``root/alice/wh.duckdb`` (a ``customers`` table of 10 rows), alice's own, made outside
    any kernel."""
    import duckdb

    data = root / "alice"
    data.mkdir(mode=0o700)
    con = duckdb.connect(str(data / "wh.duckdb"))
    con.execute("CREATE TABLE customers AS SELECT range AS id FROM range(10)")
    con.close()
    alice = pwd.getpwnam("alice")
    for p in (data, data / "wh.duckdb"):
        os.chown(p, alice.pw_uid, alice.pw_gid)


@contextlib.contextmanager
def running_hub(policy: str, prepare: Any = None,
                service_env: dict[str, str] | None = None) -> Iterator[Hub]:
    """A started hub in a fresh folder (``prepare(root)`` runs before it starts); every process
    it started is gone afterwards (asserted). Skips the test when a real hub cannot run here."""
    import pytest

    reason = why_not()
    if reason:
        pytest.skip(reason)
    ensure_users()
    root = Path(tempfile.mkdtemp(prefix="jg-hub-"))
    root.chmod(0o755)
    python, blocked = python_for("alice", root)
    if blocked:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"the spawned users cannot run this checkout: {blocked}")
    (root / "policy.yaml").write_text(policy)
    (root / "policy.yaml").chmod(0o644)
    if prepare is not None:
        prepare(root)
    h = Hub(root, root / "policy.yaml", python, service_env)
    try:
        h.start()
        yield h
    finally:
        h.stop()
        left = marked(str(root))
        if (root / "hub.log").exists():   # for a failed run: the hub's, servers' and service's log
            shutil.copy(root / "hub.log", Path(tempfile.gettempdir()) / "jupyter-guard-hub-last.log")
        shutil.rmtree(root, ignore_errors=True)
        assert not left, f"processes left behind: {left}"
