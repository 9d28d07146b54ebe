"""What a call sends and what it gets back: the request and result value objects, through the
client against a real local HTTPS server where the wire is what they shape."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from webhooks.egress._egress import MAX_BODY_BYTES, Egress
from webhooks.egress._messages import (
    MASK,
    TRUNCATION_MARK,
    WebhookRequest,
    WebhookResult,
    query_value,
)

from .conftest import PATH_SECRET, QUERY_SECRET, SECRET
from .https_server import CHARSET_TEXT, LocalServer, charset_body

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("connection_attempts")]


# --- encoding ------------------------------------------------------------------------------------


async def test_post_sends_arguments_as_one_json_object(egress: Egress, server: LocalServer) -> None:
    arguments = {"order": "4521", "count": 3, "price": 9.5, "gift": True, "note": None}
    await egress.call(WebhookRequest(url=server.url("/echo"), arguments=arguments))

    (seen,) = server.seen.requests
    assert seen["method"] == "POST"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["body"] == b'{"order":"4521","count":3,"price":9.5,"gift":true,"note":null}'


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param({"s": "".join(map(chr, range(0x80))) + "é\u2028\u2029€😀"}, id="characters"),
        pytest.param({"i": -(2**80), "j": 10**30, "b": True, "n": None}, id="no-float"),
        pytest.param({"f": 1e16, "g": 1e-7, "i": 4521}, id="floats"),
        pytest.param({}, id="empty"),
    ],
)
async def test_a_post_body_is_what_json_dumps_writes(arguments: dict[str, Any]) -> None:
    # Whichever encoder writes it, the body's bytes are those of json.dumps with its options.
    expected = json.dumps(arguments, separators=(",", ":"), ensure_ascii=False).encode()
    assert WebhookRequest(url="https://a.io/", arguments=arguments).json_body() == expected


async def test_get_sends_arguments_as_query_string(egress: Egress, server: LocalServer) -> None:
    arguments = {"q": "a b&c", "n": 7, "big": 1e16, "small": 1e-7, "yes": True, "no": False}
    url = server.url("/echo") + "?key=kept"
    await egress.call(WebhookRequest(url=url, method="GET", arguments={**arguments, "x": None}))

    (seen,) = server.seen.requests
    assert seen["method"] == "GET"
    assert seen["body"] == b""
    assert seen["query"] == [
        ("key", "kept"),
        ("q", "a b&c"),
        ("n", "7"),
        ("big", "10000000000000000"),
        ("small", "0.0000001"),
        ("yes", "true"),
        ("no", "false"),
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(True, "true", id="true"),
        pytest.param(0, "0", id="zero"),
        pytest.param(-12, "-12", id="negative"),
        pytest.param(2.0, "2.0", id="whole-float"),
        pytest.param(0.1, "0.1", id="shortest-repr"),
        pytest.param(1.5e300, "15" + "0" * 299, id="no-exponent"),
        pytest.param("é&=", "é&=", id="string-as-is"),
    ],
)
async def test_query_values_use_plain_forms(value: Any, text: str) -> None:
    assert query_value(value) == text


# --- headers and timeout -------------------------------------------------------------------------


async def test_request_refuses_header_values_that_would_smuggle_lines() -> None:
    with pytest.raises(ValueError, match="X-Key") as caught:
        WebhookRequest(url="https://example.com/", headers={"X-Key": f"{SECRET}\r\nHost: evil"})
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("X" * 129, id="too-long"),
        pytest.param("X-Key\n", id="trailing-newline"),
        pytest.param("X Key", id="space"),
        pytest.param("X-Kéy", id="non-ascii"),
    ],
)
async def test_request_refuses_invalid_header_names(name: str) -> None:
    with pytest.raises(ValueError, match="header name"):
        WebhookRequest(url="https://example.com/", headers={name: "value"})


async def test_request_accepts_a_128_character_header_name() -> None:
    WebhookRequest(url="https://example.com/", headers={"X" * 128: "value"})


async def test_request_refuses_headers_the_client_sets_itself() -> None:
    with pytest.raises(ValueError, match="Host"):
        WebhookRequest(url="https://example.com/", headers={"Host": "internal.example.com"})


async def test_the_largest_timeout_is_enforced_where_a_request_is_built() -> None:
    WebhookRequest(url="https://api.example.com/", timeout=30)
    for timeout in (30.01, 31, 3600, float("inf"), float("nan"), 0, -1):
        with pytest.raises(ValueError, match="timeout"):
            WebhookRequest(url="https://api.example.com/", timeout=timeout)


# --- results -------------------------------------------------------------------------------------


async def test_json_body_becomes_structured_data(egress: Egress, server: LocalServer) -> None:
    started = time.perf_counter()
    result = await egress.call(WebhookRequest(url=server.url("/echo?a=1"), method="GET"))
    took = time.perf_counter() - started
    assert result.status == 200
    assert result.data == {"method": "GET", "query": [["a", "1"]]}
    assert result.truncated is False
    # The call's own duration in seconds: within the time around it, however loaded the machine.
    assert 0 < result.elapsed <= took


async def test_text_body_becomes_response_text(egress: Egress, server: LocalServer) -> None:
    result = await egress.call(WebhookRequest(url=server.url("/text"), method="GET"))
    assert result.data == {"response_text": "plain words, not JSON"}


# --- charsets ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [
        # Not usable for decoding at all: the body is read as UTF-8.
        pytest.param("idna", "utf-8", id="idna"),
        pytest.param("undefined", "utf-8", id="undefined"),
        pytest.param("punycode", "utf-8", id="punycode"),
        pytest.param("base64", "utf-8", id="base64"),
        pytest.param("rot13", "utf-8", id="rot13"),
        pytest.param("zlib", "utf-8", id="zlib"),
        pytest.param("no-such-charset", "utf-8", id="nonexistent"),
        # Real text encodings, used as declared.
        pytest.param("utf-16", "utf-16-le", id="utf-16-without-bom"),
        pytest.param("latin-1", "latin-1", id="latin-1"),
        pytest.param("UTF-8", "utf-8", id="utf-8-upper-case"),
    ],
)
@pytest.mark.parametrize(
    "size", [pytest.param(100, id="small"), pytest.param(MAX_BODY_BYTES + 5_000, id="over-the-cap")]
)
async def test_any_declared_charset_gives_sensible_text(
    egress: Egress, server: LocalServer, charset: str, encoding: str, size: int
) -> None:
    url = server.url(f"/charset?charset={charset}&encoding={encoding}&size={size}")
    # What the body really says (decoded whole, with the codec the server encoded it with).
    expected = charset_body(encoding, size).decode(encoding)

    result = await egress.call(WebhookRequest(url=url, method="GET"))
    outcome = await egress.test(WebhookRequest(url=url, method="GET"))

    assert outcome.status == 200
    assert result.data == {"response_text": result.text}
    if size < MAX_BODY_BYTES:
        assert result.truncated is False
        assert result.text == expected
    else:
        mark = TRUNCATION_MARK.format(limit=MAX_BODY_BYTES)
        assert result.truncated is True
        assert result.text.endswith(mark)
        text = result.text[: -len(mark)]
        assert len(text) > 20_000
        assert expected.startswith(text)  # a clean prefix: no mangled or replaced characters
    assert outcome.preview == result.text[:500]
    assert outcome.preview.startswith(CHARSET_TEXT)


# --- reprs ---------------------------------------------------------------------------------------


async def test_reprs_hide_secrets(egress: Egress, server: LocalServer) -> None:
    request = WebhookRequest(
        url=server.url(f"/services/{PATH_SECRET}?token={QUERY_SECRET}"),
        headers={"X-Api-Key": SECRET},
        arguments={"email": "person@example.com"},
    )
    result = await egress.call(request)
    for text in (repr(request), repr(result), repr(egress)):
        assert SECRET not in text
        assert QUERY_SECRET not in text
        assert PATH_SECRET not in text
        assert "person@example.com" not in text
    assert "X-Api-Key" in repr(request)


def _answer(text: str, data: object, *, truncated: bool = False) -> WebhookResult:
    return WebhookResult(
        status=200, elapsed=0.01, truncated=truncated, data=data, text=text, body=text.encode()
    )


ECHOED = "s3cr3t-value/with+marks"


async def test_an_answer_without_secrets_is_itself() -> None:
    answer = _answer('{"a": 1}', {"a": 1})
    assert answer.without([ECHOED]) is answer


async def test_a_json_answer_echoing_a_secret_stays_json_with_the_secret_masked() -> None:
    text = json.dumps({"X-Api-Key": ECHOED, "also": f"Bearer {ECHOED}"})
    masked = _answer(text, json.loads(text)).without([ECHOED])
    assert masked.data == {"X-Api-Key": MASK, "also": f"Bearer {MASK}"}
    assert ECHOED not in masked.text
    assert ECHOED.encode() not in masked.body


async def test_a_text_answer_echoing_a_secret_is_masked_text() -> None:
    text = f"your key is {ECHOED}"
    masked = _answer(text, {"response_text": text}).without([ECHOED])
    assert masked.data == {"response_text": f"your key is {MASK}"}


async def test_a_secret_written_as_a_bare_number_leaves_the_masked_text() -> None:
    masked = _answer('{"pin": 123456789}', {"pin": 123456789}).without(["123456789"])
    assert masked.data == {"response_text": '{"pin": ***}'}
