"""Signing secrets, retrying POSTs and paused calls as the admin API shows them to operators.

A secret's value is in the answer that makes it and nowhere else: not in a later answer, the
audit log, the server's log or the database in clear. Assertions about it say which secret
leaked (its place in the list), never the value.
"""

from __future__ import annotations

import base64
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.admin.conftest import AdminServer
from tests.webhooks.test_store import raw_dump
from webhooks import CallPause
from webhooks.egress._signing import MAX_SIGNING_SECRETS

_names = itertools.count()

#: Every secret value this module's server handed out.
MADE: list[str] = []


def fresh(server: AdminServer) -> str:
    """A new action of acme (the others removed: at most ten may exist)."""
    name = f"signed_{next(_names)}"
    for webhook in server.store.catalog.list("acme"):
        server.store.catalog.delete("acme", webhook.name, actor="test")
    server.store.catalog.create("acme", server.definition(name), actor="test")
    return name


def make(client: httpx.Client, name: str) -> dict[str, Any]:
    response = client.post(f"/webhooks/{name}/signing-secrets")
    assert response.status_code == 201, response.json()["error"]
    made = dict(response.json())
    MADE.append(made["secret"])
    return made


def leaked(text: str, secrets: list[str] = MADE) -> list[int]:
    """Which of ``secrets`` (by default every one made so far) ``text`` holds, by their place
    in the list."""
    return [index for index, secret in enumerate(secrets) if secret in text]


def error(response: httpx.Response) -> tuple[int, str, str | None]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["field"]


def test_a_new_secret_is_shown_once_then_only_its_id(admin_server: AdminServer) -> None:
    name = fresh(admin_server)
    with admin_server.client("manager") as client:
        first = make(client, name)
        assert set(first) == {"id", "secret", "created_at", "message"}
        secret = first["secret"]
        # A boolean, so that a failure cannot print the value.
        shaped = secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
        assert shaped
        assert first["id"].startswith("whs_")
        assert "shown once" in first["message"]
        assert f"Every call of {name} is now signed with it." in first["message"]
        assert "older" not in first["message"]

        listed = client.get(f"/webhooks/{name}").json()["signing_secrets"]
        assert listed == [{"id": first["id"], "created_at": first["created_at"]}]

        second = make(client, name)
        # During a rotation both sign: the message names the one to retire after.
        assert (
            f"and with the older secret {first['id']} until that one is retired"
            in (second["message"])
        )
        newest_first = [second["id"], first["id"]]
        assert [s["id"] for s in client.get(f"/webhooks/{name}").json()["signing_secrets"]] == (
            newest_first
        )
        items = client.get("/webhooks").json()["items"]
        assert [s["id"] for s in items[0]["signing_secrets"]] == newest_first
    # Ids are not secret: an operator who may only read sees them too.
    with admin_server.client("reader") as reader:
        shown = reader.get(f"/webhooks/{name}").json()["signing_secrets"]
    assert [s["id"] for s in shown] == newest_first
    # Only the answers that made them ever held the values.
    values = [first["secret"], second["secret"]]
    assert len([r for r in admin_server.responses if leaked(r, values)]) == 2


def test_a_new_secret_is_not_kept_by_any_cache(admin_server: AdminServer) -> None:
    name = fresh(admin_server)
    with admin_server.client("manager") as client:
        response = client.post(f"/webhooks/{name}/signing-secrets")
    MADE.append(response.json()["secret"])
    assert response.headers["cache-control"] == "no-store"


def test_a_third_secret_is_refused_until_one_is_retired(admin_server: AdminServer) -> None:
    name = fresh(admin_server)
    with admin_server.client("manager") as client:
        first, _ = make(client, name), make(client, name)
        refused = client.post(f"/webhooks/{name}/signing-secrets")
        assert error(refused) == (409, "signing_secret_limit_reached", "signing_secrets")
        assert (
            f"already has {MAX_SIGNING_SECRETS} signing secrets"
            in refused.json()["error"]["message"]
        )
        assert client.delete(f"/webhooks/{name}/signing-secrets/{first['id']}").status_code == 204
        third = make(client, name)
        shown = client.get(f"/webhooks/{name}").json()["signing_secrets"]
    assert first["id"] not in [s["id"] for s in shown]
    assert shown[0]["id"] == third["id"]


