"""Known values cut into pieces of four characters or more, serialised (issue 15 item 2,
leaks17): an SSN as ``[s[:4], s[4:]]``, an e-mail in 4-character chunks, pickled (every
protocol), marshalled or JSON-dumped to a file in the workdir or sent to an allowed host over a
raw socket. Pieces of 1-3 characters are read joined by ``exit_bytes.pickled`` (red15h); these
by ``joined_pieces``: the writes are refused (``exfiltration``), the file holds no value a
``pickle.load`` / ``marshal.load`` / ``json.load`` gives back joined, and the listener gets
none. In the red15e kernel (``test_red15e_network.Net``: the budget spent). Benign twins:
lists of four-digit codes and plain ids, pickled, marshalled and dumped, are written and sent
whole."""
from __future__ import annotations

import json
import marshal
import pickle

import pytest

from tests.enforce.test_red15c_corpus import raw_in
from tests.enforce.test_red15e_network import Net, _joined, net  # noqa: F401 - the fixture

pytestmark = pytest.mark.kernel

CUTS = {
    "ssn-4-5": "[[s[:4], s[4:]] for s in S[5:30]]",
    "email-4": "[[e[i:i + 4] for i in range(0, len(e), 4)] for e in E[5:30]]",
    "email-5-flat": "[e[i:i + 5] for e in E[5:30] for i in range(0, len(e), 5)]",
    "ssn-3-3-3-tuples": "[(s[:3], s[3:6], s[6:]) for s in S[5:30]]",
    "ssn-in-dicts": "[{'a': s[:5], 'b': s[5:]} for s in S[5:30]]",
}
WRITERS = {
    "pickle0": "import pickle\nwith open(OUT, 'wb') as f:\n    pickle.dump({v}, f, protocol=0)",
    "pickle2": "import pickle\nwith open(OUT, 'wb') as f:\n    pickle.dump({v}, f, protocol=2)",
    "pickle5": "import pickle\nwith open(OUT, 'wb') as f:\n    pickle.dump({v}, f, protocol=5)",
    "marshal": "import marshal\nwith open(OUT, 'wb') as f:\n    marshal.dump({v}, f)",
    "json": "import json\nwith open(OUT, 'w') as f:\n    json.dump({v}, f)",
    "json-dumps-write": "import json\nopen(OUT, 'w').write(json.dumps({v}))",
}
LOADS = {"pickle": pickle.loads, "marshal": marshal.loads, "json": json.loads}


def _back(path: object, how: str) -> bytes:
    """What the file gives back loaded, each list's strings joined."""
    try:
        data = path.read_bytes()  # type: ignore[attr-defined]
    except OSError:
        return b""
    load = next(f for k, f in LOADS.items() if how.startswith(k))
    try:
        obj = load(data)
    except Exception:  # noqa: BLE001 - no whole object written: the bytes are read as they are
        return data
    rows = [list(o.values()) if isinstance(o, dict) else o for o in obj]
    return (_joined(rows) + "\n" + "".join(x for r in rows for x in r)).encode()


@pytest.mark.parametrize("cut", list(CUTS))
@pytest.mark.parametrize("how", list(WRITERS))
def test_pieces_in_a_file_are_refused(net: Net, how: str, cut: str) -> None:  # noqa: F811
    name = f"p17_{how}_{cut}"
    ok, wire, _ = net.run(name, WRITERS[how].format(v=CUTS[cut]))
    back = _back(net.workdir / f"r15e_{name}", how)
    leaked = raw_in([wire, back])
    assert not leaked, f"{how} {cut} (ran: {ok}) gives back {len(leaked)}: {leaked[:3]}"
    assert not ok and "exfiltration" in wire.decode("utf-8", "replace"), wire[:2000]


SEND = ("import socket, {mod}\ns = socket.create_connection(('127.0.0.1', TPORT))\n"
        "s.sendall({mod}.dumps({v}){enc})\ns.close()")


@pytest.mark.parametrize("mod", ["pickle", "marshal", "json"])
def test_pieces_sent_to_an_allowed_host_are_counted(net: Net, mod: str) -> None:  # noqa: F811
    enc = ".encode()" if mod == "json" else ""
    ok, wire, got = net.run(f"p17_send_{mod}", SEND.format(mod=mod, v=CUTS["email-4"], enc=enc))
    tcp = got.split(b"\n--listener--\n")[1]
    back = b""
    if tcp.strip():
        try:
            back = _joined(LOADS[mod](tcp)).encode()
        except Exception:  # noqa: BLE001 - nothing whole arrived: its bytes are read as they are
            back = tcp
    leaked = raw_in([wire, got, back])
    assert not leaked, f"{mod} (ran: {ok}) let out {len(leaked)}: {leaked[:3]}"
    assert not ok and "exfiltration" in wire.decode("utf-8", "replace"), wire[:2000]


PLAIN = ("[[f'{1000 + i:04d}', f'{2000 + i:04d}', 'SKU-' + str(i)] for i in range(300)]"
         " + [['CA', 'NY', 'user', 'exam', 'ple.']]")


@pytest.mark.parametrize("how", list(WRITERS))
def test_plain_codes_are_written_whole(net: Net, how: str) -> None:  # noqa: F811
    ok, wire, _ = net.run(f"plain17_{how}", WRITERS[how].format(v=PLAIN))
    assert ok, wire[-2000:]
    data = (net.workdir / f"r15e_plain17_{how}").read_bytes()
    load = next(f for k, f in LOADS.items() if how.startswith(k))
    expect = [[f"{1000 + i:04d}", f"{2000 + i:04d}", f"SKU-{i}"] for i in range(300)]
    assert load(data) == expect + [["CA", "NY", "user", "exam", "ple."]]


def test_plain_codes_are_sent_whole(net: Net) -> None:  # noqa: F811
    ok, wire, got = net.run("plain17_send", SEND.format(mod="pickle", v=PLAIN, enc=""))
    assert ok, wire[-2000:]
    assert pickle.loads(got.split(b"\n--listener--\n")[1])[0] == ["1000", "2000", "SKU-0"]
