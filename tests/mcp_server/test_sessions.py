"""Signed MCP session ids: any replica checks one; nothing else passes."""

from __future__ import annotations

import pytest

from mcp_server._sessions import new_session, session_key, session_valid

DIGEST = "a" * 64


def test_an_issued_session_is_valid_for_its_tenant_and_token_only() -> None:
    session = new_session("acme", DIGEST)
    assert session_valid(session, "acme", DIGEST)
    assert not session_valid(session, "globex", DIGEST)
    assert not session_valid(session, "acme", "b" * 64)


def test_sessions_are_new_each_time() -> None:
    assert len({new_session("acme", DIGEST) for _ in range(100)}) == 100


@pytest.mark.parametrize(
    "forge",
    [
        lambda s: s.split(".")[0] + "." + "0" * 32,  # a made-up MAC
        lambda s: "other" + s[5:],  # another nonce under the same MAC
        lambda s: s.split(".")[0],  # no MAC
        lambda s: s + "0",  # a longer MAC
        lambda s: s[:-1] + "é",  # not ASCII
        lambda s: "." + s.split(".")[1],  # no nonce
    ],
)
def test_a_changed_session_is_refused(forge: object) -> None:
    session = new_session("acme", DIGEST)
    assert not session_valid(forge(session), "acme", DIGEST)  # type: ignore[operator]


def test_the_key_in_the_store_is_the_nonce_and_no_conversation_has_it() -> None:
    session = new_session("acme", DIGEST)
    key = session_key(session)
    assert key == "mcp:" + session.split(".")[0]
    assert "." not in key  # a Rasa conversation's key always ends in seconds with a dot