def test_retiring_a_secret_removes_it_and_an_unknown_one_is_404_at_id(
    admin_server: AdminServer,
) -> None:
    name = fresh(admin_server)
    with admin_server.client("manager") as client:
        made = make(client, name)
        before = client.get(f"/webhooks/{name}").json()["revision"]
        assert client.delete(f"/webhooks/{name}/signing-secrets/{made['id']}").status_code == 204
        after = client.get(f"/webhooks/{name}").json()
        assert after["signing_secrets"] == []
        assert after["revision"] == before + 1  # a change of the definition
        again = client.delete(f"/webhooks/{name}/signing-secrets/{made['id']}")
        assert error(again) == (404, "signing_secret_not_found", "id")
        assert error(client.delete(f"/webhooks/{name}/signing-secrets/whs_000000000000")) == (
            404,
            "signing_secret_not_found",
            "id",
        )
        # An unknown action says so first, whatever the id.
        for method, path in (("POST", ""), ("DELETE", f"/{made['id']}")):
            unknown = client.request(method, f"/webhooks/never_was/signing-secrets{path}")
            assert error(unknown) == (404, "webhook_not_found", "name")


@pytest.mark.parametrize(
    "secret_id",
    [
        # Sanic passes a segment on as sent: "%00" reaches the store as three characters.
        pytest.param("whs_%00", id="escaped-nul"),
        pytest.param("%1b%5b2J", id="escaped-escape"),
        pytest.param("w" * 300, id="long"),
        pytest.param("%F0%9F%94%91", id="escaped-emoji"),
    ],
)
def test_an_id_no_secret_can_have_is_404_on_every_database(
    admin_server: AdminServer, secret_id: str
) -> None:
    name = fresh(admin_server)
    with admin_server.client("manager") as client:
        response = client.delete(f"/webhooks/{name}/signing-secrets/{secret_id}")
        assert error(response) == (404, "signing_secret_not_found", "id")
        unknown = client.delete(f"/webhooks/never_was/signing-secrets/{secret_id}")
        assert error(unknown) == (404, "webhook_not_found", "name")
    assert "Traceback" not in admin_server.log_path.read_text()


def test_an_operator_who_may_only_read_may_not_make_or_retire_one(
    admin_server: AdminServer,
) -> None:
    name = fresh(admin_server)
    with admin_server.client("manager") as client:
        made = make(client, name)
    with admin_server.client("reader") as reader:
        created = reader.post(f"/webhooks/{name}/signing-secrets")
        retired = reader.delete(f"/webhooks/{name}/signing-secrets/{made['id']}")
    for response in (created, retired):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
    assert [s.id for s in admin_server.store.catalog.get("acme", name).signing_secrets] == [
        made["id"]
    ]


def test_the_audit_log_names_the_ids_never_the_values(admin_server: AdminServer) -> None:
    name = fresh(admin_server)
    with admin_server.client("manager") as client:
        first, second = make(client, name), make(client, name)
        assert client.delete(f"/webhooks/{name}/signing-secrets/{first['id']}").status_code == 204
    with admin_server.client("reader") as reader:
        audit = reader.get("/audit", params={"webhook": name}).json()["items"]
    manager = f"operator:{admin_server.identities['manager'].operator_id}:manager"
    assert [(e["action"], e["actor"]) for e in audit[:3]] == [
        ("webhook.signing_secret.retire", manager),
        ("webhook.signing_secret.create", manager),
        ("webhook.signing_secret.create", manager),
    ]
    retire, made_second, made_first = audit[:3]
    assert made_first["after"] == {"signing_secret": first["id"], "signing_secrets": [first["id"]]}
    assert made_second["after"]["signing_secret"] == second["id"]
    assert sorted(made_second["after"]["signing_secrets"]) == sorted([first["id"], second["id"]])
    assert retire["before"] == {"signing_secret": first["id"]}
    assert retire["after"] == {"signing_secrets": [second["id"]]}


def test_no_value_is_in_the_log_the_audit_or_the_database_in_clear(
    admin_server: AdminServer,
) -> None:
    """Run after the others: every value this module's server made is looked for."""
    name = fresh(admin_server)
    with admin_server.client("manager") as client:
        make(client, name)
        audit = client.get("/audit", params={"limit": 500}).text
        listed = client.get("/webhooks").text
    assert leaked(audit) == []
    assert leaked(listed) == []
    assert leaked(admin_server.log_path.read_text()) == []
    # Of every answer this module's server gave (errors included), only those making one.
    holding = [r for r in admin_server.responses if leaked(r)]
    assert len(holding) > 0
    assert sum(not r.startswith('{"id":"whs_') for r in holding) == 0
    # Neither the whsec_ form nor the key's base64 alone.
    keys = [secret.removeprefix("whsec_") for secret in MADE]
    dump = raw_dump(admin_server.store)
    assert [i for i, key in enumerate(keys) if key in dump] == []
    url = admin_server.store.engine.url
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        for file in path.parent.glob(path.name + "*"):
            content = file.read_bytes()
            assert [i for i, key in enumerate(keys) if key.encode() in content] == [], file.name


