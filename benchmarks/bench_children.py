"""Starting a Python child: plain vs guarded (the injected ``sitecustomize`` a guarded kernel puts
on ``PYTHONPATH``), alternating in the same run; medians of wall time from ``Popen`` to exit.

Six children: ``-c pass`` (the hook alone: nothing judged), ``-c`` that writes and removes a
scratch file (the first judged action loads the policy and the rules), ``-c`` that is refused
(``shutil.rmtree('data')``: the refusal is also recorded in the audit journal; the plain
child really deletes a fresh copy), and ``-c`` that imports DuckDB and runs one query (the child
guards DuckDB as the kernel does: the SQL analysis and decision service are imported too), one
that writes 10,000 rows read from DuckDB with ``json.dump`` and one that makes 20,000 small
writes to a file (the kernel's exits are installed in the child and scan what it writes).

    .venv/bin/python benchmarks/bench_children.py [--json] [--repeat 31] [--before ../main]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODES = {
    "pass": "pass",
    "scratch": "open('scratch.txt', 'w').write('x'); import os; os.remove('scratch.txt')",
    "refused": "import shutil\ntry:\n    shutil.rmtree('data')\nexcept PermissionError:\n    pass",
    "duckdb": "import duckdb\nduckdb.connect('w.duckdb').execute('SELECT count(*) FROM t').fetchall()",
    # the kernel's data-aware exits in the child (``child_exits``): installed at the DuckDB
    # import, then a 10,000-row ``json.dump`` scanned on its way to the file (``T=``: the dump
    # alone, timed inside the child)
    "dump": "import duckdb, json, time\nrows = duckdb.connect('w.duckdb').execute("
            "'SELECT x, x / 3, \\'Paris\\' FROM range(10000) t(x)').fetchall()\n"
            "open('warm.txt', 'w').write('warm\\n')\n"   # the first check loads the detectors
            "t = time.perf_counter()\nwith open('o.json', 'w') as f:\n    json.dump(rows, f)\n"
            "print('T=%r' % (time.perf_counter() - t))",
    # a first network event (a name looked up) loads the exits and the kernel's network handlers
    "lookup": "import socket\nsocket.getaddrinfo('localhost', 80)",
    # 20,000 small writes of plain rows to one file (``T=``: the writes alone, inside the child,
    # after a first write and flush, which load the detectors)
    "writes": "import time\nf = open('o.txt', 'w')\nf.write('id,city,amount\\n')\nf.flush()\n"
              "t = time.perf_counter()\n"
              "for i in range(20000):\n    f.write('%d,Paris,12.5\\n' % i)\n"
              "f.close()\nprint('T=%r' % (time.perf_counter() - t))",
}


INSIDE: dict[str, list[float]] = {}

# The environment a guarded kernel of that checkout gives its children (its own ``child_env``,
# so each side gets what its kernel would set), for a guard with the default policy.
KERNEL_ENV = """
import json, sys
from jupyter_guard.policy.load import default_path, load
class Guard:
    session_id, user, actor, policy = "bench", "bench", "human", load(default_path())
    settings = {"audit": sys.argv[1]}
try:
    from jupyter_guard.kernel.children import child_env
    env = child_env(Guard(), {})
except ImportError:   # an older checkout
    from jupyter_guard.hooks.child import CHILD_DIR, POLICY_JSON, policy_json
    env = {"PYTHONPATH": CHILD_DIR, POLICY_JSON: policy_json(Guard.policy),
           "JUPYTER_GUARD_PARENT_SESSION": "bench", "JUPYTER_GUARD_USER": "bench",
           "JUPYTER_GUARD_AUDIT": sys.argv[1]}
