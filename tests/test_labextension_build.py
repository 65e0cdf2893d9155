"""The committed labextension build matches labextension/: the sources' digest recorded by
``jlpm build:prod`` (labextension/scripts/stamp.mjs) is the digest of the sources as they are now,
and the build's entry point and settings schema are there.

Computed in Python so it runs without Node.js; ``make labext-test`` also rebuilds and compares the
built files byte for byte (``jlpm check:build``).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "labextension"
BUILD = REPO / "jupyter_guard" / "labextension"
# What the build reads; the same list as SOURCES in labextension/scripts/stamp.mjs.
SOURCES = ("src", "style", "schema", "package.json", "tsconfig.json", "webpack.config.js",
           "yarn.lock")


def _files(path: Path) -> list[Path]:
    if not path.exists():
        return []
    if not path.is_dir():
        return [path]
    return [f for child in sorted(path.iterdir()) if child.name != "__tests__"
            for f in _files(child)]


def digest(root: Path = SOURCE) -> str:
    paths = sorted(f.relative_to(root).as_posix() for s in SOURCES for f in _files(root / s))
    lines = "".join(f"{p}\0{hashlib.sha256((root / p).read_bytes()).hexdigest()}\n"
                    for p in paths)
    return hashlib.sha256(lines.encode()).hexdigest()


def test_the_committed_build_was_made_from_these_sources() -> None:
    recorded = (BUILD / "build-source.sha256").read_text().strip()
    assert recorded == digest(), (
        "labextension/ changed since the committed build in jupyter_guard/labextension: "
        "run `jlpm build:prod` in labextension/ and commit the result")


def test_the_digest_sees_a_change_in_any_source(tmp_path: Path) -> None:
    for name in SOURCES:
        src = SOURCE / name
        dst = tmp_path / name
        if src.is_dir():
            for f in _files(src):
                (dst / f.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
                (dst / f.relative_to(src)).write_bytes(f.read_bytes())
        elif src.exists():
            dst.write_bytes(src.read_bytes())
    assert digest(tmp_path) == digest()
    for changed in ("src/panel.ts", "style/base.css", "schema/sidebar.json"):
        original = (tmp_path / changed).read_bytes()
        (tmp_path / changed).write_bytes(original + b"\n")
        assert digest(tmp_path) != digest(), changed
        (tmp_path / changed).write_bytes(original)
    (tmp_path / "src" / "__tests__").mkdir(exist_ok=True)
    (tmp_path / "src" / "__tests__" / "x.spec.ts").write_text("// tests are not built")
    assert digest(tmp_path) == digest()


def test_the_build_has_its_entry_point_and_settings_schema() -> None:
    package = json.loads((BUILD / "package.json").read_text())
    assert (BUILD / package["jupyterlab"]["_build"]["load"]).is_file()
    schema = json.loads((BUILD / "schemas" / "jupyter-guard" / "sidebar.json").read_text())
    assert schema == json.loads((SOURCE / "schema" / "sidebar.json").read_text())
    assert {"pollInterval", "hiddenPollInterval", "scope"} <= set(schema["properties"])
    referenced = package["jupyterlab"]["_build"]["load"].split("/")[-1]
    stale = [f.name for f in (BUILD / "static").glob("remoteEntry.*.js") if f.name != referenced]
    assert stale == [], f"stale build files left in jupyter_guard/labextension/static: {stale}"
