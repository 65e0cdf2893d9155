"""Masking in a real ipykernel: every iopub output message of every display form."""
from __future__ import annotations

import pytest

from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

RAW = {
    "email": ["jane.doe@example.com", "bob@corp.io", "li.wei@mail.cn"],
    "ssn": ["123-45-6789", "234-56-7890", "345-67-8901"],
    "card": ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005"],
    "phone": ["+44 20 7946 0958", "(555) 123-4567", "+33 1 23 45 67 89"],
}
PLAIN = {"city": ["Paris", "Oslo", "Kyoto"], "amount": ["12.5", "99.0", "7.25"]}
BUILD = f"""
import pandas as pd
df = pd.DataFrame({{**{RAW!r}, "city": {PLAIN['city']!r}, "amount": [12.5, 99.0, 7.25]}})
"""
RAW_VALUES = [v for values in RAW.values() for v in values]
# fragments that would give a value away (card/ssn/phone digits without separators too)
RAW_FRAGMENTS = RAW_VALUES + ["jane.doe", "4111111111111111", "123456789", "79460958"]


@pytest.fixture(scope="module")
def customers(kernel: Kernel) -> Kernel:
    kernel.ok(BUILD)
    return kernel


def assert_masked(text: str) -> None:
    leaked = [v for v in RAW_FRAGMENTS if v in text.replace("\\n", "\n")]
    assert not leaked, f"raw values in output: {leaked}"


ALL = (*PLAIN["city"], "12.5", "99.0", "7.25")
FORMS = [
    pytest.param("df", ("text/html", "text/plain"), ALL, id="last-expression"),
    pytest.param("display(df)", ("text/html", "text/plain"), ALL, id="display"),
    pytest.param("df.head()", ("text/html", "text/plain"), ALL, id="head"),
    pytest.param("df['email']", ("text/plain",), (), id="series"),
    pytest.param("df.style", ("text/html",), ALL, id="styler"),
    pytest.param("df.iloc[0]", ("text/plain",), ("Paris", "12.5"), id="row"),
    pytest.param("df.describe(include='all')", ("text/html", "text/plain"), (), id="describe"),
    pytest.param("print(df)", (), ALL, id="print-frame"),
    pytest.param("print(df.email.tolist())", (), (), id="print-list"),
    pytest.param("display({'e': 'a@b.com', 'ssn': '123-45-6789'})", ("text/plain",), (),
                 id="display-dict"),
    pytest.param("df.rename(columns={'email': 'contact'})", ("text/html", "text/plain"), ALL,
                 id="renamed"),
    pytest.param("df.assign(x=df.email.str.lower())", ("text/html", "text/plain"), ALL,
                 id="derived"),
    pytest.param("df.set_index('email')", ("text/html", "text/plain"), ALL, id="index"),
    pytest.param("df.email.value_counts()", ("text/plain",), (), id="value-counts"),
    pytest.param("import sys; sys.stderr.write(str(df.ssn.tolist()) + '\\n')", (), (),
                 id="stderr"),
    pytest.param("raise ValueError(df.email.iloc[0])", (), (), id="traceback"),
]


@pytest.mark.parametrize(("code", "mimes", "plain_shown"), FORMS)
def test_no_raw_value_in_any_output(customers: Kernel, code: str, mimes: tuple[str, ...],
                                    plain_shown: tuple[str, ...]) -> None:
    result = customers.run(code)
    assert result.outputs, f"no output for {code}"
    assert_masked(result.everything())
    shown = result.mimes()
    for mime in mimes:
        assert mime in shown, f"{mime} missing for {code}: {sorted(shown)}"
    for value in plain_shown:  # plain columns appear unchanged
        assert value in result.everything(), f"{value} missing for {code}"
    if "a@b.com" in code:
        assert "█████@b.com" in result.everything()


def test_split_print_is_masked(customers: Kernel) -> None:
    code = ("import sys\nsys.stdout.write('mail jane.do')\nsys.stdout.write('e@example.com x')\n"
            "sys.stdout.flush()\nprint(' end')")
    text = customers.ok(code).everything()
    assert_masked(text)
    assert "mail █████@example.com x" in text and " end" in text


def test_variables_unchanged(customers: Kernel) -> None:
    code = (f"assert df.email.iloc[0] == {RAW['email'][0]!r}\n"
            f"assert df.card.tolist() == {RAW['card']!r}\n"
            "assert df.email.str.contains('@').all()")
    assert customers.ok(code).outputs == []


def test_million_rows_display(customers: Kernel) -> None:
    code = ("import numpy as np\n"
            "big = pd.DataFrame({'email': np.repeat(df.email.to_numpy(), 333_334)[:1_000_000],\n"
            "                    'n': np.arange(1_000_000)})\n"
            "big")
    result = customers.ok(code)
    assert_masked(result.everything())
    assert "1000000 rows × 2 columns" in result.mimes()["text/html"]  # noqa: RUF001 - pandas prints a multiplication sign
    assert "999999" in result.mimes()["text/html"]


def test_unmask_for_allowed_user_and_uninstall(kernel: Kernel) -> None:
    kernel.ok(BUILD)
    on = "_mask_settings['s'] = _MS(may_unmask=True, unmasked=True)"
    assert RAW["email"][0] in kernel.ok(on + "\ndf").everything()
    kernel.ok("_mask_settings['s'] = _MS()")
    assert RAW["email"][0] not in kernel.ok("df").everything()
    text = kernel.ok("_masker.uninstall()\nprint(df.email.iloc[0])\ndf").everything()
    assert RAW["email"][0] in text
    kernel.ok("_masker = _mask.install(get_ipython(), lambda: _mask_settings['s'])")
    assert_masked(kernel.ok("print(df); df").everything())
