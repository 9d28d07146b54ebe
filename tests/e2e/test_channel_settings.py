"""The connectors' settings, checked where Rasa reads them (the bot runtime, Python 3.10):
an API address that would send a token in clear is refused at start-up."""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from tests.e2e.conftest import ROOT, _needs_rasa

pytestmark = [pytest.mark.rasa]

CHECK = textwrap.dedent("""
    import json, sys
    from channels._api import api_url
    from rasa.shared.exceptions import RasaException
    out = []
    for value in json.loads(sys.argv[1]):
        try:
            out.append(api_url(value, default="https://default.example", setting="x.api_url"))
        except RasaException as error:
            out.append("refused: " + str(error))
    print(json.dumps(out))
""")


def api_urls(*values: object) -> list[str]:
    _needs_rasa()
    done = subprocess.run(
        [str(ROOT / ".venv-bot/bin/python"), "-c", CHECK, json.dumps(values)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return list(json.loads(done.stdout))


def test_the_api_address_is_https_or_loopback_http() -> None:
    assert api_urls(
        None, "", "https://api.telegram.org/", "http://127.0.0.1:8081", "http://localhost:81/x",
        "http://[::1]:9000",
    ) == [
        "https://default.example", "https://default.example", "https://api.telegram.org",
        "http://127.0.0.1:8081", "http://localhost:81/x", "http://[::1]:9000",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("http://api.telegram.org", id="http-to-the-internet"),
        pytest.param("http://10.0.0.5:8081", id="http-to-a-private-network"),
        pytest.param("ftp://127.0.0.1", id="another-scheme"),
        pytest.param("https://user:pw@api.example.com", id="a-login"),
        pytest.param("https://api.example.com/?token=1", id="a-query"),
        pytest.param("api.telegram.org", id="no-scheme"),
        pytest.param(42, id="not-text"),
    ],
)
def test_an_api_address_that_would_leak_the_token_is_refused(value: object) -> None:
    (said,) = api_urls(value)
    assert said.startswith("refused: x.api_url: ")
