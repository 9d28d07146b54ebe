"""Signed calls, verified as a receiver verifies them: with ``standardwebhooks``, the
specification's reference implementation, against what a real local HTTPS server received."""

from __future__ import annotations

import base64
import logging
import time
from typing import Any

import pytest
import standardwebhooks
from sqlalchemy import select

from webhooks import (
    NotFound,
    Signer,
    SigningSecretLimitReached,
    Store,
    WebhookRequest,
)
from webhooks.egress._egress import Egress
from webhooks.egress._signing import new_secret, secret_key
from webhooks.store import _schema as db

from .https_server import LocalServer

#: The specification's own example secret and the signature it gives its example message.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_PAYLOAD = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def headers_of(seen: dict[str, Any]) -> dict[str, str]:
    return {name.lower(): value for name, value in seen["headers"].items()}


def test_the_signature_is_the_specifications_own_example() -> None:
    signer = Signer([secret_key(SPEC_SECRET)])
    assert signer.signature(SPEC_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD) == SPEC_SIGNATURE


def test_a_new_secret_is_32_random_bytes_in_the_whsec_form() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_")
    assert first != second
    assert len(secret_key(first)) == 32
    # The receivers' library takes it as it is.
    standardwebhooks.Webhook(first)


@pytest.mark.parametrize(
    "text", ["", "whsec_", "whsec_!!!!", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_" + "A" * 8]
)
def test_anything_else_is_not_a_secret(text: str) -> None:
    with pytest.raises(ValueError, match="not a signing secret"):
        secret_key(text)


def test_the_signer_never_shows_its_keys() -> None:
    secret = new_secret()
    signer = Signer([secret_key(secret)])
    request = WebhookRequest(url="https://example.com/x", signer=signer)
    for text in (repr(signer), repr(request)):
        assert secret not in text
        assert base64.b64encode(secret_key(secret)).decode() not in text


@pytest.mark.asyncio
async def test_a_signed_post_verifies_and_a_tampered_one_does_not(
    egress: Egress, server: LocalServer
) -> None:
    secret = new_secret()
    request = WebhookRequest(
        url=server.url("/echo"),
        arguments={"order_id": 42, "note": "ünïcode"},
        signer=Signer([secret_key(secret)]),
    )
    await egress.call(request)
    seen = server.seen.requests[-1]
    headers = headers_of(seen)
    receiver = standardwebhooks.Webhook(secret)
    assert receiver.verify(seen["body"], headers) == {"order_id": 42, "note": "ünïcode"}
    assert headers["webhook-id"].startswith("msg_")
    assert headers["idempotency-key"] == headers["webhook-id"]
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5

    with pytest.raises(standardwebhooks.WebhookVerificationError):
        receiver.verify(seen["body"].replace(b"42", b"43"), headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):  # another id
        receiver.verify(seen["body"], headers | {"webhook-id": "msg_other"})
    with pytest.raises(standardwebhooks.WebhookVerificationError):  # another (recent) time
        receiver.verify(seen["body"], headers | {"webhook-timestamp": str(int(time.time()) - 1)})
    with pytest.raises(standardwebhooks.WebhookVerificationError, match="too old"):
        receiver.verify(seen["body"], headers | {"webhook-timestamp": str(int(time.time()) - 600)})
    with pytest.raises(standardwebhooks.WebhookVerificationError):  # another secret
        standardwebhooks.Webhook(new_secret()).verify(seen["body"], headers)


@pytest.mark.asyncio
async def test_a_signed_get_signs_its_query_string_as_sent(
    egress: Egress, server: LocalServer
) -> None:
    secret = new_secret()
    request = WebhookRequest(
        url=server.url("/echo?fixed=a%20b"),
        method="GET",
        arguments={"city": "São Paulo", "open": True, "n": 1.5},
        signer=Signer([secret_key(secret)]),
    )
    await egress.call(request)
    seen = server.seen.requests[-1]
    headers = headers_of(seen)
    assert seen["query"] == [
        ("fixed", "a b"),
        ("city", "São Paulo"),
        ("open", "true"),
        ("n", "1.5"),
    ]
    receiver = standardwebhooks.Webhook(secret)
    assert receiver.verify(seen["raw_query"], headers, json_parse=False) is None
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        receiver.verify(seen["raw_query"].replace("1.5", "2.5"), headers, json_parse=False)
    # A GET has no body to deduplicate by key: only the id.
    assert "idempotency-key" not in headers


@pytest.mark.asyncio
async def test_during_a_rotation_each_secret_verifies(egress: Egress, server: LocalServer) -> None:
    old, new = new_secret(), new_secret()
    request = WebhookRequest(
        url=server.url("/echo"),
        arguments={"order_id": 7},
        signer=Signer([secret_key(new), secret_key(old)]),
    )
    await egress.call(request)
    seen = server.seen.requests[-1]
    headers = headers_of(seen)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert standardwebhooks.Webhook(secret).verify(seen["body"], headers) == {"order_id": 7}
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(new_secret()).verify(seen["body"], headers)


@pytest.mark.asyncio
async def test_an_unsigned_call_carries_its_id_and_no_signature(
    egress: Egress, server: LocalServer
) -> None:
    await egress.call(WebhookRequest(url=server.url("/echo"), arguments={"a": 1}))
    await egress.call(WebhookRequest(url=server.url("/echo"), arguments={"a": 1}))
    first, second = (headers_of(seen) for seen in server.seen.requests[-2:])
    assert "webhook-signature" not in first
    assert "webhook-timestamp" not in first
    assert first["webhook-id"] != second["webhook-id"]
    assert first["idempotency-key"] == first["webhook-id"]


@pytest.mark.parametrize(
    "name", ["webhook-signature", "Webhook-Id", "webhook-timestamp", "Idempotency-Key"]
)
def test_an_operator_header_cannot_take_the_signatures_names(name: str) -> None:
    with pytest.raises(ValueError, match="set by the client"):
        WebhookRequest(url="https://example.com/x", headers={name: "forged"})


# -- the store's side ---------------------------------------------------------------------


def _action(store: Store) -> None:
    store.accounts.create_tenant("acme", actor="test")
    store.catalog.create(
        "acme",
        {"name": "order_status", "description": "d", "url": "https://example.com/orders"},
        actor="test",
    )


def test_a_secret_is_stored_sealed_and_shown_once(store: Store) -> None:
    _action(store)
    before = store.catalog.get("acme", "order_status")
    record, secret = store.signing.create("acme", "order_status", actor="ops")
    webhook = store.catalog.get("acme", "order_status")
    assert [s.id for s in webhook.signing_secrets] == [record.id]
    assert webhook.revision == before.revision + 1
    assert secret not in repr(webhook)
    assert secret not in repr(record)
    with store.engine.connect() as connection:
        stored = connection.execute(select(db.WebhookSigningSecret.value_encrypted)).scalars()
        sealed = list(stored)
    key_text = base64.b64encode(secret_key(secret)).decode()
    assert sealed
    assert all(secret not in value and key_text not in value for value in sealed)
    signer = store.signing.signer_for(webhook)
    assert signer is not None
    expected = standardwebhooks.Webhook(secret).sign(
        SPEC_ID, standardwebhooks.webhooks.datetime.fromtimestamp(SPEC_TIMESTAMP), SPEC_PAYLOAD
    )
    assert signer.signature(SPEC_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD) == expected
    # The snapshot the action servers cache has it too.
    cached = store.snapshots.snapshot(["acme"])["acme"].webhooks["order_status"]
    assert [s.id for s in cached.signing_secrets] == [record.id]
    entries = store.audit("acme", webhook="order_status")
    assert entries[0].action == "webhook.signing_secret.create"
    assert secret not in repr(entries)
    assert key_text not in repr(entries)


def test_two_secrets_at_most_then_retire_one(store: Store) -> None:
    _action(store)
    first, _ = store.signing.create("acme", "order_status", actor="ops")
    second, _ = store.signing.create("acme", "order_status", actor="ops")
    webhook = store.catalog.get("acme", "order_status")
    assert [s.id for s in webhook.signing_secrets] == [second.id, first.id]  # newest first
    with pytest.raises(SigningSecretLimitReached):
        store.signing.create("acme", "order_status", actor="ops")
    store.signing.retire("acme", "order_status", first.id, actor="ops")
    assert [s.id for s in store.catalog.get("acme", "order_status").signing_secrets] == [second.id]
    with pytest.raises(NotFound) as raised:
        store.signing.retire("acme", "order_status", first.id, actor="ops")
    assert raised.value.kind == "signing_secret"
    assert store.audit("acme")[0].action == "webhook.signing_secret.retire"
    store.signing.retire("acme", "order_status", second.id, actor="ops")
    webhook = store.catalog.get("acme", "order_status")
    assert webhook.signing_secrets == ()
    assert store.signing.signer_for(webhook) is None


def test_secrets_go_with_their_action(store: Store) -> None:
    _action(store)
    store.signing.create("acme", "order_status", actor="ops")
    store.catalog.delete("acme", "order_status", actor="ops")
    with store.engine.connect() as connection:
        assert connection.execute(select(db.WebhookSigningSecret)).all() == []


def test_a_secret_is_never_logged(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _action(store)
    _, secret = store.signing.create("acme", "order_status", actor="ops")
    store.signing.signer_for(store.catalog.get("acme", "order_status"))
    assert secret not in caplog.text
    assert base64.b64encode(secret_key(secret)).decode() not in caplog.text
