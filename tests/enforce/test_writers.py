"""Data-aware export control: sensitive data never reaches the file; other data does."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.kernel

SETUP = """
import pandas as pd, json
df = pd.DataFrame({'email': ['ann@example.com', 'bob@example.org'], 'amount': [1, 2]})
hidden = pd.DataFrame({'note': ['ann@example.com', 'bob@example.org'], 'amount': [1, 2]})
pay = pd.DataFrame({'salary': [100, 200], 'amount': [1, 2]})
"""

ATTACKS = [
    pytest.param("df.to_csv(OUT)", id="by-name"),
    pytest.param("df.rename(columns={'email': 'contact'}).to_csv(OUT)", id="rename"),
    pytest.param("p2 = pay.rename(columns={'salary': 'pay'})\np2[['pay']].to_parquet(OUT + '.pq')", id="lineage-numbers"),
    pytest.param("x = pay.copy()\nx.columns = ['p', 'a']\nx.to_json(OUT)", id="columns-assign"),
    pytest.param("pay.set_axis(['p', 'a'], axis=1)[['p']].to_csv(OUT)", id="set-axis"),
    pytest.param("def anon(d):\n    d = d.copy()\n    d.columns = ['p', 'a']\n    return d\n"
                 "anon(pay)[['p']].to_csv(OUT)", id="columns-assign-in-function"),
    pytest.param("p3 = pay.rename(columns={'salary': 's'}).copy().sort_values('amount').head(5)\n"
                 "p3.reset_index(drop=True)[['s']].to_csv(OUT)", id="lineage-through-copies"),
    pytest.param("y = pd.DataFrame({'a': [1, 2]})\ny['c'] = pay['salary']\ny.to_csv(OUT)", id="column-copy"),
    pytest.param("pay.salary.to_frame('w').to_csv(OUT)", id="series-to-frame"),
    pytest.param("pd.DataFrame({'w': pay['salary']}).to_csv(OUT)", id="frame-from-dict-of-series"),
    pytest.param("pd.DataFrame(pay['salary'].rename('w')).to_csv(OUT)",
                 id="frame-from-renamed-series"),
    pytest.param("pay.melt().to_csv(OUT)", id="melt"),
    pytest.param("pd.melt(pay, id_vars=['amount']).to_csv(OUT)", id="module-melt"),
    pytest.param("pay.stack().to_csv(OUT)", id="stack"),
    pytest.param("pay.T.to_csv(OUT)", id="transpose-property"),
    pytest.param("pay.set_index('amount').unstack().to_csv(OUT)", id="unstack"),
    pytest.param("pd.concat([pay['salary'].rename('w'), pay['amount']], axis=1).to_csv(OUT)",
                 id="concat-series"),
    pytest.param("pd.concat([pay[['salary']]], axis=1, ignore_index=True).to_csv(OUT)",
                 id="concat-ignore-index"),
    pytest.param("r = pay.rename(columns={'salary': 's'})\n"
                 "r.merge(r, on='amount')[['s_x']].to_csv(OUT)",
                 id="merge-suffix"),
    pytest.param("r = pay.rename(columns={'salary': 's'})\n"
                 "pd.merge(r, df, on='amount')[['s']].to_csv(OUT)",
                 id="module-merge"),
    pytest.param("pay.assign(w=pay['salary'])[['w']].to_csv(OUT)", id="assign"),
    pytest.param("hidden.to_csv(OUT)", id="by-values"),
    pytest.param("getattr(df, 'to_' + 'pickle')(OUT)", id="getattr-pickle"),
    pytest.param("df['email'].to_csv(OUT)", id="series"),
    pytest.param("json.dump(df.to_dict('records'), open(OUT, 'w'))", id="json-records"),
    pytest.param("df.to_string(open(OUT, 'w'))", id="to-string-file"),
    pytest.param("exec(\"df.to_\" + \"csv(OUT)\")", id="exec"),
]


@pytest.mark.parametrize("code", ATTACKS)
def test_sensitive_export_refused(kernel, code, request):
    name = f"out_{request.node.callspec.id}.csv"
    kernel.ok(SETUP + f"OUT = {name!r}")
    kernel.blocked(code, "exfiltration")
    for p in kernel.workdir.glob(name + "*"):
        assert p.stat().st_size == 0, p   # json/to_string opened the file first: nothing written


def test_remote_destination_refused(kernel):
    kernel.ok(SETUP)
    kernel.blocked("pd.DataFrame({'a': [1]}).to_csv('s3://bucket/' + 'a.csv')", "exfiltration")


@pytest.mark.parametrize("code", [
    pytest.param("df[['amount']].to_csv('ok.csv')", id="csv"),
    pytest.param("df.drop(columns=['email']).to_json('ok.json')", id="json"),
    pytest.param("print(df.to_string())", id="to-string-returns"),
    pytest.param("json.dump([{'a': 1}], open('ok2.json', 'w'))", id="json-dump"),
    pytest.param("df", id="display"),
])
def test_non_sensitive_exports_pass(kernel, code):
    kernel.ok(SETUP)
    kernel.ok(code)


@pytest.mark.parametrize("code", [
    pytest.param("pay.melt(id_vars=['amount'], value_vars=['amount']).to_csv(OUT)",
                 id="melt-other-columns"),
    pytest.param("pd.DataFrame({'w': pay['amount']}).to_csv(OUT)", id="frame-from-plain-series"),
    pytest.param("pay[['amount']].T.to_csv(OUT)", id="transpose-plain"),
    pytest.param("pd.concat([df[['amount']], pay[['amount']]]).to_csv(OUT)", id="concat-plain"),
    pytest.param("pay.merge(df, on='amount')[['amount']].to_csv(OUT)",
                 id="merge-then-plain-column"),
])
def test_reshaped_non_sensitive_data_is_written(kernel, code, request):
    """Lineage through reshapes marks only what came from a sensitive column."""
    out = kernel.workdir / f"ok_{request.node.callspec.id}.csv"
    out.unlink(missing_ok=True)
    kernel.ok(SETUP + f"OUT = {out.name!r}\n" + code)
    assert out.stat().st_size > 0 and "100" not in out.read_text()

