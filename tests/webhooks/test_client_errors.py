"""The translation of a webhook call's foreign errors into the project's tree."""

from __future__ import annotations

import inspect
import ssl

import aiohttp
import pytest

from webhooks._client_errors import map_client_errors, mapping_for, translate_error
from webhooks._exceptions import (
    CallFailed,
    ConnectionFailed,
    InvalidResponse,
    TLSFailed,
    WebhookTimeout,
)


def _aiohttp_client_errors() -> list[type[BaseException]]:
    found = set()
    for name in aiohttp.__all__:
        candidate = getattr(aiohttp, name)
        if inspect.isclass(candidate) and issubclass(candidate, aiohttp.ClientError):
            found.add(candidate)
    pending = list(found)
    while pending:  # also the subclasses aiohttp does not export
        for subclass in pending.pop().__subclasses__():
            if subclass.__module__.startswith("aiohttp") and subclass not in found:
                found.add(subclass)
                pending.append(subclass)
    return sorted(found, key=lambda c: c.__name__)


@pytest.mark.parametrize(
    "error_class", [pytest.param(c, id=c.__name__) for c in _aiohttp_client_errors()]
)
def test_every_aiohttp_client_error_is_mapped(error_class: type[BaseException]) -> None:
    error = error_class.__new__(error_class)  # constructors differ; the class is what matters
    mapped = translate_error(error)
    assert isinstance(mapped, CallFailed)
    assert type(mapped) is not CallFailed
    if error_class is not aiohttp.ClientError:
        # Matched by a deliberate entry, not only by the catch-all for the root.
        assert mapping_for(error_class) is not aiohttp.ClientError


def test_the_walk_found_aiohttp_errors() -> None:
    assert len(_aiohttp_client_errors()) >= 25  # so the table above cannot be empty


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(TimeoutError(), WebhookTimeout, id="timeout"),
        pytest.param(ssl.SSLError(1, "bad"), TLSFailed, id="ssl"),
        pytest.param(ConnectionRefusedError(111, "refused"), ConnectionFailed, id="refused"),
        pytest.param(aiohttp.ServerDisconnectedError(), ConnectionFailed, id="disconnected"),
        pytest.param(aiohttp.ClientPayloadError("cut"), InvalidResponse, id="payload"),
    ],
)
def test_foreign_errors_are_translated_with_cause(
    error: BaseException, expected: type[CallFailed]
) -> None:
    with pytest.raises(expected) as caught, map_client_errors():
        raise error
    assert caught.value.__cause__ is error