print(json.dumps(env))
"""


def kernel_env(root: Path, plain: dict[str, str], audit: str) -> dict[str, str]:
    out = subprocess.run([sys.executable, "-c", KERNEL_ENV, audit], check=True, text=True,
                         capture_output=True, env={**plain, "PYTHONPATH": str(root)}).stdout
    env = json.loads(out)
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(root)])
    return {**plain, **env}


def once(code: str, env: dict[str, str], cwd: str, key: str = "") -> float:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, check=True,
                         capture_output=True, text=True).stdout
    took = time.perf_counter() - t
    if "T=" in out:   # the work itself, timed inside the child
        INSIDE.setdefault(key, []).append(float(out.split("T=")[1].split()[0]))
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--repeat", type=int, default=31)
    ap.add_argument("--before", type=Path, default=None,
                    help="another checkout (e.g. main): its guarded children alternate with ours")
    ap.add_argument("--only", default="", help="comma-separated child names (default: all)")
    a = ap.parse_args()
    base = Path.home() / ".cache" / "jupyter_guard_bench"
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base) as d:
        (Path(d) / "data").mkdir()
        (Path(d) / "data" / "keep.csv").write_text("x\n")
        import duckdb

        con = duckdb.connect(str(Path(d) / "w.duckdb"))
        con.execute("CREATE TABLE t AS SELECT range AS x FROM range(10)")
        con.close()
        plain = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_GUARD_")}
        plain["PYTHONPATH"] = str(ROOT)
        audit = str(Path(d) / "audit.duckdb")
        envs = [("plain", plain), ("guarded", kernel_env(ROOT, plain, audit))]
        if a.before is not None:
            envs.append(("before", kernel_env(a.before.resolve(), plain, audit)))
        res: dict[str, dict[str, float]] = {}
        for name, code in CODES.items():
            if a.only and name not in a.only.split(","):
                continue
            times: dict[str, list[float]] = {label: [] for label, _ in envs}
            for i in range(a.repeat):   # alternate, so drift hits every side alike
                for label, env in envs if i % 2 else envs[::-1]:
                    (Path(d) / "data").mkdir(exist_ok=True)   # a plain child really deletes it
                    (Path(d) / "data" / "keep.csv").write_text("x\n")
                    times[label].append(once(code, env, d, f"{name} {label}"))
                    if label != "plain":
                        assert (Path(d) / "data" / "keep.csv").exists(), "not refused"
            p, g = statistics.median(times["plain"]), statistics.median(times["guarded"])
            res[name] = {"plain_s": p, "guarded_s": g, "added_ms": (g - p) * 1e3, "ratio": g / p}
            if "before" in times:
                b = statistics.median(times["before"])
                res[name].update(before_s=b, added_vs_before_ms=(g - b) * 1e3)
            if f"{name} plain" in INSIDE:
                ip_, ig = (statistics.median(INSIDE[f"{name} {x}"]) for x in ("plain", "guarded"))
                res[name].update(inside_plain_ms=ip_ * 1e3, inside_guarded_ms=ig * 1e3,
                                 inside_ratio=ig / ip_)
                if f"{name} before" in INSIDE:
                    res[name]["inside_before_ms"] = statistics.median(
                        INSIDE[f"{name} before"]) * 1e3
    if a.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"python -c {k:8} plain {v['plain_s'] * 1e3:6.1f} ms  guarded "
                  f"{v['guarded_s'] * 1e3:6.1f} ms  (+{v['added_ms']:.1f} ms, x{v['ratio']:.2f})")
            if "before_s" in v:
                print(f"    before (--before): {v['before_s'] * 1e3:6.1f} ms, so "
                      f"{v['added_vs_before_ms']:+.1f} ms now")
            if "inside_ratio" in v:
                print(f"    the work itself: plain {v['inside_plain_ms']:.1f} ms, guarded "
                      f"{v['inside_guarded_ms']:.1f} ms (x{v['inside_ratio']:.2f})"
                      + (f", before {v['inside_before_ms']:.1f} ms"
                         if "inside_before_ms" in v else ""))


if __name__ == "__main__":
    main()
