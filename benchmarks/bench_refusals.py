"""What the structured-refusal wiring adds to every cell (in process, timeit, best of 5):

* every message the kernel sends passes one more function (``session.send`` wrapper);
* every ``execute_reply`` passes one more ``finish_metadata`` layer;
* ``%%guarded_sql``'s parameter scan of a query without ``:``, ``$`` or ``{`` (the fast path) and
  of one with a ``$name`` parameter (sqlglot's tokenizer).

    .venv/bin/python benchmarks/bench_refusals.py
"""
from __future__ import annotations

import timeit
import types

from jupyter_guard.kernel.refusals import Wire
from jupyter_guard.kernel.sql_params import prepare


def best(fn: object, n: int) -> float:
    return min(timeit.repeat(fn, number=n, repeat=5)) / n * 1e9   # type: ignore[arg-type]


def main() -> None:
    def send(stream: object, msg_or_type: object, content: object = None, *a: object,
             **kw: object) -> None:
        return None

    def finish(parent: object, md: dict[str, object], rc: object) -> dict[str, object]:
        return md

    session = types.SimpleNamespace(send=send)
    shell = types.SimpleNamespace(
        kernel=types.SimpleNamespace(finish_metadata=finish), _showtraceback=lambda *a: None,
        displayhook=types.SimpleNamespace(session=session, parent_header={}))
    assert Wire(shell).install()
    n = 200_000
    plain = best(lambda: send(None, "stream", {"text": "x"}), n)
    wrapped = best(lambda: session.send(None, "stream", {"text": "x"}), n)
    reply_plain = best(lambda: finish({"header": {}}, {}, {"status": "ok"}), n)
    reply = best(lambda: shell.kernel.finish_metadata({"header": {}}, {}, {"status": "ok"}), n)
    print(f"message sent:       {plain:7.0f} ns -> {wrapped:7.0f} ns (+{wrapped - plain:.0f} ns)")
    print(f"execute_reply:      {reply_plain:7.0f} ns -> {reply:7.0f} ns "
          f"(+{reply - reply_plain:.0f} ns)")
    q = "SELECT id, city FROM customers WHERE id = 42"
    qp = "SELECT id, city FROM customers WHERE id = $n"
    prepare(qp, {"n": 1}, "duckdb")
    print(f"params, plain query: {best(lambda: prepare(q, {}, 'duckdb'), 20_000) / 1000:6.1f} us")
    slow = best(lambda: prepare(qp, {"n": 1}, "duckdb"), 2_000)
    print(f"params, $n query:    {slow / 1000:6.1f} us")


if __name__ == "__main__":
    main()
