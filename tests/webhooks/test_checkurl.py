"""The ``check-url`` command: the verdict of both SSRF layers, printed without secrets."""

from __future__ import annotations

import asyncio
import io

import pytest

from webhooks.egress._checkurl import check_url_command

from .conftest import PUBLIC, QUERY_SECRET
from .https_server import ScriptedResolver

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("connection_attempts")]


async def test_check_url_command_prints_the_verdict() -> None:
    out = io.StringIO()
    resolver = ScriptedResolver({"api.example.com": [[PUBLIC]], "bad.example.com": [["10.0.0.1"]]})
    cases = [
        (f"https://api.example.com/?k={QUERY_SECRET}", 0),
        ("https://bad.example.com/", 1),
        ("https://localhost/", 1),
        ("https://nowhere.example.com/", 1),
    ]
    for url, expected in cases:
        verdict = await asyncio.to_thread(check_url_command, url, out=out, resolver=resolver)
        assert verdict == expected, url
    text = out.getvalue()
    assert (
        "allowed: https://api.example.com/\n"
        f"  reason: api.example.com resolves only to allowed addresses: {PUBLIC}"
    ) in text
    assert "refused: https://bad.example.com/" in text
    assert "10.0.0.1" in text
    assert "localhost" in text
    assert "could not be resolved" in text
    assert QUERY_SECRET not in text