def test_retry_post_round_trips_through_patch_and_put(admin_server: AdminServer) -> None:
    name = fresh(admin_server)
    with admin_server.client("manager") as client:
        assert client.get(f"/webhooks/{name}").json()["retry_post"] is False
        patched = client.patch(f"/webhooks/{name}", json={"retry_post": True})
        assert patched.json()["retry_post"] is True
        assert client.get(f"/webhooks/{name}").json()["retry_post"] is True
        whole = {"description": "d", "url": "https://api.example.com/orders"}
        replaced = client.put(f"/webhooks/{name}", json=whole | {"retry_post": True})
        assert replaced.json()["retry_post"] is True
        # A PUT replaces: left out, it is the default again.
        assert client.put(f"/webhooks/{name}", json=whole).json()["retry_post"] is False
        bad = client.patch(f"/webhooks/{name}", json={"retry_post": "yes"})
        assert (bad.status_code, bad.json()["error"]["field"]) == (422, "retry_post")
        audit = client.get("/audit", params={"webhook": name, "limit": 3}).json()["items"]
    assert [(e["before"]["retry_post"], e["after"]["retry_post"]) for e in audit] == [
        (True, False),
        (True, True),
        (False, True),
    ]


def _pause(*, ended_ago: timedelta = -timedelta(seconds=20), failures: int = 5) -> CallPause:
    """A pause that ends ``ended_ago`` from now (negative: in the future)."""
    until = datetime.now(UTC) - ended_ago
    return CallPause(
        since=until - timedelta(seconds=10), until=until, failures=failures, reason="timeout"
    )


def _shown(pause: CallPause) -> dict[str, Any]:
    return {
        "since": pause.since,
        "until": pause.until,
        "failures": pause.failures,
        "reason": pause.reason,
    }


def _paused(client: httpx.Client, name: str) -> list[dict[str, Any] | None]:
    """The action's pause as the list and as its own page show it, times read back."""
    one = client.get(f"/webhooks/{name}").json()
    items = [w for w in client.get("/webhooks").json()["items"] if w["name"] == name]
    found = []
    for paused in (one["paused"], items[0]["paused"]):
        if paused is not None:
            paused |= {k: datetime.fromisoformat(paused[k]) for k in ("since", "until")}
        found.append(paused)
    return found


def test_a_paused_action_shows_its_pause_until_it_ends(admin_server: AdminServer) -> None:
    name = fresh(admin_server)
    store = admin_server.store
    with admin_server.client("reader") as client:
        assert _paused(client, name) == [None, None]
        first = _pause()
        store.pauses.record("acme", name, "replica-1", first)
        assert _paused(client, name) == [_shown(first)] * 2
        with admin_server.client("manager") as manager:  # a change's answer shows it too
            changed = manager.patch(f"/webhooks/{name}", json={"timeout": 3}).json()
        assert (changed["timeout"], changed["paused"]["reason"]) == (3, first.reason)
        assert datetime.fromisoformat(changed["paused"]["until"]) == first.until
        # Two processes paused it: the pause that ends last is shown.
        later = _pause(ended_ago=-timedelta(seconds=50), failures=6)
        store.pauses.record("acme", name, "replica-2", later)
        assert _paused(client, name) == [_shown(later)] * 2
        store.pauses.end("acme", name, "replica-2")
        assert _paused(client, name) == [_shown(first)] * 2
        # Its time is over but no call has tested the service yet: still shown.
        waiting = _pause(ended_ago=timedelta(minutes=1))
        store.pauses.record("acme", name, "replica-1", waiting)
        assert _paused(client, name) == [_shown(waiting)] * 2
        store.pauses.end("acme", name, "replica-1")
        assert _paused(client, name) == [None, None]
        # Left by a process that went away long ago: no longer shown.
        store.pauses.record("acme", name, "replica-3", _pause(ended_ago=timedelta(minutes=11)))
        assert _paused(client, name) == [None, None]


def test_the_document_describes_the_routes_and_never_a_value_in_an_action(
    admin_server: AdminServer,
) -> None:
    with admin_server.client() as client:
        document = client.get("/openapi.json").json()
    made = document["paths"]["/webhooks/{name}/signing-secrets"]["post"]
    assert made["description"] == "Requires: webhooks:manage."
    assert set(made["responses"]) == {"201", "401", "403", "404", "409", "429"}
    retire = document["paths"]["/webhooks/{name}/signing-secrets/{id}"]
    assert [p["name"] for p in retire["parameters"]] == ["name", "id"]
    assert set(retire["delete"]["responses"]) == {"204", "401", "403", "404", "429"}
    schemas = document["components"]["schemas"]
    assert set(schemas["NewSigningSecret"]["properties"]) == {
        "id",
        "secret",
        "created_at",
        "message",
    }
    assert set(schemas["SigningSecretOut"]["properties"]) == {"id", "created_at"}
    action = schemas["WebhookOut"]["properties"]
    assert action["signing_secrets"]["items"] == {"$ref": "#/components/schemas/SigningSecretOut"}
    assert set(schemas["Paused"]["properties"]) == {"since", "until", "failures", "reason"}
    assert {"retry_post", "paused"} < set(schemas["WebhookOut"]["required"])
